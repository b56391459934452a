//! The data manifest, `data/manifest.toml`: which shipped files `import
//! bundled` reads, in which order and format, and which shipped files no
//! import reads, with the reason, so that it accounts for every file under
//! `data/`. Errors name the manifest's line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use supplyrisk_formats::Format;
use toml::Spanned;

use super::glob::expand;
use crate::cli::BundledArgs;
use crate::error::CliError;

/// The manifest's file name inside the data folder.
pub const MANIFEST: &str = "manifest.toml";

/// The manifest as written; spans give the line numbers of errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    import: Vec<RawImport>,
    #[serde(default)]
    unimported: Vec<RawUnimported>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImport {
    path: Spanned<String>,
    format: Spanned<String>,
    source: Spanned<String>,
    section: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnimported {
    path: Spanned<String>,
    reason: Spanned<String>,
}

/// One file to import.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Path relative to the data folder, `/`-separated.
    pub path: String,
    /// The file itself (the data folder joined with `path`).
    pub file: PathBuf,
    /// How the file is read.
    pub format: Format,
    /// Short label of where the data come from (for people; records keep
    /// the source label their format gives them).
    pub source: String,
    /// The heading of the `data/SOURCES.md` section describing the file.
    pub section: String,
}

/// A shipped file that is not imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Unimported {
    /// Path relative to the data folder, `/`-separated.
    pub path: String,
    /// Why it is not imported.
    pub reason: String,
}

/// A checked manifest with its globs expanded.
#[derive(Debug)]
pub struct Manifest {
    /// Where it was read from.
    pub location: PathBuf,
    /// The files to import, in order.
    pub imports: Vec<Dataset>,
    /// The files shipped but not imported.
    pub unimported: Vec<Unimported>,
}

impl Manifest {
    /// The manifest `args` name, checked against `args.data_dir`.
    pub fn load_for(args: &BundledArgs) -> Result<Manifest, CliError> {
        let location = args.manifest.clone().unwrap_or_else(|| args.data_dir.join(MANIFEST));
        Manifest::load(&location, &args.data_dir)
    }

    /// Reads a manifest whose paths are relative to `data_dir` and checks
    /// it: known formats, every path naming at least one file, no file
    /// listed twice.
    pub fn load(location: &Path, data_dir: &Path) -> Result<Manifest, CliError> {
        let text = std::fs::read_to_string(location).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                CliError::Invalid(format!(
                    "no manifest at {}: run from the project folder, or give --data-dir (the folder of the \
                     shipped data) or --manifest",
                    location.display()
                ))
            } else {
                CliError::File {
                    path: location.to_path_buf(),
                    source,
                }
            }
        })?;
        Manifest::parse(&text, location, data_dir)
    }

    fn parse(text: &str, location: &Path, data_dir: &Path) -> Result<Manifest, CliError> {
        let line = |offset: usize| line_of(text, offset);
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            CliError::Invalid(match e.span() {
                Some(span) => format!("{}:{}: {}", location.display(), line(span.start), e.message()),
                None => format!("{}: {}", location.display(), e.message()),
            })
        })?;
        if raw.import.is_empty() {
            return Err(CliError::Invalid(format!(
                "{}: no [[import]] entries",
                location.display()
            )));
        }
        // Every file listed so far, with the line of the entry listing it.
        let mut listed: BTreeMap<String, usize> = BTreeMap::new();
        let mut claim = |path: &str, at: usize, entry: &str| match listed.get(path) {
            Some(first) => Err(CliError::Invalid(format!(
                "{}:{at}: {entry}: {path} is already listed at line {first}",
                location.display()
            ))),
            None => {
                listed.insert(path.to_string(), at);
                Ok(())
            }
        };
        let mut imports = Vec::new();
        for (i, e) in raw.import.iter().enumerate() {
            let entry = format!("[[import]] {}", i + 1);
            let at = |s: &Spanned<String>| format!("{}:{}: {entry}", location.display(), line(s.span().start));
            let format = Format::from_name(e.format.get_ref()).ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                CliError::Invalid(format!(
                    "{}: unknown format '{}'; one of {}",
                    at(&e.format),
                    e.format.get_ref(),
                    names.join(", ")
                ))
            })?;
            for (field, value) in [("source", &e.source), ("section", &e.section)] {
                if value.get_ref().trim().is_empty() {
                    return Err(CliError::Invalid(format!("{}: {field} is empty", at(value))));
                }
            }
            let files = expand(data_dir, e.path.get_ref())
                .map_err(|why| CliError::Invalid(format!("{}: {why}", at(&e.path))))?;
            for path in files {
                claim(&path, line(e.path.span().start), &entry)?;
                imports.push(Dataset {
                    file: data_dir.join(&path),
                    path,
                    format,
                    source: e.source.get_ref().clone(),
                    section: e.section.get_ref().clone(),
                });
            }
        }
        let mut unimported = Vec::new();
        for (i, e) in raw.unimported.iter().enumerate() {
            let entry = format!("[[unimported]] {}", i + 1);
            let at = |s: &Spanned<String>| format!("{}:{}: {entry}", location.display(), line(s.span().start));
            if e.reason.get_ref().trim().is_empty() {
                return Err(CliError::Invalid(format!("{}: reason is empty", at(&e.reason))));
            }
            let files = expand(data_dir, e.path.get_ref())
                .map_err(|why| CliError::Invalid(format!("{}: {why}", at(&e.path))))?;
            for path in files {
                claim(&path, line(e.path.span().start), &entry)?;
                unimported.push(Unimported {
                    path,
                    reason: e.reason.get_ref().clone(),
                });
            }
        }
        Ok(Manifest {
            location: location.to_path_buf(),
            imports,
            unimported,
        })
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn shipped_data() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
    }

    /// Every file under `dir`, relative to it, `/`-separated.
    fn files_under(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                files_under(&entry.path(), &rel, out);
            } else {
                out.insert(rel);
            }
        }
    }

    #[test]
    fn shipped_manifest_accounts_for_every_file_under_data() {
        let data = shipped_data();
        let manifest = Manifest::load(&data.join(MANIFEST), &data).unwrap();
        let mut shipped = BTreeSet::new();
        files_under(&data, "", &mut shipped);
        shipped.remove("SOURCES.md");
        shipped.remove(MANIFEST);

        let imported: BTreeSet<String> = manifest.imports.iter().map(|d| d.path.clone()).collect();
        let unimported: BTreeSet<String> = manifest.unimported.iter().map(|u| u.path.clone()).collect();
        let listed: BTreeSet<String> = imported.union(&unimported).cloned().collect();
        let missing: Vec<&String> = shipped.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "files under data/ the manifest does not list: {missing:?}"
        );
        assert_eq!(listed, shipped);

        let headings: BTreeSet<String> = std::fs::read_to_string(data.join("SOURCES.md"))
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("## "))
            .map(str::to_string)
            .collect();
        for d in &manifest.imports {
            assert!(d.file.is_file(), "{}", d.path);
            // The service takes every format the manifest names.
            assert!(super::super::dataset_format(d.format.name()).is_ok(), "{}", d.path);
            assert!(
                headings.contains(&d.section),
                "{}: section '{}' is not a heading of data/SOURCES.md",
                d.path,
                d.section
            );
        }
        // The salient glob keeps its 34 files.
        let salient = manifest
            .imports
            .iter()
            .filter(|d| d.format == Format::UsgsMcsSalient)
            .count();
        assert_eq!(salient, 34);
        // Governance and policy events come before production and trade.
        let position = |formats: &[Format]| -> Vec<usize> {
            manifest
                .imports
                .iter()
                .enumerate()
                .filter(|(_, d)| formats.contains(&d.format))
                .map(|(i, _)| i)
                .collect()
        };
        let first = position(&[Format::PolicyEvents, Format::Wgi, Format::WgiPv]);
        let then = position(&[
            Format::UsgsMcsWorld,
            Format::UsgsMcsSalient,
            Format::UsgsImportReliance,
            Format::WorldMiningData,
            Format::Baci,
        ]);
        assert_eq!(first.len(), 3);
        assert_eq!(then.len(), 38);
        assert!(first.iter().max() < then.iter().min(), "{first:?} {then:?}");
    }

    /// A data folder with three small files and a manifest written from `text`.
    fn load(text: &str) -> Result<Manifest, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("wgi")).unwrap();
        for f in ["policy.csv", "wgi/a_x.csv", "wgi/b_x.csv", "wgi/notes.txt"] {
            std::fs::write(dir.path().join(f), "x\n").unwrap();
        }
        std::fs::write(dir.path().join(MANIFEST), text).unwrap();
        Manifest::load(&dir.path().join(MANIFEST), dir.path()).map_err(|e| e.to_string())
    }

    const POLICY: &str =
        "[[import]]\npath = \"policy.csv\"\nformat = \"POLICY_EVENTS\"\nsource = \"s\"\nsection = \"t\"\n";

    fn entry(path: &str, format: &str) -> String {
        format!("\n[[import]]\npath = \"{path}\"\nformat = \"{format}\"\nsource = \"s\"\nsection = \"t\"\n")
    }

    #[test]
    fn a_manifest_expands_globs_in_order() {
        let m = load(&format!(
            "{POLICY}{}\n[[unimported]]\npath = \"wgi/*.txt\"\nreason = \"notes\"\n",
            entry("wgi/*_x.csv", "wgi")
        ))
        .unwrap();
        let listed: Vec<(&str, Format)> = m.imports.iter().map(|d| (d.path.as_str(), d.format)).collect();
        assert_eq!(
            listed,
            [
                ("policy.csv", Format::PolicyEvents),
                ("wgi/a_x.csv", Format::Wgi),
                ("wgi/b_x.csv", Format::Wgi)
            ]
        );
        assert!(m.imports[1].file.ends_with("wgi/a_x.csv"));
        assert_eq!(
            m.unimported,
            [Unimported {
                path: "wgi/notes.txt".into(),
                reason: "notes".into()
            }]
        );
    }

    #[test]
    fn an_unknown_format_names_its_line() {
        let err = load(&format!("{POLICY}{}", entry("wgi/a_x.csv", "WGI_XX"))).unwrap_err();
        assert!(
            err.contains("manifest.toml:9: [[import]] 2: unknown format 'WGI_XX'; one of BACI,"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_file_names_its_line() {
        let err = load(&format!("{POLICY}{}", entry("wgi/c_x.csv", "WGI"))).unwrap_err();
        assert!(err.contains("manifest.toml:8: [[import]] 2: no such file: "), "{err}");
        assert!(err.contains("wgi/c_x.csv"), "{err}");
    }

    #[test]
    fn a_glob_that_matches_nothing_names_its_line() {
        let err = load(&format!("{POLICY}{}", entry("wgi/*_salient.csv", "USGS_MCS_SALIENT"))).unwrap_err();
        assert!(
            err.contains("manifest.toml:8: [[import]] 2: 'wgi/*_salient.csv' matches no file"),
            "{err}"
        );
        // A folder is not a file.
        let err = load(&format!("{POLICY}{}", entry("wgi", "WGI"))).unwrap_err();
        assert!(err.contains("no such file"), "{err}");
    }

    #[test]
    fn a_file_listed_twice_names_both_lines() {
        // Twice by name.
        let err = load(&format!("{POLICY}{}", entry("policy.csv", "POLICY_EVENTS"))).unwrap_err();
        assert!(
            err.contains("manifest.toml:8: [[import]] 2: policy.csv is already listed at line 2"),
            "{err}"
        );
        // By a glob and by name.
        let err = load(&format!(
            "{POLICY}{}{}",
            entry("wgi/*.csv", "WGI"),
            entry("wgi/b_x.csv", "WGI")
        ))
        .unwrap_err();
        assert!(
            err.contains("[[import]] 3: wgi/b_x.csv is already listed at line 8"),
            "{err}"
        );
        // Imported and also listed as not imported.
        let err = load(&format!(
            "{POLICY}\n[[unimported]]\npath = \"policy.csv\"\nreason = \"r\"\n"
        ))
        .unwrap_err();
        assert!(
            err.contains("manifest.toml:8: [[unimported]] 1: policy.csv is already listed at line 2"),
            "{err}"
        );
    }

    #[test]
    fn malformed_manifests_are_refused() {
        // A misspelt key.
        let err = load(&POLICY.replace("section", "sektion")).unwrap_err();
        assert!(err.contains("manifest.toml:") && err.contains("sektion"), "{err}");
        // Paths stay inside the data folder.
        for path in ["../policy.csv", "/etc/hosts", "wgi//a_x.csv", "./policy.csv"] {
            let err = load(&entry(path, "WGI")).unwrap_err();
            assert!(err.contains("must be relative to the data folder"), "{path}: {err}");
        }
        assert!(load("").unwrap_err().contains("no [[import]] entries"));
        assert!(
            load(&POLICY.replace("\"s\"", "\" \""))
                .unwrap_err()
                .contains("manifest.toml:4: [[import]] 1: source is empty")
        );
        let err = Manifest::load(Path::new("/nonexistent/manifest.toml"), Path::new("/nonexistent"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("no manifest at /nonexistent/manifest.toml"), "{err}");
    }
}
