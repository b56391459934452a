//! Supply by stage: who produces a mineral at each stage of its value chain
//! (mining, separation and refining, metal, manufacturing), as shares of
//! world supply or as quantities.
//!
//! Mine-stage statistics (USGS, World Mining Data) say nothing about where
//! ore is separated or refined, which is where China's grip on rare earths,
//! graphite, gallium and cobalt lies; these files fill the later stages.
//! Three layouts:
//!
//! - `STAGE_SUPPLY`, our own generic CSV, fillable from any study:
//!   `mineral, stage, country, period, share, quantity, unit, source`
//!   (`country` `WORLD` gives a world total; `period` is `2024` or
//!   `2016-2020`; each row has a `share` (0–1, or `84.9%`) or a `quantity`
//!   with its `unit`).
//! - `EU_CRM_SUPPLY_SHARES`: the EU 2023 criticality assessment's global
//!   supply shares per material and stage, as tidied in
//!   `data/eu-crm-2023/eu_crm2023_global_supply_shares.csv`.
//! - `IEA_CMDE_SUPPLY`: the IEA Critical Minerals Data Explorer's mining
//!   and refining by country (`data/iea-cmde-2025/…_supply_by_country.csv`);
//!   only observed years are read, projections are skipped.
//!
//! Study material names map to catalog minerals through each mineral's
//! `stage_supply` names in `data/reference/minerals.toml`. Shares are
//! stored as production in the unit `share` with a world total of 1, so an
//! incomplete list leaves the rest unattributed instead of inflating the
//! listed countries.

use std::collections::BTreeSet;

use supplyrisk_domain::records::SHARE_UNIT;
use supplyrisk_domain::{Catalog, MineralId, ProductionStat, RawProductionStat, Stage};

use super::{Resolved, parse_year, resolve_code, resolve_name};
use crate::values::parse_number;
use crate::{
    Header, HeaderError, Out, ProductionRecord, ProductionTotal, Record, Row, RowParser, SkipReason, TotalScope,
    ValueFlag,
};

/// Source label of the EU 2023 assessment's shares.
pub const EU_CRM_2023: &str = "EU_CRM_2023";
/// Source label of the IEA Critical Minerals Data Explorer (2025 edition).
pub const IEA_CMDE_2025: &str = "IEA_CMDE_2025";

/// A reference period: the last year and, for a multi-year average, the
/// first. A range `2016-2020` anywhere in the cell wins (a study's title may
/// hold a year of its own); else the cell must be one year.
fn parse_period(cell: &str) -> Result<(u32, Option<u32>), String> {
    let t = cell.trim();
    let bytes = t.as_bytes();
    let is_year = |i: usize| i + 4 <= bytes.len() && bytes[i..i + 4].iter().all(u8::is_ascii_digit);
    for (i, _) in t.char_indices() {
        if !is_year(i) || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            continue;
        }
        let rest = &t[i + 4..];
        let after_dash = rest.strip_prefix('-').or_else(|| rest.strip_prefix('–'));
        if let Some(after) = after_dash
            && after.len() >= 4
            && after.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && !after.as_bytes().get(4).is_some_and(u8::is_ascii_digit)
        {
            let (first, last) = (parse_year(&t[i..i + 4])?, parse_year(&after[..4])?);
            if first > last {
                return Err(format!("'{t}': the period's first year is after its last"));
            }
            return Ok((last, (first < last).then_some(first)));
        }
    }
    parse_year(t)
        .map(|y| (y, None))
        .map_err(|_| format!("'{t}' is not a year or a period such as 2016-2020"))
}

/// A share as `0.849`, `84.9%` or `84.9 %`.
fn parse_share(cell: &str) -> Result<f64, String> {
    let t = cell.trim();
    let (number, percent) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v = parse_number(number).ok_or_else(|| format!("'{t}' is not a share"))?;
    let v = if percent { v / 100.0 } else { v };
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("'{t}' is not a share between 0 and 1 (or 0% and 100%)"))
    }
}

fn country_of(cell: &str) -> Resolved {
    let t = cell.trim();
    if t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
        resolve_code(t)
    } else {
        resolve_name(t)
    }
}

/// The ISO3 code of a country cell (a code or a name); `None`, with the row
/// skipped (an aggregate) or rejected under `column`, otherwise.
fn iso3_of(cell: &str, column: &str, line: u64, out: &mut Out<'_>) -> Option<String> {
    match country_of(cell) {
        Resolved::Country(c, _) => Some(c.iso3.clone()),
        Resolved::Skip(reason) => {
            out.skip(line, reason);
            None
        }
        Resolved::Unknown(e) => {
            out.reject(line, column, e);
            None
        }
    }
}

/// The catalog minerals a study's material feeds; `None`, with the row
/// skipped, when it feeds none.
fn catalog_minerals(source: &str, material: &str, line: u64, out: &mut Out<'_>) -> Option<Vec<&'static str>> {
    let material = material.trim();
    let minerals: Vec<&'static str> = Catalog::builtin()
        .by_stage_supply_name(source, material)
        .into_iter()
        .map(|m| m.id.as_str())
        .collect();
    if minerals.is_empty() {
        out.skip(line, SkipReason::OutsideCatalog(material.to_string()));
        return None;
    }
    Some(minerals)
}

/// What one row says, before it is checked against the domain.
struct Figure<'a> {
    stage: Stage,
    iso3: String,
    year: u32,
    first_year: Option<u32>,
    quantity: f64,
    unit: String,
    source: &'a str,
    reported_name: &'a str,
}

/// Emits a row's figure for each of `minerals` (a row may name a group and
/// its members), stopping at the first the domain refuses.
fn emit(
    out: &mut Out<'_>,
    line: u64,
    totals: &mut BTreeSet<String>,
    minerals: &[&str],
    f: &Figure<'_>,
    world: Option<f64>,
) {
    for mineral in minerals {
        if !emit_one(out, line, totals, mineral, f, world) {
            return;
        }
    }
}

/// Emits a figure, and a world total once per (mineral, stage, period,
/// source): 1 for shares, the study's total for quantities.
fn emit_one(
    out: &mut Out<'_>,
    line: u64,
    totals: &mut BTreeSet<String>,
    mineral: &str,
    f: &Figure<'_>,
    world: Option<f64>,
) -> bool {
    let stat = RawProductionStat {
        mineral: mineral.to_string(),
        stage: Some(f.stage),
        country: f.iso3.clone(),
        year: f.year,
        first_year: f.first_year,
        quantity: Some(f.quantity),
        unit: f.unit.clone(),
        source: f.source.to_string(),
    };
    if let Err(v) = ProductionStat::validate(&stat) {
        out.invalid(line, &v, &|field| field.to_string());
        return false;
    }
    let world = if f.unit == SHARE_UNIT { Some(1.0) } else { world };
    let key = format!("{}|{}|{}|{}", mineral, f.stage.as_str(), f.year, f.source);
    if let (Some(total), Ok(mineral), Ok(year)) = (world, MineralId::parse(mineral), u16::try_from(f.year))
        && totals.insert(key)
    {
        out.record(
            line,
            Record::Total(ProductionTotal {
                scope: TotalScope::World,
                mineral,
                stage: f.stage,
                year,
                quantity: Some(total),
                unit: f.unit.clone(),
                source: f.source.to_string(),
                flag: ValueFlag::Reported,
                label: "world".into(),
            }),
        );
    }
    out.record(
        line,
        Record::Production(ProductionRecord {
            stat,
            flag: ValueFlag::Reported,
            series: format!("{} {}", mineral, f.stage.as_str()),
            reported_name: f.reported_name.to_string(),
            note: String::new(),
        }),
    );
    true
}

/// `STAGE_SUPPLY`: the generic layout.
#[derive(Default)]
pub(crate) struct StageSupply {
    mineral: usize,
    stage: usize,
    country: usize,
    period: usize,
    share: Option<usize>,
    quantity: Option<usize>,
    unit: Option<usize>,
    source: usize,
    names: Vec<String>,
    totals: BTreeSet<String>,
}

impl StageSupply {
    fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("", String::as_str)
    }
}

impl RowParser for StageSupply {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.mineral = h.require(&["mineral", "material"])?;
        self.stage = h.require(&["stage"])?;
        self.country = h.require(&["country", "iso3"])?;
        self.period = h.require(&["period", "year"])?;
        self.share = h.find(&["share"]);
        self.quantity = h.find(&["quantity", "value"]);
        self.unit = h.find(&["unit"]);
        self.source = h.require(&["source"])?;
        if self.share.is_none() && self.quantity.is_none() {
            return Err(HeaderError::missing("share", h));
        }
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let mineral_cell = row.get(self.mineral).trim();
        let mineral = match MineralId::parse(mineral_cell) {
            Ok(m) => m,
            Err(e) => return out.reject(line, self.name(self.mineral), e.to_string()),
        };
        let Some(stage) = Stage::parse(row.get(self.stage)) else {
            return out.reject(
                line,
                self.name(self.stage),
                format!(
                    "'{}' is not a stage (mining, processing, metal or manufacturing)",
                    row.get(self.stage).trim()
                ),
            );
        };
        let (year, first_year) = match parse_period(row.get(self.period)) {
            Ok(p) => p,
            Err(e) => return out.reject(line, self.name(self.period), e),
        };
        let source = row.get(self.source).trim();
        if source.is_empty() {
            return out.reject(
                line,
                self.name(self.source),
                "is required (the study the figure comes from)",
            );
        }
        let share_cell = row.opt(self.share).trim();
        let quantity_cell = row.opt(self.quantity).trim();
        let (quantity, unit) = match (share_cell.is_empty(), quantity_cell.is_empty()) {
            (false, true) => match parse_share(share_cell) {
                Ok(s) => (s, SHARE_UNIT.to_string()),
                Err(e) => return out.reject(line, self.share.map_or("share", |i| self.name(i)), e),
            },
            (true, false) => {
                let Some(q) = parse_number(quantity_cell).filter(|q| *q >= 0.0) else {
                    return out.reject(
                        line,
                        self.quantity.map_or("quantity", |i| self.name(i)),
                        format!("'{quantity_cell}' is not a quantity"),
                    );
                };
                let unit = row.opt(self.unit).trim();
                if unit.is_empty() {
                    return out.reject(line, "unit", "is required with a quantity (e.g. t, kt)");
                }
                (q, unit.to_string())
            }
            (false, false) => return out.reject(line, "share", "give a share or a quantity, not both"),
            (true, true) => return out.skip(line, SkipReason::Missing),
        };
        let country_cell = row.get(self.country).trim();
        if country_cell.eq_ignore_ascii_case("WORLD") {
            if unit == SHARE_UNIT {
                return out.skip(line, SkipReason::NotUsed("world share (always 1)".into()));
            }
            let Ok(year16) = u16::try_from(year) else {
                return out.reject(line, self.name(self.period), "year out of range");
            };
            return out.record(
                line,
                Record::Total(ProductionTotal {
                    scope: TotalScope::World,
                    mineral,
                    stage,
                    year: year16,
                    quantity: Some(quantity),
                    unit,
                    source: source.to_string(),
                    flag: ValueFlag::Reported,
                    label: country_cell.to_string(),
                }),
            );
        }
        let Some(iso3) = iso3_of(country_cell, self.name(self.country), line, out) else {
            return;
        };
        let figure = Figure {
            stage,
            iso3,
            year,
            first_year,
            quantity,
            unit,
            source,
            reported_name: country_cell,
        };
        emit(out, line, &mut self.totals, &[mineral.as_str()], &figure, None);
    }
}

/// `EU_CRM_SUPPLY_SHARES`: the EU 2023 assessment's global supply shares.
#[derive(Default)]
pub(crate) struct EuCrmShares {
    scope: Option<usize>,
    material: usize,
    stage: usize,
    country: usize,
    iso3: usize,
    share: usize,
    flag: Option<usize>,
    period: usize,
    names: Vec<String>,
    totals: BTreeSet<String>,
}

impl RowParser for EuCrmShares {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.scope = h.find(&["scope"]);
        self.material = h.require(&["material"])?;
        self.stage = h.require(&["stage"])?;
        self.country = h.require(&["country_original", "country"])?;
        self.iso3 = h.require(&["iso3"])?;
        self.share = h.require(&["share"])?;
        self.flag = h.find(&["share_flag"]);
        self.period = h.require(&["reference_period"])?;
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let scope = row.opt(self.scope).trim();
        if !scope.is_empty() && scope != "global_supply" {
            return out.skip(line, SkipReason::NotUsed(format!("scope {scope}")));
        }
        let Some(minerals) = catalog_minerals(EU_CRM_2023, row.get(self.material), line, out) else {
            return;
        };
        let column = |i: usize| self.names.get(i).map_or("", String::as_str);
        let Some(stage) = Stage::parse(row.get(self.stage)) else {
            return out.reject(line, column(self.stage), "is not extraction or processing");
        };
        let share_cell = row.get(self.share).trim();
        if share_cell.is_empty() {
            // "<0.1%": a share too small to publish; left unattributed, not zero.
            let flagged = row.opt(self.flag).trim();
            return out.skip(
                line,
                if flagged.is_empty() {
                    SkipReason::Missing
                } else {
                    SkipReason::NotUsed(format!("share {flagged}"))
                },
            );
        }
        let share = match parse_share(share_cell) {
            Ok(s) => s,
            Err(e) => return out.reject(line, column(self.share), e),
        };
        let (year, first_year) = match parse_period(row.get(self.period)) {
            Ok(p) => p,
            Err(e) => return out.reject(line, column(self.period), e),
        };
        let name = row.get(self.country).trim();
        let Some(iso3) = iso3_of(row.get(self.iso3), column(self.iso3), line, out) else {
            return;
        };
        let figure = Figure {
            stage,
            iso3: iso3.clone(),
            year,
            first_year,
            quantity: share,
            unit: SHARE_UNIT.to_string(),
            source: EU_CRM_2023,
            reported_name: name,
        };
        emit(out, line, &mut self.totals, &minerals, &figure, None);
    }
}

/// `IEA_CMDE_SUPPLY`: the IEA's mining and refining by country.
#[derive(Default)]
pub(crate) struct IeaSupply {
    material: usize,
    stage: usize,
    country: usize,
    iso3: usize,
    value: usize,
    world: usize,
    year: usize,
    data_type: Option<usize>,
    names: Vec<String>,
    totals: BTreeSet<String>,
}

impl RowParser for IeaSupply {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.material = h.require(&["material"])?;
        self.stage = h.require(&["stage"])?;
        self.country = h.require(&["country_original", "country"])?;
        self.iso3 = h.require(&["iso3"])?;
        self.value = h.require(&["value_kt"])?;
        self.world = h.require(&["world_total_kt"])?;
        self.year = h.require(&["year"])?;
        self.data_type = h.find(&["data_type"]);
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let column = |i: usize| self.names.get(i).map_or("", String::as_str);
        let data_type = row.opt(self.data_type).trim();
        if data_type.starts_with("projection") {
            return out.skip(line, SkipReason::NotUsed("IEA projection".into()));
        }
        let Some(minerals) = catalog_minerals(IEA_CMDE_2025, row.get(self.material), line, out) else {
            return;
        };
        let Some(stage) = Stage::parse(row.get(self.stage)) else {
            return out.reject(line, column(self.stage), "is not extraction or processing");
        };
        let year = match parse_year(row.get(self.year)) {
            Ok(y) => y,
            Err(e) => return out.reject(line, column(self.year), e),
        };
        let name = row.get(self.country).trim();
        let iso3_cell = row.get(self.iso3).trim();
        if iso3_cell.is_empty() {
            // "Rest of world": the unattributed remainder of the world total.
            return out.skip(line, SkipReason::Aggregate(name.to_string()));
        }
        let Some(iso3) = iso3_of(iso3_cell, column(self.iso3), line, out) else {
            return;
        };
        let Some(value) = parse_number(row.get(self.value)).filter(|v| *v >= 0.0) else {
            return out.reject(line, column(self.value), "is not a quantity in kt");
        };
        let world = parse_number(row.get(self.world)).filter(|v| *v > 0.0);
        let figure = Figure {
            stage,
            iso3: iso3.clone(),
            year,
            first_year: None,
            quantity: value,
            unit: "thousand metric tons".to_string(),
            source: IEA_CMDE_2025,
            reported_name: name,
        };
        emit(out, line, &mut self.totals, &minerals, &figure, world);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_shares() {
        assert_eq!(parse_period("2024"), Ok((2024, None)));
        assert_eq!(parse_period("2016-2020"), Ok((2020, Some(2016))));
        assert_eq!(
            parse_period("EU CRM 2023 assessment (multi-year average, typically 2016-2020; period varies)"),
            Ok((2020, Some(2016)))
        );
        assert!(parse_period("2020-2016").is_err());
        assert!(parse_period("soon").is_err());
        assert!(parse_share("84.9%").is_ok_and(|s| (s - 0.849).abs() < 1e-12));
        assert_eq!(parse_share("0.105"), Ok(0.105));
        assert!(parse_share("120%").is_err());
        assert!(parse_share("x").is_err());
    }
}
