//! `supplyrisk policy …`: recording export restrictions (from a
//! POLICY_EVENTS file or from flags) and listing the recorded ones.

use std::path::Path;

use supplyrisk_api::common::v1 as common;
use supplyrisk_api::convert;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_formats::{Format, Item, Options, Record};
use supplyrisk_grpc::client::all_pages;

use crate::cli::{Output, PolicyAddArgs};
use crate::connect::IngestClient;
use crate::error::{CliError, status_line};
use crate::json;

/// One rejected row of a policy-event file.
struct RejectedRow {
    line: u64,
    column: String,
    reason: String,
}

/// Records every event of a POLICY_EVENTS file, one call per row. Rows the
/// file or the service rejects are listed, and fail the command at the end.
pub async fn import(client: &mut IngestClient, file: &Path, output: Output) -> Result<(), CliError> {
    let bytes = std::fs::read(file).map_err(|source| CliError::File {
        path: file.to_path_buf(),
        source,
    })?;
    let parsed = supplyrisk_formats::parse_all(Format::PolicyEvents, Options::default(), &bytes);
    let (mut recorded, mut unchanged) = (0u64, 0u64);
    let mut rejected = Vec::new();
    for item in parsed.items {
        match item {
            Item::Record {
                line,
                record: Record::Policy(raw),
            } => {
                let event = match supplyrisk_domain::PolicyEvent::validate(&raw) {
                    Ok(e) => e,
                    Err(v) => {
                        rejected.push(RejectedRow {
                            line,
                            column: String::new(),
                            reason: v.to_string(),
                        });
                        continue;
                    }
                };
                let req = pb::RecordPolicyEventRequest {
                    event: Some(convert::policy_event_to_pb(&event)),
                };
                match client.record_policy_event(req).await {
                    Ok(r) if r.get_ref().changed => recorded += 1,
                    Ok(_) => unchanged += 1,
                    Err(s) => rejected.push(RejectedRow {
                        line,
                        column: String::new(),
                        reason: status_line(&s),
                    }),
                }
            }
            Item::Rejected { line, column, reason } => rejected.push(RejectedRow { line, column, reason }),
            _ => {}
        }
    }
    let failed = rejected.len();
    if output == Output::Json {
        let rows: Vec<serde_json::Value> = rejected
            .iter()
            .map(|r| serde_json::json!({ "line": r.line, "column": r.column, "reason": r.reason }))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "file": file.display().to_string(),
                "recorded": recorded,
                "unchanged": unchanged,
                "rejected": failed,
                "rejected_rows": rows,
            })
        );
    } else {
        for r in &rejected {
            let column = if r.column.is_empty() {
                String::new()
            } else {
                format!(" {}:", r.column)
            };
            eprintln!("{}:{}:{column} {}", file.display(), r.line, r.reason);
        }
        println!("policy events: {recorded} recorded, {unchanged} unchanged, {failed} rejected");
    }
    if failed > 0 {
        Err(CliError::Failed(format!("{failed} rows rejected")))
    } else {
        Ok(())
    }
}

/// Records one policy event given on the command line, checked like a file row.
pub async fn add(client: &mut IngestClient, args: &PolicyAddArgs, output: Output) -> Result<(), CliError> {
    let date = |flag: &str, value: &str| {
        supplyrisk_domain::records::Date::parse(value)
            .map(|d| (i32::from(d.year), i32::from(d.month), i32::from(d.day)))
            .map_err(|e| CliError::Invalid(format!("--{flag}: {e}")))
    };
    let raw = supplyrisk_domain::records::RawPolicyEvent {
        id: args.id.clone(),
        country: args.country.clone(),
        minerals: args.minerals.clone(),
        hs_codes: args.hs_codes.clone(),
        measure: Some(
            supplyrisk_domain::records::PolicyMeasure::parse(&args.measure).ok_or_else(|| {
                CliError::Invalid(format!(
                    "--measure: '{}' is not licensing, quota, tax, ban or other",
                    args.measure
                ))
            })?,
        ),
        target_countries: args.targets.clone(),
        effective_from: Some(date("from", &args.from)?),
        effective_until: args.until.as_deref().map(|u| date("until", u)).transpose()?,
        severity: args.severity,
        source_reference: args.source.clone(),
        summary: args.summary.clone(),
        ..Default::default()
    };
    let event = supplyrisk_domain::PolicyEvent::validate(&raw).map_err(|v| CliError::Invalid(v.to_string()))?;
    let resp = client
        .record_policy_event(pb::RecordPolicyEventRequest {
            event: Some(convert::policy_event_to_pb(&event)),
        })
        .await?
        .into_inner();
    let recorded = resp.event.unwrap_or_default();
    if output == Output::Json {
        println!("{}", serde_json::json!({ "id": recorded.id, "changed": resp.changed }));
    } else {
        println!(
            "{} {}",
            recorded.id,
            if resp.changed {
                "recorded"
            } else {
                "unchanged (already recorded)"
            }
        );
    }
    Ok(())
}

/// Prints every recorded event, or those touching `mineral`.
pub async fn list(client: &mut IngestClient, mineral: Option<String>, output: Output) -> Result<(), CliError> {
    let events = all_pages(|page_token| {
        // Each page's call takes its own handle; clones share the channel.
        let mut client = client.clone();
        let req = pb::ListPolicyEventsRequest {
            mineral: mineral.clone().unwrap_or_default(),
            page_size: 100,
            page_token,
            ..Default::default()
        };
        async move {
            let page = client.list_policy_events(req).await?.into_inner();
            Ok((page.events, page.next_page_token))
        }
    })
    .await?;
    if output == Output::Json {
        let list: Vec<serde_json::Value> = events.iter().map(json::policy_event).collect();
        println!("{}", serde_json::json!({ "mineral": mineral, "events": list }));
        return Ok(());
    }
    println!(
        "{:<44} {:<4} {:<10} {:<11} {:<11} minerals",
        "id", "by", "measure", "from", "until"
    );
    let date = |d: &Option<common::Date>| json::date(d).as_str().unwrap_or("-").to_string();
    for e in &events {
        let suspended: Vec<String> = json::suspensions(e)
            .iter()
            .map(|s| {
                format!(
                    "{}..{}",
                    s["from"].as_str().unwrap_or(""),
                    s["until"].as_str().unwrap_or("")
                )
            })
            .collect();
        println!(
            "{:<44} {:<4} {:<10} {:<11} {:<11} {}{}",
            e.id,
            e.country,
            json::measure_name(e.measure),
            date(&e.effective_from),
            date(&e.effective_until),
            e.minerals.join(","),
            if suspended.is_empty() {
                String::new()
            } else {
                format!(" (suspended {})", suspended.join(", "))
            }
        );
    }
    Ok(())
}
