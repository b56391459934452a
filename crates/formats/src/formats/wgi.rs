//! Worldwide Governance Indicators: the World Bank DataBank wide layout
//! (`WGIData.csv`) and the long PV layout bundled with GeoPolRisk.

use std::collections::HashMap;

use supplyrisk_domain::{GovernanceDimension, GovernanceIndicator, RawGovernanceIndicator};

use super::{Resolved, parse_year, resolve_code, resolve_name};
use crate::values::{is_missing, parse_number};
use crate::{Header, HeaderError, Out, Record, Row, RowParser, SkipReason};

/// Resolves a row's country from its code column, then its name column.
fn country(code: &str, name: &str) -> Resolved {
    match resolve_code(code) {
        Resolved::Unknown(e) if !name.trim().is_empty() => match resolve_name(name) {
            Resolved::Unknown(_) => Resolved::Unknown(e),
            other => other,
        },
        other => other,
    }
}

/// Emits one estimate, or why there is none.
fn emit(out: &mut Out<'_>, line: u64, iso3: &str, year: u32, dimension: GovernanceDimension, cell: &str, column: &str) {
    if is_missing(cell) {
        return out.skip(line, SkipReason::Missing);
    }
    let Some(estimate) = parse_number(cell) else {
        return out.reject(line, column, format!("'{}' is not a WGI estimate", cell.trim()));
    };
    let raw = RawGovernanceIndicator {
        country: iso3.to_string(),
        year,
        dimension: Some(dimension),
        estimate,
    };
    match GovernanceIndicator::validate(&raw) {
        Ok(_) => out.record(line, Record::Governance(raw)),
        Err(v) => {
            let column_of = |field: &str| {
                if field == "estimate" {
                    column.to_string()
                } else {
                    field.to_string()
                }
            };
            out.invalid(line, &v, &column_of);
        }
    }
}

/// `WGIData.csv`: `Country Name, Country Code, Indicator Name, Indicator
/// Code, 1996, …` (DataBank exports: `Series Code`, `2022 [YR2022]`).
/// Only the six `.EST` series are estimates; the rest are skipped.
#[derive(Default)]
pub(crate) struct Wgi {
    name: usize,
    code: usize,
    indicator: usize,
    years: Vec<(usize, u32)>,
    names: Vec<String>,
}

/// `2022` or `2022 [YR2022]` → 2022.
fn year_column(name: &str) -> Option<u32> {
    let head = name.get(..4)?;
    let rest = name.get(4..)?.trim();
    let ok = head.bytes().all(|b| b.is_ascii_digit()) && (rest.is_empty() || rest.starts_with('['));
    ok.then(|| head.parse().ok()).flatten()
}

impl RowParser for Wgi {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.name = h.require(&["Country Name"])?;
        self.code = h.require(&["Country Code"])?;
        self.indicator = h.require(&["Indicator Code", "Series Code"])?;
        self.years = (0..h.len())
            .filter_map(|i| year_column(h.name(i)).map(|y| (i, y)))
            .collect();
        if self.years.is_empty() {
            return Err(HeaderError::missing("<year>", h));
        }
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let indicator = row.get(self.indicator).trim();
        let dimension = indicator
            .to_ascii_uppercase()
            .strip_suffix(".EST")
            .and_then(GovernanceDimension::from_code)
            .filter(|d| GovernanceDimension::ALL.contains(d));
        let Some(dimension) = dimension else {
            return out.skip(line, SkipReason::NotUsed(format!("series {indicator}")));
        };
        let iso3 = match country(row.get(self.code), row.get(self.name)) {
            Resolved::Country(c, _) => c.iso3.as_str(),
            Resolved::Skip(reason) => return out.skip(line, reason),
            Resolved::Unknown(e) => {
                return out.reject(line, self.names.get(self.code).map_or("", String::as_str), e);
            }
        };
        for &(col, year) in &self.years {
            let column = self.names.get(col).map_or("", String::as_str);
            emit(out, line, iso3, year, dimension, row.get(col), column);
        }
    }
}

/// `wgi_pv_estimate_and_normalized_long.csv`: `row_id, country, iso3,
/// baci_code, year, pv_estimate, pv_normalized`, the political-stability
/// series GeoPolRisk reads, stored as [`GovernanceDimension::PvSeries`].
/// Only `pv_estimate` is read (`pv_normalized` is the packager's
/// derivation, and reads 0.0 where the estimate is missing). The method
/// looks the series up by BACI code, so a row whose `baci_code` is `NA` is
/// never read by it and is skipped here. When a country and year appear
/// twice, the first row wins and the later one is skipped as a duplicate:
/// the source's two `GUY` series (row_id 80, in fact French Guiana's, and
/// 82, Guyana's) resolve the way the method resolves them.
#[derive(Default)]
pub(crate) struct WgiPv {
    country: usize,
    iso3: Option<usize>,
    baci_code: Option<usize>,
    year: usize,
    estimate: usize,
    names: Vec<String>,
    seen: HashMap<(String, u32), u64>,
}

impl RowParser for WgiPv {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.country = h.require(&["country"])?;
        self.iso3 = h.find(&["iso3"]);
        self.baci_code = h.find(&["baci_code"]);
        self.year = h.require(&["year"])?;
        self.estimate = h.require(&["pv_estimate"])?;
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let col = |i: usize| self.names.get(i).map_or("", String::as_str).to_string();
        if self.baci_code.is_some() && is_missing(row.opt(self.baci_code)) {
            return out.skip(
                line,
                SkipReason::NotUsed("no BACI code: GeoPolRisk looks the series up by BACI code".into()),
            );
        }
        let iso3 = match country(row.opt(self.iso3), row.get(self.country)) {
            Resolved::Country(c, _) => c.iso3.clone(),
            Resolved::Skip(reason) => return out.skip(line, reason),
            Resolved::Unknown(e) => {
                return out.reject(line, &col(self.iso3.unwrap_or(self.country)), e);
            }
        };
        let year = match parse_year(row.get(self.year)) {
            Ok(y) => y,
            Err(e) => return out.reject(line, &col(self.year), e),
        };
        // Keys are registry countries × years, so the map stays small.
        if let Some(&first_line) = self.seen.get(&(iso3.clone(), year)) {
            return out.skip(line, SkipReason::Duplicate { first_line });
        }
        self.seen.insert((iso3.clone(), year), line);
        emit(
            out,
            line,
            &iso3,
            year,
            GovernanceDimension::PvSeries,
            row.get(self.estimate),
            &col(self.estimate),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_columns() {
        assert_eq!(year_column("1996"), Some(1996));
        assert_eq!(year_column("2022 [YR2022]"), Some(2022));
        assert_eq!(year_column("Indicator Code"), None);
        assert_eq!(year_column(""), None);
        assert_eq!(year_column("20221"), None);
    }
}
