//! The Kubernetes configuration of supplyrisk-alerting carries only settings the
//! service accepts (checks in `supplyrisk_testkit::deploy`), so a typo in a
//! ConfigMap fails here instead of stopping pods in a rollout.

use supplyrisk_alerting::settings::Settings;
use supplyrisk_testkit::deploy::{DeployConfig, Vars};

fn load(vars: &Vars) -> Result<Settings, String> {
    Settings::load_with_env(None, vars.clone()).map_err(|e| e.to_string())
}

fn config() -> DeployConfig<Settings> {
    DeployConfig {
        service: "alerting",
        // Variables the Deployment takes from Secrets, with valid placeholder values.
        secrets: &[
            ("SUPPLYRISK__REDIS__URL", "redis://redis.invalid:6379/0"),
            ("SUPPLYRISK__AUTH__TOKENS", "reader=aaaaaaaaaaaa,ingester=bbbbbbbbbbbb"),
            ("SUPPLYRISK__INGEST__TOKEN", "aaaaaaaaaaaa"),
            ("SUPPLYRISK__SCORING__TOKEN", "aaaaaaaaaaaa"),
        ],
        load,
        listen: |s| s.grpc.listen_addr().expect("valid listen address"),
        ingest_endpoint: Some(|s: &Settings| s.ingest.endpoint.clone()),
    }
}

supplyrisk_testkit::deploy_config_tests!(config, ingest_endpoint_names_an_ingest_service_and_port);
