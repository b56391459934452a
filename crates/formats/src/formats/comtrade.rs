//! UN Comtrade CSV: the bulk / API layout (`refYear`, `reporterISO`,
//! `flowCode`, `cmdCode`, `primaryValue`, `netWgt` …), the legacy layout
//! (`Year`, `Reporter ISO`, `Trade Flow Code`, `Commodity Code`,
//! `Trade Value (US$)`, `Netweight (kg)`), and one-reporter extracts that
//! lack reporter and flow columns (given in [`Options`]). Columns are found
//! by header name, in any order.

use supplyrisk_domain::{Catalog, FlowDirection, RawTradeFlow, TradeFlow};

use super::{Resolved, parse_hs6, parse_year, resolve_baci, resolve_code, resolve_name};
use crate::values::{is_missing, parse_number};
use crate::{Header, HeaderError, Options, Out, Record, Row, RowParser, SkipReason};

#[derive(Default)]
struct Cols {
    year: Option<usize>,
    month: Option<usize>,
    period: Option<usize>,
    reporter_iso: Option<usize>,
    reporter_code: Option<usize>,
    reporter_name: Option<usize>,
    partner_iso: Option<usize>,
    partner_code: Option<usize>,
    partner_name: Option<usize>,
    flow_code: Option<usize>,
    flow_legacy: Option<usize>,
    cmd: usize,
    value: usize,
    net_wgt: Option<usize>,
    qty: Option<usize>,
    qty_unit_abbr: Option<usize>,
    qty_unit_code: Option<usize>,
    partner2: Option<usize>,
    mot: Option<usize>,
    customs: Option<usize>,
}

pub(crate) struct Comtrade {
    source: String,
    reporter: Option<String>,
    flow: Option<FlowDirection>,
    c: Cols,
    names: Vec<String>,
}

impl Comtrade {
    pub(crate) fn new(source: Option<String>, options: &Options) -> Self {
        Comtrade {
            source: source.unwrap_or_else(|| "COMTRADE".into()),
            reporter: options.reporter.clone(),
            flow: options.flow,
            c: Cols::default(),
            names: Vec::new(),
        }
    }

    fn name(&self, i: Option<usize>) -> &str {
        i.and_then(|i| self.names.get(i)).map_or("", String::as_str)
    }
}

impl RowParser for Comtrade {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        let c = &mut self.c;
        c.year = h.find(&["refYear", "Year", "yr"]);
        c.month = h.find(&["refMonth"]);
        c.period = h.find(&["period", "period_dt", "Period"]);
        c.reporter_iso = h.find(&["reporterISO", "Reporter ISO", "rt3ISO"]);
        c.reporter_code = h.find(&["reporterCode", "Reporter Code", "rtCode"]);
        c.reporter_name = h.find(&["reporterDesc", "Reporter", "reporter_name"]);
        c.partner_iso = h.find(&["partnerISO", "Partner ISO", "pt3ISO"]);
        c.partner_code = h.find(&["partnerCode", "Partner Code", "ptCode"]);
        c.partner_name = h.find(&["partnerDesc", "Partner", "partner_name"]);
        c.flow_code = h.find(&["flowCode"]);
        c.flow_legacy = h.find(&["Trade Flow Code", "rgCode"]);
        c.cmd = h.require(&["cmdCode", "Commodity Code", "hs6", "cmd_code"])?;
        c.value = h.require(&["primaryValue", "Trade Value (US$)", "TradeValue", "val", "value_usd"])?;
        c.net_wgt = h.find(&["netWgt", "Netweight (kg)", "NetWeight", "net_weight_kg"]);
        c.qty = h.find(&["qty"]);
        c.qty_unit_abbr = h.find(&["qtyUnitAbbr"]);
        c.qty_unit_code = h.find(&["qtyUnitCode"]);
        c.partner2 = h.find(&["partner2Code"]);
        c.mot = h.find(&["motCode"]);
        c.customs = h.find(&["customsCode"]);
        if c.year.is_none() && c.period.is_none() {
            return Err(HeaderError::missing("refYear", h));
        }
        if c.reporter_iso.is_none() && c.reporter_code.is_none() && c.reporter_name.is_none() && self.reporter.is_none()
        {
            return Err(HeaderError::missing("reporterISO", h));
        }
        if c.partner_iso.is_none() && c.partner_code.is_none() && c.partner_name.is_none() {
            return Err(HeaderError::missing("partnerISO", h));
        }
        if c.flow_code.is_none() && c.flow_legacy.is_none() && self.flow.is_none() {
            return Err(HeaderError::missing("flowCode", h));
        }
        self.names = h.names.clone();
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let c = &self.c;
        // Breakdowns by second partner, transport mode or customs regime
        // would double-count: only the totals (0 / 0 / C00) are flows.
        for (col, total) in [(c.partner2, "0"), (c.mot, "0"), (c.customs, "C00")] {
            let v = row.opt(col).trim();
            if col.is_some() && !v.is_empty() && !v.eq_ignore_ascii_case(total) {
                return out.skip(line, SkipReason::NotUsed(format!("breakdown {}={v}", self.name(col))));
            }
        }
        let hs = match parse_hs6(row.get(c.cmd)) {
            Ok(hs) => hs,
            Err(_) => {
                let code = row.get(c.cmd).trim();
                return out.skip(
                    line,
                    SkipReason::OutsideCatalog(format!("commodity code '{code}' (not HS6)")),
                );
            }
        };
        if Catalog::builtin().by_hs_code(&hs).is_none() {
            return out.skip(line, SkipReason::OutsideCatalog(format!("HS {hs}")));
        }
        let (year, month) = match self.period(row) {
            Ok(p) => p,
            Err((col, e)) => return out.reject(line, &col, e),
        };
        let flow = match self.flow(row) {
            Ok(Some(f)) => f,
            Ok(None) => {
                let col = c.flow_code.or(c.flow_legacy);
                let code = row.opt(col).trim();
                return out.skip(line, SkipReason::NotUsed(format!("flow code {code}")));
            }
            Err((col, e)) => return out.reject(line, &col, e),
        };
        let reporter = match self.country(
            row,
            c.reporter_iso,
            c.reporter_code,
            c.reporter_name,
            self.reporter.as_deref(),
        ) {
            Ok(Ok(iso)) => iso,
            Ok(Err(skip)) => return out.skip(line, skip),
            Err((col, e)) => return out.reject(line, &col, e),
        };
        let partner = match self.country(row, c.partner_iso, c.partner_code, c.partner_name, None) {
            Ok(Ok(iso)) => iso,
            Ok(Err(skip)) => return out.skip(line, skip),
            Err((col, e)) => return out.reject(line, &col, e),
        };
        let value_cell = row.get(c.value);
        let Some(value_usd) = parse_number(value_cell) else {
            return out.reject(
                line,
                self.name(Some(c.value)),
                format!("'{}' is not a value in USD", value_cell.trim()),
            );
        };
        let (weight_col, weight_cell) = self.weight(row);
        let net_weight_kg = if is_missing(weight_cell) {
            None
        } else {
            match parse_number(weight_cell) {
                Some(w) => Some(w),
                None => {
                    return out.reject(
                        line,
                        self.name(weight_col),
                        format!("'{}' is not a weight in kg", weight_cell.trim()),
                    );
                }
            }
        };
        let raw = RawTradeFlow {
            reporter,
            partner,
            hs_code: hs,
            year,
            month,
            flow: Some(flow),
            value_usd,
            net_weight_kg,
            source: self.source.clone(),
        };
        if let Err(v) = TradeFlow::validate(&raw) {
            let column_of = |field: &str| self.column(field, weight_col);
            return out.invalid(line, &v, &column_of);
        }
        out.record(line, Record::Trade(raw));
    }
}

type CellError = (String, String);

impl Comtrade {
    fn column(&self, field: &str, weight_col: Option<usize>) -> String {
        let c = &self.c;
        let col = match field {
            "reporter" => c.reporter_iso.or(c.reporter_code).or(c.reporter_name),
            "partner" => c.partner_iso.or(c.partner_code).or(c.partner_name),
            "hs_code" => Some(c.cmd),
            "period.year" => c.year.or(c.period),
            "period.month" => c.month.or(c.period),
            "flow" => c.flow_code.or(c.flow_legacy),
            "value_usd" => Some(c.value),
            "net_weight_kg" => weight_col,
            _ => None,
        };
        match col {
            Some(i) => self.name(Some(i)).to_string(),
            None => field.to_string(),
        }
    }

    /// Year and month: `refYear`/`refMonth`, or `period` as `YYYY`,
    /// `YYYYMM` or `YYYY-MM-DD`. `refMonth` 52 is Comtrade's "annual".
    fn period(&self, row: &Row) -> Result<(u32, u32), CellError> {
        let c = &self.c;
        if let Some(yc) = c.year {
            let year = parse_year(row.get(yc)).map_err(|e| (self.name(Some(yc)).to_string(), e))?;
            let m = row.opt(c.month).trim();
            let month = match m.parse::<u32>() {
                _ if m.is_empty() => 0,
                Ok(52) => 0,
                Ok(v) if v <= 12 => v,
                _ => {
                    return Err((
                        self.name(c.month).to_string(),
                        format!("'{m}' is not a month (1-12, or 52 = annual)"),
                    ));
                }
            };
            return Ok((year, month));
        }
        let p = row.opt(c.period).trim();
        let err = || {
            (
                self.name(c.period).to_string(),
                format!("'{p}' is not a period (YYYY, YYYYMM or YYYY-MM-DD)"),
            )
        };
        let digits: String = p.chars().filter(char::is_ascii_digit).collect();
        let year: u32 = digits.get(..4).and_then(|y| y.parse().ok()).ok_or_else(err)?;
        let month = match digits.len() {
            4 => 0,
            6 | 8 => digits
                .get(4..6)
                .and_then(|m| m.parse().ok())
                .filter(|m| (1..=12).contains(m))
                .ok_or_else(err)?,
            _ => return Err(err()),
        };
        Ok((year, month))
    }

    /// The flow; `Ok(None)` for flow kinds that are not M/X/RM/RX
    /// (Comtrade also publishes e.g. domestic exports `DX`, which overlap X).
    fn flow(&self, row: &Row) -> Result<Option<FlowDirection>, CellError> {
        let c = &self.c;
        if let Some(col) = c.flow_code {
            let v = row.get(col).trim();
            if v.is_empty() {
                return Err((
                    self.name(Some(col)).to_string(),
                    "flow code is required (M, X, RM or RX)".into(),
                ));
            }
            return Ok(FlowDirection::from_code(&v.to_ascii_uppercase()));
        }
        if let Some(col) = c.flow_legacy {
            let v = row.get(col).trim();
            return match v {
                "1" => Ok(Some(FlowDirection::Import)),
                "2" => Ok(Some(FlowDirection::Export)),
                "3" => Ok(Some(FlowDirection::ReExport)),
                "4" => Ok(Some(FlowDirection::ReImport)),
                "" => Err((self.name(Some(col)).to_string(), "flow code is required (1-4)".into())),
                _ => Ok(None),
            };
        }
        Ok(self.flow)
    }

    /// A reporter or partner: ISO column first, then the numeric code (the
    /// Comtrade codes BACI reuses), then the name; `Ok(Err(_))` = skip.
    fn country(
        &self,
        row: &Row,
        iso: Option<usize>,
        code: Option<usize>,
        name: Option<usize>,
        fallback: Option<&str>,
    ) -> Result<Result<String, SkipReason>, CellError> {
        let iso_v = row.opt(iso).trim();
        let code_v = row.opt(code).trim();
        let name_v = row.opt(name).trim();
        // World (code 0, W00/WLD) is the total over partners, not a partner.
        if code_v == "0" || ["W00", "WLD"].iter().any(|w| iso_v.eq_ignore_ascii_case(w)) {
            return Ok(Err(SkipReason::Aggregate("World".into())));
        }
        let attempts = [(iso, iso_v, 0u8), (code, code_v, 1), (name, name_v, 2)];
        let mut first_unknown = None;
        for (col, v, kind) in attempts {
            if col.is_none() || v.is_empty() {
                continue;
            }
            let r = match kind {
                0 => super::resolve_code(v),
                1 => resolve_baci(v),
                _ => resolve_name(v),
            };
            match r {
                Resolved::Country(c, _) => return Ok(Ok(c.iso3.clone())),
                Resolved::Skip(s) => return Ok(Err(s)),
                Resolved::Unknown(e) => {
                    first_unknown.get_or_insert((self.name(col).to_string(), e));
                }
            }
        }
        if let Some(e) = first_unknown {
            // Comtrade's residual areas ("Areas, nes", "Other Asia, nes" is Taiwan
            // and resolves above) are not countries.
            if name_v.to_ascii_lowercase().ends_with(", nes") || name_v.eq_ignore_ascii_case("areas, nes") {
                return Ok(Err(SkipReason::Aggregate(name_v.to_string())));
            }
            return Err(e);
        }
        match fallback {
            Some(f) => match resolve_code(f) {
                Resolved::Country(c, _) => Ok(Ok(c.iso3.clone())),
                Resolved::Skip(s) => Ok(Err(s)),
                Resolved::Unknown(e) => Err(("reporter".into(), e)),
            },
            None => {
                let col = iso.or(code).or(name);
                Err((self.name(col).to_string(), "country is required".into()))
            }
        }
    }

    /// Net weight in kg: `netWgt`, else `qty` when its unit is kg (or has
    /// no unit column, as in extracts that document `qty` as kg).
    fn weight<'r>(&self, row: &'r Row) -> (Option<usize>, &'r str) {
        let c = &self.c;
        if c.net_wgt.is_some() {
            return (c.net_wgt, row.opt(c.net_wgt));
        }
        if c.qty.is_some() {
            let abbr = row.opt(c.qty_unit_abbr).trim();
            let code = row.opt(c.qty_unit_code).trim();
            let kg = if c.qty_unit_abbr.is_some() {
                abbr.eq_ignore_ascii_case("kg")
            } else if c.qty_unit_code.is_some() {
                code == "8"
            } else {
                true
            };
            if kg {
                return (c.qty, row.opt(c.qty));
            }
        }
        (None, "")
    }
}
