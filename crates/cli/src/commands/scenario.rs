//! `supplyrisk scenario`: what-if supply cuts — scores before and after,
//! the shortfall and how long stocks cover it.

use supplyrisk_api::scoring::v1 as spb;

use super::scores::{methodology, methodology_id};
use crate::cli::{Cli, Output};
use crate::connect;
use crate::error::CliError;
use crate::json;

/// `SUPPLIER:MINERAL:CUT`, e.g. `CHN:REE:0.5`, as a shock.
fn parse_cut(c: &str) -> Result<spb::Shock, CliError> {
    let parts: Vec<&str> = c.split(':').collect();
    let [supplier, mineral, cut] = parts.as_slice() else {
        return Err(CliError::Invalid(format!(
            "--cut {c}: expected SUPPLIER:MINERAL:CUT, e.g. CHN:REE:0.5"
        )));
    };
    let cut: f64 = cut
        .parse()
        .map_err(|_| CliError::Invalid(format!("--cut {c}: '{cut}' is not a number")))?;
    Ok(spb::Shock {
        supplier: supplier.to_string(),
        mineral: mineral.to_string(),
        cut,
    })
}

/// Simulates `cuts` for every importer and prints each outcome.
pub async fn simulate(
    cli: &Cli,
    cuts: &[String],
    importers: &[String],
    headroom: f64,
    method: &str,
) -> Result<(), CliError> {
    let shocks = cuts.iter().map(|c| parse_cut(c)).collect::<Result<Vec<_>, _>>()?;
    let methodology = methodology(method)?;
    let mut client = connect::scoring(cli).await?;
    let req = spb::SimulateScenarioRequest {
        shocks: shocks.clone(),
        importers: importers.to_vec(),
        methodology,
        year: 0,
        rerouting_headroom: headroom,
    };
    let resp = client.simulate_scenario(req).await?.into_inner();
    if cli.output == Output::Json {
        let shocks: Vec<serde_json::Value> = shocks
            .iter()
            .map(|s| serde_json::json!({ "supplier": s.supplier, "mineral": s.mineral, "cut": s.cut }))
            .collect();
        let results: Vec<serde_json::Value> = resp.results.iter().map(json::scenario_result).collect();
        println!(
            "{}",
            serde_json::json!({
                "methodology": methodology_id(methodology),
                "rerouting_headroom": headroom,
                "shocks": shocks,
                "results": results,
            })
        );
        return Ok(());
    }
    let score = |s: &Option<spb::RiskScore>| {
        s.as_ref()
            .map(|s| format!("{:.3}", s.score))
            .unwrap_or_else(|| "missing".into())
    };
    for r in &resp.results {
        let shortfall = r
            .shortfall_tonnes
            .map(|t| format!("{t:.1} t at {}", json::stage_name(r.shortfall_stage)))
            .unwrap_or_else(|| "unknown".into());
        let cover = r
            .days_of_cover
            .map(|d| format!("{d:.0} days"))
            .unwrap_or_else(|| "no stockpile data".into());
        println!(
            "{} {}: {} -> {}; shortfall {shortfall}; cover {cover}",
            r.importer,
            r.mineral,
            score(&r.before),
            score(&r.after)
        );
        if r.stage_shortfalls.len() > 1 {
            for s in &r.stage_shortfalls {
                println!(
                    "  {:<10} lost {:.1} t, re-routed {:.1} t, short {:.1} t of {:.1} t consumed",
                    json::stage_name(s.stage),
                    s.lost_tonnes,
                    s.rerouted_tonnes,
                    s.shortfall_tonnes,
                    s.consumption_tonnes
                );
            }
        }
        for a in &r.assumptions {
            println!("  assumes: {a}");
        }
    }
    Ok(())
}
