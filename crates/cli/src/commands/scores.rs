//! Reading scores from the scoring service: `score` (one score explained),
//! `suppliers` (everyone behind it), `top` (an importer's riskiest
//! minerals) and `history` (a score over data years and recomputations).

use supplyrisk_api::scoring::v1 as spb;
use supplyrisk_grpc::client::all_pages;

use crate::cli::{Cli, Output, ScoreArgs};
use crate::connect;
use crate::error::CliError;
use crate::json;

/// The `Methodology` value of a `--method` as typed.
pub fn methodology(name: &str) -> Result<i32, CliError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "eu-crm" | "eucrm" => Ok(spb::Methodology::EuCrm as i32),
        "geopolrisk" | "gpr" => Ok(spb::Methodology::Geopolrisk as i32),
        other => Err(CliError::Invalid(format!(
            "unknown method '{other}'; eu-crm or geopolrisk"
        ))),
    }
}

/// The id scores carry for a methodology, e.g. `eu-crm`.
pub fn methodology_id(value: i32) -> &'static str {
    match spb::Methodology::try_from(value) {
        Ok(spb::Methodology::Geopolrisk) => "geopolrisk",
        _ => "eu-crm",
    }
}

/// Prints one score with its reasons, components, suppliers and
/// confidence; with `show_stages`, every stage of the value chain.
pub async fn score(
    cli: &Cli,
    args: &ScoreArgs,
    show_stages: bool,
    stage: Option<&str>,
    as_of: Option<&str>,
) -> Result<(), CliError> {
    let stage = match stage {
        None => 0,
        Some(name) => supplyrisk_domain::Stage::parse(name)
            .map(|s| supplyrisk_api::convert::stage_to_pb(s) as i32)
            .ok_or_else(|| {
                CliError::Invalid(format!(
                    "unknown stage '{name}'; one of mining, processing, metal, manufacturing"
                ))
            })?,
    };
    let mut client = connect::scoring(cli).await?;
    let req = spb::GetRiskScoreRequest {
        mineral: args.mineral.clone(),
        importer: args.importer.clone(),
        year: args.year.unwrap_or(0),
        methodology: methodology(&args.method)?,
        stage,
        as_of: as_of
            .map(|d| {
                supplyrisk_domain::records::Date::parse(d)
                    .map(supplyrisk_api::convert::date_to_pb)
                    .map_err(|e| CliError::Invalid(format!("--as-of: {e}")))
            })
            .transpose()?,
    };
    let s = client.get_risk_score(req).await?.into_inner();
    if cli.output == Output::Json {
        println!("{}", json::score(&s));
        return Ok(());
    }
    let m = s.methodology.clone().unwrap_or_default();
    let as_of = s.as_of.map_or_else(String::new, |d| {
        format!(", as of {:04}-{:02}-{:02}", d.year, d.month, d.day)
    });
    println!(
        "{} for {}: {:.3} ({} {}, data {}{as_of}, confidence {:.2})",
        s.mineral, s.importer, s.score, m.id, m.version, s.data_year, s.confidence
    );
    println!("  why: {}", s.top_reason);
    if show_stages {
        print_stages(&s);
    }
    for n in &s.notes {
        println!("  note: {n}");
    }
    for c in &s.components {
        println!("  {:<28} {:>10.4}  {}", c.name, c.value, c.meaning);
    }
    println!("  top suppliers:");
    for t in s.top_suppliers.iter().take(5) {
        println!(
            "    {:<4} share {:>5.1}%  governance {:>5.2}  contribution {:.4}",
            t.country,
            t.share * 100.0,
            t.governance,
            t.contribution
        );
    }
    for r in &s.confidence_reasons {
        println!("  confidence: {} {:.0}% — {}", r.input, r.coverage * 100.0, r.detail);
    }
    for d in &s.defaulted {
        println!("  defaulted: {} = {} ({})", d.term, d.value, d.reason);
    }
    Ok(())
}

/// The value chain of a score: each stage's score or why it was skipped,
/// the bottleneck marked, and where each stage's production figures come from.
fn print_stages(s: &spb::RiskScore) {
    println!("  value chain (score at each stage; * = bottleneck):");
    for st in &s.stages {
        let name = json::stage_name(st.stage);
        let label = if st.label.is_empty() {
            name.clone()
        } else {
            st.label.clone()
        };
        let mark = if st.bottleneck { "*" } else { " " };
        match st.value {
            Some(v) if st.skipped_reason.is_empty() => println!("  {mark} {name:<13} {v:>6.3}  {label}"),
            _ => println!(
                "  {mark} {name:<13} {:>6}  {label}: skipped — {}",
                "-", st.skipped_reason
            ),
        }
        if !st.production_source.is_empty() {
            let period = if st.production_first_year > 0 {
                format!("{}–{} average", st.production_first_year, st.production_year)
            } else {
                st.production_year.to_string()
            };
            println!(
                "      production: {} {period} ({})",
                st.production_source, st.source_reason
            );
        }
    }
}

/// Prints every supplier behind a score, over all pages.
pub async fn suppliers(cli: &Cli, args: &ScoreArgs) -> Result<(), CliError> {
    let (mineral, importer) = (args.mineral.as_str(), args.importer.as_str());
    let client = connect::scoring(cli).await?;
    let methodology = methodology(&args.method)?;
    // Whole pages rather than suppliers: the stage and data version come with each page.
    let pages = all_pages(|page_token| {
        let mut client = client.clone();
        let req = spb::ListScoreSuppliersRequest {
            mineral: mineral.to_string(),
            importer: importer.to_string(),
            year: args.year.unwrap_or(0),
            methodology,
            page_size: 500,
            page_token,
        };
        async move {
            let page = client.list_score_suppliers(req).await?.into_inner();
            let next = page.next_page_token.clone();
            Ok((vec![page], next))
        }
    })
    .await?;
    let all: Vec<&spb::SupplierContribution> = pages.iter().flat_map(|page| &page.suppliers).collect();
    let (stage, data_version) = pages
        .last()
        .map(|page| (json::stage_name(page.stage), page.data_version.as_str()))
        .unwrap_or_default();
    if cli.output == Output::Json {
        let suppliers: Vec<serde_json::Value> = all.iter().copied().map(json::supplier).collect();
        println!(
            "{}",
            serde_json::json!({
                "mineral": mineral, "importer": importer, "methodology": methodology_id(methodology),
                "stage": stage, "data_version": data_version, "suppliers": suppliers,
            })
        );
        return Ok(());
    }
    println!(
        "{} suppliers behind {mineral} for {importer} ({}, {stage} stage), largest contribution first",
        all.len(),
        methodology_id(methodology)
    );
    println!(
        "{:>4}  {:<4} {:>7} {:>7} {:>10} {:>12}",
        "", "", "share", "world", "governance", "contribution"
    );
    for (i, t) in all.iter().enumerate() {
        let world = t
            .global_share
            .map_or_else(|| "missing".to_string(), |w| format!("{:.1}%", w * 100.0));
        println!(
            "{:>4}. {:<4} {:>6.1}% {:>7} {:>10.2} {:>12.4}",
            i + 1,
            t.country,
            t.share * 100.0,
            world,
            t.governance,
            t.contribution
        );
    }
    Ok(())
}

/// Prints an importer's highest scores, at most `limit`.
pub async fn top(
    cli: &Cli,
    importer: &str,
    application: Option<String>,
    method: &str,
    limit: i32,
) -> Result<(), CliError> {
    let mut client = connect::scoring(cli).await?;
    let req = spb::ListRiskScoresRequest {
        importer: importer.to_string(),
        application: application.unwrap_or_default(),
        methodology: methodology(method)?,
        page_size: limit,
        ..Default::default()
    };
    let resp = client.list_risk_scores(req).await?.into_inner();
    if cli.output == Output::Json {
        let scores: Vec<serde_json::Value> = resp.scores.iter().map(json::score).collect();
        println!(
            "{}",
            serde_json::json!({ "importer": importer, "total_size": resp.total_size, "scores": scores })
        );
        return Ok(());
    }
    println!(
        "{importer}: top {} of {} scored minerals ({method})",
        resp.scores.len(),
        resp.total_size
    );
    for (i, s) in resp.scores.iter().enumerate() {
        println!(
            "{:>3}. {:<12} {:>8.3}  conf {:.2}  {}",
            i + 1,
            s.mineral,
            s.score,
            s.confidence,
            s.top_reason
        );
    }
    Ok(())
}

/// Prints a score per data year and each recomputation.
pub async fn history(cli: &Cli, mineral: &str, importer: &str, method: &str) -> Result<(), CliError> {
    let mut client = connect::scoring(cli).await?;
    let methodology = methodology(method)?;
    let req = spb::GetScoreHistoryRequest {
        mineral: mineral.to_string(),
        importer: importer.to_string(),
        methodology,
    };
    let resp = client.get_score_history(req).await?.into_inner();
    if cli.output == Output::Json {
        let points: Vec<serde_json::Value> = resp.points.iter().map(json::history_point).collect();
        println!(
            "{}",
            serde_json::json!({
                "mineral": mineral,
                "importer": importer,
                "methodology": methodology_id(methodology),
                "points": points,
            })
        );
        return Ok(());
    }
    println!(
        "{:<14} {:>6} {:>10} {:>9} {:>6}  data version",
        "kind", "year", "as of", "score", "conf"
    );
    for p in &resp.points {
        let as_of = p.as_of.map_or_else(
            || "-".to_string(),
            |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        );
        println!(
            "{:<14} {:>6} {:>10} {:>9.3} {:>6.2}  {}",
            p.kind, p.data_year, as_of, p.score, p.confidence, p.data_version
        );
    }
    Ok(())
}
