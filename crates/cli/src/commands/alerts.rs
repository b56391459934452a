//! Alerts from the alerting service: `subscribe` (rules on a mineral and
//! importer, optionally with a signed webhook), `alerts list`, `alerts ack`
//! and `watch`, which follows a subscription's alerts across reconnects.

use std::time::Duration;

use supplyrisk_api::alerting::v1 as apb;
use supplyrisk_grpc::client::all_pages;

use crate::cli::{Cli, Output, SubscribeArgs};
use crate::connect;
use crate::error::CliError;
use crate::json;

/// One alert: a line for people, or one JSON object.
fn print_alert(a: &apb::Alert, output: Output) {
    if output == Output::Json {
        println!("{}", json::alert(a));
        return;
    }
    let old = a.old_score.map(|o| format!("{o:.3}")).unwrap_or_else(|| "-".into());
    let webhook = a
        .webhook_delivery
        .as_ref()
        .map(|d| {
            format!(
                " [webhook {} after {} attempt(s)]",
                json::delivery_status_name(d.status),
                d.attempt_count
            )
        })
        .unwrap_or_default();
    println!(
        "{} {} {} {} {old} -> {:.3} ({}) {}{webhook}",
        a.id, a.mineral, a.importer, a.methodology, a.new_score, a.rule, a.top_reason
    );
}

/// Creates a subscription and prints its id; a webhook secret generated
/// here is printed once, since the service never returns it.
pub async fn subscribe(cli: &Cli, args: &SubscribeArgs) -> Result<(), CliError> {
    let mut rules = Vec::new();
    if let Some(value) = args.threshold {
        rules.push(apb::Rule {
            kind: Some(apb::rule::Kind::Threshold(apb::ThresholdRule {
                value,
                hysteresis: args.hysteresis,
            })),
        });
    }
    if let Some(min_delta) = args.delta {
        rules.push(apb::Rule {
            kind: Some(apb::rule::Kind::Delta(apb::DeltaRule { min_delta })),
        });
    }
    if let Some(min_supplier_share) = args.policy {
        rules.push(apb::Rule {
            kind: Some(apb::rule::Kind::Policy(apb::PolicyRule { min_supplier_share })),
        });
    }
    if rules.is_empty() {
        return Err(CliError::Invalid("give --threshold, --delta and/or --policy".into()));
    }
    // The service never returns a secret, so one made here is shown once.
    let generated =
        (args.webhook.is_some() && args.webhook_secret.is_none()).then(supplyrisk_webhook::Secret::generate);
    let webhook = args.webhook.as_ref().map(|url| apb::Webhook {
        url: url.clone(),
        secret: args
            .webhook_secret
            .clone()
            .or_else(|| generated.clone())
            .unwrap_or_default(),
        ..Default::default()
    });
    let sub = apb::Subscription {
        name: args
            .name
            .clone()
            .unwrap_or_else(|| format!("{} for {}", args.mineral, args.importer)),
        filter: Some(apb::Filter {
            minerals: vec![args.mineral.clone()],
            importers: vec![args.importer.to_ascii_uppercase()],
            methodology: args.method.clone(),
            ..Default::default()
        }),
        rules,
        webhook,
        ..Default::default()
    };
    let mut client = connect::alerting(cli).await?;
    let created = client
        .create_subscription(apb::CreateSubscriptionRequest {
            subscription: Some(sub),
        })
        .await?
        .into_inner();
    if cli.output == Output::Json {
        let mut value = json::subscription(&created);
        if let Some(secret) = &generated {
            value["webhook_secret"] = serde_json::Value::from(secret.as_str());
        }
        println!("{value}");
    } else {
        println!("{}", created.id);
        if let Some(secret) = &generated {
            eprintln!("webhook signing secret (shown once, keep it): {secret}");
        }
    }
    Ok(())
}

/// `--delivery` values → delivery status.
fn delivery_status(name: &str) -> Result<i32, CliError> {
    use apb::DeliveryStatus;
    Ok(match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "pending" => DeliveryStatus::Pending,
        "delivered" => DeliveryStatus::Delivered,
        "dead-lettered" | "dead" => DeliveryStatus::DeadLettered,
        "disabled" => DeliveryStatus::Disabled,
        _ => {
            return Err(CliError::Invalid(format!(
                "--delivery: '{name}' is not pending, delivered, dead-lettered or disabled"
            )));
        }
    } as i32)
}

/// Marks an alert as seen and prints it.
pub async fn acknowledge(cli: &Cli, subscription: &str, alert: &str) -> Result<(), CliError> {
    let mut client = connect::alerting(cli).await?;
    let acked = client
        .acknowledge_alert(apb::AcknowledgeAlertRequest {
            subscription_id: subscription.to_string(),
            alert_id: alert.to_string(),
        })
        .await?
        .into_inner();
    print_alert(&acked, cli.output);
    Ok(())
}

/// Prints a subscription's alerts, newest first, over all pages.
pub async fn list(cli: &Cli, subscription: &str, delivery: Option<&str>) -> Result<(), CliError> {
    let delivery_status = delivery.map(delivery_status).transpose()?.unwrap_or_default();
    let client = connect::alerting(cli).await?;
    let alerts = all_pages(|page_token| {
        let mut client = client.clone();
        let req = apb::ListAlertsRequest {
            subscription_id: subscription.to_string(),
            page_size: 100,
            page_token,
            delivery_status,
        };
        async move {
            let page = client.list_alerts(req).await?.into_inner();
            Ok((page.alerts, page.next_page_token))
        }
    })
    .await?;
    if cli.output == Output::Json {
        let alerts: Vec<serde_json::Value> = alerts.iter().map(json::alert).collect();
        println!(
            "{}",
            serde_json::json!({ "subscription_id": subscription, "alerts": alerts })
        );
        return Ok(());
    }
    for a in &alerts {
        print_alert(a, Output::Table);
    }
    Ok(())
}

/// Follows a subscription's alerts from `after` on, forever: a dropped
/// stream is reopened after a second from the last alert printed. Only an
/// unknown subscription, a refused request or a missing token end it.
pub async fn watch(cli: &Cli, subscription: &str, after: Option<String>) -> Result<(), CliError> {
    let mut last = after.unwrap_or_default();
    loop {
        let outcome: Result<(), CliError> = async {
            let mut client = connect::alerting(cli).await?;
            let req = apb::StreamAlertsRequest {
                subscription_id: subscription.to_string(),
                resume_after: last.clone(),
            };
            let mut stream = client.stream_alerts(req).await?.into_inner();
            while let Some(a) = stream.message().await? {
                print_alert(&a, cli.output);
                last = a.id;
            }
            Ok(())
        }
        .await;
        match outcome {
            Err(e)
                if e.is_status(&[
                    tonic::Code::NotFound,
                    tonic::Code::InvalidArgument,
                    tonic::Code::Unauthenticated,
                ]) =>
            {
                return Err(e);
            }
            Err(e) => eprintln!("supplyrisk: {e}; reconnecting"),
            Ok(()) => eprintln!("supplyrisk: stream ended; reconnecting"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
