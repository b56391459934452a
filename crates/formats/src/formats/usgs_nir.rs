//! USGS MCS net import reliance with major import sources
//! (`MCS2025_Fig2_Net_Import_Reliance.csv`).

use supplyrisk_domain::Iso3;

use super::{Resolved, resolve_name, trailing_years};
use crate::reconcile::nir_mineral;
use crate::{Header, HeaderError, ImportReliance, Out, Record, Row, RowParser, UsgsValue};

pub(crate) struct UsgsNir {
    source: Option<String>,
    data_source: Option<usize>,
    commodity: usize,
    value: usize,
    year: u16,
    sources: Option<usize>,
    period: Option<(u16, u16)>,
    notes: Option<usize>,
    names: Vec<String>,
}

impl UsgsNir {
    pub(crate) fn new(source: Option<String>) -> Self {
        UsgsNir {
            source,
            data_source: None,
            commodity: 0,
            value: 0,
            year: 0,
            sources: None,
            period: None,
            notes: None,
            names: Vec::new(),
        }
    }

    fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("", String::as_str)
    }
}

impl RowParser for UsgsNir {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.commodity = h.require(&["Commodity"])?;
        self.data_source = h.find(&["Source", "DataSource"]);
        self.notes = h.find(&["Notes"]);
        let starting = |p: &str| (0..h.len()).find(|&i| h.key(i).starts_with(p));
        self.value =
            starting("net_import_reliance").ok_or_else(|| HeaderError::missing("Net_Import_Reliance_pct_<year>", h))?;
        self.year = trailing_years(h.name(self.value))
            .first()
            .copied()
            .ok_or_else(|| HeaderError {
                column: h.name(self.value).to_string(),
                reason: "the net import reliance column names no year (e.g. Net_Import_Reliance_pct_2024)".into(),
            })?;
        self.sources = starting("major_import_sources");
        self.period = self.sources.and_then(|i| match trailing_years(h.name(i)).as_slice() {
            [a, b, ..] => Some((*a, *b)),
            _ => None,
        });
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let commodity = row.get(self.commodity).trim();
        let Some(mineral_id) = super::usgs_commodity(commodity, line, nir_mineral, out) else {
            return;
        };
        let percent = match UsgsValue::parse(row.get(self.value)) {
            Ok(v) => v,
            Err(e) => return out.reject(line, self.name(self.value), e),
        };
        let mut major_sources = Vec::new();
        if let Some(col) = self.sources {
            for name in row.get(col).split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let iso = match resolve_name(name) {
                    Resolved::Country(c, _) => Iso3::parse(&c.iso3).map_err(|e| e.to_string()),
                    Resolved::Skip(reason) => Err(format!("import source '{name}' is not a country ({reason})")),
                    Resolved::Unknown(e) => Err(e),
                };
                match iso {
                    Ok(iso) => major_sources.push(iso),
                    Err(e) => return out.reject(line, self.name(col), e),
                }
            }
        }
        let source = match &self.source {
            Some(s) => s.clone(),
            None => super::usgs_source_label(row.opt(self.data_source)),
        };
        out.record(
            line,
            Record::ImportReliance(ImportReliance {
                mineral: mineral_id,
                commodity: commodity.to_string(),
                year: self.year,
                percent,
                major_sources,
                sources_period: self.period,
                notes: row.opt(self.notes).trim().to_string(),
                source,
            }),
        );
    }
}
