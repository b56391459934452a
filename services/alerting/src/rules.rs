//! Rule evaluation: pure functions, no I/O.

use sha2::{Digest, Sha256};
use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_domain::Catalog;

/// Outcome of a threshold rule for one score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdOutcome {
    /// The alert fires now.
    pub fire: bool,
    /// Whether the rule is armed afterwards.
    pub armed: bool,
}

/// Threshold with hysteresis: fires once when `score` reaches `value` while
/// armed; re-arms only when the score falls below `value - hysteresis`, so
/// noise around the line does not flap.
pub fn threshold(value: f64, hysteresis: f64, armed: bool, score: f64) -> ThresholdOutcome {
    if armed && score >= value {
        ThresholdOutcome {
            fire: true,
            armed: false,
        }
    } else if !armed && score < value - hysteresis {
        ThresholdOutcome {
            fire: false,
            armed: true,
        }
    } else {
        ThresholdOutcome { fire: false, armed }
    }
}

/// A threshold rule's state for one series: whether it is armed, and the
/// score event last applied to it, so an event already applied (or older
/// than the last applied, delivered late to another replica) changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleState {
    /// Armed: the next score at or above the threshold fires.
    pub armed: bool,
    /// Stream entry id (ms, seq) of the last event applied.
    pub applied: Option<(u64, u64)>,
}

impl RuleState {
    /// The stored form (`1@<ms>-<seq>`); `None` (never evaluated) is armed.
    /// The bare `0`/`1` stored before events were kept still reads.
    pub fn parse(stored: Option<&str>) -> RuleState {
        let (armed, applied) = stored
            .map(|s| s.split_once('@').unwrap_or((s, "")))
            .unwrap_or(("1", ""));
        RuleState {
            armed: armed != "0",
            applied: supplyrisk_store::entry_id(applied),
        }
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        let armed = if self.armed { "1" } else { "0" };
        match self.applied {
            Some((ms, seq)) => format!("{armed}@{ms}-{seq}"),
            None => armed.to_string(),
        }
    }

    /// True when `event` comes after the last event applied.
    pub fn applies(&self, event: (u64, u64)) -> bool {
        self.applied.is_none_or(|last| event > last)
    }

    /// The state after applying `event` with `outcome`.
    pub fn after(self, event: (u64, u64), outcome: ThresholdOutcome) -> RuleState {
        RuleState {
            armed: outcome.armed,
            applied: Some(event),
        }
    }
}

/// Delta rule: fires when the score moved by at least `min_delta`.
pub fn delta(min_delta: f64, old: Option<f64>, new: f64) -> bool {
    old.is_some_and(|o| (new - o).abs() >= min_delta)
}

/// True when `filter` watches this score.
pub fn matches(filter: &pb::Filter, mineral: &str, importer: &str, methodology: &str) -> bool {
    let mineral_ok = filter.minerals.is_empty() || filter.minerals.iter().any(|m| m == mineral);
    let importer_ok = filter.importers.is_empty() || filter.importers.iter().any(|i| i == importer);
    let method_ok = filter.methodology.is_empty() || filter.methodology == methodology;
    let application_ok = filter.applications.is_empty()
        || Catalog::builtin()
            .get(mineral)
            .is_some_and(|m| m.applications.iter().any(|a| filter.applications.contains(a)));
    mineral_ok && importer_ok && method_ok && application_ok
}

/// Deterministic alert id: a redelivered event produces the same id.
pub fn alert_id(
    subscription: &str,
    rule: usize,
    cause_event: &str,
    mineral: &str,
    importer: &str,
    method: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [subscription, &rule.to_string(), cause_event, mineral, importer, method] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..12])
}

/// True when a policy event on `minerals` concerns `filter`'s minerals or applications.
pub fn policy_matches(filter: &pb::Filter, minerals: &[String]) -> bool {
    let catalog = Catalog::builtin();
    minerals.iter().any(|m| {
        let by_mineral = filter.minerals.is_empty() || filter.minerals.contains(m);
        let by_application = filter.applications.is_empty()
            || catalog
                .get(m)
                .is_some_and(|x| x.applications.iter().any(|a| filter.applications.contains(a)));
        by_mineral && by_application
    })
}

/// Key of a rule's state for one score series.
pub fn state_field(subscription: &str, rule: usize, mineral: &str, importer: &str, method: &str) -> String {
    format!("{subscription}|{rule}|{mineral}|{importer}|{method}")
}

/// Human-readable rule, e.g. `threshold >= 2.5 (hysteresis 0.2)`.
pub fn describe(rule: &pb::Rule) -> String {
    match &rule.kind {
        Some(pb::rule::Kind::Threshold(t)) => format!("threshold >= {} (hysteresis {})", t.value, t.hysteresis),
        Some(pb::rule::Kind::Delta(d)) => format!("delta >= {}", d.min_delta),
        Some(pb::rule::Kind::Policy(p)) if p.min_supplier_share > 0.0 => {
            format!("policy: restricting supplier share >= {}", p.min_supplier_share)
        }
        Some(pb::rule::Kind::Policy(_)) => "policy: restriction touching the minerals".to_string(),
        None => "none".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_fires_once_and_rearms_below_the_band() {
        let (t, h) = (3.0, 0.5);
        let mut armed = true;
        let mut fired = Vec::new();
        for score in [2.0, 3.1, 3.4, 2.9, 3.2, 2.6, 2.4, 3.0] {
            let o = threshold(t, h, armed, score);
            armed = o.armed;
            fired.push(o.fire);
        }
        // Fires at 3.1; noise between 2.5 and 3.x does not re-fire; re-arms at 2.4; fires at 3.0.
        assert_eq!(fired, [false, true, false, false, false, false, false, true]);
    }

    #[test]
    fn rule_state_keeps_the_last_event_applied() {
        let fresh = RuleState::parse(None);
        assert_eq!(
            fresh,
            RuleState {
                armed: true,
                applied: None
            }
        );
        assert!(fresh.applies((1, 0)));
        let after = fresh.after(
            (5, 2),
            ThresholdOutcome {
                fire: true,
                armed: false,
            },
        );
        assert_eq!(after.encode(), "0@5-2");
        let read = RuleState::parse(Some("0@5-2"));
        assert_eq!(read, after);
        assert!(!read.applies((5, 2)), "the same event again");
        assert!(!read.applies((5, 1)), "an older event");
        assert!(read.applies((5, 3)));
        // What was stored before events were kept.
        assert_eq!(
            RuleState::parse(Some("0")),
            RuleState {
                armed: false,
                applied: None
            }
        );
        assert_eq!(RuleState::parse(Some("1")).encode(), "1");
    }

    #[test]
    fn delta_needs_an_old_score() {
        assert!(delta(0.5, Some(1.0), 1.6));
        assert!(!delta(0.5, Some(1.0), 1.2));
        assert!(!delta(0.5, None, 9.0));
    }

    #[test]
    fn ids_are_deterministic_and_filters_match() {
        assert_eq!(
            alert_id("s", 0, "1-0", "REE", "JPN", "eu-crm"),
            alert_id("s", 0, "1-0", "REE", "JPN", "eu-crm")
        );
        assert_ne!(
            alert_id("s", 0, "1-0", "REE", "JPN", "eu-crm"),
            alert_id("s", 1, "1-0", "REE", "JPN", "eu-crm")
        );
        let f = pb::Filter {
            applications: vec!["magnets".into()],
            importers: vec!["JPN".into()],
            ..Default::default()
        };
        assert!(matches(&f, "DY", "JPN", "eu-crm"));
        assert!(!matches(&f, "LI", "JPN", "eu-crm"));
        assert!(!matches(&f, "DY", "USA", "eu-crm"));
    }
}
