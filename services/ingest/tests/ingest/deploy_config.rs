//! The Kubernetes configuration of supplyrisk-ingest carries only settings the
//! service accepts (checks in `supplyrisk_testkit::deploy`), so a typo in a
//! ConfigMap fails here instead of stopping pods in a rollout.

use supplyrisk_ingest::settings::IngestSettings;
use supplyrisk_testkit::deploy::DeployConfig;

fn config() -> DeployConfig<IngestSettings> {
    DeployConfig {
        service: "ingest",
        // Variables the Deployment takes from Secrets, with valid placeholder values.
        secrets: &[
            ("SUPPLYRISK__REDIS__URL", "redis://redis.invalid:6379/0"),
            ("SUPPLYRISK__AUTH__TOKENS", "reader=aaaaaaaaaaaa,ingester=bbbbbbbbbbbb"),
        ],
        ingest_endpoint: None,
    }
}

supplyrisk_testkit::deploy_config_tests!(config);
