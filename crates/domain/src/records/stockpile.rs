//! Strategic stockpile figures: tonnes a country holds on a given date.

use super::Date;
use super::check::{check_country, check_mineral, check_non_negative};
use crate::catalog::MineralId;
use crate::country::Iso3;
use crate::validate::Violations;

/// Unchecked stockpile input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawStockpile {
    /// Country ISO3.
    pub country: String,
    /// Mineral id or alias.
    pub mineral: String,
    /// Tonnes held.
    pub quantity_tonnes: f64,
    /// Date of the figure, as (y, m, d).
    pub as_of: Option<(i32, i32, i32)>,
}

/// A validated stockpile figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Stockpile {
    /// Holder.
    pub country: Iso3,
    /// Mineral.
    pub mineral: MineralId,
    /// Tonnes held.
    pub quantity_tonnes: f64,
    /// Date of the figure.
    pub as_of: Date,
}

impl Stockpile {
    /// Validates every field of `raw`.
    pub fn validate(raw: &RawStockpile) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let country = check_country(&mut v, "country", &raw.country);
        let mineral = check_mineral(&mut v, "mineral", &raw.mineral);
        let qty = check_non_negative(&mut v, "quantity_tonnes", raw.quantity_tonnes);
        let as_of = match raw.as_of {
            Some((y, m, d)) => v.check("as_of", Date::new(y, m, d)),
            None => {
                v.push("as_of", "is required");
                None
            }
        };
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Stockpile {
            country: country.expect("checked"),
            mineral: mineral.expect("checked"),
            quantity_tonnes: qty.expect("checked"),
            as_of: as_of.expect("checked"),
        })
    }
}
