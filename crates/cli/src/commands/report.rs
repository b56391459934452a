//! `supplyrisk report`: gathers each importer's scores, score histories and
//! a what-if scenario from the scoring service, then writes one
//! self-contained HTML file ([`html`]) with SVG charts ([`charts`]).

mod charts;
mod html;

use std::fmt;
use std::path::{Path, PathBuf};

use supplyrisk_api::scoring::v1 as spb;
use supplyrisk_domain::Catalog;
use supplyrisk_grpc::client::all_pages;

use super::scores::{methodology, methodology_id};
use crate::cli::{Cli, Output};
use crate::connect::{self, ScoringClient};
use crate::error::CliError;

/// Most minerals one chart shows; more bars or lines stop being readable.
const MAX_CHARTED: usize = 10;

/// What to report on.
pub struct Request {
    /// Importers as typed (ISO3 or bloc ids).
    pub importers: Vec<String>,
    /// `Methodology` enum value.
    pub methodology: i32,
    /// How many of the highest scores to chart per importer.
    pub charted: usize,
    /// Export cut (0-1] of each charted mineral's top supplier in the scenario.
    pub scenario_cut: f64,
}

impl Request {
    /// Checks the options before any call is made.
    pub fn validate(&self) -> Result<(), CliError> {
        if !(1..=MAX_CHARTED).contains(&self.charted) {
            return Err(CliError::Invalid(format!("--charted must be within 1..={MAX_CHARTED}")));
        }
        if !(self.scenario_cut.is_finite() && self.scenario_cut > 0.0 && self.scenario_cut <= 1.0) {
            return Err(CliError::Invalid("--scenario-cut must be within (0, 1]".into()));
        }
        Ok(())
    }
}

/// A mineral the service could not score for an importer, and why.
pub struct Unscored {
    /// Catalog id.
    pub mineral: String,
    /// The service's reason, e.g. no production data.
    pub reason: String,
}

/// One shock of the report's scenario and its outcome.
pub struct ScenarioRow {
    /// The supplier cutting its exports.
    pub supplier: String,
    /// Catalog id of the mineral.
    pub mineral: String,
    /// The service's result for the importer.
    pub result: spb::ScenarioResult,
}

/// Everything the report shows for one importer.
pub struct Section {
    /// The importer as asked, e.g. `USA+JPN`.
    pub importer: String,
    /// Every score, highest first.
    pub scores: Vec<spb::RiskScore>,
    /// Catalog minerals without a score.
    pub unscored: Vec<Unscored>,
    /// Score histories of the charted minerals, in rank order.
    pub histories: Vec<(String, Vec<spb::HistoryPoint>)>,
    /// Scenario outcomes of the charted minerals, in rank order.
    pub scenarios: Vec<ScenarioRow>,
    /// Charted minerals whose scenario could not be simulated, and why.
    pub scenario_gaps: Vec<Unscored>,
}

/// The gathered data of a report.
pub struct Report {
    /// Methodology id, e.g. `eu-crm`.
    pub methodology: &'static str,
    /// How many minerals are charted per importer.
    pub charted: usize,
    /// Export cut used in the scenario.
    pub scenario_cut: f64,
    /// When the data was read (RFC 3339, UTC).
    pub generated_at: String,
    /// One section per importer, in the order asked.
    pub sections: Vec<Section>,
}

/// What `report` wrote.
pub struct Written {
    path: PathBuf,
    bytes: usize,
    charts: usize,
    scores: Vec<(String, usize)>,
}

impl Written {
    /// The same facts as the table line, for `--output json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path.display().to_string(),
            "bytes": self.bytes,
            "charts": self.charts,
            "importers": self.scores.iter()
                .map(|(importer, scores)| serde_json::json!({ "importer": importer, "scores": scores }))
                .collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let importers: Vec<String> = self
            .scores
            .iter()
            .map(|(importer, n)| format!("{importer} {n} scores"))
            .collect();
        write!(
            f,
            "wrote {} ({} KB): {}; {} charts",
            self.path.display(),
            self.bytes.div_ceil(1024),
            importers.join(", "),
            self.charts
        )
    }
}

/// Checks the options, writes the report on `importers` to `out` and
/// prints what was written.
pub async fn write(
    cli: &Cli,
    importers: &[String],
    out: &Path,
    method: &str,
    charted: usize,
    scenario_cut: f64,
) -> Result<(), CliError> {
    let request = Request {
        importers: importers.to_vec(),
        methodology: methodology(method)?,
        charted,
        scenario_cut,
    };
    request.validate()?;
    let mut client = connect::scoring(cli).await?;
    let written = write_file(&mut client, &request, out).await?;
    if cli.output == Output::Json {
        println!("{}", written.to_json());
    } else {
        println!("{written}");
    }
    Ok(())
}

/// Gathers the data, renders the report and writes it to `out`.
async fn write_file(client: &mut ScoringClient, request: &Request, out: &Path) -> Result<Written, CliError> {
    let report = gather(client, request).await?;
    let rendered = html::render(&report)?;
    std::fs::write(out, &rendered.html).map_err(|source| CliError::File {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(Written {
        path: out.to_path_buf(),
        bytes: rendered.html.len(),
        charts: rendered.charts,
        scores: report
            .sections
            .iter()
            .map(|s| (s.importer.clone(), s.scores.len()))
            .collect(),
    })
}

async fn gather(client: &mut ScoringClient, request: &Request) -> Result<Report, CliError> {
    let mut sections = Vec::with_capacity(request.importers.len());
    for importer in &request.importers {
        sections.push(section(client, request, importer).await?);
    }
    Ok(Report {
        methodology: methodology_id(request.methodology),
        charted: request.charted,
        scenario_cut: request.scenario_cut,
        generated_at: now_rfc3339(),
        sections,
    })
}

fn now_rfc3339() -> String {
    let now = prost_types::Timestamp::from(std::time::SystemTime::now());
    // Whole seconds are enough for a report's date line.
    prost_types::Timestamp {
        seconds: now.seconds,
        nanos: 0,
    }
    .to_string()
}

async fn section(client: &mut ScoringClient, request: &Request, importer: &str) -> Result<Section, CliError> {
    let scores = all_scores(client, importer, request.methodology).await?;
    let mut unscored = Vec::new();
    for mineral in Catalog::builtin().minerals() {
        if scores.iter().any(|s| s.mineral == mineral.id) {
            continue;
        }
        let req = spb::GetRiskScoreRequest {
            mineral: mineral.id.clone(),
            importer: importer.to_string(),
            year: 0,
            methodology: request.methodology,
            ..Default::default()
        };
        // A score that appears between the two calls is left out of the
        // table rather than listed as missing.
        if let Err(status) = client.get_risk_score(req).await {
            unscored.push(Unscored {
                mineral: mineral.id.clone(),
                reason: status.message().to_string(),
            });
        }
    }
    let charted: Vec<&spb::RiskScore> = scores.iter().take(request.charted).collect();
    let mut histories = Vec::with_capacity(charted.len());
    for s in &charted {
        let req = spb::GetScoreHistoryRequest {
            mineral: s.mineral.clone(),
            importer: importer.to_string(),
            methodology: request.methodology,
        };
        let points = client.get_score_history(req).await?.into_inner().points;
        histories.push((s.mineral.clone(), points));
    }
    let mut scenarios = Vec::new();
    let mut scenario_gaps = Vec::new();
    for s in &charted {
        let Some(supplier) = top_supplier(s) else {
            scenario_gaps.push(Unscored {
                mineral: s.mineral.clone(),
                reason: "the score names no supplier".into(),
            });
            continue;
        };
        let req = spb::SimulateScenarioRequest {
            shocks: vec![spb::Shock {
                supplier: supplier.clone(),
                mineral: s.mineral.clone(),
                cut: request.scenario_cut,
            }],
            importers: vec![importer.to_string()],
            methodology: request.methodology,
            year: 0,
            rerouting_headroom: 0.0,
        };
        // One call per mineral: a mineral the engine cannot simulate is
        // reported on its own instead of failing the whole chart.
        match client.simulate_scenario(req).await {
            Ok(resp) => scenarios.extend(resp.into_inner().results.into_iter().map(|result| ScenarioRow {
                supplier: supplier.clone(),
                mineral: s.mineral.clone(),
                result,
            })),
            Err(status) => scenario_gaps.push(Unscored {
                mineral: s.mineral.clone(),
                reason: status.message().to_string(),
            }),
        }
    }
    Ok(Section {
        importer: importer.to_string(),
        scores,
        unscored,
        histories,
        scenarios,
        scenario_gaps,
    })
}

/// Every score of an importer, highest first, over all pages.
async fn all_scores(
    client: &mut ScoringClient,
    importer: &str,
    methodology: i32,
) -> Result<Vec<spb::RiskScore>, CliError> {
    let scores = all_pages(|page_token| {
        let mut client = client.clone();
        let req = spb::ListRiskScoresRequest {
            importer: importer.to_string(),
            methodology,
            page_size: 500,
            page_token,
            ..Default::default()
        };
        async move {
            let page = client.list_risk_scores(req).await?.into_inner();
            Ok((page.scores, page.next_page_token))
        }
    })
    .await?;
    Ok(scores)
}

/// The supplier with the largest share of the importer's sourcing; on a tie
/// the one the service lists first (the larger contributor).
pub fn largest_supplier(score: &spb::RiskScore) -> Option<&spb::SupplierContribution> {
    score
        .top_suppliers
        .iter()
        .fold(None, |best: Option<&spb::SupplierContribution>, t| match best {
            Some(b) if b.share >= t.share => Some(b),
            _ => Some(t),
        })
}

fn top_supplier(score: &spb::RiskScore) -> Option<String> {
    largest_supplier(score).map(|t| t.country.clone())
}
