//! USGS Mineral Commodity Summaries world production (`MCS2025_World_Data.csv`).
//!
//! Rows are grouped by `COMMODITY` in the file, so the parser holds one
//! commodity block at a time (bounded by [`MAX_BLOCK`]) to apply the rules
//! that need the whole series: a blank `UNIT_MEAS` takes the unit every
//! other row of the same series states, several series mapped to one
//! catalog entry (titanium: ilmenite and rutile) are summed per country,
//! and the catalog's `world_total` label picks the total among several.

use std::collections::BTreeMap;

use supplyrisk_domain::catalog::{Mineral, UsgsWorldName};
use supplyrisk_domain::{Country, MineralId, ProductionStat, RawProductionStat};

use super::{Resolved, resolve_name};
use crate::reconcile::{AggregateKind, NameMatch, fold, resolve_country_name, usgs_world_entry};
use crate::values::parse_number;
use crate::{
    Header, HeaderError, Item, Out, ProductionRecord, ProductionTotal, Record, Row, RowParser, SkipReason, TotalScope,
    ValueFlag,
};

/// Most rows held for one commodity before they are flushed regardless.
const MAX_BLOCK: usize = 10_000;

#[derive(Default)]
struct Cols {
    source: Option<usize>,
    commodity: usize,
    country: usize,
    series: usize,
    unit: usize,
    notes: Option<usize>,
    /// Production columns: index, year, estimated (`PROD_EST_`).
    years: Vec<(usize, u16, bool)>,
}

#[derive(Clone)]
enum Who {
    Country(&'static Country, Option<String>),
    World,
    Other,
}

struct Pending {
    line: u64,
    mineral: &'static Mineral,
    entry: &'static UsgsWorldName,
    who: Who,
    label: String,
    series: String,
    unit: String,
    notes: String,
    source: String,
    /// Per production column: the raw cell.
    cells: Vec<String>,
}

/// A row held for its commodity block, or an item already decided.
enum Slot {
    Row(Pending),
    Done(Item),
}

pub(crate) struct UsgsWorld {
    source: Option<String>,
    c: Cols,
    names: Vec<String>,
    block_commodity: String,
    /// Held rows, and finished items kept in line order with them.
    block: Vec<Slot>,
}

impl UsgsWorld {
    pub(crate) fn new(source: Option<String>) -> Self {
        UsgsWorld {
            source,
            c: Cols::default(),
            names: Vec::new(),
            block_commodity: String::new(),
            block: Vec::new(),
        }
    }
}

/// `PROD_2023` → (2023, false); `PROD_EST_ 2024` → (2024, true).
fn production_column(key: &str) -> Option<(u16, bool)> {
    let rest = key.strip_prefix("prod_")?;
    let (est, year) = match rest.strip_prefix("est_") {
        Some(y) => (true, y),
        None => (false, rest),
    };
    (year.len() == 4).then(|| year.parse().ok().map(|y| (y, est))).flatten()
}

impl RowParser for UsgsWorld {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.c.source = h.find(&["SOURCE"]);
        self.c.commodity = h.require(&["COMMODITY"])?;
        self.c.country = h.require(&["COUNTRY"])?;
        self.c.series = h.require(&["TYPE"])?;
        self.c.unit = h.require(&["UNIT_MEAS"])?;
        self.c.notes = h.find(&["PROD_NOTES"]);
        self.c.years = (0..h.len())
            .filter_map(|i| production_column(h.key(i)).map(|(y, est)| (i, y, est)))
            .collect();
        if self.c.years.is_empty() {
            return Err(HeaderError::missing("PROD_<year>", h));
        }
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let commodity = fold(row.get(self.c.commodity));
        if commodity != self.block_commodity || self.block.len() >= MAX_BLOCK {
            self.flush(out);
            self.block_commodity = commodity;
        }
        let entry = self.classify(row);
        self.block.push(entry);
    }

    fn finish(&mut self, out: &mut Out<'_>) {
        self.flush(out);
    }
}

impl UsgsWorld {
    fn classify(&self, row: &Row) -> Slot {
        let line = row.line;
        let commodity = row.get(self.c.commodity).trim();
        let series = row.get(self.c.series).trim();
        let Some((mineral, entry)) = usgs_world_entry(commodity, series) else {
            let what = format!("{} / {}", commodity.trim(), series);
            return Slot::Done(Item::Skipped {
                line,
                reason: SkipReason::OutsideCatalog(what),
            });
        };
        let name = row.get(self.c.country);
        let label = name.trim().to_string();
        let who = match resolve_country_name(name) {
            NameMatch::Aggregate {
                kind: AggregateKind::World,
                ..
            } => Who::World,
            NameMatch::Aggregate {
                kind: AggregateKind::OtherCountries,
                ..
            } => Who::Other,
            _ => match resolve_name(name) {
                Resolved::Country(c, q) => Who::Country(c, q),
                Resolved::Skip(reason) => return Slot::Done(Item::Skipped { line, reason }),
                Resolved::Unknown(reason) => {
                    return Slot::Done(Item::Rejected {
                        line,
                        column: self.col(self.c.country),
                        reason,
                    });
                }
            },
        };
        Slot::Row(Pending {
            line,
            mineral,
            entry,
            who,
            label,
            series: series.to_string(),
            unit: row.get(self.c.unit).trim().to_string(),
            notes: row.opt(self.c.notes).trim().to_string(),
            source: self
                .source
                .clone()
                .unwrap_or_else(|| super::usgs_source_label(row.opt(self.c.source))),
            cells: self.c.years.iter().map(|&(i, _, _)| row.get(i).to_string()).collect(),
        })
    }

    fn col(&self, i: usize) -> String {
        self.names.get(i).cloned().unwrap_or_default()
    }

    fn flush(&mut self, out: &mut Out<'_>) {
        let block = std::mem::take(&mut self.block);
        if block.is_empty() {
            return;
        }
        // Units per (entry, series): what the stated rows agree on.
        let mut units: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for p in block.iter().filter_map(|s| match s {
            Slot::Row(p) => Some(p),
            Slot::Done(_) => None,
        }) {
            if !p.unit.is_empty() {
                let list = units.entry((key(p.mineral, p.entry), p.series.clone())).or_default();
                if !list.contains(&p.unit) {
                    list.push(p.unit.clone());
                }
            }
        }
        // Group rows: by entry and country (or world / other); keep order.
        let mut groups: Vec<(String, Vec<Pending>)> = Vec::new();
        let mut items: Vec<Item> = Vec::new();
        for p in block {
            let p = match p {
                Slot::Row(p) => p,
                Slot::Done(item) => {
                    items.push(item);
                    continue;
                }
            };
            let who = match &p.who {
                Who::Country(c, _) => c.iso3.clone(),
                Who::World => format!("world:{}", fold(&p.label)),
                Who::Other => "other".into(),
            };
            let g = format!("{}|{who}", key(p.mineral, p.entry));
            match groups.iter_mut().find(|(k, _)| *k == g) {
                Some((_, rows)) => rows.push(p),
                None => groups.push((g, vec![p])),
            }
        }
        let mut world_seen: BTreeMap<String, u64> = BTreeMap::new();
        for (_, rows) in groups {
            self.emit_group(rows, &units, &mut world_seen, &mut items);
        }
        items.sort_by_key(Item::line);
        for item in items {
            out.push(item);
        }
    }

    fn emit_group(
        &self,
        mut rows: Vec<Pending>,
        units: &BTreeMap<(String, String), Vec<String>>,
        world_seen: &mut BTreeMap<String, u64>,
        items: &mut Vec<Item>,
    ) {
        let Some(first) = rows.first() else { return };
        let line = first.line;
        let unit_col = self.col(self.c.unit);
        // Same series twice for one country is a duplicate, not a sum.
        let mut kept: Vec<Pending> = Vec::new();
        for p in rows.drain(..) {
            match kept.iter().find(|k| k.series == p.series) {
                Some(k) => items.push(Item::Rejected {
                    line: p.line,
                    column: self.col(self.c.country),
                    reason: format!(
                        "duplicate row for '{}' in series '{}' (first on line {})",
                        p.label, p.series, k.line
                    ),
                }),
                None => kept.push(p),
            }
        }
        // Units: stated, or the one the rest of the series agrees on.
        let mut note_parts: Vec<String> = Vec::new();
        let mut unit = String::new();
        for p in &kept {
            let u = if p.unit.is_empty() {
                match units
                    .get(&(key(p.mineral, p.entry), p.series.clone()))
                    .map(Vec::as_slice)
                {
                    Some([only]) => {
                        note_parts.push(format!("UNIT_MEAS blank; '{only}' taken from the rest of the series"));
                        only.clone()
                    }
                    _ => {
                        items.push(Item::Rejected {
                            line: p.line,
                            column: unit_col,
                            reason: "UNIT_MEAS is blank and the series states no single unit".into(),
                        });
                        return;
                    }
                }
            } else {
                p.unit.clone()
            };
            if unit.is_empty() {
                unit = u;
            } else if unit != u {
                items.push(Item::Rejected {
                    line: p.line,
                    column: unit_col,
                    reason: format!("series summed for one country disagree on units: '{unit}' and '{u}'"),
                });
                return;
            }
        }
        let Some(head) = kept.first() else { return };
        let mineral = head.mineral;
        let entry = head.entry;
        let Ok(mineral_id) = MineralId::parse(&mineral.id) else {
            return;
        };
        if matches!(head.who, Who::World) {
            let wanted = entry.world_total.as_deref().map(fold);
            match wanted {
                Some(w) if w != fold(&head.label) => {
                    let reason = SkipReason::NotUsed(format!("partial world total '{}'", head.label));
                    items.push(Item::Skipped { line, reason });
                    return;
                }
                Some(_) => {}
                None => {
                    if let Some(first_line) = world_seen.get(&key(mineral, entry)) {
                        items.push(Item::Rejected {
                            line,
                            column: self.col(self.c.country),
                            reason: format!(
                                "a second world total for one series (first on line {first_line}); name the one to use as usgs_world.world_total in the catalog"
                            ),
                        });
                        return;
                    }
                }
            }
            world_seen.insert(key(mineral, entry), line);
        }
        let series: Vec<&str> = kept.iter().map(|p| p.series.as_str()).collect();
        let series = series.join(" + ");
        let mut notes: Vec<String> = kept.iter().map(|p| p.notes.clone()).filter(|n| !n.is_empty()).collect();
        notes.dedup();
        notes.extend(note_parts);
        if kept.len() > 1 {
            notes.push(format!("sum of {} series", kept.len()));
        }
        let note = notes.join("; ");
        for (slot, &(col, year, est_col)) in self.c.years.iter().enumerate() {
            let mut total: Option<f64> = None;
            let mut flag = ValueFlag::NotReported;
            let mut bad = false;
            for p in &kept {
                let cell = p.cells.get(slot).map_or("", String::as_str).trim();
                let estimated = est_col || says_estimated(&p.series, &p.notes, year);
                match read_cell(cell) {
                    Ok(Some(v)) => {
                        total = Some(total.unwrap_or(0.0) + v);
                        let f = if estimated {
                            ValueFlag::Estimated
                        } else {
                            ValueFlag::Reported
                        };
                        flag = worse(flag, f);
                    }
                    Ok(None) if withheld(cell, &p.notes) && total.is_none() => flag = ValueFlag::Withheld,
                    Ok(None) => {}
                    Err(reason) => {
                        items.push(Item::Rejected {
                            line: p.line,
                            column: self.col(col),
                            reason,
                        });
                        bad = true;
                    }
                }
            }
            if bad {
                continue;
            }
            if total.is_some() && flag == ValueFlag::NotReported {
                flag = ValueFlag::Reported;
            }
            let record = match &head.who {
                Who::Country(country, qualifier) => {
                    let stat = RawProductionStat {
                        mineral: mineral.id.clone(),
                        stage: Some(entry.stage),
                        country: country.iso3.clone(),
                        year: u32::from(year),
                        first_year: None,
                        quantity: total,
                        unit: unit.clone(),
                        source: head.source.clone(),
                    };
                    if let Err(v) = ProductionStat::validate(&stat) {
                        let reason = v.to_string();
                        let column = match v.0.first().map(|f| f.field.as_str()) {
                            Some("unit") => self.col(self.c.unit),
                            Some("quantity") => self.col(col),
                            Some("source") => "SOURCE".into(),
                            _ => self.col(self.c.country),
                        };
                        items.push(Item::Rejected { line, column, reason });
                        continue;
                    }
                    let mut note = note.clone();
                    if let Some(q) = qualifier {
                        note = if note.is_empty() {
                            format!("country qualifier: {q}")
                        } else {
                            format!("{note}; country qualifier: {q}")
                        };
                    }
                    Record::Production(ProductionRecord {
                        stat,
                        flag,
                        series: series.clone(),
                        reported_name: head.label.clone(),
                        note,
                    })
                }
                Who::World | Who::Other => Record::Total(ProductionTotal {
                    scope: if matches!(head.who, Who::World) {
                        TotalScope::World
                    } else {
                        TotalScope::OtherCountries
                    },
                    mineral: mineral_id.clone(),
                    stage: entry.stage,
                    year,
                    quantity: total,
                    unit: unit.clone(),
                    source: head.source.clone(),
                    flag,
                    label: head.label.clone(),
                }),
            };
            items.push(Item::Record { line, record });
        }
    }
}

/// Identity of a catalog `usgs_world` entry.
fn key(mineral: &Mineral, entry: &UsgsWorldName) -> String {
    format!("{}|{}|{}", mineral.id, entry.commodity, entry.type_prefix)
}

/// A production cell: number, or `None` for blank / `W` / `NA`.
fn read_cell(cell: &str) -> Result<Option<f64>, String> {
    if cell.is_empty() || cell.eq_ignore_ascii_case("W") || cell.eq_ignore_ascii_case("NA") {
        return Ok(None);
    }
    parse_number(cell)
        .map(Some)
        .ok_or_else(|| format!("'{cell}' is not a production figure, W or blank"))
}

/// USGS marks withheld figures with `W` in the cell or notes (`W for 23-24`).
fn withheld(cell: &str, notes: &str) -> bool {
    cell.eq_ignore_ascii_case("W")
        || notes == "W"
        || notes.starts_with("W ")
        || notes.to_lowercase().contains("withheld")
}

/// Estimated: the series says so, or the notes do (for this year when they
/// name years, else for all).
fn says_estimated(series: &str, notes: &str, year: u16) -> bool {
    if series.to_lowercase().contains("estimated") {
        return true;
    }
    let n = notes.to_lowercase();
    if !n.contains("estimated") {
        return false;
    }
    let years = super::trailing_years(&n);
    years.is_empty() || years.contains(&year)
}

/// The less certain of two flags.
fn worse(a: ValueFlag, b: ValueFlag) -> ValueFlag {
    let rank = |f: ValueFlag| match f {
        ValueFlag::NotReported | ValueFlag::Withheld => 0,
        ValueFlag::Reported => 1,
        ValueFlag::Provisional => 2,
        ValueFlag::Estimated => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keys() {
        assert_eq!(production_column("prod_2023"), Some((2023, false)));
        assert_eq!(production_column("prod_est_2024"), Some((2024, true)));
        assert_eq!(production_column("prod_notes"), None);
        assert_eq!(super::super::usgs_source_label("MCS2025"), "USGS_MCS_2025");
    }

    #[test]
    fn estimated_rules() {
        assert!(says_estimated("Mine production, estimated", "", 2023));
        assert!(says_estimated("Mine production", "estimated 2023", 2023));
        assert!(!says_estimated("Mine production", "estimated 2023", 2024));
        assert!(says_estimated(
            "Mine production",
            "Estimated based on reported import data",
            2024
        ));
        assert!(withheld("", "W for 23-24"));
        assert!(!withheld("", "Crude ore"));
    }
}
