//! `supplyrisk summary`: one line per catalog mineral — data year, top
//! producers, concentration, trade flows and policy events in force today.

use supplyrisk_api::ingest::v1 as pb;

use crate::cli::Output;
use crate::connect::IngestClient;
use crate::error::CliError;
use crate::json;

/// The production figures a summary shows: usable, newest (a single year
/// before a multi-year average), USGS among equally recent ones.
fn main_production(snap: &pb::SupplySnapshot) -> Option<&pb::ProductionBySource> {
    snap.production
        .iter()
        .filter(|p| p.hhi.is_some())
        .max_by_key(|p| (p.year, p.first_year == 0, p.source.starts_with("USGS")))
}

/// The three largest producers with their world shares.
fn top_three(p: &pb::ProductionBySource) -> Vec<(&str, f64)> {
    p.producers
        .iter()
        .filter_map(|x| x.share.map(|s| (x.country.as_str(), s)))
        .take(3)
        .collect()
}

/// Prints the summary line of every catalog mineral.
pub async fn show(client: &mut IngestClient, output: Output) -> Result<(), CliError> {
    let minerals = client
        .list_minerals(pb::ListMineralsRequest {})
        .await?
        .into_inner()
        .minerals;
    let mut snapshots = Vec::with_capacity(minerals.len());
    for m in &minerals {
        let req = pb::GetSupplySnapshotRequest {
            mineral: m.id.clone(),
            year: 0,
            importer: String::new(),
            // Policy events in force today, as scores count them.
            as_of: Some(supplyrisk_api::convert::date_to_pb(supplyrisk_domain::Date::today())),
            ..Default::default()
        };
        snapshots.push(client.get_supply_snapshot(req).await?.into_inner());
    }
    if output == Output::Json {
        let rows: Vec<serde_json::Value> = minerals
            .iter()
            .zip(&snapshots)
            .map(|(m, snap)| {
                let p = main_production(snap);
                serde_json::json!({
                    "mineral": m.id,
                    "name": m.name,
                    "year": (snap.year != 0).then_some(snap.year),
                    "hhi": json::opt(p.and_then(|p| p.hhi)),
                    "source": p.map(|p| p.source.as_str()),
                    "stage": p.map(|p| json::stage_name(p.stage)),
                    "trade_flow_count": snap.trade_flow_count,
                    "policy_events": snap.policy_events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
                    "top_producers": p.map(top_three).unwrap_or_default().iter()
                        .map(|(country, share)| serde_json::json!({ "country": country, "share": share }))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "minerals": rows }));
        return Ok(());
    }
    println!(
        "{:<12} {:<5} {:<6} {:>8} {:>8}  top producers",
        "mineral", "year", "HHI", "flows", "policies"
    );
    for (m, snap) in minerals.iter().zip(&snapshots) {
        let (top, hhi) = match main_production(snap) {
            Some(p) => {
                let top: Vec<String> = top_three(p)
                    .iter()
                    .map(|(country, share)| format!("{country} {:.0}%", share * 100.0))
                    .collect();
                (
                    format!("{} [{} {}]", top.join(", "), p.source, json::stage_name(p.stage)),
                    p.hhi.map(|h| format!("{h:.0}")).unwrap_or_else(|| "-".into()),
                )
            }
            None => ("no usable production data".into(), "-".into()),
        };
        let year = if snap.year == 0 {
            "-".to_string()
        } else {
            snap.year.to_string()
        };
        println!(
            "{:<12} {:<5} {:<6} {:>8} {:>8}  {}",
            m.id,
            year,
            hhi,
            snap.trade_flow_count,
            snap.policy_events.len(),
            top
        );
    }
    Ok(())
}
