//! Settings of the alerting service.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use supplyrisk_config::{ConfigError, EndpointSettings, RenamedSection};
use supplyrisk_service::{ServiceSettings, Upstream};
use supplyrisk_webhook::{AllowList, ExtraRoots, RetryPolicy, SecretKeys};

/// Alerting-specific settings (`[alerting]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSection {
    /// Consumer group reading the score stream.
    pub consumer_group: String,
    /// This consumer's name; empty = host name and process id.
    #[serde(default)]
    pub consumer_name: String,
    /// Pending entries idle this long are reclaimed from dead consumers, ms.
    pub reclaim_idle_ms: u64,
    /// An event that fails on this many deliveries is moved to its group's
    /// dead letters, so the events after it are matched.
    pub max_deliveries: u64,
    /// How often an open alert stream looks for alerts on its own, ms: a
    /// safety net, since streams wake when any replica announces an alert.
    pub stream_poll_ms: u64,
    /// Alert streams one principal may hold open at once.
    pub max_streams_per_caller: usize,
    /// Internal webhook destinations allowed despite the SSRF guard:
    /// comma-separated host names, addresses and CIDR blocks.
    #[serde(default)]
    pub webhook_allow: String,
    /// PEM file of CA certificates trusted for webhook receivers besides the
    /// bundled public roots (a company CA, say); empty = none.
    #[serde(default)]
    pub webhook_ca_file: String,
    /// Bound on one webhook attempt (connect, TLS, request, response head), ms.
    pub webhook_timeout_ms: u64,
    /// Delay before the first webhook retry, ms; doubles per failure.
    pub webhook_initial_backoff_ms: u64,
    /// Longest delay between webhook retries, ms.
    pub webhook_max_backoff_ms: u64,
    /// Retries stop and the alert is dead-lettered this long after it was created, s.
    pub webhook_max_age_secs: u64,
    /// Webhook attempts in flight at once.
    pub webhook_concurrency: usize,
    /// Keys sealing webhook secrets at rest: `id=<base64 of 32 bytes>,…`;
    /// the first seals, all open (a Secret in Kubernetes).
    #[serde(default = "no_keys")]
    pub secret_keys: SecretString,
    /// Subscriptions one principal (a token's name) may own.
    pub max_subscriptions_per_owner: u64,
    /// Alerts a subscription keeps; recording one more drops the oldest
    /// with its acknowledgement and delivery state.
    pub alerts_per_subscription: u64,
}

fn no_keys() -> SecretString {
    SecretString::from("")
}

impl AlertingSection {
    /// The parsed webhook-secret sealing keys.
    pub fn secret_keys(&self) -> Result<SecretKeys, ConfigError> {
        SecretKeys::parse(self.secret_keys.expose_secret())
            .map_err(|e| ConfigError(format!("{}: {e}", supplyrisk_config::env_name("alerting.secret_keys"))))
    }

    /// The parsed webhook allow-list.
    pub fn webhook_allow_list(&self) -> Result<AllowList, ConfigError> {
        AllowList::parse(&self.webhook_allow).map_err(|e| {
            ConfigError(format!(
                "{}: {e} (expected comma-separated hosts, addresses or CIDR blocks)",
                supplyrisk_config::env_name("alerting.webhook_allow")
            ))
        })
    }

    /// The CA certificates of `webhook_ca_file`, read now.
    pub fn webhook_extra_roots(&self) -> Result<ExtraRoots, ConfigError> {
        if self.webhook_ca_file.is_empty() {
            return Ok(ExtraRoots::default());
        }
        let error = |reason: String| {
            ConfigError(format!(
                "{} ({}): {reason}",
                supplyrisk_config::env_name("alerting.webhook_ca_file"),
                self.webhook_ca_file
            ))
        };
        let pem = std::fs::read(&self.webhook_ca_file).map_err(|e| error(e.to_string()))?;
        ExtraRoots::from_pem(&pem).map_err(error)
    }

    /// This process's place in consumer group `group` of `stream`.
    pub fn consumer(&self, stream: &str, group: &str) -> supplyrisk_store::consumer::ConsumerConfig {
        supplyrisk_store::consumer::ConsumerConfig::new(stream, group, &self.consumer_name, self.reclaim_idle_ms, 200)
            .with_max_deliveries(self.max_deliveries)
    }

    /// The webhook retry schedule.
    pub fn webhook_retry(&self) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_millis(self.webhook_initial_backoff_ms),
            max_interval: Duration::from_millis(self.webhook_max_backoff_ms),
            max_age: Duration::from_secs(self.webhook_max_age_secs),
        }
    }
}

/// Where the alerting service finds the services it calls (`[upstream]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingUpstreams {
    /// The ingest service, for policy events.
    pub ingest: EndpointSettings,
    /// The scoring service, for importers' supplier shares (policy rules).
    pub scoring: EndpointSettings,
}

/// The alerting service's own sections.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertingSettings {
    /// The services it calls.
    pub upstream: AlertingUpstreams,
    /// Alerting tuning.
    pub alerting: AlertingSection,
}

/// All settings of the alerting service.
pub type Settings = supplyrisk_service::Settings<AlertingSettings>;

const DEFAULTS: &str = r#"
[grpc]
listen = "127.0.0.1:50053"

[upstream.ingest]
endpoint = "http://127.0.0.1:50051"
timeout_ms = 10000

[upstream.scoring]
endpoint = "http://127.0.0.1:50052"
timeout_ms = 10000

[alerting]
consumer_group = "alerting"
reclaim_idle_ms = 30000
max_deliveries = 5
stream_poll_ms = 30000
max_streams_per_caller = 16
webhook_allow = ""
webhook_ca_file = ""
webhook_timeout_ms = 5000
webhook_initial_backoff_ms = 1000
webhook_max_backoff_ms = 300000
webhook_max_age_secs = 86400
webhook_concurrency = 16
max_subscriptions_per_owner = 1000
alerts_per_subscription = 100000
"#;

impl ServiceSettings for AlertingSettings {
    const SECTIONS: &'static [&'static str] = &["upstream", "alerting"];
    const RENAMED: &'static [RenamedSection] = &[
        RenamedSection {
            old: "ingest",
            new: "upstream.ingest",
        },
        RenamedSection {
            old: "scoring",
            new: "upstream.scoring",
        },
    ];

    fn defaults() -> String {
        DEFAULTS.to_string()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let a = &self.alerting;
        supplyrisk_config::at_least_one(&[
            ("alerting.stream_poll_ms", a.stream_poll_ms),
            ("alerting.max_deliveries", a.max_deliveries),
            ("alerting.webhook_timeout_ms", a.webhook_timeout_ms),
            ("alerting.webhook_initial_backoff_ms", a.webhook_initial_backoff_ms),
            ("alerting.webhook_max_backoff_ms", a.webhook_max_backoff_ms),
            ("alerting.webhook_max_age_secs", a.webhook_max_age_secs),
            ("alerting.webhook_concurrency", a.webhook_concurrency as u64),
            ("alerting.max_subscriptions_per_owner", a.max_subscriptions_per_owner),
            ("alerting.max_streams_per_caller", a.max_streams_per_caller as u64),
            ("alerting.alerts_per_subscription", a.alerts_per_subscription),
        ])?;
        a.webhook_allow_list()?;
        a.webhook_extra_roots()?;
        a.secret_keys()?;
        Ok(())
    }

    fn upstreams(&self) -> Vec<Upstream<'_>> {
        vec![
            Upstream::ingest(&self.upstream.ingest),
            Upstream::scoring(&self.upstream.scoring),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA_FILE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/webhook/tests/fixtures/test-ca.pem"
    );

    fn load(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut vars = vec![(
            "SUPPLYRISK__ALERTING__SECRET_KEYS",
            supplyrisk_testkit::ALERTING_SECRET_KEYS,
        )];
        vars.extend_from_slice(extra);
        supplyrisk_testkit::deploy::settings_with::<AlertingSettings>(&vars)
    }

    #[test]
    fn webhook_secrets_need_a_sealing_key() {
        let err = supplyrisk_testkit::deploy::settings_with::<AlertingSettings>(&[]).expect_err("no key");
        assert!(
            err.to_string().contains("SUPPLYRISK__ALERTING__SECRET_KEYS: no key"),
            "{err}"
        );
        load(&[]).expect("with the test key");
    }

    #[test]
    fn webhooks_trust_only_public_roots_unless_a_ca_file_is_named() {
        let defaults = load(&[]).expect("defaults load");
        assert!(defaults.own.alerting.webhook_extra_roots().expect("none").is_empty());
        let with_ca = load(&[("SUPPLYRISK__ALERTING__WEBHOOK_CA_FILE", CA_FILE)]).expect("loads");
        assert_eq!(with_ca.own.alerting.webhook_extra_roots().expect("read").len(), 1);
    }

    #[test]
    fn an_unreadable_or_empty_ca_file_stops_start_up_by_name() {
        for file in ["/nonexistent/ca.pem", "/dev/null"] {
            let err = load(&[("SUPPLYRISK__ALERTING__WEBHOOK_CA_FILE", file)]).expect_err(file);
            let text = err.to_string();
            assert!(
                text.contains("SUPPLYRISK__ALERTING__WEBHOOK_CA_FILE") && text.contains(file),
                "{text}"
            );
        }
    }
}
