//! USGS MCS salient statistics (`mcs2025-<code>_salient.csv`): one row per
//! year, one column per statistic; the column set differs per commodity.

use super::parse_year;
use crate::reconcile::salient_mineral;
use crate::{Header, HeaderError, Out, Record, Row, RowParser, SalientCategory, SalientStat, UsgsValue};

struct Stat {
    col: usize,
    name: String,
    category: SalientCategory,
    unit: String,
}

pub(crate) struct UsgsSalient {
    source: Option<String>,
    commodity: usize,
    year: usize,
    data_source: Option<usize>,
    stats: Vec<Stat>,
}

impl UsgsSalient {
    pub(crate) fn new(source: Option<String>) -> Self {
        UsgsSalient {
            source,
            commodity: 0,
            year: 0,
            data_source: None,
            stats: Vec::new(),
        }
    }
}

/// What a column measures, from the first segment of its name that says.
pub(crate) fn category(name: &str) -> SalientCategory {
    for seg in name.split('_').map(str::to_ascii_lowercase) {
        let c = match seg.as_str() {
            "usprod" | "mine" | "refinery" | "smelter" | "production" => SalientCategory::Production,
            "imports" => SalientCategory::Imports,
            "exports" => SalientCategory::Exports,
            "consump" | "consumption" | "apparent" => SalientCategory::Consumption,
            "price" => SalientCategory::Price,
            "stocks" => SalientCategory::Stocks,
            "nir" => SalientCategory::NetImportReliance,
            "employment" => SalientCategory::Employment,
            "shipments" => SalientCategory::Shipments,
            _ => continue,
        };
        return c;
    }
    SalientCategory::Other
}

/// The unit suffix: the last `_` segment (`NIR_pct` → `pct`), empty if none.
pub(crate) fn unit(name: &str) -> String {
    match name.rsplit_once('_') {
        Some((_, u)) => u.trim().to_string(),
        None => String::new(),
    }
}

impl RowParser for UsgsSalient {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.commodity = h.require(&["Commodity"])?;
        self.year = h.require(&["Year"])?;
        self.data_source = h.find(&["DataSource", "Source"]);
        let fixed = [Some(self.commodity), Some(self.year), self.data_source];
        self.stats = (0..h.len())
            .filter(|i| !fixed.contains(&Some(*i)) && !h.name(*i).is_empty())
            .map(|i| {
                let name = h.name(i).to_string();
                Stat {
                    col: i,
                    category: category(&name),
                    unit: unit(&name),
                    name,
                }
            })
            .collect();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let commodity = row.get(self.commodity).trim();
        let Some(mineral_id) = super::usgs_commodity(commodity, line, salient_mineral, out) else {
            return;
        };
        let year = match parse_year(row.get(self.year)) {
            Ok(y) if (supplyrisk_domain::MIN_YEAR..=supplyrisk_domain::MAX_YEAR).contains(&y) => y as u16,
            Ok(y) => return out.reject(line, "Year", format!("{y} is outside the accepted years")),
            Err(e) => return out.reject(line, "Year", e),
        };
        let source = match &self.source {
            Some(s) => s.clone(),
            None => super::usgs_source_label(row.opt(self.data_source)),
        };
        for stat in &self.stats {
            match UsgsValue::parse(row.get(stat.col)) {
                Ok(value) => out.record(
                    line,
                    Record::Salient(SalientStat {
                        mineral: mineral_id.clone(),
                        commodity: commodity.to_string(),
                        year,
                        statistic: stat.name.clone(),
                        category: stat.category,
                        unit: stat.unit.clone(),
                        value,
                        source: source.clone(),
                    }),
                ),
                Err(reason) => out.reject(line, &stat.name, reason),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names() {
        assert_eq!(category("USprod_Primary_kg"), SalientCategory::Production);
        assert_eq!(category("Bauxite_NIR_pct"), SalientCategory::NetImportReliance);
        assert_eq!(category("Alumina_Apparent_kt"), SalientCategory::Consumption);
        assert_eq!(category("Employment_"), SalientCategory::Employment);
        assert_eq!(unit("NIR_pct"), "pct");
        assert_eq!(unit("Stocks_"), "");
        assert_eq!(unit("Year"), "");
    }
}
