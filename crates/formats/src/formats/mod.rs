//! One row parser per format, plus what they share.

mod baci;
mod comtrade;
mod policy;
mod stage_supply;
mod usgs_nir;
mod usgs_salient;
mod usgs_world;
mod wgi;
mod wmd;

use supplyrisk_domain::{Countries, Country, CountryKind};

use crate::reconcile::{NameMatch, resolve_country_name};
use crate::{Format, Options, RowParser, SkipReason};

pub(crate) fn row_parser(format: Format, options: &Options) -> Box<dyn RowParser> {
    let source = options.source.clone().filter(|s| !s.trim().is_empty());
    match format {
        Format::Baci => Box::new(baci::Baci::new(source)),
        Format::BaciCountryCodes => Box::new(baci::BaciCountries::default()),
        Format::Comtrade => Box::new(comtrade::Comtrade::new(source, options)),
        Format::UsgsMcsWorld => Box::new(usgs_world::UsgsWorld::new(source)),
        Format::UsgsMcsSalient => Box::new(usgs_salient::UsgsSalient::new(source)),
        Format::UsgsImportReliance => Box::new(usgs_nir::UsgsNir::new(source)),
        Format::WorldMiningData => Box::new(wmd::Wmd::new(source)),
        Format::WmdHsCodeMap => Box::new(wmd::WmdMap::default()),
        Format::WgiPv => Box::new(wgi::WgiPv::default()),
        Format::Wgi => Box::new(wgi::Wgi::default()),
        Format::PolicyEvents => Box::new(policy::Policy::default()),
        Format::StageSupply => Box::new(stage_supply::StageSupply::default()),
        Format::EuCrmSupplyShares => Box::new(stage_supply::EuCrmShares::default()),
        Format::IeaCmdeSupply => Box::new(stage_supply::IeaSupply::default()),
    }
}

/// How a country reference in a row resolved.
pub(crate) enum Resolved {
    /// A country or territory, with any qualifier set aside.
    Country(&'static Country, Option<String>),
    /// Not a country: skip the row.
    Skip(SkipReason),
    /// Not recognised: reject the row.
    Unknown(String),
}

fn classify(country: &'static Country, qualifier: Option<String>) -> Resolved {
    match country.kind {
        CountryKind::Country | CountryKind::Territory => Resolved::Country(country, qualifier),
        CountryKind::Aggregate => Resolved::Skip(SkipReason::Aggregate(format!("{} ({})", country.name, country.iso3))),
        CountryKind::Historic => {
            Resolved::Skip(SkipReason::NotACountry(format!("{} ({})", country.name, country.iso3)))
        }
    }
}

/// Resolves a country name as a file writes it.
pub(crate) fn resolve_name(name: &str) -> Resolved {
    match resolve_country_name(name) {
        NameMatch::Country { country, qualifier } => classify(country, qualifier),
        NameMatch::Aggregate { label, .. } => Resolved::Skip(SkipReason::Aggregate(label)),
        NameMatch::Unknown => Resolved::Unknown(unknown_country(name)),
    }
}

/// Resolves an ISO3 code (or a name) given in a code column.
pub(crate) fn resolve_code(code: &str) -> Resolved {
    let upper = code.trim().to_ascii_uppercase();
    match Countries::builtin().get(&upper) {
        Some(c) => classify(c, None),
        None => resolve_name(code),
    }
}

/// Resolves a BACI numeric country code.
pub(crate) fn resolve_baci(code: &str) -> Resolved {
    match code.trim().parse::<u16>() {
        Ok(n) => match Countries::builtin().by_baci_code(n) {
            Some(c) => classify(c, None),
            None => Resolved::Unknown(format!(
                "unknown BACI country code {n}; it is not in data/reference/countries.csv (baci_codes)"
            )),
        },
        Err(_) => Resolved::Unknown(format!("'{}' is not a BACI country code", code.trim())),
    }
}

/// The rejection text for a country name nobody knows.
pub(crate) fn unknown_country(name: &str) -> String {
    let t = name.trim();
    if t.is_empty() {
        return "country is required".into();
    }
    let suggestions = Countries::builtin().suggest(t, 3);
    if suggestions.is_empty() {
        format!("unknown country '{t}'")
    } else {
        format!("unknown country '{t}'; did you mean {}?", suggestions.join(", "))
    }
}

/// A four-digit year within the domain's accepted range.
pub(crate) fn parse_year(cell: &str) -> Result<u32, String> {
    let t = cell.trim();
    match t.parse::<u32>() {
        Ok(y) if t.len() == 4 => Ok(y),
        _ => Err(format!("'{t}' is not a year")),
    }
}

/// A six-digit HS code; BACI writes codes below 100000 without the leading zero.
pub(crate) fn parse_hs6(cell: &str) -> Result<String, String> {
    let t = cell.trim();
    if !t.is_empty() && t.len() <= 6 && t.bytes().all(|b| b.is_ascii_digit()) && t.len() >= 5 {
        Ok(format!("{t:0>6}"))
    } else {
        Err(format!("'{t}' is not a 6-digit HS code"))
    }
}

/// Year range at the end of a column name: `…_2020_2023` → (2020, 2023).
pub(crate) fn trailing_years(name: &str) -> Vec<u16> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|p| p.len() == 4)
        .filter_map(|p| p.parse::<u16>().ok())
        .filter(|y| (1900..=2200).contains(y))
        .collect()
}

/// The catalog mineral a USGS commodity cell names, found with `lookup`;
/// `None` once the row is skipped (no catalog mineral) or rejected.
pub(crate) fn usgs_commodity(
    commodity: &str,
    line: u64,
    lookup: fn(&str) -> Option<&'static supplyrisk_domain::Mineral>,
    out: &mut crate::Out<'_>,
) -> Option<supplyrisk_domain::MineralId> {
    let Some(mineral) = lookup(commodity) else {
        out.skip(line, SkipReason::OutsideCatalog(commodity.to_string()));
        return None;
    };
    match supplyrisk_domain::MineralId::parse(&mineral.id) {
        Ok(id) => Some(id),
        Err(_) => {
            out.reject(
                line,
                "Commodity",
                format!("catalog mineral {} does not resolve", mineral.id),
            );
            None
        }
    }
}

/// USGS `SOURCE` / `DataSource` cell → source label: `MCS2025` → `USGS_MCS_2025`.
pub(crate) fn usgs_source_label(cell: &str) -> String {
    let t = cell.trim();
    match t.strip_prefix("MCS") {
        Some(y) if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => format!("USGS_MCS_{y}"),
        _ if t.is_empty() => "USGS_MCS".into(),
        _ => t.to_string(),
    }
}
