//! `supplyrisk import bundled`: every dataset listed in `data/manifest.toml`,
//! imported in the manifest's order through the same streaming import as
//! `supplyrisk import FORMAT FILE`.
//!
//! The manifest also lists the shipped files no import reads, with the
//! reason, so that it accounts for every file under `data/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use supplyrisk_formats::Format;
use toml::Spanned;

use crate::{Client, Output};

/// The manifest's file name inside the data folder.
pub const MANIFEST: &str = "manifest.toml";

/// `supplyrisk import bundled` options.
#[derive(clap::Args)]
pub struct Args {
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
    pub fn load_for(args: &Args) -> Result<Manifest, String> {
        let location = args.manifest.clone().unwrap_or_else(|| args.data_dir.join(MANIFEST));
        Manifest::load(&location, &args.data_dir)
    }

    /// Reads a manifest whose paths are relative to `data_dir` and checks
    /// it: known formats, every path naming at least one file, no file
    /// listed twice.
    pub fn load(location: &Path, data_dir: &Path) -> Result<Manifest, String> {
        let text = std::fs::read_to_string(location).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "no manifest at {}: run from the project folder, or give --data-dir (the folder of the \
                     shipped data) or --manifest",
                    location.display()
                )
            } else {
                format!("{}: {e}", location.display())
            }
        })?;
        Manifest::parse(&text, location, data_dir)
    }

    fn parse(text: &str, location: &Path, data_dir: &Path) -> Result<Manifest, String> {
        let line = |offset: usize| line_of(text, offset);
        let raw: RawManifest = toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => format!("{}:{}: {}", location.display(), line(span.start), e.message()),
            None => format!("{}: {}", location.display(), e.message()),
        })?;
        if raw.import.is_empty() {
            return Err(format!("{}: no [[import]] entries", location.display()));
        }
        // Every file listed so far, with the line of the entry listing it.
        let mut listed: BTreeMap<String, usize> = BTreeMap::new();
        let mut claim = |path: &str, at: usize, entry: &str| match listed.get(path) {
            Some(first) => Err(format!(
                "{}:{at}: {entry}: {path} is already listed at line {first}",
                location.display()
            )),
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
                format!(
                    "{}: unknown format '{}'; one of {}",
                    at(&e.format),
                    e.format.get_ref(),
                    names.join(", ")
                )
            })?;
            for (field, value) in [("source", &e.source), ("section", &e.section)] {
                if value.get_ref().trim().is_empty() {
                    return Err(format!("{}: {field} is empty", at(value)));
                }
            }
            let files = expand(data_dir, e.path.get_ref()).map_err(|why| format!("{}: {why}", at(&e.path)))?;
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
                return Err(format!("{}: reason is empty", at(&e.reason)));
            }
            let files = expand(data_dir, e.path.get_ref()).map_err(|why| format!("{}: {why}", at(&e.path)))?;
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

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// The files `pattern` names under `data_dir`, sorted. `*` and `?` match
/// within one path segment, as in a shell.
fn expand(data_dir: &Path, pattern: &str) -> Result<Vec<String>, String> {
    let segments: Vec<&str> = pattern.split('/').collect();
    if pattern.contains('\\')
        || Path::new(pattern).is_absolute()
        || segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return Err(format!(
            "path '{pattern}' must be relative to the data folder, /-separated, without . or .."
        ));
    }
    let mut found = vec![String::new()];
    for segment in &segments {
        let mut next = Vec::new();
        for prefix in &found {
            let child = |name: &str| {
                if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                }
            };
            if !is_glob(segment) {
                next.push(child(segment));
                continue;
            }
            // An unreadable or missing folder matches nothing; the empty result says so.
            let Ok(entries) = std::fs::read_dir(data_dir.join(prefix)) else {
                continue;
            };
            for entry in entries.flatten() {
                if let Ok(name) = entry.file_name().into_string()
                    && matches(segment, &name)
                {
                    next.push(child(&name));
                }
            }
        }
        found = next;
    }
    found.retain(|p| data_dir.join(p).is_file());
    found.sort();
    if found.is_empty() {
        return Err(if is_glob(pattern) {
            format!("'{pattern}' matches no file in {}", data_dir.display())
        } else {
            format!("no such file: {}", data_dir.join(pattern).display())
        });
    }
    Ok(found)
}

/// Whether `name` matches a one-segment pattern of `*` (any run) and `?`
/// (one character). As in a shell, a leading dot must be matched literally.
fn matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    // The last `*` seen and the name position it currently covers up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    pi = sp + 1;
                    ni = sn + 1;
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Row counts summed over files.
#[derive(Default)]
struct Totals {
    rows_read: u64,
    accepted: u64,
    unchanged: u64,
    rejected: u64,
    skipped: u64,
}

impl Totals {
    fn add(&mut self, summary: &supplyrisk_api::ingest::v1::ImportSummary) {
        let t = summary.totals.unwrap_or_default();
        self.rows_read += t.rows_read;
        self.accepted += t.accepted;
        self.unchanged += t.unchanged;
        self.rejected += t.rejected;
        self.skipped += t.skipped;
    }
}

/// Imports every dataset of `manifest` in order, printing progress per
/// file and the totals. Rejected rows are reported, not fatal; a file whose
/// import fails stops the run.
pub async fn import_all(
    client: &mut Client,
    manifest: &Manifest,
    chunk_bytes: usize,
    output: Output,
) -> Result<(), String> {
    let started = Instant::now();
    let count = manifest.imports.len();
    let mut totals = Totals::default();
    let mut files = Vec::new();
    let header = format!(
        "{}: {count} files to import, {} listed as not imported",
        manifest.location.display(),
        manifest.unimported.len()
    );
    // JSON keeps stdout for the one document.
    if output == Output::Json {
        eprintln!("{header}");
    } else {
        println!("{header}");
    }
    for (i, d) in manifest.imports.iter().enumerate() {
        let progress = format!("[{}/{count}] {} {}", i + 1, d.format.name(), d.path);
        if output == Output::Json {
            eprintln!("{progress}");
        } else {
            println!("{progress}");
        }
        let imported = crate::import(client, d.format.name(), &d.file, None, None, chunk_bytes)
            .await
            .map_err(|e| {
                format!(
                    "[{}/{count}] {} {}: {e} (stopped; the files before it were imported)",
                    i + 1,
                    d.format.name(),
                    d.file.display()
                )
            })?;
        totals.add(&imported.summary);
        if output == Output::Json {
            let mut summary = crate::json::import_summary(&imported.name, imported.seconds, &imported.summary);
            summary["path"] = d.path.clone().into();
            files.push(summary);
        } else {
            crate::print_import(&imported, output);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if output == Output::Json {
        println!(
            "{}",
            serde_json::json!({
                "manifest": manifest.location.display().to_string(),
                "files": files,
                "totals": {
                    "files": count,
                    "rows_read": totals.rows_read,
                    "accepted": totals.accepted,
                    "unchanged": totals.unchanged,
                    "rejected": totals.rejected,
                    "skipped": totals.skipped,
                    "seconds": seconds,
                },
            })
        );
    } else {
        println!(
            "total: {count} files, {} rows in {seconds:.1}s: {} accepted, {} unchanged, {} rejected, {} skipped",
            totals.rows_read, totals.accepted, totals.unchanged, totals.rejected, totals.skipped
        );
    }
    Ok(())
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
            assert!(crate::dataset_format(d.format.name()).is_ok(), "{}", d.path);
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
        Manifest::load(&dir.path().join(MANIFEST), dir.path())
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
        let err = Manifest::load(Path::new("/nonexistent/manifest.toml"), Path::new("/nonexistent")).unwrap_err();
        assert!(err.starts_with("no manifest at /nonexistent/manifest.toml"), "{err}");
    }

    #[test]
    fn globs_match_within_one_segment() {
        assert!(matches("*_salient.csv", "mcs2025-galli_salient.csv"));
        assert!(matches("mcs2025-?in_*", "mcs2025-tin_salient.csv"));
        assert!(matches("*", "a"));
        assert!(matches("a*b*c", "aXbYbc"));
        assert!(!matches("*_salient.csv", "mcs2025-galli_meta.xml"));
        assert!(!matches("?", ""));
        assert!(!matches("*", ".hidden"));
        assert!(matches(".*", ".hidden"));
    }
}
