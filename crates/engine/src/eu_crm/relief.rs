//! End-of-life recycling (EoL-RIR) and substitution (SI_SR): the two
//! factors that relieve supply risk, each given with the inputs or
//! defaulted to no relief.

use crate::result::{ConfidenceReason, DefaultedTerm};

/// A factor as used: its value, and true when the inputs gave it.
pub(super) type Relief = (f64, bool);

/// The given value, or `default` marked as not given.
pub(super) fn given_or(given: Option<f64>, default: f64) -> Relief {
    match given {
        Some(v) => (v, true),
        None => (default, false),
    }
}

/// The defaulted terms a score lists for the factors not given, EoL-RIR first.
pub(super) fn defaulted_terms(eol: Relief, si: Relief) -> impl Iterator<Item = DefaultedTerm> {
    let eol = (!eol.1).then(|| DefaultedTerm {
        term: "eol_rir".into(),
        value: eol.0,
        reason: "unknown end-of-life recycling input rate: no recycling credit".into(),
    });
    let si = (!si.1).then(|| DefaultedTerm {
        term: "substitution_index".into(),
        value: si.0,
        reason: "unknown substitution index: no substitution relief".into(),
    });
    eol.into_iter().chain(si)
}

/// The confidence item of one factor: full coverage when given, none when
/// defaulted.
pub(super) fn confidence_item(input: &'static str, (value, known): Relief) -> (ConfidenceReason, bool) {
    (
        ConfidenceReason {
            input,
            coverage: if known { 1.0 } else { 0.0 },
            detail: if known {
                String::new()
            } else {
                format!("unknown; {value} used")
            },
        },
        false,
    )
}
