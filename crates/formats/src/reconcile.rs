//! Reconciliation: the names sources give countries and minerals, mapped to
//! the country registry and the mineral catalog.
//!
//! Country names resolve through [`Countries::by_name`] (names, aliases and
//! ISO3 codes, case- and whitespace-insensitive), then through the rules
//! documented in `docs/data.md`: aggregate labels (`World total (rounded)`,
//! `Other Countries`, `United States and Canada`) are recognised as such, a
//! trailing footnote digit is dropped (`China3`), and a trailing
//! parenthesised qualifier is set aside (`Brazil (beneficiated)`). Anything
//! else is unknown, and parsers reject the row naming it.

use supplyrisk_domain::catalog::{Mineral, UsgsWorldName};
use supplyrisk_domain::country::normalize_name;
use supplyrisk_domain::{Catalog, Countries, Country, CountryKind};

/// What an aggregate label stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AggregateKind {
    /// The world or a world total.
    World,
    /// Countries a source does not name ("Other Countries").
    OtherCountries,
    /// Several named countries reported together ("United States and Canada").
    Group,
    /// A region, income group or trade bloc in the registry (kind `aggregate`).
    Region,
}

/// How a source's country name resolved.
#[derive(Debug, Clone)]
pub enum NameMatch {
    /// A registry entry: country, territory or historic code.
    Country {
        /// The entry.
        country: &'static Country,
        /// Qualifier set aside, e.g. `beneficiated` in `Brazil (beneficiated)`.
        qualifier: Option<String>,
    },
    /// An aggregate: not a country, never a producer or trade partner.
    Aggregate {
        /// The label as given, trimmed.
        label: String,
        /// What kind of aggregate.
        kind: AggregateKind,
    },
    /// Not recognised.
    Unknown,
}

impl PartialEq for NameMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                NameMatch::Country {
                    country: a,
                    qualifier: qa,
                },
                NameMatch::Country {
                    country: b,
                    qualifier: qb,
                },
            ) => a.iso3 == b.iso3 && qa == qb,
            (NameMatch::Aggregate { label: a, kind: ka }, NameMatch::Aggregate { label: b, kind: kb }) => {
                a == b && ka == kb
            }
            (NameMatch::Unknown, NameMatch::Unknown) => true,
            _ => false,
        }
    }
}

impl NameMatch {
    /// The entry when the name is a country or territory (not historic).
    pub fn country(&self) -> Option<&'static Country> {
        match self {
            NameMatch::Country { country, .. }
                if matches!(country.kind, CountryKind::Country | CountryKind::Territory) =>
            {
                Some(country)
            }
            _ => None,
        }
    }
}

/// Resolves a country name as written in a source file.
pub fn resolve_country_name(name: &str) -> NameMatch {
    let t = name.trim();
    if t.is_empty() {
        return NameMatch::Unknown;
    }
    if let Some(m) = direct(t) {
        return m;
    }
    // "China3": a footnote marker glued to the name.
    let undigited = t.trim_end_matches(|c: char| c.is_ascii_digit()).trim_end();
    if undigited.len() != t.len()
        && !undigited.is_empty()
        && let Some(m) = direct(undigited)
    {
        return m;
    }
    // "Brazil (beneficiated)": a qualifier of the series, not of the country.
    if let Some(open) = t.rfind('(')
        && t.ends_with(')')
        && let Some(base) = t.get(..open)
        && let Some(country) = Countries::builtin().by_name(base.trim())
        && country.kind != CountryKind::Aggregate
    {
        let qualifier = t.get(open + 1..t.len() - 1).unwrap_or_default().trim().to_string();
        return NameMatch::Country {
            country,
            qualifier: Some(qualifier),
        };
    }
    NameMatch::Unknown
}

fn direct(t: &str) -> Option<NameMatch> {
    if let Some(country) = Countries::builtin().by_name(t) {
        return Some(if country.kind == CountryKind::Aggregate {
            let kind = aggregate_kind(t).unwrap_or(AggregateKind::Region);
            NameMatch::Aggregate {
                label: t.to_string(),
                kind,
            }
        } else {
            NameMatch::Country {
                country,
                qualifier: None,
            }
        });
    }
    aggregate_kind(t).map(|kind| NameMatch::Aggregate {
        label: t.to_string(),
        kind,
    })
}

/// Recognises aggregate labels that have no registry code: world totals,
/// "other countries" and several countries joined by "and".
pub fn aggregate_kind(name: &str) -> Option<AggregateKind> {
    let n = normalize_name(name);
    let starts = |p: &str| n == p || n.starts_with(&format!("{p} ")) || n.starts_with(&format!("{p},"));
    if starts("world") || starts("world total") || n == "total" || n == "all countries" {
        return Some(AggregateKind::World);
    }
    if starts("other countries") || starts("others") || starts("rest of world") || starts("rest of the world") {
        return Some(AggregateKind::OtherCountries);
    }
    if let Some((a, b)) = n.split_once(" and ") {
        let countries = Countries::builtin();
        let is_country = |s: &str| countries.by_name(s).is_some_and(|c| c.kind != CountryKind::Aggregate);
        if is_country(a) && is_country(b) {
            return Some(AggregateKind::Group);
        }
    }
    None
}

/// Folds a label for comparison: trimmed, lower case, inner whitespace folded.
pub(crate) fn fold(s: &str) -> String {
    normalize_name(s)
}

/// The catalog entry whose `usgs_world` names this `COMMODITY` and `TYPE`.
/// When several prefixes match, the longest wins.
pub fn usgs_world_entry(commodity: &str, series: &str) -> Option<(&'static Mineral, &'static UsgsWorldName)> {
    let c = fold(commodity);
    let s = fold(series);
    Catalog::builtin()
        .minerals()
        .iter()
        .flat_map(|m| m.usgs_world.iter().map(move |u| (m, u)))
        .filter(|(_, u)| fold(&u.commodity) == c && s.starts_with(&fold(&u.type_prefix)))
        .max_by_key(|(_, u)| u.type_prefix.len())
}

/// The catalog mineral whose `wmd_sheet` is this World Mining Data sheet.
pub fn wmd_mineral(sheet: &str) -> Option<&'static Mineral> {
    let s = fold(sheet);
    Catalog::builtin()
        .minerals()
        .iter()
        .find(|m| m.wmd_sheet.as_deref().is_some_and(|w| fold(w) == s))
}

/// The catalog mineral whose `usgs_salient_commodity` is this salient-file
/// `Commodity` value.
pub fn salient_mineral(commodity: &str) -> Option<&'static Mineral> {
    let c = fold(commodity);
    Catalog::builtin()
        .minerals()
        .iter()
        .find(|m| m.usgs_salient_commodity.as_deref().is_some_and(|w| fold(w) == c))
}

/// The catalog mineral whose `usgs_nir` lists this net-import-reliance
/// `Commodity` label.
pub fn nir_mineral(commodity: &str) -> Option<&'static Mineral> {
    let c = fold(commodity);
    Catalog::builtin()
        .minerals()
        .iter()
        .find(|m| m.usgs_nir.iter().any(|w| fold(w) == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(name: &str) -> Option<String> {
        match resolve_country_name(name) {
            NameMatch::Country { country, .. } => Some(country.iso3.clone()),
            _ => None,
        }
    }

    #[test]
    fn names_from_sources() {
        assert_eq!(iso("Congo (Kinshasa)").as_deref(), Some("COD"));
        assert_eq!(iso("Burma").as_deref(), Some("MMR"));
        assert_eq!(iso("Korea, Rep.").as_deref(), Some("KOR"));
        assert_eq!(iso("Korea, North").as_deref(), Some("PRK"));
        assert_eq!(iso("Russia ").as_deref(), Some("RUS"));
        assert_eq!(iso("China3").as_deref(), Some("CHN"));
        assert_eq!(iso("United\u{a0}States (kyanite)").as_deref(), Some("USA"));
        assert_eq!(iso("CÃ´te d'Ivoire").as_deref(), Some("CIV"));
        match resolve_country_name("Brazil (beneficiated, marketable)") {
            NameMatch::Country { country, qualifier } => {
                assert_eq!(country.iso3, "BRA");
                assert_eq!(qualifier.as_deref(), Some("beneficiated, marketable"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(resolve_country_name("Atlantis"), NameMatch::Unknown);
    }

    #[test]
    fn aggregates() {
        let kind = |n: &str| match resolve_country_name(n) {
            NameMatch::Aggregate { kind, .. } => Some(kind),
            _ => None,
        };
        assert_eq!(kind("World total (rounded) 10"), Some(AggregateKind::World));
        assert_eq!(
            kind("World total (ilmenite and rutile, rounded)"),
            Some(AggregateKind::World)
        );
        assert_eq!(kind("Other Countries"), Some(AggregateKind::OtherCountries));
        assert_eq!(
            kind("Other countries (includes crude)"),
            Some(AggregateKind::OtherCountries)
        );
        assert_eq!(kind("United\u{a0}States and Canada"), Some(AggregateKind::Group));
        assert_eq!(kind("High income"), Some(AggregateKind::Region));
        assert_eq!(kind("WLD"), Some(AggregateKind::Region));
        assert_eq!(kind("Trinidad and Tobago"), None);
    }

    #[test]
    fn mineral_lookups() {
        let (m, u) = usgs_world_entry("Rare earths", "Mine production, rare-earth-oxide equivalent").expect("REE");
        assert_eq!((m.id.as_str(), u.type_prefix.as_str()), ("REE", "Mine production"));
        let (m, _) = usgs_world_entry("Platinum-Group metals", "Mine production, Palladium content").expect("PD");
        assert_eq!(m.id, "PD");
        assert!(usgs_world_entry("Abrasives", "Plant capacity").is_none());
        assert_eq!(wmd_mineral("Rare Earths (REO)").map(|m| m.id.as_str()), Some("REE"));
        assert_eq!(
            salient_mineral("Graphite (Natural)").map(|m| m.id.as_str()),
            Some("GRAPHITE")
        );
        assert_eq!(
            nir_mineral("RARE EARTHS, compounds and metals").map(|m| m.id.as_str()),
            Some("REE")
        );
    }
}
