//! The report's tables: the headline facts of an importer, the scenario
//! details beside their chart, every score, and the minerals without one.

use supplyrisk_api::scoring::v1 as spb;

use super::super::{Report, Section, largest_supplier};
use super::{MISSING, escape, mineral_name, or_missing, shock_label};

/// The headline facts of an importer: how many minerals are scored, the
/// highest score, the median confidence and the data years.
pub fn render_facts(html: &mut String, section: &Section) {
    let mut facts: Vec<(&str, String)> = Vec::new();
    facts.push((
        "Minerals scored",
        format!(
            "{} <small>of {}</small>",
            section.scores.len(),
            section.scores.len() + section.unscored.len()
        ),
    ));
    facts.push((
        "Highest score",
        section.scores.first().map_or_else(
            || MISSING.to_string(),
            |s| format!("{} {:.3}", escape(&s.mineral), s.score),
        ),
    ));
    let mut confidences: Vec<f64> = section.scores.iter().map(|s| s.confidence).collect();
    confidences.sort_by(f64::total_cmp);
    facts.push((
        "Median confidence",
        or_missing(confidences.get(confidences.len() / 2).map(|c| format!("{c:.2}"))),
    ));
    let years: Vec<u32> = section.scores.iter().map(|s| s.data_year).filter(|y| *y != 0).collect();
    let span = match (years.iter().min(), years.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => Some(lo.to_string()),
        (Some(lo), Some(hi)) => Some(format!("{lo}–{hi}")),
        _ => None,
    };
    facts.push(("Data years", or_missing(span)));
    html.push_str("<div class=\"facts\">\n");
    for (label, value) in facts {
        html.push_str(&format!(
            "<div class=\"fact\"><span>{label}</span><b>{value}</b></div>\n"
        ));
    }
    html.push_str("</div>\n");
}

/// The outcome of each charted mineral's scenario, with the minerals that
/// could not be simulated and a note when a score falls after its cut.
pub fn render_scenario_table(html: &mut String, report: &Report, section: &Section) {
    if section.scenarios.is_empty() && section.scenario_gaps.is_empty() {
        return;
    }
    // Sits in the chart grid beside the scenario chart it details.
    html.push_str("<div class=\"panel\">\n<h3>Scenario details</h3>\n<div class=\"table-wrap\">\n");
    html.push_str("<table class=\"scenario\">\n<thead><tr>");
    html.push_str(
        "<th>Shock</th><th class=\"num\">Before</th><th class=\"num\">After</th><th class=\"num\">Change</th>\
         <th class=\"num\">Shortfall</th><th class=\"num\">Stock cover</th></tr></thead>\n<tbody>\n",
    );
    for row in &section.scenarios {
        let before = row.result.before.as_ref().map(|s| s.score);
        let after = row.result.after.as_ref().map(|s| s.score);
        html.push_str(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            escape(&shock_label(row, report.scenario_cut)),
            or_missing(before.map(|v| format!("{v:.3}"))),
            or_missing(after.map(|v| format!("{v:.3}"))),
            or_missing(before.zip(after).map(|(b, a)| format!("{:+.3}", a - b))),
            or_missing(
                row.result
                    .shortfall_tonnes
                    .map(|t| format!("{t:.0} t ({})", crate::json::stage_name(row.result.shortfall_stage)))
            ),
            or_missing(row.result.days_of_cover.map(|d| format!("{d:.0} days"))),
        ));
    }
    for gap in &section.scenario_gaps {
        html.push_str(&format!(
            "<tr><td>{}</td><td colspan=\"5\">{MISSING}: {}</td></tr>\n",
            escape(&gap.mineral),
            escape(&gap.reason)
        ));
    }
    html.push_str("</tbody>\n</table>\n</div>\n");
    html.push_str(&format!(
        "<p class=\"note\">Shortfall: imports lost after the cut, in tonnes, at the supply stage named (the \
         stage the score is taken at when it has trade data). Stock cover: days the importer's \
         stockpile covers the shortfall. Cut: {:.0}% of the supplier's exports, no rerouting.</p>\n",
        report.scenario_cut * 100.0
    ));
    let fell: Vec<&str> = section
        .scenarios
        .iter()
        .filter(|row| {
            let score = |s: &Option<spb::RiskScore>| s.as_ref().map(|s| s.score);
            score(&row.result.before)
                .zip(score(&row.result.after))
                .is_some_and(|(before, after)| after < before)
        })
        .map(|row| row.mineral.as_str())
        .collect();
    if !fell.is_empty() {
        html.push_str(&format!(
            "<p class=\"note\">Lower after the cut: {}. The score measures how concentrated supply is; with \
             less from the dominant supplier what is left is more spread, while the importer still loses \
             the shortfall shown.</p>\n",
            escape(&fell.join(", "))
        ));
    }
    html.push_str("</div>\n");
}

/// Every score of the importer, highest first.
pub fn render_score_table(html: &mut String, section: &Section) {
    html.push_str(&format!(
        "<h3>Every score for {}</h3>\n<div class=\"table-wrap\">\n<table class=\"scores\">\n<thead><tr>",
        escape(&section.importer)
    ));
    html.push_str(
        "<th class=\"num\">#</th><th>Mineral</th><th class=\"num\">Score</th><th class=\"num\">Confidence</th>\
         <th class=\"num wide\">Data year</th><th class=\"wide\">Largest supplier</th><th>Top reason</th></tr></thead>\n\
         <tbody>\n",
    );
    for (rank, s) in section.scores.iter().enumerate() {
        let top = largest_supplier(s).map(|t| format!("{} {:.0}%", t.country, t.share * 100.0));
        let reason = (!s.top_reason.trim().is_empty()).then(|| s.top_reason.clone());
        html.push_str(&format!(
            "<tr><td class=\"num\">{}</td><td><b>{}</b> {}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.2}</td>\
             <td class=\"num wide\">{}</td><td class=\"wide\">{}</td><td>{}</td></tr>\n",
            rank + 1,
            escape(&s.mineral),
            escape(&mineral_name(&s.mineral)),
            s.score,
            s.confidence,
            or_missing((s.data_year != 0).then(|| s.data_year.to_string())),
            or_missing(top),
            or_missing(reason),
        ));
    }
    html.push_str("</tbody>\n</table>\n</div>\n");
}

/// The catalog minerals without a score, and why.
pub fn render_unscored(html: &mut String, section: &Section) {
    if section.unscored.is_empty() {
        html.push_str("<p class=\"note\">Every catalog mineral has a score.</p>\n");
        return;
    }
    html.push_str(&format!(
        "<h3>Minerals without a score ({})</h3>\n<div class=\"table-wrap\">\n<table class=\"unscored\">\n\
         <thead><tr><th>Mineral</th><th>Why</th></tr></thead>\n<tbody>\n",
        section.unscored.len()
    ));
    for u in &section.unscored {
        html.push_str(&format!(
            "<tr><td><b>{}</b> {}</td><td>{}</td></tr>\n",
            escape(&u.mineral),
            escape(&mineral_name(&u.mineral)),
            escape(&u.reason)
        ));
    }
    html.push_str("</tbody>\n</table>\n</div>\n");
}
