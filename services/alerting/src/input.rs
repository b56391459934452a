//! What a caller may save as a subscription: the checks that need nothing
//! but the request (name, filter, rules, webhook URL and secret form). The
//! check against scoring's configured blocs needs a call and stays with the
//! handler.

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_domain::{Catalog, ImporterError, ImporterId, MineralId, Violations};
use supplyrisk_grpc::ServiceError;
use supplyrisk_webhook::{Secret, WebhookClient};

/// Rules one subscription may hold.
const MAX_RULES: usize = 20;
/// Entries of each filter list (minerals, importers, applications).
const MAX_FILTER_ENTRIES: usize = 64;

/// Checks a subscription's name, filter, rules and webhook (its URL against
/// the SSRF guard, its secret's form when one is given). The result never
/// carries the secret; [`WebhookInput::secret`] does.
pub fn validate(
    sub: &pb::Subscription,
    webhooks: &WebhookClient,
) -> Result<(pb::Subscription, WebhookInput), Violations> {
    let mut v = Violations::new();
    let mut out = sub.clone();
    let mut input = WebhookInput::default();
    if let Some(w) = &sub.webhook {
        input.present = true;
        if let Err(e) = webhooks.check_url(w.url.trim()) {
            v.push("subscription.webhook.url", e.to_string());
        }
        if !w.secret.is_empty() {
            match Secret::parse(w.secret.trim()) {
                Ok(_) => input.secret = Some(w.secret.trim().to_string()),
                Err(e) => v.push("subscription.webhook.secret", e.to_string()),
            }
        }
        // Saving a webhook (re-)enables it; the secret is stored apart.
        out.webhook = Some(pb::Webhook {
            url: w.url.trim().to_string(),
            ..Default::default()
        });
    }
    if sub.name.trim().is_empty() || sub.name.len() > 200 {
        v.push("subscription.name", "is required (at most 200 characters)");
    }
    let filter = sub.filter.clone().unwrap_or_default();
    for (field, len) in [
        ("subscription.filter.minerals", filter.minerals.len()),
        ("subscription.filter.importers", filter.importers.len()),
        ("subscription.filter.applications", filter.applications.len()),
    ] {
        if len > MAX_FILTER_ENTRIES {
            v.push(field, format!("at most {MAX_FILTER_ENTRIES} entries, got {len}"));
        }
    }
    let filter = pb::Filter {
        minerals: filter.minerals.into_iter().take(MAX_FILTER_ENTRIES).collect(),
        importers: filter.importers.into_iter().take(MAX_FILTER_ENTRIES).collect(),
        applications: filter.applications.into_iter().take(MAX_FILTER_ENTRIES).collect(),
        methodology: filter.methodology,
    };
    let mut minerals = Vec::new();
    for (i, m) in filter.minerals.iter().enumerate() {
        if let Some(id) = v.check(&format!("subscription.filter.minerals[{i}]"), MineralId::parse(m)) {
            minerals.push(id.to_string());
        }
    }
    let apps = Catalog::builtin().applications();
    for (i, a) in filter.applications.iter().enumerate() {
        if !apps.contains(&a.as_str()) {
            v.push(
                format!("subscription.filter.applications[{i}]"),
                format!("unknown application; one of {}", apps.join(", ")),
            );
        }
    }
    // Scoring's own parsing rules: a country, an ad-hoc bloc of two or more
    // countries, or a name that must be one of scoring's configured blocs
    // (checked against scoring by the handler, see `check_bloc_ids`).
    let mut importers = Vec::new();
    for (i, imp) in filter.importers.iter().enumerate() {
        let field = format!("subscription.filter.importers[{i}]");
        match ImporterId::parse(imp) {
            Ok(id) if id.label().len() <= 200 => importers.push(id.label()),
            Ok(_) => v.push(field, "must be at most 200 characters"),
            Err(e) => v.push(field, importer_problem(&e)),
        }
    }
    if !matches!(filter.methodology.as_str(), "" | "eu-crm" | "geopolrisk") {
        v.push("subscription.filter.methodology", "must be empty, eu-crm or geopolrisk");
    }
    if sub.rules.is_empty() || sub.rules.len() > MAX_RULES {
        v.push(
            "subscription.rules",
            format!("between 1 and {MAX_RULES} rules are required"),
        );
    }
    for (i, r) in sub.rules.iter().enumerate() {
        match &r.kind {
            Some(pb::rule::Kind::Threshold(t)) => {
                if !(t.value.is_finite() && t.hysteresis.is_finite() && t.hysteresis >= 0.0) {
                    v.push(
                        format!("subscription.rules[{i}].threshold"),
                        "value must be finite and hysteresis >= 0",
                    );
                }
            }
            Some(pb::rule::Kind::Delta(d)) => {
                if !(d.min_delta.is_finite() && d.min_delta > 0.0) {
                    v.push(format!("subscription.rules[{i}].delta.min_delta"), "must be > 0");
                }
            }
            Some(pb::rule::Kind::Policy(p)) => {
                if !(p.min_supplier_share.is_finite() && (0.0..=1.0).contains(&p.min_supplier_share)) {
                    v.push(
                        format!("subscription.rules[{i}].policy.min_supplier_share"),
                        "must be within 0..=1",
                    );
                }
            }
            None => v.push(
                format!("subscription.rules[{i}]"),
                "a threshold, delta or policy rule is required",
            ),
        }
    }
    out.filter = Some(pb::Filter {
        minerals,
        importers,
        ..filter
    });
    out.name = sub.name.trim().to_string();
    // Output only: set by evaluation and by the handler, never by a caller.
    out.last_error = String::new();
    out.last_error_time = None;
    out.owner = String::new();
    v.into_result(|| (out, input))
}

/// The webhook part of a create or update request.
#[derive(Debug, Default)]
pub struct WebhookInput {
    /// The request has a webhook.
    pub present: bool,
    /// A new signing secret, validated.
    pub secret: Option<String>,
}

/// What is wrong with an importer, as a field violation says it.
pub(crate) fn importer_problem(e: &ImporterError) -> String {
    match e {
        ImporterError::Unknown { input, suggestions } if !suggestions.is_empty() => {
            format!(
                "unknown importer '{input}' (an ISO3 code, a bloc of ISO3 codes joined by '+' or a configured bloc id); did you mean {}?",
                suggestions.join(", ")
            )
        }
        ImporterError::Unknown { input, .. } => format!(
            "unknown importer '{input}' (an ISO3 code, a bloc of ISO3 codes joined by '+' or a configured bloc id)"
        ),
        ImporterError::BadMember(reason) => format!("is not a bloc scoring accepts: {reason}"),
        ImporterError::Missing => e.to_string(),
    }
}

pub(crate) fn secret_required() -> ServiceError {
    let mut v = Violations::new();
    v.push(
        "subscription.webhook.secret",
        "is required for a new webhook: \"whsec_\" followed by base64 of 24-64 random bytes",
    );
    ServiceError::from(v)
}
