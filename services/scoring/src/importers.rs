//! Importers: a country (ISO3) or a bloc of allies.
//!
//! Blocs come from configuration (`EU27`, `QUAD`, …); any `+`-joined list of
//! ISO3 codes (`USA+JPN`) is a bloc too, so a caller can score an ad-hoc
//! alliance without a config change.

use std::collections::BTreeMap;

use supplyrisk_domain::{ImporterId, Iso3};
use supplyrisk_engine::Importer;

use crate::settings::ScoringSection;

pub use supplyrisk_domain::ImporterError;

/// Configured blocs and tracked importers.
#[derive(Debug, Clone)]
pub struct Importers {
    blocs: BTreeMap<String, Vec<String>>,
    tracked: Vec<String>,
    agreements: BTreeMap<String, Vec<String>>,
}

impl Importers {
    /// Parses `blocs` (`ID=ISO3,…;…`) and `tracked_importers`.
    pub fn from_settings(s: &ScoringSection) -> Result<Importers, String> {
        let mut blocs = BTreeMap::new();
        for (i, entry) in s.blocs.split(';').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let (id, members) = entry
                .split_once('=')
                .ok_or_else(|| format!("bloc entry {} is not ID=ISO3,…", i + 1))?;
            let id = id.trim().to_ascii_uppercase();
            if id.is_empty() || id.contains('+') {
                return Err(format!("bloc id '{id}' must be non-empty without '+'"));
            }
            let mut list = Vec::new();
            for m in members.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                list.push(Iso3::parse(m).map_err(|e| format!("bloc {id}: {e}"))?.to_string());
            }
            if list.len() < 2 {
                return Err(format!("bloc {id} needs at least two members"));
            }
            list.sort();
            list.dedup();
            blocs.insert(id, list);
        }
        let mut importers = Importers {
            blocs,
            tracked: Vec::new(),
            agreements: BTreeMap::new(),
        };
        for (i, entry) in s
            .trade_agreements
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let (importer, partners) = entry
                .split_once('=')
                .ok_or_else(|| format!("trade agreement entry {} is not IMPORTER=ISO3,…", i + 1))?;
            let importer = importers
                .resolve(importer)
                .map_err(|e| format!("trade agreement importer: {e}"))?;
            let mut list = Vec::new();
            for p in partners.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                list.push(
                    Iso3::parse(p)
                        .map_err(|e| format!("trade agreement partner: {e}"))?
                        .to_string(),
                );
            }
            importers.agreements.insert(importer.label().to_string(), list);
        }
        for t in s.tracked_importers.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let resolved = importers.resolve(t).map_err(|e| format!("tracked importer {t}: {e}"))?;
            importers.tracked.push(resolved.label().to_string());
        }
        Ok(importers)
    }

    /// Resolves an ISO3 code, a bloc id or a `+` list: configured bloc ids
    /// first, then the shared parsing rules of [`ImporterId`].
    pub fn resolve(&self, input: &str) -> Result<Importer, ImporterError> {
        let trimmed = input.trim();
        if let Some(members) = self.blocs.get(&trimmed.to_ascii_uppercase()) {
            return Ok(Importer::bloc(trimmed.to_ascii_uppercase(), members.clone()));
        }
        match ImporterId::parse(trimmed)? {
            ImporterId::Country(c) => Ok(Importer::country(c.to_string())),
            ImporterId::AdHoc(members) => Ok(Importer::bloc(members.join("+"), members)),
            ImporterId::Named(_) => Err(ImporterError::unknown(trimmed, self.blocs.keys().map(String::as_str))),
        }
    }

    /// Partners `importer` has a trade agreement with.
    pub fn agreements(&self, importer: &str) -> &[String] {
        self.agreements.get(importer).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Importers kept scored and ranked.
    pub fn tracked(&self) -> &[String] {
        &self.tracked
    }

    /// Configured blocs.
    pub fn blocs(&self) -> &BTreeMap<String, Vec<String>> {
        &self.blocs
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn section() -> ScoringSection {
        ScoringSection {
            tracked_importers: "USA,JPN,USA+JPN,QUAD".into(),
            blocs: "QUAD=USA,JPN,IND,AUS".into(),
            trade_agreements: "JPN=AUS;usa+jpn=CAN".into(),
            cache_entries: 10,
            max_concurrent_snapshot_calls: 4,
            consumer_group: "g".into(),
            consumer_name: String::new(),
            reclaim_idle_ms: 1000,
            max_deliveries: 5,
            recompute_workers: 1,
            stream_maxlen: 100,
        }
    }

    #[test]
    fn resolves_countries_blocs_and_ad_hoc_alliances() {
        let i = Importers::from_settings(&section()).expect("valid");
        assert_eq!(i.resolve("jpn").expect("country").label(), "JPN");
        assert_eq!(i.resolve("quad").expect("bloc").members().len(), 4);
        let b = i.resolve("JPN+USA").expect("ad hoc");
        assert_eq!(b.label(), "JPN+USA");
        assert!(b.contains("USA"));
        assert_eq!(i.tracked(), ["USA", "JPN", "JPN+USA", "QUAD"]);
        match i.resolve("JAPAN") {
            Err(ImporterError::Unknown { suggestions, .. }) => assert!(suggestions.contains(&"JPN".to_string())),
            other => panic!("{other:?}"),
        }
        assert!(matches!(i.resolve("USA+XXQ"), Err(ImporterError::BadMember(_))));
        assert_eq!(i.agreements("JPN"), ["AUS"]);
        assert_eq!(i.agreements("JPN+USA"), ["CAN"]);
        assert!(i.agreements("USA").is_empty());
    }
}
