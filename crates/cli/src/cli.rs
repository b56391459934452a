//! The command line itself: every command, flag and help text, as clap
//! parses them. Kept apart from the commands so the whole surface a user
//! sees can be read in one place.
//!
//! Doc comments on these items are help text; notes for readers of the code
//! are plain comments, so that they never show in `--help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

// The whole command line: global options and one command.
#[derive(Parser)]
#[command(
    name = "supplyrisk",
    version,
    about = "Critical-mineral supply risk from the command line"
)]
pub struct Cli {
    /// Ingest service endpoint.
    #[arg(
        long,
        env = "SUPPLYRISK_INGEST_ENDPOINT",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub ingest_endpoint: String,
    /// Alerting service endpoint.
    #[arg(
        long,
        env = "SUPPLYRISK_ALERTING_ENDPOINT",
        default_value = "http://127.0.0.1:50053",
        global = true
    )]
    pub alerting_endpoint: String,
    /// Scoring service endpoint.
    #[arg(
        long,
        env = "SUPPLYRISK_SCORING_ENDPOINT",
        default_value = "http://127.0.0.1:50052",
        global = true
    )]
    pub scoring_endpoint: String,
    /// Bearer token (reader for reads, ingester for imports).
    #[arg(long, env = "SUPPLYRISK_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Output format: table for people, json for scripts (every command that prints data;
    /// watch prints one JSON object per line).
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// Per-call timeout in seconds.
    #[arg(long, default_value_t = 30, global = true)]
    pub timeout: u64,
    /// PEM CA the services' certificates chain to, for https:// endpoints.
    #[arg(long, env = "SUPPLYRISK_CA_FILE", global = true)]
    pub ca_file: Option<std::path::PathBuf>,
    /// PEM client certificate, for services that require one (mutual TLS).
    #[arg(long, env = "SUPPLYRISK_CERT_FILE", global = true, requires = "key_file")]
    pub cert_file: Option<std::path::PathBuf>,
    /// The key of --cert-file.
    #[arg(long, env = "SUPPLYRISK_KEY_FILE", global = true, requires = "cert_file")]
    pub key_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

// How results are printed.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

// `supplyrisk alerts …`.
#[derive(Subcommand)]
pub enum AlertsCommand {
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

// `supplyrisk admin …`.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Stream entries consumer groups gave up on after repeated failures.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLettersCommand,
    },
}

// `supplyrisk admin dead-letters …`.
#[derive(Subcommand)]
pub enum DeadLettersCommand {
    /// Every dead letter of scoring's and alerting's consumer groups, oldest first.
    List(DeadLetterScope),
    /// Append dead letters to their stream again, so their groups process them anew.
    Redrive {
        /// Dead letter ids, as `list` prints them.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Every dead letter (of --service and --group when given).
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        scope: DeadLetterScope,
    },
}

/// Which services' and groups' dead letters.
#[derive(clap::Args)]
pub struct DeadLetterScope {
    /// Only this service: scoring or alerting.
    #[arg(long)]
    pub service: Option<String>,
    /// Only this consumer group (scoring, alerting, alerting-policy).
    #[arg(long)]
    pub group: Option<String>,
}

/// Which score: `score` and `suppliers` take the same arguments.
#[derive(clap::Args)]
pub struct ScoreArgs {
    /// Catalog id or name, e.g. DY or "rare earths".
    pub mineral: String,
    /// ISO3 country or bloc, e.g. JPN, USA+JPN, EU27.
    pub importer: String,
    /// eu-crm (default) or geopolrisk.
    #[arg(long, default_value = "eu-crm")]
    pub method: String,
    /// Data year; latest when omitted.
    #[arg(long)]
    pub year: Option<u32>,
}

/// `supplyrisk subscribe` options.
#[derive(clap::Args)]
pub struct SubscribeArgs {
    /// Catalog id or name.
    #[arg(long)]
    pub mineral: String,
    /// Importer as scored (ISO3 or bloc id).
    #[arg(long)]
    pub importer: String,
    /// Fire when the score rises to at least this value.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Re-arm only after the score falls this far below the threshold.
    #[arg(long, default_value_t = 0.1)]
    pub hysteresis: f64,
    /// Fire when the score moves by at least this much.
    #[arg(long)]
    pub delta: Option<f64>,
    /// Fire on new export restrictions touching the mineral; with a share
    /// above 0, only when the restricting country supplies at least that
    /// share (0-1) of the importer's sourcing.
    #[arg(long)]
    pub policy: Option<f64>,
    /// eu-crm (default) or geopolrisk.
    #[arg(long, default_value = "eu-crm")]
    pub method: String,
    /// A name for people.
    #[arg(long)]
    pub name: Option<String>,
    /// Also POST each alert, signed, to this http(s) URL.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Signing secret for the webhook ("whsec_" + base64); one is generated
    /// and printed once when omitted.
    #[arg(
        long,
        env = "SUPPLYRISK_WEBHOOK_SECRET",
        hide_env_values = true,
        requires = "webhook"
    )]
    pub webhook_secret: Option<String>,
}

// Every top-level command.
#[derive(Subcommand)]
pub enum Command {
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
    /// Operator commands (admin token).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
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
        out: PathBuf,
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
        file: Option<PathBuf>,
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

// `supplyrisk import …` when it is not one file.
#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import every dataset the manifest lists, in its order.
    Bundled(BundledArgs),
}

// `supplyrisk policy …`.
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Record every event of a POLICY_EVENTS CSV file.
    Import {
        /// Path of the CSV file.
        file: PathBuf,
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
pub struct PolicyAddArgs {
    /// Restricting country, ISO3.
    #[arg(long)]
    pub country: String,
    /// licensing, quota, tax, ban or other.
    #[arg(long)]
    pub measure: String,
    /// Minerals affected (catalog ids or names), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub minerals: Vec<String>,
    /// HS codes affected (6 digits), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub hs_codes: Vec<String>,
    /// Destination countries targeted (ISO3), comma-separated; none = all.
    #[arg(long, value_delimiter = ',')]
    pub targets: Vec<String>,
    /// First day in force, YYYY-MM-DD.
    #[arg(long)]
    pub from: String,
    /// Last day in force, YYYY-MM-DD; open-ended when omitted.
    #[arg(long)]
    pub until: Option<String>,
    /// 0 (symbolic) to 1 (total stop).
    #[arg(long, default_value_t = 1.0)]
    pub severity: f64,
    /// One line for people.
    #[arg(long)]
    pub summary: String,
    /// Where the facts come from (URL or citation).
    #[arg(long)]
    pub source: String,
    /// Id; derived from the country, measure, date and goods when omitted.
    #[arg(long, default_value = "")]
    pub id: String,
}

/// `supplyrisk import bundled` options.
#[derive(clap::Args)]
pub struct BundledArgs {
    /// Folder of the shipped datasets; the manifest's paths are relative to it.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// The manifest [default: <DATA_DIR>/manifest.toml].
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Bytes per streamed chunk.
    #[arg(long, default_value_t = 256 * 1024)]
    pub chunk_bytes: usize,
}
