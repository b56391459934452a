//! supplyrisk's CSV of export restrictions (`data/policy_events.csv`).
//!
//! Columns: `id, country, measure, minerals, hs_codes, target_countries,
//! effective_from, effective_until, severity, summary, source_reference`.
//! Lists are `;`-separated; dates are `YYYY-MM-DD`; an empty
//! `effective_until` is open-ended and an empty `target_countries` means
//! every destination. `suspended` lists the periods a measure is suspended
//! as `FROM..UNTIL` (or `FROM..` until further notice), `;`-separated.
//! `id`, `hs_codes`, `target_countries`, `effective_until`, `suspended`
//! and `summary` may be left out.

use supplyrisk_domain::{Date, PolicyEvent, PolicyMeasure, RawPolicyEvent};

use crate::values::parse_number;
use crate::{Header, HeaderError, Out, Record, Row, RowParser};

#[derive(Default)]
pub(crate) struct Policy {
    id: Option<usize>,
    country: usize,
    measure: usize,
    minerals: usize,
    hs_codes: Option<usize>,
    targets: Option<usize>,
    from: usize,
    until: Option<usize>,
    severity: usize,
    summary: Option<usize>,
    reference: usize,
    suspended: Option<usize>,
}

fn list(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

type DateResult = Result<Option<(i32, i32, i32)>, String>;

fn date(cell: &str) -> DateResult {
    let t = cell.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let d = Date::parse(t)?;
    Ok(Some((i32::from(d.year), i32::from(d.month), i32::from(d.day))))
}

impl RowParser for Policy {
    fn header(&mut self, h: &Header) -> Result<(), HeaderError> {
        self.id = h.find(&["id"]);
        self.country = h.require(&["country"])?;
        self.measure = h.require(&["measure"])?;
        self.minerals = h.require(&["minerals"])?;
        self.hs_codes = h.find(&["hs_codes"]);
        self.targets = h.find(&["target_countries"]);
        self.from = h.require(&["effective_from"])?;
        self.until = h.find(&["effective_until"]);
        self.severity = h.require(&["severity"])?;
        self.summary = h.find(&["summary"]);
        self.suspended = h.find(&["suspended", "suspensions"]);
        self.reference = h.require(&["source_reference"])?;
        Ok(())
    }

    fn row(&mut self, row: &Row, out: &mut Out<'_>) {
        let line = row.line;
        let effective_from = match date(row.get(self.from)) {
            Ok(d) => d,
            Err(e) => return out.reject(line, "effective_from", e),
        };
        let effective_until = match date(row.opt(self.until)) {
            Ok(d) => d,
            Err(e) => return out.reject(line, "effective_until", e),
        };
        let mut suspensions = Vec::new();
        for period in list(row.opt(self.suspended)) {
            let (start, end) = period.split_once("..").unwrap_or((period.as_str(), ""));
            let parsed = date(start).and_then(|s| s.ok_or_else(|| "a suspension needs its first day".to_string()));
            match (parsed, date(end)) {
                (Ok(s), Ok(e)) => suspensions.push((s, e)),
                (Err(e), _) | (_, Err(e)) => {
                    return out.reject(
                        line,
                        "suspended",
                        format!("'{period}': {e} (write FROM..UNTIL or FROM..)"),
                    );
                }
            }
        }
        let severity_cell = row.get(self.severity);
        let Some(severity) = parse_number(severity_cell) else {
            return out.reject(
                line,
                "severity",
                format!("'{}' is not a number within 0..=1", severity_cell.trim()),
            );
        };
        let measure_cell = row.get(self.measure).trim();
        let measure = PolicyMeasure::parse(measure_cell);
        if measure.is_none() && !measure_cell.is_empty() {
            let reason = format!("'{measure_cell}' is not a measure (licensing, quota, tax, ban or other)");
            return out.reject(line, "measure", reason);
        }
        let raw = RawPolicyEvent {
            id: row.opt(self.id).trim().to_string(),
            country: row.get(self.country).trim().to_string(),
            minerals: list(row.get(self.minerals)),
            hs_codes: list(row.opt(self.hs_codes)),
            measure,
            target_countries: list(row.opt(self.targets)),
            effective_from,
            effective_until,
            suspensions,
            severity,
            source_reference: row.get(self.reference).trim().to_string(),
            summary: row.opt(self.summary).trim().to_string(),
        };
        match PolicyEvent::validate(&raw) {
            Ok(_) => out.record(line, Record::Policy(raw)),
            Err(v) => {
                // `minerals[2]` → `minerals`: the column, not the list slot.
                let column_of = |field: &str| field.split('[').next().unwrap_or(field).to_string();
                out.invalid(line, &v, &column_of);
            }
        }
    }
}
