//! Importer ids: a country (ISO3), an ad-hoc bloc (`USA+JPN`, any `+`-joined
//! list of ISO3 codes) or the id of a bloc configured in scoring (`EU27`).
//!
//! Scoring resolves importers with these rules and alerting validates
//! subscriptions with the same ones, so an importer a subscription saves is
//! one scoring accepts. Configured bloc ids are settings of scoring, not
//! domain facts: parsing only says an id *could* name one
//! ([`ImporterId::Named`]); whoever knows the blocs decides.

use crate::country::{Countries, Iso3};

/// Most members of an ad-hoc (`+`-joined) bloc: each member is one
/// snapshot call per mineral scored. Configured blocs are the operator's
/// and not capped.
pub const MAX_BLOC_MEMBERS: usize = 50;

/// Why an importer did not resolve.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImporterError {
    /// Empty input.
    #[error("is required (ISO3 country or bloc id, e.g. JPN, USA+JPN, EU27)")]
    Missing,
    /// Not a country code nor a bloc.
    #[error("unknown importer '{input}'")]
    Unknown {
        /// The input.
        input: String,
        /// Closest valid ids.
        suggestions: Vec<String>,
    },
    /// A malformed member of a `+` list, or a list of fewer than two countries.
    #[error("{0}")]
    BadMember(String),
}

impl ImporterError {
    /// `input` names neither a country nor one of `blocs`: the error with the
    /// closest bloc id and up to three country codes as suggestions.
    pub fn unknown<'a>(input: &str, blocs: impl IntoIterator<Item = &'a str>) -> ImporterError {
        let upper = input.trim().to_ascii_uppercase();
        let mut suggestions = crate::suggest::closest(&upper, blocs.into_iter().map(|b| (b, b)), 1);
        suggestions.extend(Countries::builtin().suggest(&upper, 3));
        suggestions.truncate(3);
        ImporterError::Unknown {
            input: input.trim().to_string(),
            suggestions,
        }
    }
}

/// An importer as written, checked as far as it can be without the
/// configured blocs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImporterId {
    /// A country or territory of the registry.
    Country(Iso3),
    /// A `+`-joined list: members sorted, deduplicated, at least two.
    AdHoc(Vec<String>),
    /// Neither: the id of a configured bloc, if one has it (upper case).
    Named(String),
}

impl ImporterId {
    /// Parses `input` (case-insensitive, surrounding spaces ignored).
    /// `USA+USA` (one member) and `JPN+XYZ` (a member that is no country)
    /// are errors; anything else that is not a country is [`ImporterId::Named`].
    pub fn parse(input: &str) -> Result<ImporterId, ImporterError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ImporterError::Missing);
        }
        if input.contains('+') {
            // Counted before any member is looked up: an oversized list costs nothing.
            let n = input.split('+').count();
            if n > MAX_BLOC_MEMBERS {
                return Err(ImporterError::BadMember(format!(
                    "an ad-hoc bloc has at most {MAX_BLOC_MEMBERS} members, got {n}"
                )));
            }
        }
        let upper = input.to_ascii_uppercase();
        if upper.contains('+') {
            let mut members = Vec::new();
            for m in upper.split('+') {
                members.push(
                    Iso3::parse(m)
                        .map_err(|e| ImporterError::BadMember(format!("member '{m}': {e}")))?
                        .to_string(),
                );
            }
            members.sort();
            members.dedup();
            if members.len() < 2 {
                return Err(ImporterError::BadMember(
                    "a bloc needs at least two different members".into(),
                ));
            }
            return Ok(ImporterId::AdHoc(members));
        }
        match Iso3::parse(&upper) {
            Ok(c) => Ok(ImporterId::Country(c)),
            Err(_) => Ok(ImporterId::Named(upper)),
        }
    }

    /// The canonical id: the country code, the sorted members joined by
    /// `+`, or the bloc id. Scores and their events carry this form.
    pub fn label(&self) -> String {
        match self {
            ImporterId::Country(c) => c.to_string(),
            ImporterId::AdHoc(members) => members.join("+"),
            ImporterId::Named(id) => id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countries_ad_hoc_blocs_and_names_parse_to_canonical_labels() {
        assert_eq!(ImporterId::parse(" jpn ").expect("country").label(), "JPN");
        assert_eq!(ImporterId::parse("usa+jpn").expect("bloc").label(), "JPN+USA");
        assert_eq!(
            ImporterId::parse("eu27").expect("name"),
            ImporterId::Named("EU27".into())
        );
        assert_eq!(ImporterId::parse(""), Err(ImporterError::Missing));
    }

    #[test]
    fn ad_hoc_blocs_need_two_different_countries() {
        for bad in ["USA+USA", "JPN+XYZ", "JPN+", "+JPN"] {
            assert!(
                matches!(ImporterId::parse(bad), Err(ImporterError::BadMember(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_ids_suggest_blocs_and_countries() {
        let ImporterError::Unknown { input, suggestions } = ImporterError::unknown("JAPAN", ["QUAD"]) else {
            panic!("unknown");
        };
        assert_eq!(input, "JAPAN");
        assert!(suggestions.contains(&"JPN".to_string()), "{suggestions:?}");
    }

    #[test]
    fn an_ad_hoc_bloc_has_at_most_fifty_members() {
        let codes: Vec<&str> = Countries::builtin()
            .iter()
            .filter(|c| c.kind == crate::CountryKind::Country)
            .map(|c| c.iso3.as_str())
            .take(51)
            .collect();
        assert!(matches!(ImporterId::parse(&codes[..50].join("+")), Ok(ImporterId::AdHoc(m)) if m.len() == 50));
        let err = ImporterId::parse(&codes.join("+")).expect_err("51 members");
        assert_eq!(err.to_string(), "an ad-hoc bloc has at most 50 members, got 51");
        let huge = vec!["XXX"; 10_000].join("+");
        assert!(ImporterId::parse(&huge).is_err_and(|e| e.to_string().contains("got 10000")));
    }
}
