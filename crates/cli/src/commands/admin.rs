//! Operator commands: `admin dead-letters list` and `admin dead-letters
//! redrive`, over the dead-letter service scoring and alerting both serve
//! for their own consumer groups. Admin token only.

use serde_json::json;
use supplyrisk_api::admin::v1 as pb;
use supplyrisk_grpc::client::all_pages;

use crate::cli::{Cli, DeadLetterScope, Output};
use crate::connect;
use crate::error::CliError;
use crate::json;

/// The services that consume event streams.
const SERVICES: [&str; 2] = ["scoring", "alerting"];

/// The services `scope` selects.
fn services(scope: &DeadLetterScope) -> Result<Vec<&'static str>, CliError> {
    match scope.service.as_deref() {
        None => Ok(SERVICES.to_vec()),
        Some(name) => SERVICES
            .iter()
            .find(|s| **s == name)
            .map(|s| vec![*s])
            .ok_or_else(|| CliError::Invalid(format!("--service must be one of {}", SERVICES.join(", ")))),
    }
}

/// True when `status` refuses a group this service does not have: with
/// `--group` and no `--service`, only the service owning the group answers.
fn other_services_group(status: &tonic::Status, scope: &DeadLetterScope) -> bool {
    scope.service.is_none() && scope.group.is_some() && status.code() == tonic::Code::InvalidArgument
}

/// Prints every dead letter of the selected services and groups.
pub async fn list_dead_letters(cli: &Cli, scope: &DeadLetterScope) -> Result<(), CliError> {
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for service in services(scope)? {
        let client = connect::dead_letters(cli, service).await?;
        let group = scope.group.clone().unwrap_or_default();
        let letters = all_pages(|page_token| {
            let mut client = client.clone();
            let request = pb::ListDeadLettersRequest {
                group: group.clone(),
                page_size: 500,
                page_token,
            };
            async move {
                let page = client.list_dead_letters(request).await?.into_inner();
                Ok((page.dead_letters, page.next_page_token))
            }
        })
        .await;
        match letters {
            Ok(letters) => rows.extend(letters.into_iter().map(|d| (service, d))),
            Err(status) if other_services_group(&status, scope) => refused.push(status),
            Err(status) => return Err(status.into()),
        }
    }
    // A group no service has is an error, not an empty list.
    if refused.len() == services(scope)?.len()
        && let Some(status) = refused.pop()
    {
        return Err(status.into());
    }
    if cli.output == Output::Json {
        let list: Vec<_> = rows
            .iter()
            .map(|(service, d)| {
                json!({
                    "service": service,
                    "id": d.id,
                    "stream": d.stream,
                    "group": d.group,
                    "source_id": d.source_id,
                    "attempts": d.attempts,
                    "reason": d.reason,
                    "consumer": d.consumer,
                    "dead_letter_time": json::timestamp(&d.dead_letter_time),
                    "payload_bytes": d.payload.len(),
                })
            })
            .collect();
        println!("{}", json!({ "dead_letters": list }));
        return Ok(());
    }
    if rows.is_empty() {
        println!("no dead letters");
        return Ok(());
    }
    for (service, d) in &rows {
        let time = d.dead_letter_time.map(|t| t.to_string()).unwrap_or_default();
        println!(
            "{} {service}/{} {} (entry {}) after {} attempt(s) at {time}: {}",
            d.id, d.group, d.stream, d.source_id, d.attempts, d.reason
        );
    }
    Ok(())
}

/// Redrives `ids` (or every dead letter) of the selected services and groups.
pub async fn redrive_dead_letters(
    cli: &Cli,
    ids: &[String],
    all: bool,
    scope: &DeadLetterScope,
) -> Result<(), CliError> {
    let mut redriven = Vec::new();
    let mut missing: Option<Vec<String>> = None;
    let mut refused = Vec::new();
    for service in services(scope)? {
        let mut client = connect::dead_letters(cli, service).await?;
        // Ids another service already redrove are not asked for again.
        let wanted: Vec<String> = missing.clone().unwrap_or_else(|| ids.to_vec());
        if !all && wanted.is_empty() {
            break;
        }
        let request = pb::RedriveDeadLettersRequest {
            group: scope.group.clone().unwrap_or_default(),
            ids: wanted,
            all,
        };
        match client.redrive_dead_letters(request).await {
            Ok(answer) => {
                let answer = answer.into_inner();
                redriven.extend(answer.redriven);
                missing = Some(answer.not_found);
            }
            Err(status) if other_services_group(&status, scope) => refused.push(status),
            Err(status) => return Err(status.into()),
        }
    }
    if refused.len() == services(scope)?.len()
        && let Some(status) = refused.pop()
    {
        return Err(status.into());
    }
    let missing = if all {
        Vec::new()
    } else {
        missing.unwrap_or_else(|| ids.to_vec())
    };
    if cli.output == Output::Json {
        let list: Vec<_> = redriven
            .iter()
            .map(|r| json!({ "id": r.id, "stream": r.stream, "group": r.group, "source_id": r.source_id }))
            .collect();
        println!("{}", json!({ "redriven": list, "not_found": missing }));
    } else {
        for r in &redriven {
            println!("{} {} redriven as {} on {}", r.id, r.group, r.source_id, r.stream);
        }
        println!("{} redriven", redriven.len());
        for id in &missing {
            println!("{id} not found");
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!("{} dead letter(s) not found", missing.len())))
    }
}
