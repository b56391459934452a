//! Statistics a national source reports about a country's supply, kept as
//! the source words them.
//!
//! USGS's net import reliance, say, is often a bound (">50") or a phrase
//! ("net exporter") rather than a number; scoring shows these beside its
//! own figures and never computes with a qualifier as if it were a value.

use crate::{Iso3, MineralId};

/// One reported statistic of one mineral, country and year.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedStatistic {
    /// The mineral it is about.
    pub mineral: MineralId,
    /// The country it describes.
    pub country: Iso3,
    /// Category, e.g. `net_import_reliance`, `imports`, `production`.
    pub category: String,
    /// The source's own name for the statistic (column or series).
    pub statistic: String,
    /// Year.
    pub year: u16,
    /// Unit.
    pub unit: String,
    /// The exact figure, when there is one.
    pub value: Option<f64>,
    /// `""`, `">"`, `"<"`, `"<0.5 unit"`, `"net exporter"`, `"withheld"`, …
    pub qualifier: String,
    /// The bound of a `>` or `<` qualifier.
    pub bound: Option<f64>,
    /// Major import sources, where the source lists them.
    pub major_sources: Vec<Iso3>,
    /// Source label.
    pub source: String,
}
