//! World Mining Data: production in long layout, and the sheet → HS code
//! and EoL-RIR map.

use supplyrisk_domain::{MineralId, ProductionStat, RawProductionStat, Stage};

use super::{Resolved, parse_year, resolve_baci, resolve_code, resolve_name};
use crate::reconcile::wmd_mineral;
use crate::values::{is_missing, parse_number};
use crate::{
    EolRir, Header, HeaderError, Out, ProductionRecord, Record, Row, RowParser, SkipReason, ValueFlag, WmdSheetMap,
};

#[derive(Default)]
struct Cols {
    commodity: usize,
    country: usize,
    code: Option<usize>,
    iso3: Option<usize>,
    year: usize,
    value: usize,
    unit: usize,
    status: Option<usize>,
}

pub(crate) struct Wmd {
    source: String,
    c: Cols,
    names: Vec<String>,
}

impl Wmd {
    pub(crate) fn new(source: Option<String>) -> Self {
        Wmd {
            source: source.unwrap_or_else(|| "WMD".into()),
            c: Cols::default(),
            names: Vec::new(),
        }
    }

    fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("", String::as_str)
    }
}

impl RowParser for Wmd {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.c = Cols {
            commodity: h.require(&["commodity", "sheet"])?,
            country: h.require(&["country"])?,
            code: h.find(&["country_code"]),
            iso3: h.find(&["iso3"]),
            year: h.require(&["year"])?,
            value: h.require(&["value"])?,
            unit: h.require(&["unit"])?,
            status: h.find(&["data_source", "status"]),
        };
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let c = &self.c;
        let sheet = row.get(c.commodity).trim();
        let Some(mineral) = wmd_mineral(sheet) else {
            return out.skip(line, SkipReason::OutsideCatalog(sheet.to_string()));
        };
        let Some(stage) = mineral.wmd_stage else {
            return out.reject(
                line,
                self.name(c.commodity),
                format!("catalog mineral {} has no wmd_stage", mineral.id),
            );
        };
        // The WMD name is the source's own; the code columns were added by a
        // packager (who mapped Kosovo to BACI's "Europe EFTA, nes"), so the
        // name wins and codes are the fallback.
        let name = row.get(c.country);
        let mut note = String::new();
        let country = match resolve_name(name) {
            Resolved::Country(country, _) => {
                let iso_in_file = row.opt(c.iso3).trim();
                if !iso_in_file.is_empty() && !iso_in_file.eq_ignore_ascii_case(&country.iso3) {
                    note = format!(
                        "file iso3 {iso_in_file} differs from the name's {}; the name is used",
                        country.iso3
                    );
                }
                country
            }
            Resolved::Skip(reason) => return out.skip(line, reason),
            Resolved::Unknown(e) => {
                let by_code = match (row.opt(c.iso3).trim(), row.opt(c.code).trim()) {
                    (iso, _) if !iso.is_empty() => resolve_code(iso),
                    (_, code) if !code.is_empty() => resolve_baci(code),
                    _ => Resolved::Unknown(e.clone()),
                };
                match by_code {
                    Resolved::Country(country, _) => {
                        note = format!("name '{}' not in the registry; resolved by its code", name.trim());
                        country
                    }
                    _ => return out.reject(line, self.name(c.country), e),
                }
            }
        };
        let year = match parse_year(row.get(c.year)) {
            Ok(y) => y,
            Err(e) => return out.reject(line, self.name(c.year), e),
        };
        let cell = row.get(c.value);
        let quantity = if is_missing(cell) {
            None
        } else {
            match parse_number(cell) {
                Some(v) => Some(v),
                None => {
                    return out.reject(line, self.name(c.value), format!("'{}' is not a quantity", cell.trim()));
                }
            }
        };
        let status = row.opt(c.status).trim();
        let flag = match (status.to_ascii_lowercase().as_str(), quantity) {
            (_, None) => ValueFlag::NotReported,
            ("r" | "", Some(_)) => ValueFlag::Reported,
            ("e", Some(_)) => ValueFlag::Estimated,
            ("p", Some(_)) => ValueFlag::Provisional,
            _ => {
                let col = c.status.map_or("data_source", |i| self.name(i));
                return out.reject(
                    line,
                    col,
                    format!("'{status}' is not a WMD status flag (r, e, p or empty)"),
                );
            }
        };
        let stat = RawProductionStat {
            mineral: mineral.id.clone(),
            stage: Some(stage),
            country: country.iso3.clone(),
            year,
            first_year: None,
            quantity,
            unit: row.get(c.unit).trim().to_string(),
            source: self.source.clone(),
        };
        if let Err(v) = ProductionStat::validate(&stat) {
            let column_of = |field: &str| {
                match field {
                    "country" => self.name(c.country),
                    "year" => self.name(c.year),
                    "quantity" => self.name(c.value),
                    "unit" => self.name(c.unit),
                    "mineral" | "stage" => self.name(c.commodity),
                    other => other,
                }
                .to_string()
            };
            return out.invalid(line, &v, &column_of);
        }
        out.record(
            line,
            Record::Production(ProductionRecord {
                stat,
                flag,
                series: sheet.to_string(),
                reported_name: name.trim().to_string(),
                note,
            }),
        );
    }
}

/// `hs_code_map.csv`: WMD sheet → reference id, stage, HS codes, EoL-RIR.
#[derive(Default)]
pub(crate) struct WmdMap {
    sheet: usize,
    reference_id: Option<usize>,
    stage: Option<usize>,
    eol: Option<usize>,
    hs: Option<usize>,
    hs_more: Option<usize>,
    reference: Option<usize>,
    names: Vec<String>,
}

/// Where the map's EoL-RIR figures come from.
pub(crate) const EOL_RIR_SOURCE: &str = "GeoPolRisk HS code map (EoL-RIR 2023, from SCRREEN/EU factsheets)";

impl RowParser for WmdMap {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.sheet = h.require(&["Sheet_name"])?;
        self.reference_id = h.find(&["Reference ID"]);
        self.stage = h.find(&["Supply Chain Stage"]);
        self.eol = (0..h.len()).find(|&i| h.key(i).starts_with("eol-rir"));
        self.hs = h.find(&["HS Code"]);
        self.hs_more = h.find(&["HS Code - Complementary"]);
        self.reference = h.find(&["Reference"]);
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let sheet = row.get(self.sheet).trim();
        let Some(mineral) = wmd_mineral(sheet) else {
            return out.skip(line, SkipReason::OutsideCatalog(sheet.to_string()));
        };
        let Ok(mineral_id) = MineralId::parse(&mineral.id) else {
            return out.reject(
                line,
                "Sheet_name",
                format!("catalog mineral {} does not resolve", mineral.id),
            );
        };
        let name = |i: Option<usize>| i.and_then(|i| self.names.get(i)).map_or("", String::as_str).to_string();
        let mut hs_codes = Vec::new();
        for (col, cell) in [(self.hs, row.opt(self.hs)), (self.hs_more, row.opt(self.hs_more))] {
            for code in cell
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("Not Available"))
            {
                match super::parse_hs6(code) {
                    Ok(c) if code.len() == 6 => hs_codes.push(c),
                    _ => {
                        return out.reject(line, &name(col), format!("'{code}' is not a 6-digit HS code"));
                    }
                }
            }
        }
        let eol_cell = row.opt(self.eol);
        let eol_rir = if is_missing(eol_cell) {
            None
        } else {
            match parse_number(eol_cell) {
                Some(v) if (0.0..=1.0).contains(&v) => Some(EolRir {
                    mineral: mineral_id.clone(),
                    value: v,
                    source: EOL_RIR_SOURCE.into(),
                    reference: row.opt(self.reference).trim().to_string(),
                }),
                _ => {
                    return out.reject(
                        line,
                        &name(self.eol),
                        format!("'{}' is not a rate within 0..=1", eol_cell.trim()),
                    );
                }
            }
        };
        out.record(
            line,
            Record::SheetMap(WmdSheetMap {
                sheet: sheet.to_string(),
                mineral: mineral_id,
                reference_id: row.opt(self.reference_id).trim().to_string(),
                stage: Stage::parse(row.opt(self.stage)),
                hs_codes,
                eol_rir,
            }),
        );
    }
}
