//! Engine errors.

/// Why a score could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// An input value is out of range or malformed.
    #[error("invalid input {field}: {message}")]
    InvalidInput {
        /// Path of the offending field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No supply stage has the production data the method needs.
    #[error("no stage of {mineral} has usable production data for {year}: {}", reasons.join("; "))]
    NoUsableStage {
        /// Mineral id.
        mineral: String,
        /// Data year.
        year: u16,
        /// Why each stage was skipped.
        reasons: Vec<String>,
    },
    /// World production is zero or unknown, so concentration is undefined.
    #[error("world production of {material} in {year} is zero or unknown")]
    ZeroWorldProduction {
        /// Material.
        material: String,
        /// Year.
        year: u16,
    },
    /// A material, country or year is not in a dataset.
    #[error("{kind} '{name}' is not in the dataset")]
    NotInDataset {
        /// What kind of thing (material, country, year).
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
}

impl EngineError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        EngineError::InvalidInput {
            field: field.to_string(),
            message: message.into(),
        }
    }
}
