//! Record types for facts the domain has no type for, and the items every
//! parser yields.

use std::fmt;

use supplyrisk_domain::{
    CountryKind, Iso3, MineralId, RawGovernanceIndicator, RawPolicyEvent, RawProductionStat, RawTradeFlow, Stage,
};

use crate::values::UsgsValue;

/// How a production figure was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueFlag {
    /// Reported by the source (WMD `r`; USGS figures not marked estimated).
    Reported,
    /// Estimated (WMD `e`; USGS `PROD_EST_` columns or notes saying so).
    Estimated,
    /// Provisional or preliminary (WMD `p`).
    Provisional,
    /// Withheld to avoid disclosing proprietary data (USGS `W`); no figure.
    Withheld,
    /// Not reported: an empty cell; no figure.
    NotReported,
}

impl ValueFlag {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueFlag::Reported => "reported",
            ValueFlag::Estimated => "estimated",
            ValueFlag::Provisional => "provisional",
            ValueFlag::Withheld => "withheld",
            ValueFlag::NotReported => "not_reported",
        }
    }
}

/// A country's production as one source reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductionRecord {
    /// The statistic; `ProductionStat::validate` accepts it.
    pub stat: RawProductionStat,
    /// How the figure was published.
    pub flag: ValueFlag,
    /// The source's series: USGS `TYPE` (several joined by ` + ` when summed)
    /// or the WMD sheet.
    pub series: String,
    /// The country as the file names it.
    pub reported_name: String,
    /// Source notes and any reconciliation applied (e.g. a unit taken from
    /// the rest of the series), empty when none.
    pub note: String,
}

/// Which aggregate a [`ProductionTotal`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TotalScope {
    /// The published world total (USGS `World total (rounded)`).
    World,
    /// Production the source does not attribute to a named country
    /// (USGS `Other Countries`).
    OtherCountries,
}

/// A published aggregate of production: a world total or the unattributed
/// rest. Used for shares (world total) and the unattributed share.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductionTotal {
    /// World total or other countries.
    pub scope: TotalScope,
    /// Mineral.
    pub mineral: MineralId,
    /// Stage.
    pub stage: Stage,
    /// Year.
    pub year: u16,
    /// Quantity, `None` when the source publishes none (never 0 for unknown).
    pub quantity: Option<f64>,
    /// Unit as published.
    pub unit: String,
    /// Source label.
    pub source: String,
    /// How the figure was published.
    pub flag: ValueFlag,
    /// The row label as given, e.g. `World total (rounded) 10`.
    pub label: String,
}

/// What a salient-statistics column measures, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SalientCategory {
    /// U.S. production (`USprod_…`, `…_Mine_…`, `…_Refinery_…`).
    Production,
    /// Imports for consumption.
    Imports,
    /// Exports.
    Exports,
    /// Apparent or reported consumption.
    Consumption,
    /// Prices.
    Price,
    /// Stocks.
    Stocks,
    /// Net import reliance as a share of apparent consumption.
    NetImportReliance,
    /// Employment.
    Employment,
    /// Government stockpile shipments.
    Shipments,
    /// Anything else.
    Other,
}

/// One cell of a USGS salient-statistics file.
#[derive(Debug, Clone, PartialEq)]
pub struct SalientStat {
    /// Catalog mineral the file covers.
    pub mineral: MineralId,
    /// `Commodity` as in the file.
    pub commodity: String,
    /// Year.
    pub year: u16,
    /// Column name as in the file, e.g. `NIR_pct`.
    pub statistic: String,
    /// What the column measures.
    pub category: SalientCategory,
    /// Unit suffix of the column name as USGS abbreviates it (`t`, `kg`,
    /// `kt`, `pct`, `dkg` = dollars per kg …); empty when the name has none.
    pub unit: String,
    /// The value, qualifiers kept.
    pub value: UsgsValue,
    /// Source label.
    pub source: String,
}

/// U.S. net import reliance for one commodity (USGS MCS Fig. 2).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReliance {
    /// Catalog mineral.
    pub mineral: MineralId,
    /// `Commodity` label as in the file.
    pub commodity: String,
    /// Year of the reliance figure (from the column name).
    pub year: u16,
    /// Net import reliance, percent of apparent consumption, qualifiers kept.
    pub percent: UsgsValue,
    /// Major import sources in descending order of import share.
    pub major_sources: Vec<Iso3>,
    /// Years the import sources cover, from the column name, when given.
    pub sources_period: Option<(u16, u16)>,
    /// Notes as in the file.
    pub notes: String,
    /// Source label.
    pub source: String,
}

/// An end-of-life recycling input rate.
#[derive(Debug, Clone, PartialEq)]
pub struct EolRir {
    /// Catalog mineral.
    pub mineral: MineralId,
    /// Share of input from end-of-life scrap, 0–1.
    pub value: f64,
    /// Where the figure comes from.
    pub source: String,
    /// Reference given for it (a URL), empty when none.
    pub reference: String,
}

/// A row of the World Mining Data HS-code map.
#[derive(Debug, Clone, PartialEq)]
pub struct WmdSheetMap {
    /// WMD sheet name.
    pub sheet: String,
    /// Catalog mineral the sheet maps to.
    pub mineral: MineralId,
    /// The map's `Reference ID`.
    pub reference_id: String,
    /// The map's supply-chain stage of the HS codes, when given.
    pub stage: Option<Stage>,
    /// HS codes: primary first, then the complementary ones.
    pub hs_codes: Vec<String>,
    /// The map's EoL-RIR value, when given.
    pub eol_rir: Option<EolRir>,
}

/// A row of the BACI country-code table.
#[derive(Debug, Clone, PartialEq)]
pub struct BaciCountry {
    /// BACI numeric code.
    pub code: u16,
    /// Name as in the file.
    pub name: String,
    /// ISO3 column as in the file (`S19` for Taiwan).
    pub iso3_in_file: String,
    /// Registry ISO3 the code maps to.
    pub iso3: String,
    /// Registry kind of that entry.
    pub kind: CountryKind,
}

/// A parsed record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A trade flow; `TradeFlow::validate` accepts it.
    Trade(RawTradeFlow),
    /// A country's production.
    Production(ProductionRecord),
    /// A world total or unattributed production.
    Total(ProductionTotal),
    /// A governance estimate; `GovernanceIndicator::validate` accepts it.
    Governance(RawGovernanceIndicator),
    /// An export restriction; `PolicyEvent::validate` accepts it.
    Policy(RawPolicyEvent),
    /// A U.S. salient statistic.
    Salient(SalientStat),
    /// U.S. net import reliance with major import sources.
    ImportReliance(ImportReliance),
    /// A WMD sheet's HS codes and EoL-RIR.
    SheetMap(WmdSheetMap),
    /// A BACI country code.
    BaciCountry(BaciCountry),
}

/// Why a row produced no record although nothing is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A total, world, region or group row: not a country.
    Aggregate(String),
    /// A historic or other non-country registry code.
    NotACountry(String),
    /// A commodity, HS code or series outside the catalog.
    OutsideCatalog(String),
    /// The value is missing (`NA`, `nan`, blank …): reported as missing.
    Missing,
    /// A series, flow kind or breakdown the parser does not use.
    NotUsed(String),
    /// Repeats a key seen first on `first_line`; the first one is kept.
    Duplicate {
        /// Line of the row kept.
        first_line: u64,
    },
    /// No values at all.
    Blank,
    /// The header was rejected, so rows cannot be read.
    AfterBadHeader,
}

impl SkipReason {
    /// Short stable name, for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::Aggregate(_) => "aggregate",
            SkipReason::NotACountry(_) => "not_a_country",
            SkipReason::OutsideCatalog(_) => "outside_catalog",
            SkipReason::Missing => "missing",
            SkipReason::NotUsed(_) => "not_used",
            SkipReason::Duplicate { .. } => "duplicate",
            SkipReason::Blank => "blank",
            SkipReason::AfterBadHeader => "after_bad_header",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Aggregate(s) => write!(f, "aggregate, not a country: {s}"),
            SkipReason::NotACountry(s) => write!(f, "not a country: {s}"),
            SkipReason::OutsideCatalog(s) => write!(f, "outside the mineral catalog: {s}"),
            SkipReason::Missing => f.write_str("value missing"),
            SkipReason::NotUsed(s) => write!(f, "not used: {s}"),
            SkipReason::Duplicate { first_line } => write!(f, "duplicate of line {first_line}"),
            SkipReason::Blank => f.write_str("blank row"),
            SkipReason::AfterBadHeader => f.write_str("header rejected"),
        }
    }
}

/// One outcome of a parser.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A record parsed from the row starting on `line` (1-based).
    Record {
        /// Line of the row.
        line: u64,
        /// The record.
        record: Record,
    },
    /// A row (or one cell of it) that is invalid.
    Rejected {
        /// Line of the row.
        line: u64,
        /// Header name of the offending column (empty when the whole record is at fault).
        column: String,
        /// Why, in words a person can act on.
        reason: String,
    },
    /// A row counted but deliberately not turned into a record.
    Skipped {
        /// Line of the row.
        line: u64,
        /// Why.
        reason: SkipReason,
    },
}

impl Item {
    /// Line of the row the item comes from.
    pub fn line(&self) -> u64 {
        match self {
            Item::Record { line, .. } | Item::Rejected { line, .. } | Item::Skipped { line, .. } => *line,
        }
    }
}
