//! Encodings of stored values, private to the store.
//!
//! Every value on disk has its own type here, converted from and to the
//! domain types at the store's edge, so a change to the public API never
//! changes what is on disk, and a change on disk never reaches the API.
//! Protobuf keeps values compact and lets one gain fields without a
//! migration. Values once written as wire messages keep those messages'
//! field numbers, so data written by earlier releases still reads (the
//! tests pin the bytes).

use supplyrisk_domain::{
    Date, Iso3, MineralId, PolicyEvent, PolicyMeasure, RawPolicyEvent, RawStockpile, ReportedStatistic, Stockpile,
};

use crate::scores::ScorePoint;
use crate::{StoreError, StoreResult};

/// Value of one trade-flow field.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TradeValue {
    /// Value in USD.
    #[prost(double, tag = "1")]
    pub value_usd: f64,
    /// Net weight in kg, absent = unknown.
    #[prost(double, optional, tag = "2")]
    pub net_weight_kg: Option<f64>,
}

/// The answer of a finished upload or import, with the digest of the
/// request it answered.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredReplay {
    /// Digest of the request's content.
    #[prost(bytes = "vec", tag = "1")]
    pub digest: Vec<u8>,
    /// The encoded answer.
    #[prost(bytes = "vec", tag = "2")]
    pub answer: Vec<u8>,
}

/// Value of one production field.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProductionValue {
    /// Quantity, absent = withheld.
    #[prost(double, optional, tag = "1")]
    pub quantity: Option<f64>,
    /// Unit.
    #[prost(string, tag = "2")]
    pub unit: String,
    /// First year of a multi-year average.
    #[prost(uint32, optional, tag = "3")]
    pub first_year: Option<u32>,
}

/// A calendar day.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct StoredDate {
    #[prost(int32, tag = "1")]
    pub year: i32,
    #[prost(int32, tag = "2")]
    pub month: i32,
    #[prost(int32, tag = "3")]
    pub day: i32,
}

impl From<Date> for StoredDate {
    fn from(d: Date) -> Self {
        StoredDate {
            year: i32::from(d.year),
            month: i32::from(d.month),
            day: i32::from(d.day),
        }
    }
}

impl StoredDate {
    fn triple(self) -> (i32, i32, i32) {
        (self.year, self.month, self.day)
    }
}

/// A period a policy event is suspended.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredSuspension {
    #[prost(message, optional, tag = "1")]
    pub from: Option<StoredDate>,
    #[prost(message, optional, tag = "2")]
    pub until: Option<StoredDate>,
}

/// A policy event (the field numbers of the `PolicyEvent` message it was
/// first stored as).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredPolicyEvent {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub country: String,
    #[prost(string, repeated, tag = "3")]
    pub minerals: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub hs_codes: Vec<String>,
    /// See [`measure_code`].
    #[prost(int32, tag = "5")]
    pub measure: i32,
    #[prost(string, repeated, tag = "6")]
    pub target_countries: Vec<String>,
    #[prost(message, optional, tag = "7")]
    pub effective_from: Option<StoredDate>,
    #[prost(message, optional, tag = "8")]
    pub effective_until: Option<StoredDate>,
    #[prost(double, tag = "9")]
    pub severity: f64,
    #[prost(string, tag = "10")]
    pub source_reference: String,
    #[prost(string, tag = "11")]
    pub summary: String,
    #[prost(message, repeated, tag = "12")]
    pub suspensions: Vec<StoredSuspension>,
}

/// The stored code of a measure; fixed, whatever the API's enum becomes.
fn measure_code(m: PolicyMeasure) -> i32 {
    match m {
        PolicyMeasure::Licensing => 1,
        PolicyMeasure::Quota => 2,
        PolicyMeasure::Tax => 3,
        PolicyMeasure::Ban => 4,
        PolicyMeasure::Other => 5,
    }
}

fn measure_of(code: i32) -> Option<PolicyMeasure> {
    Some(match code {
        1 => PolicyMeasure::Licensing,
        2 => PolicyMeasure::Quota,
        3 => PolicyMeasure::Tax,
        4 => PolicyMeasure::Ban,
        5 => PolicyMeasure::Other,
        _ => return None,
    })
}

impl From<&PolicyEvent> for StoredPolicyEvent {
    fn from(e: &PolicyEvent) -> Self {
        StoredPolicyEvent {
            id: e.id.clone(),
            country: e.country.to_string(),
            minerals: e.minerals.iter().map(ToString::to_string).collect(),
            hs_codes: e.hs_codes.clone(),
            measure: measure_code(e.measure),
            target_countries: e.target_countries.iter().map(ToString::to_string).collect(),
            effective_from: Some(e.effective_from.into()),
            effective_until: e.effective_until.map(Into::into),
            severity: e.severity,
            source_reference: e.source_reference.clone(),
            summary: e.summary.clone(),
            suspensions: e
                .suspensions
                .iter()
                .map(|s| StoredSuspension {
                    from: Some(s.from.into()),
                    until: s.until.map(Into::into),
                })
                .collect(),
        }
    }
}

impl StoredPolicyEvent {
    /// The domain event, checked as any other input is.
    pub fn into_domain(self) -> StoreResult<PolicyEvent> {
        PolicyEvent::validate(&RawPolicyEvent {
            id: self.id,
            country: self.country,
            minerals: self.minerals,
            hs_codes: self.hs_codes,
            measure: measure_of(self.measure),
            target_countries: self.target_countries,
            effective_from: self.effective_from.map(StoredDate::triple),
            effective_until: self.effective_until.map(StoredDate::triple),
            suspensions: self
                .suspensions
                .iter()
                .map(|s| {
                    (
                        s.from.map(StoredDate::triple).unwrap_or((0, 0, 0)),
                        s.until.map(StoredDate::triple),
                    )
                })
                .collect(),
            severity: self.severity,
            source_reference: self.source_reference,
            summary: self.summary,
        })
        .map_err(|v| StoreError::Internal(format!("stored policy event is invalid: {v}")))
    }
}

/// A country's stockpile of a mineral.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredStockpile {
    #[prost(string, tag = "1")]
    pub country: String,
    #[prost(string, tag = "2")]
    pub mineral: String,
    #[prost(double, tag = "3")]
    pub quantity_tonnes: f64,
    #[prost(message, optional, tag = "4")]
    pub as_of: Option<StoredDate>,
}

impl From<&Stockpile> for StoredStockpile {
    fn from(s: &Stockpile) -> Self {
        StoredStockpile {
            country: s.country.to_string(),
            mineral: s.mineral.to_string(),
            quantity_tonnes: s.quantity_tonnes,
            as_of: Some(s.as_of.into()),
        }
    }
}

impl StoredStockpile {
    /// The domain stockpile, checked as any other input is.
    pub fn into_domain(self) -> StoreResult<Stockpile> {
        Stockpile::validate(&RawStockpile {
            country: self.country,
            mineral: self.mineral,
            quantity_tonnes: self.quantity_tonnes,
            as_of: self.as_of.map(StoredDate::triple),
        })
        .map_err(|v| StoreError::Internal(format!("stored stockpile is invalid: {v}")))
    }
}

/// A statistic a national source reports; the mineral is its hash's key.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredReported {
    #[prost(string, tag = "1")]
    pub country: String,
    #[prost(string, tag = "2")]
    pub category: String,
    #[prost(string, tag = "3")]
    pub statistic: String,
    #[prost(uint32, tag = "4")]
    pub year: u32,
    #[prost(string, tag = "5")]
    pub unit: String,
    #[prost(double, optional, tag = "6")]
    pub value: Option<f64>,
    #[prost(string, tag = "7")]
    pub qualifier: String,
    #[prost(double, optional, tag = "8")]
    pub bound: Option<f64>,
    #[prost(string, repeated, tag = "9")]
    pub major_sources: Vec<String>,
    #[prost(string, tag = "10")]
    pub source: String,
}

impl From<&ReportedStatistic> for StoredReported {
    fn from(s: &ReportedStatistic) -> Self {
        StoredReported {
            country: s.country.to_string(),
            category: s.category.clone(),
            statistic: s.statistic.clone(),
            year: u32::from(s.year),
            unit: s.unit.clone(),
            value: s.value,
            qualifier: s.qualifier.clone(),
            bound: s.bound,
            major_sources: s.major_sources.iter().map(ToString::to_string).collect(),
            source: s.source.clone(),
        }
    }
}

impl StoredReported {
    /// The domain statistic of `mineral`.
    pub fn into_domain(self, mineral: &str) -> StoreResult<ReportedStatistic> {
        let invalid = |e: String| StoreError::Internal(format!("stored reported statistic is invalid: {e}"));
        Ok(ReportedStatistic {
            mineral: MineralId::parse(mineral).map_err(|e| invalid(e.to_string()))?,
            country: Iso3::parse(&self.country).map_err(|e| invalid(e.to_string()))?,
            category: self.category,
            statistic: self.statistic,
            year: u16::try_from(self.year).map_err(|e| invalid(e.to_string()))?,
            unit: self.unit,
            value: self.value,
            qualifier: self.qualifier,
            bound: self.bound,
            major_sources: self
                .major_sources
                .iter()
                .map(|c| Iso3::parse(c).map_err(|e| invalid(e.to_string())))
                .collect::<StoreResult<_>>()?,
            source: self.source,
        })
    }
}

/// The latest score of a series: what a recomputation compares against
/// (the field numbers of the `RiskScore` message it was first stored as).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredLatestScore {
    #[prost(double, tag = "3")]
    pub score: f64,
    #[prost(string, tag = "10")]
    pub data_version: String,
    /// The day its policy events were taken as of; absent from scores
    /// recorded before it was kept.
    #[prost(message, optional, tag = "17")]
    pub as_of: Option<StoredDate>,
}

/// One point of a score's history (the field numbers of the `HistoryPoint`
/// message it was first stored as).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredScorePoint {
    #[prost(uint32, tag = "1")]
    pub data_year: u32,
    #[prost(double, tag = "2")]
    pub score: f64,
    #[prost(double, tag = "3")]
    pub confidence: f64,
    #[prost(string, tag = "4")]
    pub data_version: String,
    #[prost(message, optional, tag = "5")]
    pub computed_at: Option<prost_types::Timestamp>,
    #[prost(string, tag = "6")]
    pub kind: String,
    #[prost(message, optional, tag = "7")]
    pub as_of: Option<StoredDate>,
}

impl From<&ScorePoint> for StoredScorePoint {
    fn from(p: &ScorePoint) -> Self {
        StoredScorePoint {
            data_year: u32::from(p.data_year),
            score: p.score,
            confidence: p.confidence,
            data_version: p.data_version.clone(),
            computed_at: p.computed_at.map(Into::into),
            kind: p.kind.clone(),
            as_of: p.as_of.map(Into::into),
        }
    }
}

impl StoredScorePoint {
    /// The point; parts that no longer parse are dropped, not fatal.
    pub fn into_point(self) -> ScorePoint {
        ScorePoint {
            data_year: u16::try_from(self.data_year).unwrap_or(0),
            score: self.score,
            confidence: self.confidence,
            data_version: self.data_version,
            computed_at: self.computed_at.and_then(|t| std::time::SystemTime::try_from(t).ok()),
            kind: self.kind,
            as_of: self.as_of.and_then(|d| Date::new(d.year, d.month, d.day).ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use supplyrisk_api::convert;
    use supplyrisk_domain::Suspension;

    use super::*;

    fn event() -> PolicyEvent {
        let day = |y, m, d| Date::new(y, m, d).expect("date");
        PolicyEvent {
            id: "cn-ga-2023".into(),
            country: Iso3::parse("CHN").expect("iso3"),
            minerals: vec![MineralId::parse("GA").expect("mineral")],
            hs_codes: Vec::new(),
            measure: PolicyMeasure::Licensing,
            target_countries: vec![Iso3::parse("USA").expect("iso3")],
            effective_from: day(2023, 8, 1),
            effective_until: None,
            suspensions: vec![Suspension {
                from: day(2025, 11, 9),
                until: Some(day(2026, 11, 27)),
            }],
            severity: 0.6,
            source_reference: "MOFCOM 2023/23".into(),
            summary: "gallium export licensing".into(),
        }
    }

    fn stockpile() -> Stockpile {
        Stockpile {
            country: Iso3::parse("JPN").expect("iso3"),
            mineral: MineralId::parse("DY").expect("mineral"),
            quantity_tonnes: 120.5,
            as_of: Date::new(2025, 3, 31).expect("date"),
        }
    }

    fn reliance() -> ReportedStatistic {
        ReportedStatistic {
            mineral: MineralId::parse("REE").expect("mineral"),
            country: Iso3::parse("USA").expect("iso3"),
            category: "net_import_reliance".into(),
            statistic: "Net import reliance".into(),
            year: 2024,
            unit: "percent".into(),
            value: None,
            qualifier: ">".into(),
            bound: Some(95.0),
            major_sources: vec![Iso3::parse("CHN").expect("iso3")],
            source: "USGS MCS 2025".into(),
        }
    }

    /// Values written by earlier releases (as the wire messages of then)
    /// read back the same, and the store writes the same bytes.
    #[test]
    fn values_stored_as_wire_messages_by_earlier_releases_still_read() {
        let e = event();
        let before = convert::policy_event_to_pb(&e).encode_to_vec();
        assert_eq!(StoredPolicyEvent::from(&e).encode_to_vec(), before);
        let read = StoredPolicyEvent::decode(before.as_slice()).expect("decodes");
        assert_eq!(read.into_domain().expect("valid"), e);

        let s = stockpile();
        let before = convert::stockpile_to_pb(&s).encode_to_vec();
        assert_eq!(StoredStockpile::from(&s).encode_to_vec(), before);
        assert_eq!(
            StoredStockpile::decode(before.as_slice())
                .expect("decodes")
                .into_domain()
                .expect("valid"),
            s
        );

        let r = reliance();
        let before = convert::reported_statistic_to_pb(&r).encode_to_vec();
        assert_eq!(StoredReported::from(&r).encode_to_vec(), before);
        let read = StoredReported::decode(before.as_slice()).expect("decodes");
        assert_eq!(read.into_domain("REE").expect("valid"), r);
    }

    #[test]
    fn scores_stored_as_wire_messages_by_earlier_releases_still_read() {
        use supplyrisk_api::scoring::v1 as spb;
        let computed_at = std::time::UNIX_EPOCH + std::time::Duration::new(1_764_000_000, 123_000_000);
        let point = ScorePoint {
            data_year: 2024,
            score: 4.07,
            confidence: 0.8,
            data_version: "REE@7;gov@3".into(),
            computed_at: Some(computed_at),
            kind: "recomputation".into(),
            as_of: Some(Date::new(2026, 12, 1).expect("date")),
        };
        let before = spb::HistoryPoint {
            data_year: 2024,
            score: 4.07,
            confidence: 0.8,
            data_version: "REE@7;gov@3".into(),
            computed_at: Some(computed_at.into()),
            kind: "recomputation".into(),
            as_of: Some(convert::date_to_pb(Date::new(2026, 12, 1).expect("date"))),
        }
        .encode_to_vec();
        assert_eq!(StoredScorePoint::from(&point).encode_to_vec(), before);
        assert_eq!(
            StoredScorePoint::decode(before.as_slice())
                .expect("decodes")
                .into_point(),
            point
        );

        let whole = spb::RiskScore {
            score: 4.07,
            data_version: "REE@7;gov@3".into(),
            top_reason: "China mines 69%".into(),
            ..Default::default()
        }
        .encode_to_vec();
        let latest = StoredLatestScore::decode(whole.as_slice()).expect("decodes");
        assert_eq!((latest.score, latest.data_version.as_str()), (4.07, "REE@7;gov@3"));
    }

    /// What is on disk is pinned here, not by the API: if this fails, a
    /// stored format changed and needs a migration note.
    #[test]
    fn stored_bytes_are_pinned() {
        fn hex(bytes: &[u8]) -> String {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
        assert_eq!(
            hex(&StoredStockpile::from(&stockpile()).encode_to_vec()),
            "0a034a504e12024459190000000000205e40220708e90f1003181f"
        );
        assert_eq!(
            hex(&StoredPolicyEvent::from(&event()).encode_to_vec()),
            "0a0a636e2d67612d32303233120343484e1a024741280132035553413a0708e70f1008180149333333333333e33f520e4d4f46434f4d20323032332f32335a1867616c6c69756d206578706f7274206c6963656e73696e6762120a0708e90f100b1809120708ea0f100b181b"
        );
        assert_eq!(
            hex(&StoredReported::from(&reliance()).encode_to_vec()),
            "0a0355534112136e65745f696d706f72745f72656c69616e63651a134e657420696d706f72742072656c69616e636520e80f2a0770657263656e743a013e410000000000c057404a0343484e520d55534753204d43532032303235"
        );
    }
}
