//! `supplyrisk snapshot`: one mineral's supply as the ingest service holds
//! it — producers by source and stage, trade flows, policy events, gaps.

use supplyrisk_api::ingest::v1 as pb;

use crate::cli::Output;
use crate::connect::IngestClient;
use crate::error::CliError;
use crate::json;

/// Prints the snapshot of `mineral`, with `importer`'s trade when given.
pub async fn show(
    client: &mut IngestClient,
    mineral: String,
    importer: Option<String>,
    year: Option<u32>,
    output: Output,
) -> Result<(), CliError> {
    let req = pb::GetSupplySnapshotRequest {
        mineral,
        year: year.unwrap_or(0),
        importer: importer.unwrap_or_default(),
        ..Default::default()
    };
    let snap = client.get_supply_snapshot(req).await?.into_inner();
    if output == Output::Json {
        println!("{}", json::snapshot(&snap));
        return Ok(());
    }
    println!("{} {} (data version {})", snap.mineral, snap.year, snap.data_version);
    for p in &snap.production {
        let hhi = p.hhi.map(|h| format!("{h:.0}")).unwrap_or_else(|| "missing".into());
        println!(
            "  production {} {}: HHI {hhi}, unattributed {:.1}%",
            p.source,
            json::stage_name(p.stage),
            p.unattributed_share * 100.0
        );
        for x in p.producers.iter().take(5) {
            let share = x
                .share
                .map(|s| format!("{:.1}%", s * 100.0))
                .unwrap_or_else(|| "withheld".into());
            println!("    {:<4} {share}", x.country);
        }
    }
    if !snap.importer.is_empty() {
        println!("  {} trade flows for {}", snap.trade.len(), snap.importer);
    }
    for e in &snap.policy_events {
        println!("  policy {}: {}", e.id, e.summary.chars().take(90).collect::<String>());
    }
    for g in &snap.gaps {
        println!("  gap: {g}");
    }
    Ok(())
}
