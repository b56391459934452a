//! The country registry: ISO 3166-1 alpha-3 ↔ alpha-2 ↔ numeric ↔ BACI codes
//! ↔ the names the shipped data files use.
//!
//! Trade, production and governance sources each name countries their own
//! way; resolving them all through one registry is what makes a BACI flow, a
//! USGS production row and a WGI estimate line up on the same country.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::suggest;

const COUNTRIES_CSV: &str = include_str!("../../../data/reference/countries.csv");

/// What kind of entity a registry entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountryKind {
    /// A sovereign country.
    Country,
    /// A dependent territory, scored with its sovereign's governance when it has none.
    Territory,
    /// A code that no longer exists (e.g. USSR); kept to read old data.
    Historic,
    /// A group of countries used as a reporting aggregate.
    Aggregate,
}

/// A registry entry.
#[derive(Debug, Clone)]
pub struct Country {
    /// ISO 3166-1 alpha-3 code.
    pub iso3: String,
    /// ISO 3166-1 alpha-2 code, when it has one.
    pub iso2: String,
    /// ISO/UN M49 numeric code, when it has one.
    pub numeric: Option<u16>,
    /// CEPII BACI numeric codes mapping to this country.
    pub baci_codes: Vec<u16>,
    /// English short name.
    pub name: String,
    /// Kind of entry.
    pub kind: CountryKind,
    /// Country whose governance stands in when this one has none.
    pub governance_fallback: Option<String>,
    /// Other names used by data sources.
    pub aliases: Vec<String>,
}

#[derive(Deserialize)]
struct Row {
    iso3: String,
    iso2: String,
    numeric: String,
    baci_codes: String,
    name: String,
    kind: String,
    governance_fallback: String,
    aliases: String,
}

/// The registry of countries, territories and aggregates.
#[derive(Debug)]
pub struct Countries {
    entries: Vec<Country>,
    by_iso3: HashMap<String, usize>,
    by_baci: HashMap<u16, usize>,
    by_name: HashMap<String, usize>,
}

/// Normalises a name for lookup: trimmed, lower case, inner whitespace folded.
pub fn normalize_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl Countries {
    /// The registry shipped in `data/reference/countries.csv`.
    pub fn builtin() -> &'static Countries {
        static REGISTRY: OnceLock<Countries> = OnceLock::new();
        REGISTRY.get_or_init(|| Countries::from_csv(COUNTRIES_CSV).expect("the bundled country registry is valid"))
    }

    /// Parses a registry in the `countries.csv` layout.
    pub fn from_csv(text: &str) -> Result<Self, String> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut entries = Vec::new();
        for (line, row) in reader.deserialize::<Row>().enumerate() {
            let row = row.map_err(|e| format!("countries.csv row {}: {e}", line + 2))?;
            let kind = match row.kind.as_str() {
                "country" => CountryKind::Country,
                "territory" => CountryKind::Territory,
                "historic" => CountryKind::Historic,
                "aggregate" => CountryKind::Aggregate,
                other => return Err(format!("countries.csv row {}: unknown kind {other}", line + 2)),
            };
            let baci_codes = row
                .baci_codes
                .split(';')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<u16>().map_err(|e| format!("baci code {s}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            entries.push(Country {
                iso3: row.iso3,
                iso2: row.iso2,
                numeric: row.numeric.parse().ok(),
                baci_codes,
                name: row.name,
                kind,
                governance_fallback: Some(row.governance_fallback).filter(|s| !s.is_empty()),
                aliases: row
                    .aliases
                    .split('|')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            });
        }
        let mut registry = Countries {
            entries,
            by_iso3: HashMap::new(),
            by_baci: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (i, c) in registry.entries.iter().enumerate() {
            if registry.by_iso3.insert(c.iso3.clone(), i).is_some() {
                return Err(format!("duplicate iso3 {}", c.iso3));
            }
            for code in &c.baci_codes {
                registry.by_baci.insert(*code, i);
            }
            registry.by_name.insert(normalize_name(&c.name), i);
            registry.by_name.insert(normalize_name(&c.iso3), i);
            for alias in &c.aliases {
                registry.by_name.insert(normalize_name(alias), i);
            }
        }
        Ok(registry)
    }

    /// The entry for an ISO3 code (exact, upper case).
    pub fn get(&self, iso3: &str) -> Option<&Country> {
        self.by_iso3.get(iso3).map(|&i| &self.entries[i])
    }

    /// The entry for a BACI numeric country code.
    pub fn by_baci_code(&self, code: u16) -> Option<&Country> {
        self.by_baci.get(&code).map(|&i| &self.entries[i])
    }

    /// The entry whose name, alias or ISO3 code matches `name`, ignoring case
    /// and surrounding or repeated whitespace.
    pub fn by_name(&self, name: &str) -> Option<&Country> {
        self.by_name.get(&normalize_name(name)).map(|&i| &self.entries[i])
    }

    /// Every entry, in ISO3 order.
    pub fn iter(&self) -> impl Iterator<Item = &Country> {
        self.entries.iter()
    }

    /// The ISO3 codes closest to `input`, for error messages.
    pub fn suggest(&self, input: &str, n: usize) -> Vec<String> {
        let candidates = self
            .entries
            .iter()
            .filter(|c| matches!(c.kind, CountryKind::Country | CountryKind::Territory))
            .flat_map(|c| [(c.iso3.as_str(), c.iso3.as_str()), (c.iso3.as_str(), c.name.as_str())]);
        suggest::closest(input, candidates, n)
    }
}

/// A validated ISO 3166-1 alpha-3 code of a country or territory in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iso3(String);

/// Why a country code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryError {
    /// Empty input.
    #[error("is required (ISO 3166-1 alpha-3, e.g. JPN)")]
    Missing,
    /// Not three ASCII letters.
    #[error("'{0}' is not an ISO 3166-1 alpha-3 code (three letters, e.g. JPN)")]
    Malformed(String),
    /// Well-formed but not a known country.
    #[error("unknown country '{code}'{}", did_you_mean(.suggestions))]
    Unknown {
        /// The input.
        code: String,
        /// Closest known codes.
        suggestions: Vec<String>,
    },
    /// An aggregate or historic code, not a country that trades or produces.
    #[error("'{0}' is an aggregate or historic code, not a country")]
    NotACountry(String),
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}

impl Iso3 {
    /// Validates `code` against the built-in registry. Lower case is accepted.
    pub fn parse(code: &str) -> Result<Self, CountryError> {
        let code = code.trim();
        if code.is_empty() {
            return Err(CountryError::Missing);
        }
        if code.len() != 3 || !code.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(CountryError::Malformed(code.to_string()));
        }
        let upper = code.to_ascii_uppercase();
        let registry = Countries::builtin();
        match registry.get(&upper) {
            Some(c) if matches!(c.kind, CountryKind::Country | CountryKind::Territory) => Ok(Iso3(upper)),
            Some(_) => Err(CountryError::NotACountry(upper)),
            None => Err(CountryError::Unknown {
                suggestions: registry.suggest(&upper, 3),
                code: upper,
            }),
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Iso3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_resolves_codes_and_names() {
        let r = Countries::builtin();
        assert_eq!(r.get("JPN").map(|c| c.iso2.as_str()), Some("JP"));
        assert_eq!(r.by_baci_code(842).map(|c| c.iso3.as_str()), Some("USA"));
        assert_eq!(r.by_baci_code(490).map(|c| c.iso3.as_str()), Some("TWN"));
        assert_eq!(r.by_name("  china  ").map(|c| c.iso3.as_str()), Some("CHN"));
        assert_eq!(r.get("NCL").and_then(|c| c.governance_fallback.as_deref()), Some("FRA"));
    }

    #[test]
    fn source_names_and_aggregates() {
        let r = Countries::builtin();
        let iso = |n: &str| r.by_name(n).map(|c| c.iso3.as_str());
        assert_eq!(iso("Congo (Kinshasa)"), Some("COD"));
        assert_eq!(iso("Congo, Rep."), Some("COG"));
        assert_eq!(iso("Burma"), Some("MMR"));
        assert_eq!(iso("Korea, Rep."), Some("KOR"));
        assert_eq!(iso("Korea, North"), Some("PRK"));
        assert_eq!(iso("Russia "), Some("RUS"));
        assert_eq!(iso("Other Asia, nes"), Some("TWN"));
        assert_eq!(iso("TÃ¼rkiye"), Some("TUR"));
        assert_eq!(r.by_name("World").map(|c| c.kind), Some(CountryKind::Aggregate));
        assert_eq!(r.by_name("High income").map(|c| c.kind), Some(CountryKind::Aggregate));
        assert!(matches!(Iso3::parse("WLD"), Err(CountryError::NotACountry(_))));
        let codes: Vec<&str> = r.iter().map(|c| c.iso3.as_str()).collect();
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "registry rows stay in ISO3 order"
        );
    }

    #[test]
    fn iso3_validation() {
        assert_eq!(Iso3::parse("jpn").map(|c| c.to_string()), Ok("JPN".to_string()));
        assert_eq!(Iso3::parse(""), Err(CountryError::Missing));
        assert!(matches!(Iso3::parse("JP"), Err(CountryError::Malformed(_))));
        assert!(matches!(Iso3::parse("SUN"), Err(CountryError::NotACountry(_))));
        match Iso3::parse("JPX") {
            Err(CountryError::Unknown { suggestions, .. }) => assert!(suggestions.contains(&"JPN".to_string())),
            other => panic!("expected unknown, got {other:?}"),
        }
    }
}
