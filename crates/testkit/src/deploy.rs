//! Checks that the Kubernetes configuration of a service carries only
//! settings the service accepts, so a typo in a ConfigMap fails a test
//! instead of stopping pods in a rollout.
//!
//! Layout (deploy/README.md): a service's settings are kustomize env files
//! named `supplyrisk-<service>.env` (`KEY=VALUE` lines, `#` comments, no
//! quotes), turned into the `supplyrisk-<service>-config` ConfigMap by a
//! `configMapGenerator`: `deploy/k8s/base/<service>/` for every environment,
//! and `deploy/k8s/overlays/<name>/` merged over it. Each overlay's effective
//! settings (base, then overlay) are loaded with the service's own loader,
//! plus placeholders for the variables that come from Secrets. A hand-written
//! ConfigMap document in any YAML file under `deploy/k8s` is checked too: one
//! holding `SUPPLYRISK__` keys must carry the label
//! `supplyrisk.io/config-for: <service>`.
//!
//! The YAML is read line by line (no YAML parser among the dependencies):
//! ConfigMap `data:` values must be plain or quoted one-line scalars. Each
//! service's `tests/deploy_config.rs` runs every check with its own loader.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use supplyrisk_service::{ServiceSettings, Settings};

/// Loads a service's settings from defaults, an admin token and `extra`
/// variables, as a unit test of one setting needs them.
pub fn settings_with<S: ServiceSettings>(
    extra: &[(&str, &str)],
) -> Result<Settings<S>, supplyrisk_service::ConfigError> {
    let mut vars = vec![(
        "SUPPLYRISK__AUTH__TOKENS".to_string(),
        "admin=a-long-enough-token".to_string(),
    )];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::<S>::load_with_env(None, vars)
}

/// Settings as environment variables.
pub type Vars = BTreeMap<String, String>;

/// A ConfigMap document found in a YAML file.
pub struct YamlConfigMap {
    /// `file:line` of the document.
    pub origin: String,
    /// The `supplyrisk.io/config-for` label.
    pub config_for: Option<String>,
    /// The `data:` entries.
    pub data: Vars,
}

/// Helper: k8s dir.
pub fn k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/k8s")
}

/// Helper: files under.
pub fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Helper: all files.
pub fn all_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    files_under(&k8s_dir(), &mut out);
    out
}

/// Helper: relative.
pub fn relative(path: &Path) -> String {
    path.strip_prefix(k8s_dir()).unwrap_or(path).display().to_string()
}

/// Parses a kustomize env file as `configMapGenerator` reads it.
pub fn parse_env_file(path: &Path) -> Vars {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut vars = Vars::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_start().trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let where_ = format!("{}:{}", relative(path), n + 1);
        // Without `=` kustomize would copy the value from the environment of
        // whoever runs it: never what a reviewed file should do.
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{where_}: expected KEY=VALUE, got {line:?}"));
        assert!(
            key.starts_with("SUPPLYRISK__") && !key.contains(char::is_whitespace),
            "{where_}: {key:?} is not a SUPPLYRISK__SECTION__KEY variable"
        );
        // kustomize keeps quotes literally; the service would see them.
        assert!(
            !(value.starts_with('"') || value.starts_with('\'')),
            "{where_}: no quotes in env files (kustomize keeps them in the value)"
        );
        assert!(
            vars.insert(key.to_string(), value.to_string()).is_none(),
            "{where_}: {key} set twice"
        );
    }
    vars
}

/// One-line YAML scalar: plain, single- or double-quoted.
pub fn yaml_scalar(raw: &str, where_: &str) -> String {
    let v = raw.trim();
    assert!(
        !(v.starts_with('|') || v.starts_with('>')),
        "{where_}: block scalars are not supported in ConfigMap data; use one-line values"
    );
    if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return inner.replace("\\\"", "\"").replace("\\\\", "\\");
    }
    if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    // A plain scalar ends before ` #`.
    v.split(" #").next().unwrap_or_default().trim_end().to_string()
}

/// Every `kind: ConfigMap` document under deploy/k8s.
pub fn yaml_configmaps() -> Vec<YamlConfigMap> {
    let mut out = Vec::new();
    for path in all_files() {
        if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.extend(parse_yaml_configmaps(&text, &relative(&path)));
        }
    }
    out
}

/// The ConfigMap documents of one YAML file, read line by line: the
/// `supplyrisk.io/config-for` label under `metadata:` and the two-space
/// indented `KEY: value` lines under `data:`.
pub fn parse_yaml_configmaps(text: &str, file: &str) -> Vec<YamlConfigMap> {
    let mut docs: Vec<Vec<(usize, &str)>> = vec![Vec::new()];
    for (n, line) in text.lines().enumerate() {
        if line.trim_end() == "---" {
            docs.push(Vec::new());
        } else {
            docs.last_mut().expect("one document").push((n + 1, line));
        }
    }
    let mut out = Vec::new();
    for doc in docs {
        if !doc.iter().any(|(_, l)| l.trim_end() == "kind: ConfigMap") {
            continue;
        }
        let first = doc.first().map(|(n, _)| *n).unwrap_or(1);
        let mut cm = YamlConfigMap {
            origin: format!("{file}:{first}"),
            config_for: None,
            data: Vars::new(),
        };
        let mut section = "";
        for (n, line) in &doc {
            let where_ = format!("{file}:{n}");
            let content = line.trim_end();
            if content.trim_start().starts_with('#') || content.trim().is_empty() {
                continue;
            }
            if !content.starts_with(' ') {
                section = content.split(':').next().unwrap_or_default();
                continue;
            }
            let trimmed = content.trim_start();
            if section == "metadata"
                && let Some(v) = trimmed.strip_prefix("supplyrisk.io/config-for:")
            {
                cm.config_for = Some(yaml_scalar(v, &where_));
            }
            if section == "data" && content.len() - trimmed.len() == 2 {
                let (key, value) = trimmed
                    .split_once(':')
                    .unwrap_or_else(|| panic!("{where_}: expected `KEY: value` in data"));
                cm.data.insert(yaml_scalar(key, &where_), yaml_scalar(value, &where_));
            }
        }
        out.push(cm);
    }
    out
}

/// The env names a manifest passes directly (`- name: SUPPLYRISK__…`).
pub fn direct_env_names(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("- name:"))
        .map(|v| yaml_scalar(v, &relative(path)))
        .filter(|n| n.starts_with("SUPPLYRISK__"))
        .collect()
}

/// Helper: container port.
pub fn container_port(path: &Path) -> u16 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ports: Vec<u16> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("containerPort:"))
        .map(|v| v.trim().parse().expect("containerPort is a number"))
        .collect();
    assert_eq!(ports.len(), 1, "{}: expected one containerPort", relative(path));
    ports[0]
}

/// One service's deployment configuration and how to load it.
pub struct DeployConfig<S> {
    /// Short service name: directory under `base/`, label value, file name part.
    pub service: &'static str,
    /// Variables the Deployment takes from Secrets, with valid placeholder values.
    pub secrets: &'static [(&'static str, &'static str)],
    /// The ingest endpoint of loaded settings, for services that call ingest.
    pub ingest_endpoint: Option<fn(&Settings<S>) -> String>,
}

impl<S: ServiceSettings> DeployConfig<S> {
    /// Loads the service's settings from `vars` as a manifest gives them:
    /// deprecated names load in the service, with a warning, but a
    /// manifest must use the current ones.
    fn load(&self, vars: &Vars) -> Result<Settings<S>, String> {
        let settings = Settings::<S>::load_with_env(None, vars.clone()).map_err(|e| e.to_string())?;
        match settings.deprecations() {
            [] => Ok(settings),
            names => Err(names.join("; ")),
        }
    }

    /// The listen address of loaded settings.
    fn listen(settings: &Settings<S>) -> std::net::SocketAddr {
        settings.common.grpc.listen_addr().expect("valid listen address")
    }

    pub fn env_file_name(&self) -> String {
        format!("supplyrisk-{}.env", self.service)
    }

    pub fn secret_placeholders(&self) -> Vars {
        self.secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub fn base_env_path(&self) -> PathBuf {
        k8s_dir().join("base").join(self.service).join(self.env_file_name())
    }

    /// Overlay name → that overlay's env file for this service.
    pub fn overlay_env_files(&self) -> BTreeMap<String, PathBuf> {
        let mut out = BTreeMap::new();
        let overlays = k8s_dir().join("overlays");
        for entry in std::fs::read_dir(&overlays).expect("deploy/k8s/overlays") {
            let dir = entry.expect("overlay").path();
            let file = dir.join(self.env_file_name());
            if file.is_file() {
                out.insert(dir.file_name().expect("name").to_string_lossy().into_owned(), file);
            }
        }
        out
    }

    /// The base settings, then each overlay's merged over them
    /// (configMapGenerator `behavior: merge`: overlay keys win).
    pub fn effective_configs(&self) -> Vec<(String, Vars)> {
        let base = parse_env_file(&self.base_env_path());
        let mut configs = vec![("base".to_string(), base.clone())];
        for (name, path) in self.overlay_env_files() {
            let mut effective = base.clone();
            effective.extend(parse_env_file(&path));
            configs.push((name, effective));
        }
        configs
    }

    pub fn assert_loads(&self, origin: &str, config: &Vars) -> Settings<S> {
        let mut vars = config.clone();
        vars.extend(self.secret_placeholders());
        self.load(&vars)
            .unwrap_or_else(|e| panic!("{origin}: the {} service refuses its configuration: {e}", self.service))
    }

    /// Check: base configmap is accepted.
    pub fn base_configmap_is_accepted(&self) {
        let base = parse_env_file(&self.base_env_path());
        assert!(!base.is_empty(), "{} is empty", relative(&self.base_env_path()));
        self.assert_loads(&relative(&self.base_env_path()), &base);
    }

    /// Check: every overlay configmap is accepted.
    pub fn every_overlay_configmap_is_accepted(&self) {
        let base = parse_env_file(&self.base_env_path());
        let overlays = self.overlay_env_files();
        for expected in ["dev", "prod"] {
            assert!(
                overlays.contains_key(expected),
                "overlays/{expected}/{} is missing",
                self.env_file_name()
            );
        }
        for (name, path) in overlays {
            let mut effective = base.clone();
            // configMapGenerator `behavior: merge`: overlay keys win.
            effective.extend(parse_env_file(&path));
            self.assert_loads(&format!("overlay {name} ({})", relative(&path)), &effective);
        }
    }

    /// Check: env files live only where they are merged.
    pub fn env_files_live_only_where_they_are_merged(&self) {
        let allowed_overlay_parent = k8s_dir().join("overlays");
        for path in all_files() {
            if path.file_name().and_then(|n| n.to_str()) != Some(self.env_file_name().as_str()) {
                continue;
            }
            let ok = path == self.base_env_path()
                || path.parent().and_then(Path::parent) == Some(allowed_overlay_parent.as_path());
            assert!(
                ok,
                "{}: settings files belong in base/{}/ or overlays/<name>/ (nothing else is checked here)",
                relative(&path),
                self.service
            );
        }
    }

    /// Check: yaml configmaps with settings are labelled and accepted.
    pub fn yaml_configmaps_with_settings_are_labelled_and_accepted(&self) {
        let base = parse_env_file(&self.base_env_path());
        for cm in yaml_configmaps() {
            let has_settings = cm.data.keys().any(|k| k.starts_with("SUPPLYRISK__"));
            if !has_settings {
                continue;
            }
            let owner = cm.config_for.clone().unwrap_or_else(|| {
                panic!(
                    "{}: a ConfigMap with SUPPLYRISK__ keys needs the label supplyrisk.io/config-for",
                    cm.origin
                )
            });
            if owner != self.service {
                continue;
            }
            let mut effective = base.clone();
            effective.extend(cm.data.clone());
            self.assert_loads(&cm.origin, &effective);
        }
    }

    /// Check: yaml configmap reader finds labels data and typos.
    pub fn yaml_configmap_reader_finds_labels_data_and_typos(&self) {
        let sample = r#"# not a ConfigMap
apiVersion: v1
kind: Service
metadata:
  name: x
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: extra
  labels:
    supplyrisk.io/config-for: "SERVICE_NAME"
data:
  # a comment
  SUPPLYRISK__TELEMETRY__LOG_FILTER: 'info,supplyrisk=debug'
  SUPPLYRISK__GRPC__MAX_CONNECTION_AGE_SECS: "120"
  SUPPLYRISK__GRPC__LISTN: 0.0.0.0:1 # typo
"#
        .replace("SERVICE_NAME", self.service);
        let found = parse_yaml_configmaps(&sample, "sample.yaml");
        assert_eq!(found.len(), 1);
        let cm = &found[0];
        assert_eq!(cm.origin, "sample.yaml:7");
        assert_eq!(cm.config_for.as_deref(), Some(self.service));
        assert_eq!(cm.data["SUPPLYRISK__TELEMETRY__LOG_FILTER"], "info,supplyrisk=debug");
        assert_eq!(cm.data["SUPPLYRISK__GRPC__MAX_CONNECTION_AGE_SECS"], "120");
        assert_eq!(cm.data["SUPPLYRISK__GRPC__LISTN"], "0.0.0.0:1");
        let mut vars = parse_env_file(&self.base_env_path());
        vars.extend(cm.data.clone());
        vars.extend(self.secret_placeholders());
        let err = self.load(&vars).expect_err("the typo must be refused");
        assert!(err.contains("listn"), "{err}");
    }

    /// Check: settings are not hidden in kustomizations.
    pub fn settings_are_not_hidden_in_kustomizations(&self) {
        // Literals in a generator would escape the checks above.
        for path in all_files() {
            if path.file_name().and_then(|n| n.to_str()) != Some("kustomization.yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("kustomization");
            for (n, line) in text.lines().enumerate() {
                let code = line.split('#').next().unwrap_or_default();
                assert!(
                    !code.contains("SUPPLYRISK__"),
                    "{}:{}: put settings in a supplyrisk-<service>.env file",
                    relative(&path),
                    n + 1
                );
            }
        }
    }

    /// Check: secrets come from secrets and are accepted.
    pub fn secrets_come_from_secrets_and_are_accepted(&self) {
        let deployment = k8s_dir().join("base").join(self.service).join("deployment.yaml");
        let names = direct_env_names(&deployment);
        let placeholders = self.secret_placeholders();
        let mut expected: Vec<String> = placeholders.keys().cloned().collect();
        let mut found = names.clone();
        expected.sort();
        found.sort();
        assert_eq!(
            found,
            expected,
            "{}: variables passed with env: must be exactly the secret ones",
            relative(&deployment)
        );
        let base = parse_env_file(&self.base_env_path());
        for name in &names {
            assert!(
                !base.contains_key(name),
                "{name} is a secret and must not be in a ConfigMap"
            );
        }
        for (overlay, path) in self.overlay_env_files() {
            for name in parse_env_file(&path).keys() {
                assert!(
                    !placeholders.contains_key(name),
                    "overlay {overlay}: {name} is a secret and must not be in a ConfigMap"
                );
            }
        }
    }

    /// Check: listen port matches the deployment.
    pub fn listen_port_matches_the_deployment(&self) {
        let deployment = k8s_dir().join("base").join(self.service).join("deployment.yaml");
        let port = container_port(&deployment);
        for (name, config) in self.effective_configs() {
            let settings = self.assert_loads(&name, &config);
            let addr = Self::listen(&settings);
            assert_eq!(addr.port(), port, "{name}: listen port differs from containerPort");
            assert!(
                addr.ip().is_unspecified(),
                "{name}: listen on every interface so the pod IP is reachable"
            );
        }
    }

    /// Check: a typo in a configmap is refused.
    pub fn a_typo_in_a_configmap_is_refused(&self) {
        let mut config = parse_env_file(&self.base_env_path());
        config.insert("SUPPLYRISK__GRPC__LISTN".into(), "0.0.0.0:50052".into());
        config.extend(self.secret_placeholders());
        let err = self.load(&config).expect_err("an unknown key must stop the service");
        assert!(err.contains("listn"), "{err}");

        let mut config = parse_env_file(&self.base_env_path());
        config.insert("SUPPLYRISK__NOSUCHSECTION__KEY".into(), "1".into());
        config.extend(self.secret_placeholders());
        self.load(&config)
            .expect_err("an unknown section must stop the service");
    }

    /// Check: ingest endpoint names an ingest service and port.
    pub fn ingest_endpoint_names_an_ingest_service_and_port(&self) {
        let ingest = k8s_dir().join("base/ingest");
        let port = container_port(&ingest.join("deployment.yaml"));
        let services_yaml = std::fs::read_to_string(ingest.join("service.yaml")).expect("ingest service.yaml");
        let service_names: Vec<String> = services_yaml
            .lines()
            .filter_map(|l| l.strip_prefix("  name: "))
            .map(|v| yaml_scalar(v, "base/ingest/service.yaml"))
            .collect();
        assert!(!service_names.is_empty(), "no Service in base/ingest/service.yaml");
        for (name, config) in self.effective_configs() {
            let settings = self.assert_loads(&name, &config);
            let Some(endpoint_of) = self.ingest_endpoint else {
                return;
            };
            let endpoint = endpoint_of(&settings);
            let endpoint = endpoint.trim();
            let authority = endpoint.strip_prefix("http://").unwrap_or_else(|| {
                panic!("{name}: ingest endpoint {endpoint} should be cleartext http:// inside the cluster")
            });
            let (host, p) = authority
                .split_once(':')
                .unwrap_or_else(|| panic!("{name}: ingest endpoint {endpoint} needs an explicit port"));
            assert_eq!(p.parse::<u16>().ok(), Some(port), "{name}: ingest endpoint port");
            assert!(
                service_names.iter().any(|s| s == host),
                "{name}: ingest endpoint host {host} is not one of the ingest Services {service_names:?}"
            );
        }
    }
}

/// Generates one `#[test]` per deployment check for the `DeployConfig`
/// returned by `$config` (a function in the calling test file).
#[macro_export]
macro_rules! deploy_config_tests {
    ($config:ident $(, $extra:ident)*) => {
        $crate::deploy_config_tests!(@tests $config;
            base_configmap_is_accepted,
            every_overlay_configmap_is_accepted,
            env_files_live_only_where_they_are_merged,
            yaml_configmaps_with_settings_are_labelled_and_accepted,
            yaml_configmap_reader_finds_labels_data_and_typos,
            settings_are_not_hidden_in_kustomizations,
            secrets_come_from_secrets_and_are_accepted,
            listen_port_matches_the_deployment,
            a_typo_in_a_configmap_is_refused
            $(, $extra)*
        );
    };
    (@tests $config:ident; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                $config().$name();
            }
        )*
    };
}
