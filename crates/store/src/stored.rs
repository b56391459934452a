//! Encodings of stored values. Protobuf keeps them compact and lets a value
//! gain fields later without a migration.

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
