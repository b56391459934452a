//! The report as one HTML file: inline CSS (screen, phone and print), inline
//! SVG charts, no external assets. Every text from data is escaped.

mod tables;

use std::collections::BTreeMap;

use supplyrisk_api::scoring::v1 as spb;
use supplyrisk_domain::{Catalog, Countries};

use self::tables::{render_facts, render_scenario_table, render_score_table, render_unscored};
use super::charts::{self, BeforeAfter, COLOURS, OTHER, Series, StackedBar};
use super::{Report, ScenarioRow, Section};
use crate::error::CliError;

/// Suppliers named per bar of the concentration chart; the rest is "other".
const SUPPLIERS_PER_BAR: usize = 4;

const STYLE: &str = r#"
:root { --ink: #222; --muted: #5b5b5b; --rule: #dcdcdc; --accent: #1f4e79; --panel: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: #fff; }
header, main, footer { max-width: 1160px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 20px; padding-bottom: 8px; border-bottom: 3px solid var(--accent); }
h1 { font-size: 1.8rem; line-height: 1.2; margin: 0 0 6px; color: var(--accent); }
h2 { font-size: 1.5rem; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.15rem; margin: 28px 0 8px; }
p { margin: 6px 0 10px; }
.meta, .note { color: var(--muted); }
nav ul { list-style: none; margin: 6px 0 10px; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 18px; }
nav a { color: var(--accent); }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; margin: 12px 0 18px; }
.fact { background: var(--panel); border-radius: 6px; padding: 8px 12px; }
.fact span { display: block; color: var(--muted); font-size: .85rem; }
.fact b { font-size: 1.25rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 480px), 1fr)); gap: 16px; }
figure { margin: 0; padding: 12px; border: 1px solid var(--rule); border-radius: 6px; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 8px; }
.panel h3 { margin-top: 4px; }
figure p { color: var(--muted); font-size: .88rem; margin: 8px 0 0; }
svg.chart { display: block; width: 100%; height: auto; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .93rem; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--rule); }
th { background: var(--panel); }
.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.missing { color: #9a2a2a; font-style: italic; }
footer { margin-top: 36px; padding-top: 10px; padding-bottom: 24px; border-top: 1px solid var(--rule);
  color: var(--muted); font-size: .85rem; }
@media (max-width: 640px) {
  body { font-size: 15px; }
  h1 { font-size: 1.4rem; }
  h2 { font-size: 1.25rem; }
  th, td { padding: 4px 5px; }
  header, main, footer { padding-left: 10px; padding-right: 10px; }
  figure { padding: 8px; }
  .wide { display: none; }
}
@page { margin: 14mm; }
@media print {
  body { font-size: 10pt; }
  header, main, footer { max-width: none; padding: 0; }
  nav { display: none; }
  section.importer + section.importer { break-before: page; }
  .charts { display: block; }
  figure { border: none; padding: 0; margin: 0 0 12pt; }
  svg.chart { max-width: 13cm; margin: 0 auto; }
  .panel { break-inside: avoid; }
  .table-wrap { overflow: visible; }
  tr, .fact { break-inside: avoid; }
  thead { display: table-header-group; }
  h2, h3 { break-after: avoid; }
}
"#;

/// A rendered report.
pub struct Rendered {
    /// The whole document.
    pub html: String,
    /// How many charts it holds.
    pub charts: usize,
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const MISSING: &str = "<span class=\"missing\">missing</span>";

/// A value, or "missing" (never 0) when absent.
fn or_missing(value: Option<String>) -> String {
    value.map_or_else(|| MISSING.to_string(), |v| escape(&v))
}

fn mineral_name(id: &str) -> String {
    Catalog::builtin()
        .get(id)
        .map_or_else(|| id.to_string(), |m| m.name.clone())
}

/// "Japan (JPN)", "USA + Japan (USA+JPN)", or the bloc id alone.
fn importer_title(importer: &str) -> String {
    let names: Option<Vec<String>> = importer
        .split('+')
        .map(|m| {
            Countries::builtin()
                .get(&m.trim().to_ascii_uppercase())
                .map(|c| c.name.clone())
        })
        .collect();
    match names.map(|n| n.join(" + ")) {
        Some(names) if names != importer => format!("{names} ({importer})"),
        _ => importer.to_string(),
    }
}

/// An HTML id for an importer's section.
fn anchor(importer: &str) -> String {
    let slug: String = importer
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("importer-{slug}")
}

/// Renders the whole document.
pub fn render(report: &Report) -> Result<Rendered, CliError> {
    let importers: Vec<&str> = report.sections.iter().map(|s| s.importer.as_str()).collect();
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str(&format!(
        "<title>Critical-mineral supply risk: {}</title>\n",
        escape(&importers.join(", "))
    ));
    html.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n<header>\n"));
    html.push_str("<h1>Critical-mineral supply risk</h1>\n");
    html.push_str(&format!(
        "<p class=\"meta\">Importers: {} · method <b>{}</b> · generated {}</p>\n",
        escape(&importers.join(", ")),
        escape(report.methodology),
        escape(&report.generated_at)
    ));
    html.push_str("<nav><ul>\n");
    for s in &report.sections {
        html.push_str(&format!(
            "<li><a href=\"#{}\">{}</a></li>\n",
            anchor(&s.importer),
            escape(&importer_title(&s.importer))
        ));
    }
    html.push_str("</ul></nav>\n</header>\n<main>\n");
    let mut charts = 0;
    let mut figure = 0;
    for section in &report.sections {
        charts += render_section(&mut html, report, section, &mut figure)?;
    }
    html.push_str("</main>\n<footer>\n");
    html.push_str(&format!(
        "<p>Scores from the supplyrisk scoring service ({} method). Data: CEPII BACI trade, USGS Mineral Commodity \
         Summaries, World Mining Data, World Bank Worldwide Governance Indicators and recorded export restrictions \
         (see data/SOURCES.md). A missing value is shown as missing, never as zero.</p>\n",
        escape(report.methodology)
    ));
    html.push_str("</footer>\n</body>\n</html>\n");
    Ok(Rendered { html, charts })
}

fn render_section(
    html: &mut String,
    report: &Report,
    section: &Section,
    figure: &mut usize,
) -> Result<usize, CliError> {
    let title = importer_title(&section.importer);
    html.push_str(&format!(
        "<section class=\"importer\" id=\"{}\">\n<h2>{}</h2>\n",
        anchor(&section.importer),
        escape(&title)
    ));
    render_facts(html, section);
    let charted: Vec<&spb::RiskScore> = section.scores.iter().take(report.charted).collect();
    let mut drawn = 0;
    html.push_str("<div class=\"charts\">\n");

    let bars = supplier_bars(&charted);
    if bars.is_empty() {
        html.push_str("<p class=\"note\">No supplier shares to chart: no score names its suppliers.</p>\n");
    } else {
        *figure += 1;
        let caption = format!(
            "Figure {figure}. Supplier concentration of the {} highest-risk minerals for {}",
            bars.len(),
            section.importer
        );
        let svg = charts::stacked_shares(&caption, "share of sourcing weighed by the score", &bars)?;
        push_figure(
            html,
            &caption,
            &svg,
            "Each bar splits the importer's sourcing of a mineral among its largest suppliers, as the score weighs \
             them; the rest is grouped as other.",
        );
        drawn += 1;
    }

    let series = history_series(&section.histories);
    if series.is_empty() {
        html.push_str("<p class=\"note\">No score history to chart.</p>\n");
    } else {
        *figure += 1;
        let caption = format!("Figure {figure}. Score by data year for {}", section.importer);
        let svg = charts::lines_by_year(&caption, &format!("{} score", report.methodology), &series)?;
        push_figure(
            html,
            &caption,
            &svg,
            "The score of each data year's inputs; after a data change the latest recomputation stands for its year.",
        );
        drawn += 1;
    }

    let rows = scenario_bars(&section.scenarios, report.scenario_cut);
    if rows.is_empty() {
        html.push_str("<p class=\"note\">No scenario could be simulated for the charted minerals.</p>\n");
    } else {
        *figure += 1;
        let caption = format!(
            "Figure {figure}. Scores if each top supplier cut its exports by {:.0}%",
            report.scenario_cut * 100.0
        );
        let svg = charts::before_after(&caption, &format!("{} score", report.methodology), &rows)?;
        push_figure(
            html,
            &caption,
            &svg,
            "For each charted mineral, its largest supplier cuts exports; no other supplier makes up the loss.",
        );
        drawn += 1;
    }
    render_scenario_table(html, report, section);
    html.push_str("</div>\n");

    render_score_table(html, section);
    render_unscored(html, section);
    html.push_str("</section>\n");
    Ok(drawn)
}

fn push_figure(html: &mut String, caption: &str, svg: &str, explanation: &str) {
    html.push_str(&format!(
        "<figure>\n<figcaption>{}</figcaption>\n{svg}\n<p>{}</p>\n</figure>\n",
        escape(caption),
        escape(explanation)
    ));
}

/// Supplier shares of the charted scores: the largest suppliers named, the
/// rest folded into "other" so that colours stay distinct across bars.
fn supplier_bars(charted: &[&spb::RiskScore]) -> Vec<StackedBar> {
    let mut coloured: Vec<String> = Vec::new();
    let mut bars = Vec::new();
    for score in charted {
        let mut suppliers: Vec<&spb::SupplierContribution> =
            score.top_suppliers.iter().filter(|t| t.share > 0.0).collect();
        if suppliers.is_empty() {
            continue;
        }
        suppliers.sort_by(|a, b| b.share.total_cmp(&a.share));
        let mut segments = Vec::new();
        let mut named = 0.0;
        for t in suppliers.iter().take(SUPPLIERS_PER_BAR) {
            if !coloured.contains(&t.country) {
                if coloured.len() == COLOURS {
                    continue;
                }
                coloured.push(t.country.clone());
            }
            segments.push((t.country.clone(), t.share));
            named += t.share;
        }
        if named < 0.999 {
            segments.push((OTHER.to_string(), (1.0 - named).max(0.0)));
        }
        bars.push(StackedBar {
            label: score.mineral.clone(),
            segments,
        });
    }
    bars
}

/// One line per charted mineral: its score per data year. A year without a
/// data-year point takes its latest recomputation.
fn history_series(histories: &[(String, Vec<spb::HistoryPoint>)]) -> Vec<Series> {
    histories
        .iter()
        .filter_map(|(mineral, points)| {
            let mut by_year: BTreeMap<i32, f64> = BTreeMap::new();
            for p in points.iter().filter(|p| p.kind == "data_year" && p.data_year != 0) {
                by_year.insert(p.data_year as i32, p.score);
            }
            let mut recomputed: BTreeMap<i32, f64> = BTreeMap::new();
            for p in points.iter().filter(|p| p.kind != "data_year" && p.data_year != 0) {
                recomputed.insert(p.data_year as i32, p.score);
            }
            for (year, score) in recomputed {
                by_year.entry(year).or_insert(score);
            }
            (!by_year.is_empty()).then(|| Series {
                label: mineral.clone(),
                points: by_year.into_iter().collect(),
            })
        })
        .collect()
}

fn shock_label(row: &ScenarioRow, cut: f64) -> String {
    format!("{}: {} −{:.0}%", row.mineral, row.supplier, cut * 100.0)
}

fn scenario_bars(rows: &[ScenarioRow], cut: f64) -> Vec<BeforeAfter> {
    rows.iter()
        .filter_map(|row| {
            let before = row.result.before.as_ref()?.score;
            let after = row.result.after.as_ref()?.score;
            Some(BeforeAfter {
                label: shock_label(row, cut),
                before,
                after,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::report::Unscored;

    fn score(mineral: &str, value: f64, suppliers: &[(&str, f64)]) -> spb::RiskScore {
        spb::RiskScore {
            mineral: mineral.into(),
            importer: "JPN".into(),
            score: value,
            confidence: 0.8,
            data_year: 2023,
            top_reason: format!("<b>{mineral}</b> & co"),
            top_suppliers: suppliers
                .iter()
                .map(|(c, s)| spb::SupplierContribution {
                    country: c.to_string(),
                    share: *s,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn report() -> Report {
        let point = |year: u32, score: f64| spb::HistoryPoint {
            data_year: year,
            score,
            kind: "data_year".into(),
            ..Default::default()
        };
        let mut no_year = score("GA", 1.0, &[]);
        no_year.data_year = 0;
        no_year.top_reason = String::new();
        Report {
            methodology: "eu-crm",
            charted: 2,
            scenario_cut: 0.5,
            generated_at: "2025-01-01T00:00:00Z".into(),
            sections: vec![Section {
                importer: "USA+JPN".into(),
                scores: vec![
                    score("REE", 3.0, &[("CHN", 0.7), ("MYS", 0.1)]),
                    score("LI", 2.0, &[("AUS", 0.5), ("CHL", 0.5)]),
                    no_year,
                ],
                unscored: vec![Unscored {
                    mineral: "W".into(),
                    reason: "no production data <2024>".into(),
                }],
                histories: vec![("REE".into(), vec![point(2022, 2.5), point(2023, 3.0)])],
                scenarios: vec![ScenarioRow {
                    supplier: "CHN".into(),
                    mineral: "REE".into(),
                    result: spb::ScenarioResult {
                        importer: "USA+JPN".into(),
                        mineral: "REE".into(),
                        before: Some(score("REE", 3.0, &[])),
                        after: Some(score("REE", 3.4, &[])),
                        ..Default::default()
                    },
                }],
                scenario_gaps: vec![],
            }],
        }
    }

    #[test]
    fn a_score_that_falls_after_a_cut_is_explained_beside_the_table() {
        let mut r = report();
        assert!(!render(&r).expect("rendered").html.contains("Lower after the cut"));
        r.sections[0].scenarios[0].result.after = Some(score("REE", 2.8, &[]));
        let html = render(&r).expect("rendered").html;
        assert!(
            html.contains("Lower after the cut: REE."),
            "rises are not explained, falls are"
        );
    }

    #[test]
    fn renders_three_charts_and_one_row_per_score() {
        let r = render(&report()).expect("rendered");
        assert_eq!(r.charts, 3);
        assert_eq!(r.html.matches("<svg").count(), 3);
        let table = r.html.split("<table class=\"scores\">").nth(1).expect("score table");
        let body = table.split("<tbody>").nth(1).unwrap_or_default();
        let body = body.split("</tbody>").next().unwrap_or_default();
        assert_eq!(body.matches("<tr>").count(), 3);
        assert!(r.html.starts_with("<!DOCTYPE html>"));
        assert!(r.html.contains("name=\"viewport\"") && r.html.contains("@media print"));
        assert!(r.html.contains("USA + Japan (USA+JPN)"));
    }

    #[test]
    fn data_text_is_escaped_and_missing_values_say_missing() {
        let r = render(&report()).expect("rendered");
        assert!(r.html.contains("&lt;b&gt;REE&lt;/b&gt; &amp; co"));
        assert!(!r.html.contains("<b>REE</b> &"));
        assert!(r.html.contains("no production data &lt;2024&gt;"));
        let ga = r.html.split("<b>GA</b>").nth(1).expect("GA row");
        let row = ga.split("</tr>").next().unwrap_or_default();
        assert_eq!(row.matches(">missing<").count(), 3, "year, supplier and reason: {row}");
        assert!(
            r.html.contains("<span class=\"missing\">missing</span>"),
            "no stockpile data"
        );
        assert!(!r.html.contains("http"), "no URL at all");
    }

    #[test]
    fn suppliers_past_the_palette_fold_into_other() {
        let scores: Vec<spb::RiskScore> = (0..4)
            .map(|i| {
                let suppliers: Vec<(String, f64)> = (0..4).map(|j| (format!("C{i}{j}"), 0.2)).collect();
                let refs: Vec<(&str, f64)> = suppliers.iter().map(|(c, s)| (c.as_str(), *s)).collect();
                score("REE", 1.0, &refs)
            })
            .collect();
        let refs: Vec<&spb::RiskScore> = scores.iter().collect();
        let bars = supplier_bars(&refs);
        let named: std::collections::BTreeSet<&str> = bars
            .iter()
            .flat_map(|b| b.segments.iter().map(|(k, _)| k.as_str()))
            .filter(|k| *k != OTHER)
            .collect();
        assert_eq!(named.len(), COLOURS);
        let last = bars.last().expect("bar");
        assert!(last.segments.iter().any(|(k, s)| k == OTHER && (*s - 1.0).abs() < 1e-9));
    }
}
