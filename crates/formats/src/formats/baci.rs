//! CEPII BACI: bilateral flows `t,i,j,k,v,q` and the country-code table.

use supplyrisk_domain::{Catalog, Countries, FlowDirection, RawTradeFlow, TradeFlow};

use super::{Resolved, parse_hs6, parse_year, resolve_baci};
use crate::values::{is_missing, parse_number};
use crate::{BaciCountry, Header, HeaderError, Out, Record, Row, RowParser, SkipReason};

/// BACI values are in thousands of US dollars and quantities in metric tonnes.
const THOUSAND: f64 = 1000.0;

pub(crate) struct Baci {
    source: String,
    cols: [usize; 6],
}

impl Baci {
    pub(crate) fn new(source: Option<String>) -> Self {
        Baci {
            source: source.unwrap_or_else(|| "BACI".into()),
            cols: [0; 6],
        }
    }
}

impl RowParser for Baci {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        for (slot, name) in self.cols.iter_mut().zip(["t", "i", "j", "k", "v", "q"]) {
            *slot = h.require(&[name])?;
        }
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let [t, i, j, k, v, q] = self.cols.map(|c| row.get(c));
        let hs = match parse_hs6(k) {
            Ok(hs) => hs,
            Err(e) => return out.reject(line, "k", e),
        };
        if Catalog::builtin().by_hs_code(&hs).is_none() {
            return out.skip(line, SkipReason::OutsideCatalog(format!("HS {hs}")));
        }
        let year = match parse_year(t) {
            Ok(y) => y,
            Err(e) => return out.reject(line, "t", e),
        };
        let exporter = match resolve_baci(i) {
            Resolved::Country(c, _) => c,
            Resolved::Skip(reason) => return out.skip(line, reason),
            Resolved::Unknown(e) => return out.reject(line, "i", e),
        };
        let importer = match resolve_baci(j) {
            Resolved::Country(c, _) => c,
            Resolved::Skip(reason) => return out.skip(line, reason),
            Resolved::Unknown(e) => return out.reject(line, "j", e),
        };
        let Some(value) = parse_number(v) else {
            return out.reject(line, "v", format!("'{}' is not a value in thousand USD", v.trim()));
        };
        let weight = if is_missing(q) {
            None
        } else {
            match parse_number(q) {
                Some(tonnes) => Some(tonnes * THOUSAND),
                None => {
                    return out.reject(line, "q", format!("'{}' is not a quantity in tonnes or NA", q.trim()));
                }
            }
        };
        let flow = |reporter: &str, partner: &str, dir| RawTradeFlow {
            reporter: reporter.to_string(),
            partner: partner.to_string(),
            hs_code: hs.clone(),
            year,
            month: 0,
            flow: Some(dir),
            value_usd: value * THOUSAND,
            net_weight_kg: weight,
            source: self.source.clone(),
        };
        // Each BACI row is one reconciled flow: i's export is j's import.
        let import = flow(&importer.iso3, &exporter.iso3, FlowDirection::Import);
        let export = flow(&exporter.iso3, &importer.iso3, FlowDirection::Export);
        for (raw, reporter_col, partner_col) in [(&import, "j", "i"), (&export, "i", "j")] {
            if let Err(v) = TradeFlow::validate(raw) {
                let column_of = |field: &str| column(field, reporter_col, partner_col);
                return out.invalid(line, &v, &column_of);
            }
        }
        out.record(line, Record::Trade(import));
        out.record(line, Record::Trade(export));
    }
}

fn column(field: &str, reporter: &str, partner: &str) -> String {
    match field {
        "reporter" => reporter,
        "partner" => partner,
        "hs_code" => "k",
        "period.year" | "period.month" => "t",
        "value_usd" => "v",
        "net_weight_kg" => "q",
        other => other,
    }
    .to_string()
}

/// The BACI country-code table: `code,name,iso2,iso3` (older releases:
/// `country_code,country_name_abbreviation,…,iso_3digit_alpha`).
#[derive(Default)]
pub(crate) struct BaciCountries {
    code: usize,
    name: usize,
    iso3: Option<usize>,
}

impl RowParser for BaciCountries {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.code = h.require(&["code", "country_code"])?;
        self.name = h.require(&["name", "country_name", "country_name_abbreviation", "country_name_full"])?;
        self.iso3 = h.find(&["iso3", "iso_3digit_alpha", "iso_3"]);
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let cell = row.get(self.code).trim();
        let Ok(code) = cell.parse::<u16>() else {
            return out.reject(row.line, "code", format!("'{cell}' is not a BACI country code"));
        };
        let Some(entry) = Countries::builtin().by_baci_code(code) else {
            return out.reject(
                row.line,
                "code",
                format!("unknown BACI country code {code}; add it to data/reference/countries.csv (baci_codes)"),
            );
        };
        out.record(
            row.line,
            Record::BaciCountry(BaciCountry {
                code,
                name: row.get(self.name).trim().to_string(),
                iso3_in_file: row.opt(self.iso3).trim().to_string(),
                iso3: entry.iso3.clone(),
                kind: entry.kind,
            }),
        );
    }
}
