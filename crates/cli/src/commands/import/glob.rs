//! Shell-like globs for manifest paths: `*` and `?` within one path
//! segment, no path leaving the data folder.

use std::path::Path;

use crate::error::CliError;

/// Whether a path pattern holds a wildcard.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// The files `pattern` names under `data_dir`, sorted. `*` and `?` match
/// within one path segment, as in a shell.
pub fn expand(data_dir: &Path, pattern: &str) -> Result<Vec<String>, CliError> {
    let segments: Vec<&str> = pattern.split('/').collect();
    if pattern.contains('\\')
        || Path::new(pattern).is_absolute()
        || segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return Err(CliError::Invalid(format!(
            "path '{pattern}' must be relative to the data folder, /-separated, without . or .."
        )));
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
        return Err(CliError::Invalid(if is_glob(pattern) {
            format!("'{pattern}' matches no file in {}", data_dir.display())
        } else {
            format!("no such file: {}", data_dir.join(pattern).display())
        }));
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

#[cfg(test)]
mod tests {
    use super::*;

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
