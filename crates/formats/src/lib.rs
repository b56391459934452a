//! Streaming parsers for the public data formats supplyrisk ingests.
//!
//! One push parser per format, no I/O: the caller feeds bytes in chunks of
//! any size (a line or a UTF-8 character may be split across chunks) and
//! gets [`Item`]s back. Memory stays flat in the file size: a parser holds
//! at most one record (capped by [`Options::max_record_bytes`]) plus small
//! per-format state bounded by the country registry and the catalog. Gzip
//! input (BACI ships as `.csv.gz`) is recognised by its magic bytes and
//! inflated incrementally.
//!
//! ```
//! use supplyrisk_formats::{parser, Format, Item, Options};
//!
//! let mut p = parser(Format::Baci, Options::default());
//! let mut items = p.feed(b"t,i,j,k,v,q\n2023,156,39");
//! items.extend(p.feed(b"2,284690,12.5,3\n"));
//! items.extend(p.finish().items);
//! assert_eq!(items.iter().filter(|i| matches!(i, Item::Record { .. })).count(), 2);
//! ```
//!
//! Every row yields items: records (with their 1-based line), rejections
//! naming the column, or skips (aggregates, commodities outside the catalog,
//! missing values) that are counted but are not errors. Records built on
//! domain `Raw…` types always pass their domain `validate()`. Arbitrary
//! bytes never panic, and the output never depends on how input is chunked
//! (for a corrupt gzip stream, rows decoded before the corruption showed may
//! vary; the stream always ends with a rejection saying it is corrupt).
#![forbid(unsafe_code)]

mod csv;
mod formats;
pub mod gzip;
pub mod reconcile;
pub mod records;
pub mod values;

use std::collections::BTreeMap;
use std::fmt;

use supplyrisk_domain::{FlowDirection, Violations};

pub(crate) use crate::csv::Row;
pub use crate::gzip::{Decompressor, GzipError, InflateLimits};
pub use crate::records::*;
pub use crate::values::UsgsValue;

/// Default cap on one record's size.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// The formats supplyrisk reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// CEPII BACI bilateral trade (`t,i,j,k,v,q`), plain or gzip.
    Baci,
    /// CEPII BACI country-code table (`country_codes_V….csv`).
    BaciCountryCodes,
    /// UN Comtrade bulk or API CSV (columns found by header name).
    Comtrade,
    /// USGS Mineral Commodity Summaries world production (`MCS…_World_Data.csv`).
    UsgsMcsWorld,
    /// USGS MCS salient statistics (`mcs…-<code>_salient.csv`).
    UsgsMcsSalient,
    /// USGS MCS net import reliance (`MCS…_Fig2_Net_Import_Reliance.csv`).
    UsgsImportReliance,
    /// World Mining Data production, long layout.
    WorldMiningData,
    /// World Mining Data sheet → HS code and EoL-RIR map (`hs_code_map.csv`).
    WmdHsCodeMap,
    /// WGI Political Stability estimates, long layout (`wgi_pv_…_long.csv`).
    WgiPv,
    /// World Bank WGI, DataBank wide layout (`WGIData.csv`).
    Wgi,
    /// supplyrisk's own CSV of export restrictions (`policy_events.csv`).
    PolicyEvents,
    /// supplyrisk's own CSV of supply by value-chain stage (shares or
    /// quantities per country, stage, period and study).
    StageSupply,
    /// The EU 2023 criticality assessment's global supply shares per stage.
    EuCrmSupplyShares,
    /// The IEA Critical Minerals Data Explorer's mining and refining by country.
    IeaCmdeSupply,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 14] = [
        Format::Baci,
        Format::BaciCountryCodes,
        Format::Comtrade,
        Format::UsgsMcsWorld,
        Format::UsgsMcsSalient,
        Format::UsgsImportReliance,
        Format::WorldMiningData,
        Format::WmdHsCodeMap,
        Format::WgiPv,
        Format::Wgi,
        Format::PolicyEvents,
        Format::StageSupply,
        Format::EuCrmSupplyShares,
        Format::IeaCmdeSupply,
    ];

    /// Upper-case name, e.g. `BACI`, `USGS_MCS_WORLD`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Baci => "BACI",
            Format::BaciCountryCodes => "BACI_COUNTRY_CODES",
            Format::Comtrade => "COMTRADE",
            Format::UsgsMcsWorld => "USGS_MCS_WORLD",
            Format::UsgsMcsSalient => "USGS_MCS_SALIENT",
            Format::UsgsImportReliance => "USGS_IMPORT_RELIANCE",
            Format::WorldMiningData => "WORLD_MINING_DATA",
            Format::WmdHsCodeMap => "WMD_HS_CODE_MAP",
            Format::WgiPv => "WGI_PV",
            Format::Wgi => "WGI",
            Format::PolicyEvents => "POLICY_EVENTS",
            Format::StageSupply => "STAGE_SUPPLY",
            Format::EuCrmSupplyShares => "EU_CRM_SUPPLY_SHARES",
            Format::IeaCmdeSupply => "IEA_CMDE_SUPPLY",
        }
    }

    /// Parses a name as [`Format::name`] gives it (any case, `-` for `_`).
    pub fn from_name(name: &str) -> Option<Format> {
        let n = name.trim().to_ascii_uppercase().replace('-', "_");
        Format::ALL.into_iter().find(|f| f.name() == n)
    }

    /// Source label records carry unless [`Options::source`] overrides it.
    /// USGS world data take the edition from the file's `SOURCE` column.
    pub fn default_source(self) -> &'static str {
        match self {
            Format::Baci | Format::BaciCountryCodes => "BACI",
            Format::Comtrade => "COMTRADE",
            Format::UsgsMcsWorld | Format::UsgsMcsSalient | Format::UsgsImportReliance => "USGS_MCS",
            Format::WorldMiningData | Format::WmdHsCodeMap => "WMD",
            Format::WgiPv | Format::Wgi => "WGI",
            Format::PolicyEvents => "POLICY_EVENTS",
            Format::StageSupply => "STAGE_SUPPLY",
            Format::EuCrmSupplyShares => "EU_CRM_2023",
            Format::IeaCmdeSupply => "IEA_CMDE_2025",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parser options. `Options::default()` suits the shipped files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    /// Source label to put on records instead of the format's own.
    pub source: Option<String>,
    /// Comtrade: reporter ISO3 for files without reporter columns
    /// (e.g. an extract of one reporter's exports).
    pub reporter: Option<String>,
    /// Comtrade: flow for files without a flow column.
    pub flow: Option<FlowDirection>,
    /// Longest record accepted, in bytes; 0 = [`DEFAULT_MAX_RECORD_BYTES`].
    pub max_record_bytes: usize,
    /// Bounds on what gzip input may inflate to.
    pub inflate: InflateLimits,
}

/// Counts of what a parser produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Data rows read (the header and empty lines excluded).
    pub rows: u64,
    /// Record items.
    pub records: u64,
    /// Rejected items.
    pub rejected: u64,
    /// Skipped items.
    pub skipped: u64,
    /// Skipped items by [`SkipReason::kind`].
    pub skipped_by_kind: BTreeMap<String, u64>,
}

impl Summary {
    fn count(&mut self, item: &Item) {
        match item {
            Item::Record { .. } => self.records += 1,
            Item::Rejected { .. } => self.rejected += 1,
            Item::Skipped { reason, .. } => {
                self.skipped += 1;
                *self.skipped_by_kind.entry(reason.kind().to_string()).or_default() += 1;
            }
        }
    }
}

/// What [`Parser::finish`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// Items completed by the end of input.
    pub items: Vec<Item>,
    /// Counts over the whole stream.
    pub summary: Summary,
}

/// A rejection of the file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderError {
    pub column: String,
    pub reason: String,
}

impl HeaderError {
    pub(crate) fn missing(column: &str, header: &Header) -> Self {
        HeaderError {
            column: column.to_string(),
            reason: format!(
                "required column '{column}' is missing; the header has: {}",
                header.names.join(", ")
            ),
        }
    }
}

/// The header row: column names as given, BOM and surrounding spaces removed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Header {
    pub names: Vec<String>,
    keys: Vec<String>,
}

/// Comparison key of a column name: lower case without whitespace.
pub(crate) fn column_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

impl Header {
    pub(crate) fn from_row(row: &Row) -> Self {
        let names: Vec<String> = (0..row.len())
            .map(|i| row.get(i).trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let keys = names.iter().map(|n| column_key(n)).collect();
        Header { names, keys }
    }

    /// Index of the first column matching any candidate name.
    pub(crate) fn find(&self, candidates: &[&str]) -> Option<usize> {
        candidates.iter().find_map(|c| {
            let key = column_key(c);
            self.keys.iter().position(|k| *k == key)
        })
    }

    /// Like `find`, or the error naming the first candidate.
    pub(crate) fn require(&self, candidates: &[&str]) -> Result<usize, HeaderError> {
        self.find(candidates)
            .ok_or_else(|| HeaderError::missing(candidates.first().copied().unwrap_or(""), self))
    }

    pub(crate) fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("", String::as_str)
    }

    pub(crate) fn key(&self, i: usize) -> &str {
        self.keys.get(i).map_or("", String::as_str)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// Collects a parser's items and keeps the summary in step.
pub(crate) struct Out<'a> {
    items: &'a mut Vec<Item>,
    summary: &'a mut Summary,
}

impl Out<'_> {
    pub(crate) fn push(&mut self, item: Item) {
        self.summary.count(&item);
        self.items.push(item);
    }

    pub(crate) fn record(&mut self, line: u64, record: Record) {
        self.push(Item::Record { line, record });
    }

    pub(crate) fn reject(&mut self, line: u64, column: &str, reason: impl Into<String>) {
        self.push(Item::Rejected {
            line,
            column: column.to_string(),
            reason: reason.into(),
        });
    }

    pub(crate) fn skip(&mut self, line: u64, reason: SkipReason) {
        self.push(Item::Skipped { line, reason });
    }

    /// A domain validation failure: the column of the first violation, and
    /// every violation in the reason with fields renamed to columns.
    pub(crate) fn invalid(&mut self, line: u64, v: &Violations, column_of: &dyn Fn(&str) -> String) {
        let column = v.0.first().map(|f| column_of(&f.field)).unwrap_or_default();
        let reason: Vec<String> =
            v.0.iter()
                .map(|f| format!("{}: {}", column_of(&f.field), f.description))
                .collect();
        self.reject(line, &column, reason.join("; "));
    }
}

/// The per-format part of a parser.
pub(crate) trait RowParser: Send {
    /// Reads the header; an error rejects the file.
    fn header(&mut self, header: &Header) -> Result<(), HeaderError>;
    /// Reads one non-blank data row.
    fn row(&mut self, row: &Row, out: &mut Out<'_>);
    /// Emits anything held back at the end of input.
    fn finish(&mut self, _out: &mut Out<'_>) {}
}

/// Shared state between the splitter and the format.
struct Core {
    rows: Box<dyn RowParser>,
    header: Option<Header>,
    header_failed: bool,
    scratch: Row,
    max_record_bytes: usize,
    summary: Summary,
}

impl Core {
    fn on_record(&mut self, raw: csv::RawRecord<'_>, items: &mut Vec<Item>) {
        let mut out = Out {
            items,
            summary: &mut self.summary,
        };
        if self.header.is_some() {
            out.summary.rows += 1;
        }
        if let Some(damage) = raw.damage {
            let reason = match damage {
                csv::Damage::TooLong => format!(
                    "record longer than {} bytes or {} fields (an unbalanced quote?)",
                    self.max_record_bytes,
                    csv::MAX_FIELDS
                ),
                csv::Damage::Unterminated => "the file ends inside a quoted field".to_string(),
            };
            out.reject(raw.line, "", reason);
            if self.header.is_none() {
                self.header = Some(Header::default());
                self.header_failed = true;
            }
            return;
        }
        self.scratch.fill(&raw);
        let row = &self.scratch;
        match &self.header {
            None => {
                let header = Header::from_row(row);
                if let Err(e) = self.rows.header(&header) {
                    out.reject(row.line, &e.column, e.reason);
                    self.header_failed = true;
                }
                self.header = Some(header);
            }
            Some(_) if self.header_failed => out.skip(row.line, SkipReason::AfterBadHeader),
            Some(_) if row.is_blank() => out.skip(row.line, SkipReason::Blank),
            Some(_) => self.rows.row(row, &mut out),
        }
    }
}

/// A push parser for one file. Create with [`parser`].
pub struct Parser {
    format: Format,
    gunzip: Decompressor,
    splitter: csv::Splitter,
    core: Core,
    broken: bool,
}

impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parser")
            .field("format", &self.format)
            .field("summary", &self.core.summary)
            .finish()
    }
}

/// A parser for `format`.
pub fn parser(format: Format, options: Options) -> Parser {
    let max = if options.max_record_bytes == 0 {
        DEFAULT_MAX_RECORD_BYTES
    } else {
        options.max_record_bytes
    };
    Parser {
        format,
        gunzip: Decompressor::with_limits(options.inflate),
        splitter: csv::Splitter::new(max),
        core: Core {
            rows: formats::row_parser(format, &options),
            header: None,
            header_failed: false,
            scratch: Row::default(),
            max_record_bytes: max,
            summary: Summary::default(),
        },
        broken: false,
    }
}

impl Parser {
    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Counts so far.
    pub fn summary(&self) -> &Summary {
        &self.core.summary
    }

    /// Feeds the next chunk and returns the items it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        self.feed_into(chunk, &mut items);
        items
    }

    /// Feeds the next chunk, appending completed items to `items`.
    pub fn feed_into(&mut self, chunk: &[u8], items: &mut Vec<Item>) {
        self.feed_with(chunk, &mut |item| items.push(item));
    }

    /// Feeds the next chunk, handing each completed item to `on_item` as
    /// soon as its record ends: however many rows the chunk holds (or
    /// inflates to), no more than one record's items are held at once.
    pub fn feed_with(&mut self, chunk: &[u8], on_item: &mut dyn FnMut(Item)) {
        if self.broken {
            return;
        }
        let Parser {
            gunzip, splitter, core, ..
        } = self;
        let mut held = Vec::new();
        let result = gunzip.feed(chunk, &mut |bytes| {
            splitter.feed(bytes, &mut |rec| {
                core.on_record(rec, &mut held);
                held.drain(..).for_each(&mut *on_item);
            })
        });
        if let Err(e) = result {
            self.fail(&e, &mut held);
            held.drain(..).for_each(on_item);
        }
    }

    /// Ends the input: completes the last record and anything held back.
    pub fn finish(mut self) -> Finished {
        let mut items = Vec::new();
        if !self.broken {
            let Parser {
                gunzip, splitter, core, ..
            } = &mut self;
            let result = gunzip.finish(&mut |bytes| splitter.feed(bytes, &mut |rec| core.on_record(rec, &mut items)));
            if let Err(e) = result {
                self.fail(&e, &mut items);
            }
        }
        let broken = self.broken;
        let Parser { splitter, core, .. } = &mut self;
        if !broken {
            splitter.finish(&mut |rec| core.on_record(rec, &mut items));
        }
        let mut out = Out {
            items: &mut items,
            summary: &mut core.summary,
        };
        if core.header.is_none() && !broken {
            out.reject(1, "", "the file is empty: no header row");
        }
        core.rows.finish(&mut out);
        Finished {
            items,
            summary: self.core.summary,
        }
    }

    fn fail(&mut self, e: &GzipError, items: &mut Vec<Item>) {
        self.broken = true;
        let line = self.splitter_line();
        let mut out = Out {
            items,
            summary: &mut self.core.summary,
        };
        out.reject(line, "", e.to_string());
    }

    fn splitter_line(&self) -> u64 {
        self.core.scratch.line.max(1)
    }
}

/// Parses a whole buffer in one go (tests, small files).
pub fn parse_all(format: Format, options: Options, bytes: &[u8]) -> Finished {
    let mut p = parser(format, options);
    let mut items = p.feed(bytes);
    let done = p.finish();
    items.extend(done.items);
    Finished {
        items,
        summary: done.summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
            assert_eq!(Format::from_name(&f.name().to_lowercase().replace('_', "-")), Some(f));
        }
        assert_eq!(Format::from_name("CSV"), None);
        assert_eq!(Format::UsgsMcsWorld.to_string(), "USGS_MCS_WORLD");
    }

    #[test]
    fn header_lookup_ignores_case_space_and_bom() {
        let mut row = Row::default();
        let raw = csv::RawRecord {
            line: 1,
            bytes: b"\xEF\xBB\xBFSOURCEPROD_EST_ 2024",
            ends: &[9, 23],
            damage: None,
        };
        row.fill(&raw);
        let h = Header::from_row(&row);
        assert_eq!(h.find(&["source"]), Some(0));
        assert_eq!(h.find(&["prod_est_2024"]), Some(1));
        assert_eq!(h.name(1), "PROD_EST_ 2024");
    }
}
