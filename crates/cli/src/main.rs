//! `supplyrisk`: the command-line client for analysts and operators.
#![forbid(unsafe_code)]

mod bundled;
mod charts;
mod json;
mod report;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use supplyrisk_api::common::v1 as common;
use supplyrisk_api::convert;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_formats::{Format, Item, Options, Record};
use supplyrisk_grpc::client::{ClientInterceptor, all_pages};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

#[derive(Parser)]
#[command(
    name = "supplyrisk",
    version,
    about = "Critical-mineral supply risk from the command line"
)]
struct Cli {
    /// Ingest service endpoint.
    #[arg(
        long,
        env = "SUPPLYRISK_INGEST_ENDPOINT",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    ingest_endpoint: String,
    /// Alerting service endpoint.
    #[arg(
        long,
        env = "SUPPLYRISK_ALERTING_ENDPOINT",
        default_value = "http://127.0.0.1:50053",
        global = true
    )]
    alerting_endpoint: String,
    /// Scoring service endpoint.
    #[arg(
        long,
        env = "SUPPLYRISK_SCORING_ENDPOINT",
        default_value = "http://127.0.0.1:50052",
        global = true
    )]
    scoring_endpoint: String,
    /// Bearer token (reader for reads, ingester for imports).
    #[arg(long, env = "SUPPLYRISK_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Output format: table for people, json for scripts (every command that prints data;
    /// watch prints one JSON object per line).
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    output: Output,
    /// Per-call timeout in seconds.
    #[arg(long, default_value_t = 30, global = true)]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    Table,
    Json,
}

#[derive(Subcommand)]
enum AlertsCommand {
    /// A subscription's alerts, newest first, with webhook delivery status.
    List {
        /// Subscription id.
        subscription: String,
        /// Only alerts whose webhook delivery is pending, delivered, dead-lettered or disabled.
        #[arg(long)]
        delivery: Option<String>,
    },
    /// Mark an alert as seen.
    Ack {
        /// Subscription id.
        subscription: String,
        /// Alert id.
        alert: String,
    },
}

/// `supplyrisk subscribe` options.
/// Which score: `score` and `suppliers` take the same arguments.
#[derive(clap::Args)]
struct ScoreArgs {
    /// Catalog id or name, e.g. DY or "rare earths".
    mineral: String,
    /// ISO3 country or bloc, e.g. JPN, USA+JPN, EU27.
    importer: String,
    /// eu-crm (default) or geopolrisk.
    #[arg(long, default_value = "eu-crm")]
    method: String,
    /// Data year; latest when omitted.
    #[arg(long)]
    year: Option<u32>,
}

#[derive(clap::Args)]
struct SubscribeArgs {
    /// Catalog id or name.
    #[arg(long)]
    mineral: String,
    /// Importer as scored (ISO3 or bloc id).
    #[arg(long)]
    importer: String,
    /// Fire when the score rises to at least this value.
    #[arg(long)]
    threshold: Option<f64>,
    /// Re-arm only after the score falls this far below the threshold.
    #[arg(long, default_value_t = 0.1)]
    hysteresis: f64,
    /// Fire when the score moves by at least this much.
    #[arg(long)]
    delta: Option<f64>,
    /// Fire on new export restrictions touching the mineral; with a share
    /// above 0, only when the restricting country supplies at least that
    /// share (0-1) of the importer's sourcing.
    #[arg(long)]
    policy: Option<f64>,
    /// eu-crm (default) or geopolrisk.
    #[arg(long, default_value = "eu-crm")]
    method: String,
    /// A name for people.
    #[arg(long)]
    name: Option<String>,
    /// Also POST each alert, signed, to this http(s) URL.
    #[arg(long)]
    webhook: Option<String>,
    /// Signing secret for the webhook ("whsec_" + base64); one is generated
    /// and printed once when omitted.
    #[arg(
        long,
        env = "SUPPLYRISK_WEBHOOK_SECRET",
        hide_env_values = true,
        requires = "webhook"
    )]
    webhook_secret: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Print shell completions (bash, zsh, fish, …) to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// List the mineral catalog.
    Minerals,
    /// Policy events (export restrictions).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Show the supply snapshot of one mineral.
    Snapshot {
        /// Catalog id or name, e.g. REE or "rare earths".
        mineral: String,
        /// Importer ISO3 whose trade to include.
        #[arg(long)]
        importer: Option<String>,
        /// Data year; latest when omitted.
        #[arg(long)]
        year: Option<u32>,
    },
    /// One line per catalog mineral: data year, top producers, HHI, trade flows, policies.
    Summary,
    /// Explain one supply-risk score.
    Score {
        /// The score.
        #[command(flatten)]
        args: ScoreArgs,
        /// Show the value chain: every stage's score, the bottleneck, the
        /// production source of each stage and why a stage was skipped.
        #[arg(long)]
        stages: bool,
        /// Score only this stage (mining, processing, metal, manufacturing).
        #[arg(long)]
        stage: Option<String>,
        /// Answer as of this day (YYYY-MM-DD): the policy events in force
        /// then. Today when omitted.
        #[arg(long)]
        as_of: Option<String>,
    },
    /// The minerals with the highest supply risk for an importer.
    Top {
        /// ISO3 country or bloc.
        #[arg(long)]
        importer: String,
        /// Only minerals for this application (magnets, batteries, …).
        #[arg(long)]
        application: Option<String>,
        /// eu-crm (default) or geopolrisk.
        #[arg(long, default_value = "eu-crm")]
        method: String,
        /// How many to show.
        #[arg(long, default_value_t = 10)]
        limit: i32,
    },
    /// Every supplier behind a score, largest contribution first.
    Suppliers(ScoreArgs),
    /// A score per data year and each recomputation.
    History {
        /// Catalog id or name.
        mineral: String,
        /// ISO3 country or bloc.
        importer: String,
        /// eu-crm (default) or geopolrisk.
        #[arg(long, default_value = "eu-crm")]
        method: String,
    },
    /// What-if: scores before and after supply cuts, shortfall and stock cover.
    Scenario {
        /// SUPPLIER:MINERAL:CUT, e.g. CHN:REE:0.5 (repeatable).
        #[arg(long = "cut", required = true)]
        cuts: Vec<String>,
        /// Importers (ISO3 or blocs), e.g. USA+JPN (repeatable).
        #[arg(long = "importer", required = true)]
        importers: Vec<String>,
        /// Share of lost imports other suppliers replace (0-1).
        #[arg(long, default_value_t = 0.0)]
        headroom: f64,
        /// eu-crm (default) or geopolrisk.
        #[arg(long, default_value = "eu-crm")]
        method: String,
    },
    /// Subscribe to alerts on a mineral and importer.
    Subscribe(SubscribeArgs),
    /// Alert history of a subscription, and acknowledging alerts.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Follow a subscription's alerts, resuming after reconnects.
    Watch {
        /// Subscription id.
        subscription: String,
        /// Resume after this alert id.
        #[arg(long)]
        after: Option<String>,
    },
    /// Write an analyst report: one self-contained HTML file with charts.
    Report {
        /// Importers (ISO3 or blocs), e.g. JPN or USA+JPN (repeatable).
        #[arg(long = "importer", required = true)]
        importers: Vec<String>,
        /// The HTML file to write.
        #[arg(long)]
        out: std::path::PathBuf,
        /// eu-crm (default) or geopolrisk.
        #[arg(long, default_value = "eu-crm")]
        method: String,
        /// How many of the highest-scoring minerals to chart per importer (1-10).
        #[arg(long, default_value_t = 5)]
        charted: usize,
        /// Export cut of each charted mineral's top supplier in the scenario chart (0-1].
        #[arg(long, default_value_t = 0.5)]
        scenario_cut: f64,
    },
    /// Stream a data file through ImportDataset, showing progress
    /// (`import bundled`: every dataset of data/manifest.toml).
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Import {
        #[command(subcommand)]
        bundled: Option<ImportCommand>,
        /// BACI, COMTRADE, USGS_MCS_WORLD, USGS_MCS_SALIENT, USGS_IMPORT_RELIANCE,
        /// WORLD_MINING_DATA, WMD_HS_CODE_MAP, WGI_PV, WGI, POLICY_EVENTS, BACI_COUNTRY_CODES.
        #[arg(required = true)]
        format: Option<String>,
        /// The file (gzip is detected).
        #[arg(required = true)]
        file: Option<std::path::PathBuf>,
        /// Idempotency key; derived from the file's name, size and format when omitted.
        #[arg(long)]
        upload_id: Option<String>,
        /// Source label stored with the records.
        #[arg(long)]
        source: Option<String>,
        /// Bytes per streamed chunk.
        #[arg(long, default_value_t = 256 * 1024)]
        chunk_bytes: usize,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import every dataset the manifest lists, in its order.
    Bundled(bundled::Args),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Record every event of a POLICY_EVENTS CSV file.
    Import {
        /// Path of the CSV file.
        file: std::path::PathBuf,
    },
    /// List recorded events.
    List {
        /// Only events touching this mineral.
        #[arg(long)]
        mineral: Option<String>,
    },
    /// Record one export restriction.
    Add(Box<PolicyAddArgs>),
}

/// `supplyrisk policy add` options: one row of a POLICY_EVENTS file.
#[derive(clap::Args)]
struct PolicyAddArgs {
    /// Restricting country, ISO3.
    #[arg(long)]
    country: String,
    /// licensing, quota, tax, ban or other.
    #[arg(long)]
    measure: String,
    /// Minerals affected (catalog ids or names), comma-separated.
    #[arg(long, value_delimiter = ',')]
    minerals: Vec<String>,
    /// HS codes affected (6 digits), comma-separated.
    #[arg(long, value_delimiter = ',')]
    hs_codes: Vec<String>,
    /// Destination countries targeted (ISO3), comma-separated; none = all.
    #[arg(long, value_delimiter = ',')]
    targets: Vec<String>,
    /// First day in force, YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// Last day in force, YYYY-MM-DD; open-ended when omitted.
    #[arg(long)]
    until: Option<String>,
    /// 0 (symbolic) to 1 (total stop).
    #[arg(long, default_value_t = 1.0)]
    severity: f64,
    /// One line for people.
    #[arg(long)]
    summary: String,
    /// Where the facts come from (URL or citation).
    #[arg(long)]
    source: String,
    /// Id; derived from the country, measure, date and goods when omitted.
    #[arg(long, default_value = "")]
    id: String,
}

type Client = IngestServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// A connected channel to `endpoint` and the caller's bearer token.
async fn connect_to(cli: &Cli, endpoint: &str, service: &str) -> Result<(Channel, ClientInterceptor), String> {
    let channel = Channel::from_shared(endpoint.to_string())
        .map_err(|e| format!("bad endpoint {endpoint}: {e}"))?
        .timeout(Duration::from_secs(cli.timeout))
        .connect()
        .await
        .map_err(|e| format!("cannot reach the {service} service at {endpoint}: {e}"))?;
    let token = cli.token.clone().unwrap_or_default();
    // The interceptor quietly sends no token when it cannot be a header;
    // the caller should hear why instead of "not authenticated".
    if !token.is_empty() && format!("Bearer {token}").parse::<MetadataValue<Ascii>>().is_err() {
        return Err("the token has characters a header cannot carry".to_string());
    }
    Ok((channel, ClientInterceptor::new(&secrecy::SecretString::from(token))))
}

async fn connect(cli: &Cli) -> Result<Client, String> {
    let (channel, bearer) = connect_to(cli, &cli.ingest_endpoint, "ingest").await?;
    Ok(IngestServiceClient::with_interceptor(channel, bearer))
}

fn status_line(s: tonic::Status) -> String {
    match s.code() {
        tonic::Code::Unauthenticated => format!(
            "not authenticated: {} (pass --token or set SUPPLYRISK_TOKEN)",
            s.message()
        ),
        tonic::Code::PermissionDenied => format!("permission denied: {}", s.message()),
        tonic::Code::Unavailable => format!("service unavailable: {}", s.message()),
        _ => format!("{:?}: {}", s.code(), s.message()),
    }
}

async fn minerals(client: &mut Client, output: Output) -> Result<(), String> {
    let resp = client
        .list_minerals(pb::ListMineralsRequest {})
        .await
        .map_err(status_line)?
        .into_inner();
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

/// One rejected row of a policy-event file.
struct RejectedRow {
    line: u64,
    column: String,
    reason: String,
}

async fn policy_import(client: &mut Client, file: &std::path::Path, output: Output) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
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
                        reason: status_line(s),
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
        Err(format!("{failed} rows rejected"))
    } else {
        Ok(())
    }
}

/// Records one policy event given on the command line, checked like a file row.
async fn policy_add(client: &mut Client, args: &PolicyAddArgs, output: Output) -> Result<(), String> {
    let date = |flag: &str, value: &str| {
        supplyrisk_domain::records::Date::parse(value)
            .map(|d| (i32::from(d.year), i32::from(d.month), i32::from(d.day)))
            .map_err(|e| format!("--{flag}: {e}"))
    };
    let raw = supplyrisk_domain::records::RawPolicyEvent {
        id: args.id.clone(),
        country: args.country.clone(),
        minerals: args.minerals.clone(),
        hs_codes: args.hs_codes.clone(),
        measure: Some(
            supplyrisk_domain::records::PolicyMeasure::parse(&args.measure).ok_or_else(|| {
                format!(
                    "--measure: '{}' is not licensing, quota, tax, ban or other",
                    args.measure
                )
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
    let event = supplyrisk_domain::PolicyEvent::validate(&raw).map_err(|v| v.to_string())?;
    let resp = client
        .record_policy_event(pb::RecordPolicyEventRequest {
            event: Some(convert::policy_event_to_pb(&event)),
        })
        .await
        .map_err(status_line)?
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

async fn policy_list(client: &mut Client, mineral: Option<String>, output: Output) -> Result<(), String> {
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
    .await
    .map_err(status_line)?;
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

async fn snapshot(
    client: &mut Client,
    mineral: String,
    importer: Option<String>,
    year: Option<u32>,
    output: Output,
) -> Result<(), String> {
    let req = pb::GetSupplySnapshotRequest {
        mineral,
        year: year.unwrap_or(0),
        importer: importer.unwrap_or_default(),
        ..Default::default()
    };
    let snap = client.get_supply_snapshot(req).await.map_err(status_line)?.into_inner();
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

async fn summary(client: &mut Client, output: Output) -> Result<(), String> {
    let minerals = client
        .list_minerals(pb::ListMineralsRequest {})
        .await
        .map_err(status_line)?
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
        snapshots.push(client.get_supply_snapshot(req).await.map_err(status_line)?.into_inner());
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

fn dataset_format(name: &str) -> Result<pb::DatasetFormat, String> {
    let wanted = format!("DATASET_FORMAT_{}", name.trim().to_ascii_uppercase().replace('-', "_"));
    pb::DatasetFormat::from_str_name(&wanted)
        .filter(|f| *f != pb::DatasetFormat::Unspecified)
        .ok_or_else(|| {
            let names: Vec<&str> = supplyrisk_formats::Format::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format '{name}'; one of {}", names.join(", "))
        })
}

/// What the service reported for one imported file.
struct Imported {
    /// The file's name, without its folder.
    name: String,
    /// Wall time of the upload.
    seconds: f64,
    /// The service's final summary.
    summary: pb::ImportSummary,
}

async fn import(
    client: &mut Client,
    format: &str,
    file: &std::path::Path,
    upload_id: Option<String>,
    source: Option<String>,
    chunk_bytes: usize,
) -> Result<Imported, String> {
    use std::io::{IsTerminal, Read, Write};
    use supplyrisk_api::ingest::v1::{import_dataset_request, import_dataset_response};
    let format = dataset_format(format)?;
    let mut f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let upload_id = upload_id.unwrap_or_else(|| {
        let clean: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' })
            .collect();
        format!(
            "{}-{clean}-{size}",
            format
                .as_str_name()
                .trim_start_matches("DATASET_FORMAT_")
                .to_lowercase()
        )
    });
    let header = pb::ImportHeader {
        format: format as i32,
        source_name: source.unwrap_or_default(),
        upload_id,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tx.send(pb::ImportDatasetRequest {
        item: Some(import_dataset_request::Item::Header(header)),
    })
    .await
    .map_err(|e| e.to_string())?;
    let reader = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut buf = vec![0u8; chunk_bytes.max(1)];
        loop {
            let n = f.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Ok(());
            }
            let msg = pb::ImportDatasetRequest {
                item: Some(import_dataset_request::Item::Chunk(buf[..n].to_vec())),
            };
            if tx.blocking_send(msg).is_err() {
                return Ok(());
            }
        }
    });
    let started = std::time::Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut stream = client
        .import_dataset(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map_err(status_line)?
        .into_inner();
    let mut summary = None;
    while let Some(msg) = stream.message().await.map_err(status_line)? {
        match msg.item {
            Some(import_dataset_response::Item::Progress(p)) => {
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let pct = if size > 0 {
                    p.bytes_read as f64 * 100.0 / size as f64
                } else {
                    0.0
                };
                let eta = if p.bytes_read > 0 {
                    (size.saturating_sub(p.bytes_read)) as f64 * secs / p.bytes_read as f64
                } else {
                    0.0
                };
                let line = format!(
                    "{name}: {pct:5.1}% {} rows ({:.0} rows/s) accepted {} rejected {} ETA {eta:.0}s",
                    p.rows_read,
                    p.rows_read as f64 / secs,
                    p.accepted,
                    p.rejected
                );
                if tty {
                    eprint!("\r{line}   ");
                    let _ = std::io::stderr().flush();
                } else {
                    eprintln!("{line}");
                }
            }
            Some(import_dataset_response::Item::Summary(s)) => summary = Some(s),
            None => {}
        }
    }
    if tty {
        eprintln!();
    }
    let _ = reader.await;
    let summary = summary.ok_or("the service ended the import without a summary")?;
    Ok(Imported {
        name,
        seconds: started.elapsed().as_secs_f64(),
        summary,
    })
}

/// The summary of one import: a line and the first rejected rows, or JSON.
fn print_import(imported: &Imported, output: Output) {
    let Imported {
        name,
        seconds,
        summary: s,
    } = imported;
    if output == Output::Json {
        println!("{}", json::import_summary(name, *seconds, s));
        return;
    }
    let t = s.totals.unwrap_or_default();
    println!(
        "{name}: {} rows in {seconds:.1}s: {} accepted, {} unchanged, {} rejected, {} skipped{}",
        t.rows_read,
        t.accepted,
        t.unchanged,
        t.rejected,
        t.skipped,
        if s.replayed {
            " (already imported; stored summary)"
        } else {
            ""
        }
    );
    for r in s.rejected_rows.iter().take(10) {
        println!("  line {}: {}: {}", r.line, r.column, r.reason);
    }
}

type ScoringClient = supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient<
    InterceptedService<Channel, ClientInterceptor>,
>;

async fn connect_scoring(cli: &Cli) -> Result<ScoringClient, String> {
    let (channel, bearer) = connect_to(cli, &cli.scoring_endpoint, "scoring").await?;
    Ok(supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient::with_interceptor(channel, bearer))
}

fn methodology(name: &str) -> Result<i32, String> {
    use supplyrisk_api::scoring::v1::Methodology;
    match name.trim().to_ascii_lowercase().as_str() {
        "eu-crm" | "eucrm" => Ok(Methodology::EuCrm as i32),
        "geopolrisk" | "gpr" => Ok(Methodology::Geopolrisk as i32),
        other => Err(format!("unknown method '{other}'; eu-crm or geopolrisk")),
    }
}

/// The id scores carry for a methodology, e.g. `eu-crm`.
fn methodology_id(value: i32) -> &'static str {
    use supplyrisk_api::scoring::v1::Methodology;
    match Methodology::try_from(value) {
        Ok(Methodology::Geopolrisk) => "geopolrisk",
        _ => "eu-crm",
    }
}

async fn score(
    cli: &Cli,
    args: &ScoreArgs,
    show_stages: bool,
    stage: Option<&str>,
    as_of: Option<&str>,
) -> Result<(), String> {
    use supplyrisk_api::scoring::v1 as spb;
    let stage = match stage {
        None => 0,
        Some(name) => supplyrisk_domain::Stage::parse(name)
            .map(|s| supplyrisk_api::convert::stage_to_pb(s) as i32)
            .ok_or_else(|| format!("unknown stage '{name}'; one of mining, processing, metal, manufacturing"))?,
    };
    let mut client = connect_scoring(cli).await?;
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
                    .map_err(|e| format!("--as-of: {e}"))
            })
            .transpose()?,
    };
    let s = client.get_risk_score(req).await.map_err(status_line)?.into_inner();
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

async fn suppliers(cli: &Cli, args: &ScoreArgs) -> Result<(), String> {
    use supplyrisk_api::scoring::v1 as spb;
    let (mineral, importer) = (args.mineral.as_str(), args.importer.as_str());
    let client = connect_scoring(cli).await?;
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
    .await
    .map_err(status_line)?;
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

async fn top(cli: &Cli, importer: &str, application: Option<String>, method: &str, limit: i32) -> Result<(), String> {
    use supplyrisk_api::scoring::v1 as spb;
    let mut client = connect_scoring(cli).await?;
    let req = spb::ListRiskScoresRequest {
        importer: importer.to_string(),
        application: application.unwrap_or_default(),
        methodology: methodology(method)?,
        page_size: limit,
        ..Default::default()
    };
    let resp = client.list_risk_scores(req).await.map_err(status_line)?.into_inner();
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

async fn history(cli: &Cli, mineral: &str, importer: &str, method: &str) -> Result<(), String> {
    use supplyrisk_api::scoring::v1 as spb;
    let mut client = connect_scoring(cli).await?;
    let methodology = methodology(method)?;
    let req = spb::GetScoreHistoryRequest {
        mineral: mineral.to_string(),
        importer: importer.to_string(),
        methodology,
    };
    let resp = client.get_score_history(req).await.map_err(status_line)?.into_inner();
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

/// `SUPPLIER:MINERAL:CUT`, e.g. `CHN:REE:0.5`, as a shock.
fn parse_cut(c: &str) -> Result<supplyrisk_api::scoring::v1::Shock, String> {
    let parts: Vec<&str> = c.split(':').collect();
    let [supplier, mineral, cut] = parts.as_slice() else {
        return Err(format!("--cut {c}: expected SUPPLIER:MINERAL:CUT, e.g. CHN:REE:0.5"));
    };
    let cut: f64 = cut.parse().map_err(|_| format!("--cut {c}: '{cut}' is not a number"))?;
    Ok(supplyrisk_api::scoring::v1::Shock {
        supplier: supplier.to_string(),
        mineral: mineral.to_string(),
        cut,
    })
}

async fn scenario(cli: &Cli, cuts: &[String], importers: &[String], headroom: f64, method: &str) -> Result<(), String> {
    use supplyrisk_api::scoring::v1 as spb;
    let shocks = cuts.iter().map(|c| parse_cut(c)).collect::<Result<Vec<_>, _>>()?;
    let methodology = methodology(method)?;
    let mut client = connect_scoring(cli).await?;
    let req = spb::SimulateScenarioRequest {
        shocks: shocks.clone(),
        importers: importers.to_vec(),
        methodology,
        year: 0,
        rerouting_headroom: headroom,
    };
    let resp = client.simulate_scenario(req).await.map_err(status_line)?.into_inner();
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

type AlertingClient = supplyrisk_api::alerting::v1::alerting_service_client::AlertingServiceClient<
    InterceptedService<Channel, ClientInterceptor>,
>;

async fn connect_alerting(cli: &Cli) -> Result<AlertingClient, String> {
    let (channel, bearer) = connect_to(cli, &cli.alerting_endpoint, "alerting").await?;
    Ok(supplyrisk_api::alerting::v1::alerting_service_client::AlertingServiceClient::with_interceptor(channel, bearer))
}

fn print_alert(a: &supplyrisk_api::alerting::v1::Alert, output: Output) {
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

async fn subscribe(cli: &Cli, args: &SubscribeArgs) -> Result<(), String> {
    use supplyrisk_api::alerting::v1 as apb;
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
        return Err("give --threshold, --delta and/or --policy".into());
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
    let mut client = connect_alerting(cli).await?;
    let created = client
        .create_subscription(apb::CreateSubscriptionRequest {
            subscription: Some(sub),
        })
        .await
        .map_err(status_line)?
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
fn delivery_status(name: &str) -> Result<i32, String> {
    use supplyrisk_api::alerting::v1::DeliveryStatus;
    Ok(match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "pending" => DeliveryStatus::Pending,
        "delivered" => DeliveryStatus::Delivered,
        "dead-lettered" | "dead" => DeliveryStatus::DeadLettered,
        "disabled" => DeliveryStatus::Disabled,
        _ => {
            return Err(format!(
                "--delivery: '{name}' is not pending, delivered, dead-lettered or disabled"
            ));
        }
    } as i32)
}

async fn acknowledge(cli: &Cli, subscription: &str, alert: &str) -> Result<(), String> {
    use supplyrisk_api::alerting::v1 as apb;
    let mut client = connect_alerting(cli).await?;
    let acked = client
        .acknowledge_alert(apb::AcknowledgeAlertRequest {
            subscription_id: subscription.to_string(),
            alert_id: alert.to_string(),
        })
        .await
        .map_err(status_line)?
        .into_inner();
    print_alert(&acked, cli.output);
    Ok(())
}

async fn alerts(cli: &Cli, subscription: &str, delivery: Option<&str>) -> Result<(), String> {
    use supplyrisk_api::alerting::v1 as apb;
    let delivery_status = delivery.map(delivery_status).transpose()?.unwrap_or_default();
    let client = connect_alerting(cli).await?;
    let list = all_pages(|page_token| {
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
    .await
    .map_err(status_line)?;
    if cli.output == Output::Json {
        let alerts: Vec<serde_json::Value> = list.iter().map(json::alert).collect();
        println!(
            "{}",
            serde_json::json!({ "subscription_id": subscription, "alerts": alerts })
        );
        return Ok(());
    }
    for a in &list {
        print_alert(a, Output::Table);
    }
    Ok(())
}

async fn watch(cli: &Cli, subscription: &str, after: Option<String>) -> Result<(), String> {
    use supplyrisk_api::alerting::v1 as apb;
    let mut last = after.unwrap_or_default();
    loop {
        let outcome: Result<(), String> = async {
            let mut client = connect_alerting(cli).await?;
            let req = apb::StreamAlertsRequest {
                subscription_id: subscription.to_string(),
                resume_after: last.clone(),
            };
            let mut stream = client.stream_alerts(req).await.map_err(status_line)?.into_inner();
            while let Some(a) = stream.message().await.map_err(status_line)? {
                print_alert(&a, cli.output);
                last = a.id;
            }
            Ok(())
        }
        .await;
        match outcome {
            Err(e)
                if e.starts_with("NotFound") || e.starts_with("InvalidArgument") || e.contains("not authenticated") =>
            {
                return Err(e);
            }
            Err(e) => eprintln!("supplyrisk: {e}; reconnecting"),
            Ok(()) => eprintln!("supplyrisk: stream ended; reconnecting"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match &cli.command {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(*shell, &mut Cli::command(), "supplyrisk", &mut std::io::stdout());
            return Ok(());
        }
        Command::Subscribe(args) => return subscribe(&cli, args).await,
        Command::Alerts {
            command: AlertsCommand::List { subscription, delivery },
        } => return alerts(&cli, subscription, delivery.as_deref()).await,
        Command::Alerts {
            command: AlertsCommand::Ack { subscription, alert },
        } => return acknowledge(&cli, subscription, alert).await,
        Command::History {
            mineral,
            importer,
            method,
        } => return history(&cli, mineral, importer, method).await,
        Command::Scenario {
            cuts,
            importers,
            headroom,
            method,
        } => {
            return scenario(&cli, cuts, importers, *headroom, method).await;
        }
        Command::Watch { subscription, after } => return watch(&cli, subscription, after.clone()).await,
        Command::Import {
            bundled: Some(ImportCommand::Bundled(args)),
            ..
        } => {
            // The manifest is checked before connecting, so its errors show without a cluster.
            let manifest = bundled::Manifest::load_for(args)?;
            let mut client = connect(&cli).await?;
            return bundled::import_all(&mut client, &manifest, args.chunk_bytes, cli.output).await;
        }
        Command::Report {
            importers,
            out,
            method,
            charted,
            scenario_cut,
        } => {
            let request = report::Request {
                importers: importers.clone(),
                methodology: methodology(method)?,
                charted: *charted,
                scenario_cut: *scenario_cut,
            };
            request.validate()?;
            let mut client = connect_scoring(&cli).await?;
            let written = report::write(&mut client, &request, out).await?;
            if cli.output == Output::Json {
                println!("{}", written.to_json());
            } else {
                println!("{written}");
            }
            return Ok(());
        }
        _ => {}
    }
    match &cli.command {
        Command::Score {
            args,
            stages,
            stage,
            as_of,
        } => return score(&cli, args, *stages, stage.as_deref(), as_of.as_deref()).await,
        Command::Suppliers(args) => return suppliers(&cli, args).await,
        Command::Top {
            importer,
            application,
            method,
            limit,
        } => {
            return top(&cli, importer, application.clone(), method, *limit).await;
        }
        _ => {}
    }
    let mut client = connect(&cli).await?;
    let output = cli.output;
    match cli.command {
        Command::Minerals => minerals(&mut client, output).await,
        Command::Policy {
            command: PolicyCommand::Import { file },
        } => policy_import(&mut client, &file, output).await,
        Command::Policy {
            command: PolicyCommand::List { mineral },
        } => policy_list(&mut client, mineral, output).await,
        Command::Policy {
            command: PolicyCommand::Add(args),
        } => policy_add(&mut client, &args, output).await,
        Command::Snapshot {
            mineral,
            importer,
            year,
        } => snapshot(&mut client, mineral, importer, year, output).await,
        Command::Summary => summary(&mut client, output).await,
        Command::Import {
            bundled: None,
            format: Some(format),
            file: Some(file),
            upload_id,
            source,
            chunk_bytes,
        } => {
            let imported = import(&mut client, &format, &file, upload_id, source, chunk_bytes).await?;
            print_import(&imported, output);
            Ok(())
        }
        Command::Import { bundled: None, .. } => Err("give FORMAT and FILE, or use `import bundled`".into()),
        Command::Score { .. }
        | Command::Suppliers(_)
        | Command::Top { .. }
        | Command::Subscribe { .. }
        | Command::Alerts { .. }
        | Command::History { .. }
        | Command::Completions { .. }
        | Command::Scenario { .. }
        | Command::Watch { .. }
        | Command::Import { bundled: Some(_), .. }
        | Command::Report { .. } => Ok(()),
    }
}

/// An error as one line, so scripts can read stderr line by line.
fn one_line(error: &str) -> String {
    error.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("supplyrisk: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}
