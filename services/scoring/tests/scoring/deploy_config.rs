//! The Kubernetes configuration of supplyrisk-scoring carries only settings the
//! service accepts (checks in `supplyrisk_testkit::deploy`), so a typo in a
//! ConfigMap fails here instead of stopping pods in a rollout.

use supplyrisk_scoring::settings::Settings;
use supplyrisk_testkit::deploy::{DeployConfig, Vars};

fn load(vars: &Vars) -> Result<Settings, String> {
    let settings = Settings::load_with_env(None, vars.clone()).map_err(|e| e.to_string())?;
    // Manifests use current names only: deprecated ones load, with a warning.
    match settings.deprecations() {
        [] => Ok(settings),
        names => Err(names.join("; ")),
    }
}

fn config() -> DeployConfig<Settings> {
    DeployConfig {
        service: "scoring",
        // Variables the Deployment takes from Secrets, with valid placeholder values.
        secrets: &[
            ("SUPPLYRISK__REDIS__URL", "redis://redis.invalid:6379/0"),
            ("SUPPLYRISK__AUTH__TOKENS", "reader=aaaaaaaaaaaa,ingester=bbbbbbbbbbbb"),
            ("SUPPLYRISK__UPSTREAM__INGEST__TOKEN", "aaaaaaaaaaaa"),
        ],
        load,
        listen: |s| s.common.grpc.listen_addr().expect("valid listen address"),
        ingest_endpoint: Some(|s: &Settings| s.own.upstream.ingest.endpoint.clone()),
    }
}

supplyrisk_testkit::deploy_config_tests!(config, ingest_endpoint_names_an_ingest_service_and_port);
