//! The Kubernetes configuration of supplyrisk-alerting carries only settings the
//! service accepts (checks in `supplyrisk_testkit::deploy`), so a typo in a
//! ConfigMap fails here instead of stopping pods in a rollout.

use supplyrisk_alerting::settings::{AlertingSettings, Settings};
use supplyrisk_testkit::deploy::DeployConfig;

fn config() -> DeployConfig<AlertingSettings> {
    DeployConfig {
        service: "alerting",
        // Variables the Deployment takes from Secrets, with valid placeholder values.
        secrets: &[
            ("SUPPLYRISK__REDIS__URL", "redis://redis.invalid:6379/0"),
            ("SUPPLYRISK__AUTH__TOKENS", "reader=aaaaaaaaaaaa,ingester=bbbbbbbbbbbb"),
            ("SUPPLYRISK__UPSTREAM__INGEST__TOKEN", "aaaaaaaaaaaa"),
            ("SUPPLYRISK__UPSTREAM__SCORING__TOKEN", "aaaaaaaaaaaa"),
            (
                "SUPPLYRISK__ALERTING__SECRET_KEYS",
                "k1=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
        ],
        ingest_endpoint: Some(|s: &Settings| s.own.upstream.ingest.endpoint.clone()),
    }
}

supplyrisk_testkit::deploy_config_tests!(config, ingest_endpoint_names_an_ingest_service_and_port);
