//! `supplyrisk minerals`: the mineral catalog as the ingest service knows it.

use supplyrisk_api::ingest::v1 as pb;

use crate::cli::Output;
use crate::connect::IngestClient;
use crate::error::CliError;

/// Prints every catalog mineral: id, name, parent and applications.
pub async fn list(client: &mut IngestClient, output: Output) -> Result<(), CliError> {
    let resp = client.list_minerals(pb::ListMineralsRequest {}).await?.into_inner();
    if output == Output::Json {
        let list: Vec<serde_json::Value> = resp
            .minerals
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id, "name": m.name, "parent": m.parent,
                    "applications": m.applications, "aliases": m.aliases,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(());
    }
    println!("{:<12} {:<26} {:<8} applications", "id", "name", "parent");
    for m in resp.minerals {
        println!(
            "{:<12} {:<26} {:<8} {}",
            m.id,
            m.name,
            m.parent,
            m.applications.join(", ")
        );
    }
    Ok(())
}
