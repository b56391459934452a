//! Merging the settings layers, and the renaming of sections that moved.
//!
//! Defaults, then an optional file, then `SUPPLYRISK__…` variables are
//! merged once; each typed view (the common sections, a service's own) is
//! read from the merge, and together the views must name every top-level
//! section, so a typo in a section name stops start-up.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::{ConfigError, ENV_PREFIX, describe, env_name};

/// A section that moved to a new name: the old name keeps working for one
/// release, with a deprecation warning, so a running deployment can upgrade
/// before its manifests change.
#[derive(Debug, Clone, Copy)]
pub struct RenamedSection {
    /// The old dotted name, e.g. `ingest`.
    pub old: &'static str,
    /// The new dotted name, e.g. `upstream.ingest`.
    pub new: &'static str,
}

/// Every settings layer merged (defaults, file, environment), ready to be
/// read as one or more typed views: the sections every service shares and
/// each service's own are read separately, and together they must account
/// for every top-level section.
#[derive(Debug)]
pub struct Layered {
    config: config::Config,
    deprecations: Vec<String>,
}

impl Layered {
    /// Merges `defaults` (TOML layers, later ones overriding earlier ones), the
    /// optional `file`, then `SUPPLYRISK__…` variables from `env`. Sections
    /// given under an old name in `renamed` are read under the new one.
    pub fn load(
        defaults: &[&str],
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        renamed: &[RenamedSection],
    ) -> Result<Layered, ConfigError> {
        let mut deprecations = Vec::new();
        let mut builder = config::Config::builder();
        for layer in defaults {
            builder = builder.add_source(config::File::from_str(layer, config::FileFormat::Toml));
        }
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!("config file {} does not exist", path.display())));
            }
            let read = config::Config::builder()
                .add_source(config::File::from(path).required(true))
                .build()
                .map_err(|e| ConfigError(e.to_string()))?;
            let mut table = config::Source::collect(&read).map_err(|e| ConfigError(e.to_string()))?;
            for r in renamed {
                let Some(value) = table.remove(r.old) else { continue };
                if has_path(&table, r.new) {
                    deprecations.push(format!(
                        "config file {}: section [{}] is deprecated and ignored: [{}] is set",
                        path.display(),
                        r.old,
                        r.new
                    ));
                } else {
                    deprecations.push(format!(
                        "config file {}: section [{}] is deprecated; rename it [{}]",
                        path.display(),
                        r.old,
                        r.new
                    ));
                    insert_at(&mut table, r.new, value);
                }
            }
            builder = builder.add_source(Table(table));
        }
        let prefix = format!("{ENV_PREFIX}__");
        let vars: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with(&prefix)).collect();
        let mut renamed_vars: config::Map<String, String> = config::Map::new();
        for (key, value) in &vars {
            let moved = renamed.iter().find_map(|r| {
                let old = format!("{}__", env_name(r.old));
                key.strip_prefix(&old)
                    .map(|rest| format!("{}__{rest}", env_name(r.new)))
            });
            match moved {
                // The new name wins when both are set.
                Some(new) if vars.iter().any(|(k, _)| *k == new) => {
                    deprecations.push(format!("{key} is deprecated and ignored: {new} is set"));
                }
                Some(new) => {
                    deprecations.push(format!("{key} is deprecated; use {new}"));
                    renamed_vars.insert(new, value.clone());
                }
                None => {
                    renamed_vars.insert(key.clone(), value.clone());
                }
            }
        }
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .source(Some(renamed_vars)),
        );
        let config = builder.build().map_err(|e| ConfigError(e.to_string()))?;
        Ok(Layered { config, deprecations })
    }

    /// Reads the typed view `S`; top-level sections `S` does not name are
    /// left for other views (see [`Layered::refuse_unknown_sections`]).
    pub fn read<S: DeserializeOwned>(&self) -> Result<S, ConfigError> {
        self.config.clone().try_deserialize().map_err(describe)
    }

    /// Refuses a top-level section outside `known`, so a typo in a section
    /// name stops start-up as a typo in a key does.
    pub fn refuse_unknown_sections(&self, known: &[&str]) -> Result<(), ConfigError> {
        let table = config::Source::collect(&self.config).map_err(|e| ConfigError(e.to_string()))?;
        let mut unknown: Vec<&String> = table.keys().filter(|k| !known.contains(&k.as_str())).collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(first) => Err(ConfigError(format!(
                "{}__…: unknown section `{first}` (known sections: {})",
                env_name(first),
                known.join(", ")
            ))),
        }
    }

    /// One line per deprecated name in use, for the log once it is up.
    pub fn deprecations(&self) -> &[String] {
        &self.deprecations
    }
}

/// True when the dotted `path` names a value in `table`.
fn has_path(table: &config::Map<String, config::Value>, path: &str) -> bool {
    match path.split_once('.') {
        None => table.contains_key(path),
        Some((head, rest)) => table
            .get(head)
            .and_then(|v| v.clone().into_table().ok())
            .is_some_and(|inner| has_path(&inner, rest)),
    }
}

/// Puts `value` at the dotted `path` of `table`, creating tables on the way.
fn insert_at(table: &mut config::Map<String, config::Value>, path: &str, value: config::Value) {
    match path.split_once('.') {
        None => {
            table.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = table
                .entry(head.to_string())
                .or_insert_with(|| config::Value::new(None, config::Map::<String, config::Value>::new()));
            let mut inner = entry.clone().into_table().unwrap_or_default();
            insert_at(&mut inner, rest, value);
            *entry = config::Value::new(None, inner);
        }
    }
}

/// A table already read, as a source of the next merge.
#[derive(Debug, Clone)]
struct Table(config::Map<String, config::Value>);

impl config::Source for Table {
    fn clone_into_box(&self) -> Box<dyn config::Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<config::Map<String, config::Value>, config::ConfigError> {
        Ok(self.0.clone())
    }
}
