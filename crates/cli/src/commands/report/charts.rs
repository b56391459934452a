//! SVG charts for the report, drawn with plotters' SVG backend and made
//! responsive for inline HTML: a `viewBox`, `width="100%"`, no fixed height.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::CliError;

/// Width of every chart in SVG user units; the page scales it.
const WIDTH: u32 = 680;
const FONT: &str = "sans-serif";
/// plotters writes `font-size` as this size divided by 1.24: about 17 units,
/// readable when a two-column page scales the chart down.
const LABEL_SIZE: f64 = 21.0;
const LEGEND_ROW: u32 = 30;
const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
/// Segments that are not one of the named suppliers.
pub const OTHER: &str = "other";
const OTHER_COLOR: RGBColor = RGBColor(0xc8, 0xc8, 0xc8);
const BEFORE_COLOR: RGBColor = RGBColor(0x6b, 0x8f, 0xb8);
const AFTER_COLOR: RGBColor = RGBColor(0xd6, 0x4f, 0x1e);

/// Distinct colours that stay apart in print and for common colour-vision
/// deficiencies (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x39, 0x3b, 0x79),
];

/// How many distinct colours a chart can give its keys.
pub const COLOURS: usize = PALETTE.len();

/// One horizontal bar split into shares.
pub struct StackedBar {
    /// Label left of the bar, e.g. a mineral id.
    pub label: String,
    /// Keys (e.g. country codes, or [`OTHER`]) and shares (0-1), left to right.
    pub segments: Vec<(String, f64)>,
}

/// One line of a line chart.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// (year, value) points, by year.
    pub points: Vec<(i32, f64)>,
}

/// One row of a before/after chart.
pub struct BeforeAfter {
    /// Label left of the bars.
    pub label: String,
    /// Value before.
    pub before: f64,
    /// Value after.
    pub after: f64,
}

fn draw_error<E: std::fmt::Display>(e: E) -> CliError {
    CliError::Chart(e.to_string())
}

fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&TEXT)
}

/// Rough text width in user units; SVG gives no metrics and the layout only
/// needs to know whether a label fits.
fn text_width(text: &str, size: f64) -> u32 {
    (text.chars().count() as f64 * size / 1.24 * 0.6).ceil() as u32
}

/// Rows of legend entries that fit the chart's width.
fn legend_rows(entries: &[(String, RGBColor)]) -> Vec<Vec<(String, RGBColor)>> {
    let mut rows: Vec<Vec<(String, RGBColor)>> = vec![Vec::new()];
    let mut x = 0;
    for (label, colour) in entries {
        let w = 26 + text_width(label, LABEL_SIZE) + 18;
        if x + w > WIDTH - 20 && rows.last().is_some_and(|r| !r.is_empty()) {
            rows.push(Vec::new());
            x = 0;
        }
        x += w;
        if let Some(row) = rows.last_mut() {
            row.push((label.clone(), *colour));
        }
    }
    rows
}

fn legend_height(entries: &[(String, RGBColor)]) -> u32 {
    legend_rows(entries).len() as u32 * LEGEND_ROW + 8
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, RGBColor)],
) -> Result<(), CliError> {
    for (row_index, row) in legend_rows(entries).iter().enumerate() {
        let y = row_index as i32 * LEGEND_ROW as i32 + 6;
        let mut x = 16;
        for (label, colour) in row {
            area.draw(&Rectangle::new([(x, y + 4), (x + 16, y + 20)], colour.filled()))
                .map_err(draw_error)?;
            area.draw(&Text::new(
                label.clone(),
                (x + 22, y + 12),
                font(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(draw_error)?;
            x += 26 + text_width(label, LABEL_SIZE) as i32 + 18;
        }
    }
    Ok(())
}

/// A category label right-aligned just left of the plot at a row's centre;
/// drawn by hand because plotters places numeric axis labels where it likes.
fn row_label<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, at: (i32, i32), label: &str) -> Result<(), CliError> {
    root.draw(&Text::new(
        label.to_string(),
        (at.0 - 10, at.1),
        font(LABEL_SIZE).pos(Pos::new(HPos::Right, VPos::Center)),
    ))
    .map_err(draw_error)
}

/// Colours for keys in order of first appearance; [`OTHER`] is always grey.
/// Keys past the palette are drawn grey too, so callers fold them into
/// [`OTHER`] first (see [`COLOURS`]).
fn colours(keys: &[&str]) -> Vec<(String, RGBColor)> {
    let mut named = 0;
    keys.iter()
        .map(|k| {
            let colour = if *k == OTHER || named >= PALETTE.len() {
                OTHER_COLOR
            } else {
                named += 1;
                PALETTE[named - 1]
            };
            (k.to_string(), colour)
        })
        .collect()
}

/// Horizontal bars of shares (0-1) stacked left to right, one per label,
/// the first bar at the top, with a legend of keys below.
pub fn stacked_shares(title: &str, x_desc: &str, bars: &[StackedBar]) -> Result<String, CliError> {
    let mut keys: Vec<&str> = Vec::new();
    for bar in bars {
        for (key, _) in &bar.segments {
            if key != OTHER && !keys.contains(&key.as_str()) {
                keys.push(key);
            }
        }
    }
    if bars.iter().any(|b| b.segments.iter().any(|(k, _)| k == OTHER)) {
        keys.push(OTHER);
    }
    let legend = colours(&keys);
    let colour_of = |key: &str| legend.iter().find(|(k, _)| k == key).map_or(OTHER_COLOR, |(_, c)| *c);
    let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
    let axis = BarAxis {
        desc: x_desc,
        right: 1.0,
        format: &|v| format!("{:.0}%", v * 100.0),
    };
    horizontal_bars(title, &labels, 52, &axis, &legend, |chart, rank, y, plot_width| {
        let mut x = 0.0;
        for (key, share) in &bars[rank].segments {
            let share = share.clamp(0.0, 1.0 - x);
            let colour = colour_of(key);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x, y - 0.32), (x + share, y + 0.32)],
                    colour.filled(),
                )))
                .map_err(draw_error)?;
            let percent = format!("{:.0}%", share * 100.0);
            let long = format!("{key} {percent}");
            let fits = |t: &str| f64::from(text_width(t, LABEL_SIZE) + 10) < share * plot_width;
            let text = if key != OTHER && fits(&long) {
                Some(long)
            } else {
                fits(&percent).then_some(percent)
            };
            if let Some(text) = text {
                let ink = if key == OTHER { TEXT } else { WHITE };
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((x, y))
                            + Text::new(
                                text,
                                (5, 0),
                                (FONT, LABEL_SIZE)
                                    .into_font()
                                    .color(&ink)
                                    .pos(Pos::new(HPos::Left, VPos::Center)),
                            ),
                    ))
                    .map_err(draw_error)?;
            }
            x += share;
        }
        Ok(())
    })
}

/// Lines of values over years, with a legend below.
pub fn lines_by_year(title: &str, y_desc: &str, series: &[Series]) -> Result<String, CliError> {
    let years = series.iter().flat_map(|s| s.points.iter().map(|(y, _)| *y));
    let (first, last) = years.fold((i32::MAX, i32::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let (first, last) = if first > last {
        (2020, 2024)
    } else if first == last {
        (first - 1, last + 1)
    } else {
        (first, last)
    };
    let highest = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(_, v)| *v))
        .fold(0.0f64, f64::max);
    let y_top = if highest > 0.0 { highest * 1.15 } else { 1.0 };
    let keys: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
    let legend = colours(&keys);
    let plot_height = 380;
    svg_chart(title, plot_height, &legend, |_, plot| {
        let mut chart = ChartBuilder::on(plot)
            .margin(12)
            .margin_right(28)
            .x_label_area_size(40)
            .y_label_area_size(84)
            .build_cartesian_2d(first..last, 0f64..y_top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_labels((last - first + 1).clamp(2, 12) as usize)
            .x_label_formatter(&|y| y.to_string())
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.2}"))
            .y_desc(y_desc)
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(LABEL_SIZE))
            .draw()
            .map_err(draw_error)?;
        for (s, (_, colour)) in series.iter().zip(&legend) {
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), colour.stroke_width(3)))
                .map_err(draw_error)?;
            chart
                .draw_series(PointSeries::of_element(
                    s.points.iter().copied(),
                    5,
                    colour.filled(),
                    &|c, r, st| EmptyElement::at(c) + Circle::new((0, 0), r, st),
                ))
                .map_err(draw_error)?;
        }
        Ok(())
    })
}

/// Pairs of horizontal bars, before (top) and after (bottom), per label,
/// with each value written at the end of its bar.
pub fn before_after(title: &str, x_desc: &str, rows: &[BeforeAfter]) -> Result<String, CliError> {
    let highest = rows.iter().map(|r| r.before.max(r.after)).fold(0.0f64, f64::max);
    let x_right = if highest > 0.0 { highest * 1.3 } else { 1.0 };
    let legend = vec![
        ("before".to_string(), BEFORE_COLOR),
        ("after the cut".to_string(), AFTER_COLOR),
    ];
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    let axis = BarAxis {
        desc: x_desc,
        right: x_right,
        format: &|v| format!("{v:.2}"),
    };
    let value_style = font(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    horizontal_bars(title, &labels, 76, &axis, &legend, |chart, rank, y, _| {
        let row = &rows[rank];
        let change = row.after - row.before;
        let bars = [
            (y + 0.18, row.before, BEFORE_COLOR, format!("{:.3}", row.before)),
            (
                y - 0.18,
                row.after,
                AFTER_COLOR,
                format!("{:.3} ({change:+.3})", row.after),
            ),
        ];
        for (centre, value, colour, text) in bars {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, centre - 0.15), (value.max(0.0), centre + 0.15)],
                    colour.filled(),
                )))
                .map_err(draw_error)?;
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((value.max(0.0), centre)) + Text::new(text, (6, 0), value_style.clone()),
                ))
                .map_err(draw_error)?;
        }
        Ok(())
    })
}

/// The x axis of a horizontal bar chart.
struct BarAxis<'a> {
    desc: &'a str,
    /// Its right end (its left is 0).
    right: f64,
    format: &'a dyn Fn(&f64) -> String,
}

/// The chart area of a horizontal bar chart.
type BarChart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A horizontal bar chart: one row of `row_height` units per label, the
/// first at the top with its label at its left, and `legend` below.
/// `draw_row(chart, rank, y, plot_width)` draws row `rank` centred on `y`.
fn horizontal_bars(
    title: &str,
    labels: &[&str],
    row_height: u32,
    axis: &BarAxis<'_>,
    legend: &[(String, RGBColor)],
    mut draw_row: impl FnMut(&mut BarChart<'_, '_>, usize, f64, f64) -> Result<(), CliError>,
) -> Result<String, CliError> {
    let n = labels.len().max(1);
    let plot_height = 40 + row_height * n as u32 + 70;
    let label_width = labels.iter().map(|l| text_width(l, LABEL_SIZE)).max().unwrap_or(0) + 24;
    svg_chart(title, plot_height, legend, |root, plot| {
        let mut chart = ChartBuilder::on(plot)
            .margin(12)
            .margin_right(28)
            .x_label_area_size(64)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..axis.right, -0.5f64..(n as f64 - 0.5))
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_labels(6)
            .x_label_formatter(axis.format)
            .y_labels(0)
            .x_desc(axis.desc)
            .label_style(font(LABEL_SIZE))
            .axis_desc_style(font(LABEL_SIZE))
            .draw()
            .map_err(draw_error)?;
        let plot_width = f64::from(WIDTH - 12 - 28 - label_width);
        for (rank, label) in labels.iter().enumerate() {
            let y = n as f64 - 1.0 - rank as f64;
            row_label(root, chart.backend_coord(&(0.0, y)), label)?;
            draw_row(&mut chart, rank, y, plot_width)?;
        }
        Ok(())
    })
}

/// A chart as responsive SVG: a plot `plot_height` units high that `draw`
/// fills (given the whole canvas and the plot area), `legend` below it.
fn svg_chart(
    title: &str,
    plot_height: u32,
    legend: &[(String, RGBColor)],
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>, &DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), CliError>,
) -> Result<String, CliError> {
    let height = plot_height + legend_height(legend);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let (plot, legend_area) = root.split_vertically(plot_height);
        draw(&root, &plot)?;
        draw_legend(&legend_area, legend)?;
        root.present().map_err(draw_error)?;
    }
    Ok(responsive(&svg, title))
}

/// Replaces the fixed `width`/`height` of plotters' `<svg>` tag with
/// `width="100%"` and the `viewBox`, so the chart scales with the page, and
/// names it for screen readers. The `xmlns` attribute is dropped: inline SVG
/// in HTML needs none.
fn responsive(svg: &str, title: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg.to_string();
    };
    let view_box = svg[..end]
        .split("viewBox=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map_or_else(|| format!("0 0 {WIDTH} 400"), str::to_string);
    let title = super::html::escape(title);
    format!(
        "<svg class=\"chart\" viewBox=\"{view_box}\" width=\"100%\" preserveAspectRatio=\"xMidYMid meet\" \
         role=\"img\" aria-label=\"{title}\"><title>{title}</title>{}",
        &svg[end + 1..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_responsive_svg_with_escaped_text() {
        let bars = vec![StackedBar {
            label: "REE <rare>".into(),
            segments: vec![("CHN".into(), 0.7), (OTHER.into(), 0.3)],
        }];
        let svg = stacked_shares("shares & more", "share", &bars).expect("drawn");
        assert!(
            svg.starts_with(&format!("<svg class=\"chart\" viewBox=\"0 0 {WIDTH} ")),
            "{svg}"
        );
        let tag = svg.split('>').next().unwrap_or_default();
        assert!(tag.contains("width=\"100%\"") && !tag.contains("height="), "{tag}");
        assert!(svg.contains("<title>shares &amp; more</title>"));
        assert!(svg.contains("REE &lt;rare&gt;") && !svg.contains("<rare>"));
        assert!(svg.contains("CHN 70%"), "the CHN segment is labelled");
        assert!(!svg.contains("http"), "no namespace or other URL");
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn lines_and_before_after_draw_every_label() {
        let series = vec![
            Series {
                label: "REE".into(),
                points: vec![(2021, 1.0), (2022, 1.5), (2023, 1.2)],
            },
            Series {
                label: "GA".into(),
                points: vec![(2023, 2.0)],
            },
        ];
        let svg = lines_by_year("history", "score", &series).expect("drawn");
        assert!(svg.contains(">\nREE\n<") || svg.contains("REE"));
        assert!(svg.contains("2022") && svg.contains("polyline"));
        let rows = vec![BeforeAfter {
            label: "REE: CHN -50%".into(),
            before: 2.0,
            after: 2.5,
        }];
        let svg = before_after("scenario", "score", &rows).expect("drawn");
        assert!(svg.contains("2.500 (+0.500)") && svg.contains("REE: CHN -50%"), "{svg}");
    }

    #[test]
    fn keys_past_the_palette_are_grey() {
        let keys: Vec<String> = (0..12).map(|i| format!("K{i}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let c = colours(&refs);
        assert_eq!(c[0].1, PALETTE[0]);
        assert_eq!(c[11].1, OTHER_COLOR);
    }
}
