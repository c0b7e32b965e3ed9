//! Charts as SVG text: the trend of an area with benchmark lines, and its breakdown as bars.
//!
//! Secret values are visibly absent: a line breaks where a value is secret and the word
//! `geheim` stands at that place on the axis; a secret bar is not drawn and is labelled `geheim`.
//! Rendering returns a string; writing it to a file is the caller's business.

use plotters::element::{DashedPathElement, Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::{BackendCoord, DrawingErrorKind};

use super::benchmark::{PeerGroup, Reference, compare, measure_unit};
use super::{AreaCode, AreaRegistry, Indicator, ObservationTable, Period};

/// One line of the trend chart.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Series {
    /// The legend label.
    pub label: String,
    /// One value per period of the chart; `None` is absent (missing or secret).
    pub values: Vec<Option<f64>>,
}

/// Everything a chart shows, so it can also be given as JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChartData {
    /// The title.
    pub title: String,
    /// The measure on the vertical axis.
    pub measure: String,
    /// How many decimals a value in that measure is labelled with (none for counts, one for
    /// rates, as [`super::Unit::decimals`] says).
    pub decimals: usize,
    /// The periods along the horizontal axis.
    pub periods: Vec<Period>,
    /// The area first, then the references.
    pub series: Vec<Series>,
    /// Periods in which the area's value is secret.
    pub secret_periods: Vec<Period>,
    /// The breakdown of the latest period: category label and value (`None` = secret).
    pub bars: Vec<(String, Option<f64>)>,
    /// The period of the bars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bars_period: Option<Period>,
    /// The dimension the bars break the total down by (`geslacht`), named in their title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub bars_dimension: String,
    /// Where the figures come from, for the source line.
    pub source: String,
    /// The day the chart was made (`1 december 2026`), for the source line; set by the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub made_on: Option<String>,
    /// Periods in which the area's value is provisional (marked `*`).
    pub provisional_periods: Vec<Period>,
    /// Targets of results measured by the indicator, drawn as flat lines.
    pub targets: Vec<ChartTarget>,
    /// Targets in another measure than the chart's, written under it instead.
    pub untargeted: Vec<String>,
}

/// A target drawn in the chart.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChartTarget {
    /// Its label: `Streefwaarde Minder thuiszitters: 4 (31 december 2030)`.
    pub label: String,
    /// The value, in the chart's measure.
    pub value: f64,
}

impl ChartData {
    /// Adds the targets of the results measured by the indicator that are in the chart's
    /// measure (a count target is not drawn against a per-1,000 trend; it is named in the
    /// source line instead).
    pub fn with_targets(mut self, targets: &super::targets::IndicatorTargets) -> ChartData {
        for r in &targets.results {
            let Some(value) = r.target else { continue };
            let by = r
                .target_date
                .as_deref()
                .and_then(crate::time::dutch_date_text)
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            let label = format!(
                "Streefwaarde {}: {}{by}",
                r.title,
                crate::document::format_number(value)
            );
            if targets.unit.label() == self.measure {
                self.targets.push(ChartTarget { label, value });
            } else {
                self.untargeted
                    .push(format!("{label} ({})", targets.unit.label()));
            }
        }
        self
    }

    /// The line under the chart: source, latest period (provisional marked) and date.
    pub fn source_line(&self) -> String {
        let source = if self.source.is_empty() {
            "onbekend"
        } else {
            self.source.as_str()
        };
        let mut line = format!("Bron: {source}.");
        if let Some(last) = self.periods.last() {
            let provisional = if self.provisional_periods.contains(last) {
                " (voorlopig)"
            } else {
                ""
            };
            line.push_str(&format!(
                " Cijfers tot en met {}{provisional}.",
                last.label()
            ));
        }
        if !self.provisional_periods.is_empty() {
            line.push_str(" * = voorlopig cijfer.");
        }
        if let Some(day) = &self.made_on {
            line.push_str(&format!(" Gemaakt op {day}."));
        }
        line
    }
}

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    /// There is nothing to draw.
    #[error("er zijn geen cijfers van {0} voor deze indicator")]
    Empty(String),
    /// The drawing library failed.
    #[error("tekenen van de grafiek mislukt: {0}")]
    Draw(String),
}

/// The area's own colour, used by no reference.
const AREA_COLOUR: RGBColor = RGBColor(0, 94, 163);

/// The references' colours, taken in turn. Their number (7) and the number of reference
/// markers (5) share no factor, so the first 35 references each have their own pair of colour
/// and marker (and the first seven a colour of their own); the first eight have a dash of
/// their own besides.
const REFERENCE_COLOURS: [RGBColor; 7] = [
    RGBColor(230, 120, 0),
    RGBColor(0, 140, 90),
    RGBColor(150, 60, 160),
    // Brown rather than grey, which the axes are drawn in.
    RGBColor(130, 85, 40),
    RGBColor(70, 165, 225),
    RGBColor(205, 100, 165),
    RGBColor(140, 140, 0),
];

/// The colour of series `i`: the area's for the area, the references' in turn after it.
fn colour_of(i: usize) -> RGBColor {
    match i.checked_sub(1) {
        None => AREA_COLOUR,
        Some(r) => REFERENCE_COLOURS[r % REFERENCE_COLOURS.len()],
    }
}

/// The shape marking the points of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
    HollowCircle,
    HollowSquare,
}

/// The references' markers, taken in turn; the area's filled circle is not among them.
const REFERENCE_MARKERS: [Marker; 5] = [
    Marker::Triangle,
    Marker::Square,
    Marker::Cross,
    Marker::HollowCircle,
    Marker::HollowSquare,
];

/// The marker of series `i`.
fn marker_of(i: usize) -> Marker {
    match i.checked_sub(1) {
        None => Marker::Circle,
        Some(r) => REFERENCE_MARKERS[r % REFERENCE_MARKERS.len()],
    }
}

/// Gathers the chart of `area` with its references over every period the area has figures for.
pub fn chart_data(
    indicator: &Indicator,
    table: &ObservationTable,
    registry: &AreaRegistry,
    area: AreaCode,
    references: &[Reference],
    peers: &PeerGroup,
) -> Result<ChartData, ChartError> {
    let periods: Vec<Period> = table
        .series(area, &super::Breakdown::total())
        .iter()
        .map(|o| o.period)
        .collect();
    let Some(latest) = periods.last().copied() else {
        return Err(ChartError::Empty(registry.label(area)));
    };
    let comparisons: Vec<_> = periods
        .iter()
        .map(|p| compare(indicator, table, registry, area, *p, references, peers))
        .collect();
    let mut series = vec![Series {
        label: registry.label(area),
        values: comparisons.iter().map(|c| c.value).collect(),
    }];
    for (i, r) in references.iter().enumerate() {
        series.push(Series {
            label: comparisons
                .last()
                .and_then(|c| c.references.get(i))
                .map_or_else(|| format!("{r:?}"), |v| v.label.clone()),
            values: comparisons
                .iter()
                .map(|c| c.references.get(i).and_then(|v| v.value))
                .collect(),
        });
    }
    let bars = table
        .breakdowns(area, latest)
        .into_iter()
        .map(|o| {
            let label = o
                .breakdown
                .iter()
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
                .join(", ");
            (label, o.comparable(indicator.unit))
        })
        .collect::<Vec<_>>();
    let total = super::Breakdown::total();
    let provisional_periods = table
        .series(area, &total)
        .iter()
        .filter(|o| o.status == super::Status::Voorlopig)
        .map(|o| o.period)
        .collect();
    let mut dimensions: Vec<String> = table
        .breakdowns(area, latest)
        .iter()
        .flat_map(|o| o.breakdown.iter().map(|(d, _)| d.to_string()))
        .collect();
    dimensions.dedup();
    dimensions.sort();
    dimensions.dedup();
    Ok(ChartData {
        bars_dimension: dimensions.join(" en "),
        source: indicator.source.clone(),
        made_on: None,
        provisional_periods,
        targets: Vec::new(),
        untargeted: Vec::new(),
        title: format!("{}: {}", indicator.title, registry.label(area)),
        measure: measure_unit(indicator, table).label().to_string(),
        decimals: measure_unit(indicator, table).decimals(),
        secret_periods: comparisons
            .iter()
            .filter(|c| c.value.is_none())
            .map(|c| c.period)
            .collect(),
        periods,
        series,
        bars_period: (!bars.is_empty()).then_some(latest),
        bars,
    })
}

/// Draws the chart as an SVG document: the trend (or a sentence when every value is secret),
/// the breakdown of the latest period (or a sentence when all of it is secret), and the source
/// line.
pub fn render_svg(data: &ChartData) -> Result<String, ChartError> {
    let draw = |e: &dyn std::fmt::Display| ChartError::Draw(e.to_string());
    let has_bars = !data.bars.is_empty();
    let bars_shown = data.bars.iter().any(|(_, v)| v.is_some());
    let trend_shown = data
        .series
        .first()
        .is_some_and(|s| s.values.iter().any(Option::is_some));
    let trend_h = if trend_shown {
        PLOT_H + legend_layout(&legend_entries(data)).height
    } else {
        90
    };
    let bars_h = match (has_bars, bars_shown) {
        (false, _) => 0,
        (true, true) => 400,
        (true, false) => 70,
    };
    let foot_h = 30 + 22 * data.untargeted.len() as u32;
    let height = trend_h + bars_h + foot_h;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&BACKGROUND).map_err(|e| draw(&e))?;
        let (top, rest) = root.split_vertically(trend_h);
        let (middle, foot) = rest.split_vertically(bars_h);
        if trend_shown {
            draw_trend(&top, data).map_err(|e| draw(&e))?;
        } else {
            sentence(
                &top,
                &data.title,
                "Alle cijfers van dit gebied zijn geheim: het gaat om zo weinig jongeren dat ze niet getoond worden.",
            )
            .map_err(|e| draw(&e))?;
        }
        if has_bars && bars_shown {
            draw_bars(&middle, data).map_err(|e| draw(&e))?;
        } else if has_bars {
            sentence(
                &middle,
                &bars_title(data),
                "Alle cijfers van deze uitsplitsing zijn geheim (te kleine aantallen).",
            )
            .map_err(|e| draw(&e))?;
        }
        let mut y = 8;
        for line in std::iter::once(data.source_line()).chain(data.untargeted.iter().cloned()) {
            foot.draw(&Text::new(
                line,
                (16, y),
                ("sans-serif", 14).into_font().color(&GREY_TEXT),
            ))
            .map_err(|e| draw(&e))?;
            y += 22;
        }
        root.present().map_err(|e| draw(&e))?;
    }
    Ok(svg)
}

/// Renders the chart as a PNG image, twice the SVG's size for sharp print, with the embedded
/// DejaVu Sans font (so text renders the same on a machine without fonts).
pub fn render_png(data: &ChartData) -> Result<Vec<u8>, ChartError> {
    let svg = render_svg(data)?;
    svg_to_png(&svg, 2.0)
}

/// Renders SVG text to PNG bytes at `scale`, with DejaVu Sans as every sans-serif font.
pub fn svg_to_png(svg: &str, scale: f32) -> Result<Vec<u8>, ChartError> {
    use resvg::tiny_skia;
    let tree = svg_tree(svg)?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or_else(|| ChartError::Draw("de grafiek heeft geen afmetingen".into()))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| ChartError::Draw("de grafiek is te groot".into()))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| ChartError::Draw(e.to_string()))
}

/// Reads SVG text into a tree laid out with DejaVu Sans as every sans-serif font, so text has
/// the same size in every PNG (and in tests that measure it).
fn svg_tree(svg: &str) -> Result<resvg::usvg::Tree, ChartError> {
    use resvg::usvg;
    let mut fonts = usvg::fontdb::Database::new();
    fonts.load_font_data(dejavu::sans::regular().to_vec());
    fonts.load_font_data(dejavu::sans::bold().to_vec());
    fonts.set_sans_serif_family("DejaVu Sans");
    let options = usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: std::sync::Arc::new(fonts),
        ..usvg::Options::default()
    };
    usvg::Tree::from_str(svg, &options).map_err(|e| ChartError::Draw(e.to_string()))
}

const WIDTH: u32 = 960;
/// The size of axis labels, axis names and the legend: readable in print when the chart is
/// scaled to the width of an A4 page (about half its size).
const LABEL_PX: u32 = 20;
const GREY_TEXT: RGBColor = RGBColor(80, 80, 80);
const TARGET_COLOUR: RGBColor = RGBColor(190, 30, 45);
/// The chart's background.
const BACKGROUND: RGBColor = WHITE;
/// The grid at the labelled values of the vertical axis: a light grey, lighter than the axes
/// and than every line, bar and marker of data, so that it stays behind the figures.
const GRID_COLOUR: RGBColor = RGBColor(225, 225, 225);
/// The finer grid between the labelled values, in the background's colour: not seen.
const FINE_GRID_COLOUR: RGBColor = BACKGROUND;
/// The axes and their ticks.
const AXIS_COLOUR: RGBColor = RGBColor(120, 120, 120);

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// A titled panel holding one sentence instead of a chart.
fn sentence(area: &Area<'_>, title: &str, text: &str) -> DrawResult {
    area.draw(&Text::new(
        title.to_string(),
        (16, 12),
        ("sans-serif", 20).into_font(),
    ))?;
    area.draw(&Text::new(
        text.to_string(),
        (16, 44),
        ("sans-serif", 16).into_font().color(&GREY_TEXT),
    ))?;
    Ok(())
}

fn top_of(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0f64, f64::max);
    if max > 0.0 { max * 1.15 } else { 1.0 }
}

fn bars_title(data: &ChartData) -> String {
    let by = if data.bars_dimension.is_empty() {
        String::new()
    } else {
        format!(" naar {}", data.bars_dimension)
    };
    match data.bars_period {
        Some(p) => format!("Uitsplitsing{by}, {}", p.label()),
        None => format!("Uitsplitsing{by}"),
    }
}

fn draw_trend(whole: &Area<'_>, data: &ChartData) -> DrawResult {
    let (area, legend_area) = whole.split_vertically(PLOT_H);
    let area = &area;
    let n = data.periods.len();
    let top = top_of(
        data.series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied())
            .chain(data.targets.iter().map(|t| t.value)),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(&data.title, ("sans-serif", 22))
        .margin(16)
        .margin_right(right_margin(data))
        .x_label_area_size(56)
        .y_label_area_size(84)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    let periods = data.periods.clone();
    let provisional = data.provisional_periods.clone();
    chart
        .configure_mesh()
        .x_labels(n.max(2))
        .x_label_formatter(&|x| {
            let label = label_at(&periods, *x);
            let at = x.round();
            let marked = at >= 0.0
                && periods
                    .get(at as usize)
                    .is_some_and(|p| provisional.contains(p));
            if marked && !label.is_empty() {
                format!("{label}*")
            } else {
                label
            }
        })
        .x_desc("Periode")
        .y_desc(data.measure.as_str())
        .label_style(("sans-serif", LABEL_PX))
        .axis_desc_style(("sans-serif", LABEL_PX))
        .y_label_formatter(&axis_number)
        .bold_line_style(GRID_COLOUR)
        .light_line_style(FINE_GRID_COLOUR)
        .axis_style(AXIS_COLOUR)
        .disable_x_mesh()
        .draw()?;
    for target in &data.targets {
        chart.draw_series(DashedLineSeries::new(
            [(-0.5, target.value), (n as f64 - 0.5, target.value)],
            TARGET_DASH.0,
            TARGET_DASH.1,
            target_style(),
        ))?;
    }
    let mut ends: Vec<(f64, String, RGBColor)> = Vec::new();
    for (i, series) in data.series.iter().enumerate() {
        let colour = colour_of(i);
        let style = line_style(i, colour);
        for segment in segments(&series.values) {
            match dash_of(i) {
                None => chart.draw_series(LineSeries::new(segment.clone(), style))?,
                Some((dash, gap)) => {
                    chart.draw_series(DashedLineSeries::new(segment.clone(), dash, gap, style))?
                }
            };
            chart.draw_series(
                segment
                    .iter()
                    .map(|p| EmptyElement::at(*p) + Sample::marker(i, colour)),
            )?;
        }
        if let Some((x, v)) = series
            .values
            .iter()
            .enumerate()
            .rev()
            .find_map(|(x, v)| v.map(|v| (x, v)))
            && x + 1 == n
        {
            ends.push((v, series.label.clone(), colour));
        }
    }
    // Direct labels at the right end of each line, moved apart so they never overlap.
    ends.sort_by(|a, b| b.0.total_cmp(&a.0));
    let to_px = |v: f64| chart.backend_coord(&(n as f64 - 0.5, v)).1;
    let mut last_y = i32::MIN;
    let x_px = chart.backend_coord(&(n as f64 - 0.5, 0.0)).0 + END_GAP;
    for (v, label, colour) in &ends {
        let y = to_px(*v).max(last_y + 18);
        last_y = y;
        area.draw(&Text::new(
            end_label(*v, label, data.decimals),
            (x_px, y - 7),
            ("sans-serif", END_PX).into_font().color(colour),
        ))?;
    }
    for period in &data.secret_periods {
        if let Some(x) = data.periods.iter().position(|p| p == period) {
            chart.draw_series(std::iter::once(Text::new(
                "geheim",
                (x as f64 - 0.2, top * 0.04),
                ("sans-serif", 14).into_font().color(&RED),
            )))?;
        }
    }
    draw_legend(&legend_area, data)
}

/// The height of the trend's plot, without the legend under it.
const PLOT_H: u32 = 480;
/// The dash and gap of a target's line.
const TARGET_DASH: (u32, u32) = (10, 6);
/// The legend's margins: from the panel's left edge, and inside its frame.
const LEGEND_X: i32 = 16;
const LEGEND_PAD: i32 = 10;
/// The height of one row of the legend.
const LEGEND_ROW: i32 = 30;
/// The room between two entries on one row.
const LEGEND_GAP: i32 = 28;

fn target_style() -> ShapeStyle {
    ShapeStyle::from(&TARGET_COLOUR).stroke_width(2)
}

/// What one legend entry shows beside its label.
#[derive(Debug, Clone, Copy)]
enum Key {
    /// The dashed red line of a target.
    Target,
    /// Series `i`'s line and marker.
    Series(usize),
}

/// The legend's entries: the targets, then the area and its references.
fn legend_entries(data: &ChartData) -> Vec<(String, Key)> {
    let targets = data.targets.iter().map(|t| (t.label.clone(), Key::Target));
    let series = (data.series.iter().enumerate()).map(|(i, s)| (s.label.clone(), Key::Series(i)));
    targets.chain(series).collect()
}

/// Where the legend's entries go: below the plot, outside it, so the legend never covers a
/// line, a marker or a target. Entries are set left to right and wrap to a new row when the
/// next would pass the chart's width; `height` is the room the legend takes.
struct LegendLayout {
    /// The top left corner of each entry, relative to the legend's panel.
    at: Vec<(i32, i32)>,
    /// The frame's width.
    width: i32,
    /// The panel's height, frame and margins included (0 without entries).
    height: u32,
}

/// The width of an entry: its sample, and its label measured by [`text_width`] (a little
/// generous, so no label runs out of its frame).
fn entry_width(label: &str) -> i32 {
    LEGEND_LINE + 8 + text_width(label, LABEL_PX)
}

fn legend_layout(entries: &[(String, Key)]) -> LegendLayout {
    if entries.is_empty() {
        return LegendLayout {
            at: Vec::new(),
            width: 0,
            height: 0,
        };
    }
    let room = WIDTH as i32 - 2 * LEGEND_X - 2 * LEGEND_PAD;
    let (mut x, mut y, mut widest) = (0, 0, 0);
    let mut at = Vec::new();
    for (label, _) in entries {
        let w = entry_width(label).min(room);
        if x > 0 && x + w > room {
            x = 0;
            y += LEGEND_ROW;
        }
        at.push((LEGEND_X + LEGEND_PAD + x, LEGEND_PAD + y));
        widest = widest.max(x + w);
        x += w + LEGEND_GAP;
    }
    let framed = y + LEGEND_ROW + 2 * LEGEND_PAD;
    LegendLayout {
        at,
        width: widest + 2 * LEGEND_PAD,
        height: u32::try_from(framed + 12).unwrap_or(0),
    }
}

/// Draws the legend in its own panel under the plot: a light frame, and per entry the
/// line's sample (its dash and marker, as on the line) and its label.
fn draw_legend(area: &Area<'_>, data: &ChartData) -> DrawResult {
    let entries = legend_entries(data);
    let layout = legend_layout(&entries);
    if entries.is_empty() {
        return Ok(());
    }
    let rows = layout.at.last().map_or(0, |(_, y)| y - LEGEND_PAD) + LEGEND_ROW;
    area.draw(&Rectangle::new(
        [
            (LEGEND_X, 0),
            (LEGEND_X + layout.width, rows + 2 * LEGEND_PAD),
        ],
        ShapeStyle::from(&RGBColor(200, 200, 200)).stroke_width(1),
    ))?;
    for ((label, key), (x, y)) in entries.iter().zip(&layout.at) {
        let mid = y + LEGEND_ROW / 2;
        match *key {
            Key::Target => area.draw(&DashedPathElement::new(
                [(*x, mid), (x + LEGEND_LINE, mid)],
                TARGET_DASH.0,
                TARGET_DASH.1,
                target_style(),
            ))?,
            Key::Series(i) => {
                area.draw(&(EmptyElement::at((*x, mid)) + Sample::legend(i, colour_of(i))))?
            }
        }
        area.draw(&Text::new(
            label.clone(),
            (x + LEGEND_LINE + 8, mid - LABEL_PX as i32 / 2),
            ("sans-serif", LABEL_PX).into_font(),
        ))?;
    }
    Ok(())
}

/// The size of a direct label at the end of a line.
const END_PX: u32 = 14;
/// The room between the plot's right edge and a direct label.
const END_GAP: i32 = 8;
/// The most room the direct labels may take right of the plot; a longer label is cut short
/// with an ellipsis so that it never runs past the chart's edge.
const END_ROOM: i32 = 260;

/// The approximate width of `text` at `px` pixels: DejaVu Sans' glyphs average a little under
/// 0.6 of the font size, so this errs on the wide side.
fn text_width(text: &str, px: u32) -> i32 {
    let chars = i32::try_from(text.chars().count()).unwrap_or(i32::MAX / 32);
    chars.saturating_mul(px as i32 * 3 / 5)
}

/// The direct label at the end of a line: the last value and the first words of the label
/// (up to a comma), cut with an ellipsis where it would not fit in [`END_ROOM`].
fn end_label(value: f64, label: &str, decimals: usize) -> String {
    let first = label.split(',').next().unwrap_or(label).trim_end();
    let text = format!("{} {first}", value_label(value, decimals));
    if text_width(&text, END_PX) <= END_ROOM {
        return text;
    }
    let fits = usize::try_from(END_ROOM / text_width("x", END_PX)).unwrap_or(0);
    let cut: String = text.chars().take(fits.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The right margin of the trend and the bars (the same, so their axes line up): room for the
/// widest direct label that will be drawn, and a little more than the outer margin without.
fn right_margin(data: &ChartData) -> i32 {
    let n = data.periods.len();
    let widest = data
        .series
        .iter()
        .filter_map(|s| match s.values.get(n.checked_sub(1)?) {
            Some(Some(v)) => Some(text_width(&end_label(*v, &s.label, data.decimals), END_PX)),
            _ => None,
        })
        .max();
    widest.map_or(24, |w| END_GAP + w + 12)
}

/// How long a legend entry's stretch of line is, in pixels: room for two whole dashes of every
/// pattern in [`REFERENCE_DASHES`], so that no dashed line looks solid in the legend.
const LEGEND_LINE: i32 = 48;

/// The references' dashes (dash and gap, in pixels), taken in turn: long, short, dotted, sparse
/// and dense, each of its own length, and none longer than half a legend sample with its gap.
const REFERENCE_DASHES: [(u32, u32); 8] = [
    (14, 4),
    (6, 4),
    (2, 4),
    (10, 8),
    (18, 4),
    (4, 8),
    (8, 3),
    (12, 10),
];

/// The dash of series `i`'s line (dash and gap, in pixels); `None` for the solid line of the
/// area itself. The first eight references each have a dash of their own.
fn dash_of(i: usize) -> Option<(u32, u32)> {
    let r = i.checked_sub(1)?;
    Some(REFERENCE_DASHES[r % REFERENCE_DASHES.len()])
}

/// Series `i`'s marker after a stretch of its line in the series' own dash, as one plotters
/// element: the markers on the lines (with no stretch of line) and the samples in the legend
/// are drawn by it alike, so the legend reads like the lines. Markers are filled circles for
/// the area, then (see [`marker_of`]) triangles, squares, crosses, hollow circles and hollow
/// squares.
struct Sample {
    i: usize,
    colour: RGBColor,
    /// The stretch of line, in pixels from where the sample is placed; empty for none.
    line: Vec<BackendCoord>,
    /// The marker's centre, in pixels from where the sample is placed.
    centre: BackendCoord,
}

impl Sample {
    /// Series `i`'s marker alone, on a point of its line.
    fn marker(i: usize, colour: RGBColor) -> Sample {
        Sample {
            i,
            colour,
            line: Vec::new(),
            centre: (0, 0),
        }
    }

    /// Series `i`'s legend sample: a stretch of its line with its marker in the middle.
    fn legend(i: usize, colour: RGBColor) -> Sample {
        Sample {
            i,
            colour,
            line: vec![(0, 0), (LEGEND_LINE, 0)],
            centre: (LEGEND_LINE / 2, 0),
        }
    }
}

impl<'a> PointCollection<'a, BackendCoord> for &'a Sample {
    type Point = &'a BackendCoord;
    type IntoIter =
        std::iter::Chain<std::slice::Iter<'a, BackendCoord>, std::iter::Once<&'a BackendCoord>>;

    fn point_iter(self) -> Self::IntoIter {
        self.line.iter().chain(std::iter::once(&self.centre))
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Sample {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        points: I,
        backend: &mut DB,
        parent: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        let mut line: Vec<BackendCoord> = points.collect();
        let Some(centre) = line.pop() else {
            return Ok(());
        };
        if line.len() > 1 {
            // The solid line of the area: a dash longer than any stretch.
            let (dash, gap) = dash_of(self.i).unwrap_or((10_000, 0));
            let style = line_style(self.i, self.colour);
            DashedPathElement::new(line.clone(), dash, gap, style).draw(
                line.into_iter(),
                backend,
                parent,
            )?;
        }
        let filled = ShapeStyle::from(&self.colour).filled();
        let thin = ShapeStyle::from(&self.colour).stroke_width(2);
        let at = std::iter::once(centre);
        let (x, y) = centre;
        let square = |style: ShapeStyle, backend: &mut DB| {
            let corners = [(x - 4, y - 4), (x + 4, y + 4)];
            Rectangle::new(corners, style).draw(corners.into_iter(), backend, parent)
        };
        match marker_of(self.i) {
            Marker::Circle => Circle::new(centre, 5, filled).draw(at, backend, parent),
            Marker::Triangle => TriangleMarker::new(centre, 6, filled).draw(at, backend, parent),
            Marker::Square => square(filled, backend),
            Marker::Cross => Cross::new(centre, 5, thin).draw(at, backend, parent),
            Marker::HollowCircle => Circle::new(centre, 5, thin).draw(at, backend, parent),
            Marker::HollowSquare => square(thin, backend),
        }
    }
}

/// The stroke of series `i`'s line: the area's is thicker.
fn line_style(i: usize, colour: RGBColor) -> ShapeStyle {
    ShapeStyle::from(&colour).stroke_width(if i == 0 { 3 } else { 2 })
}

fn draw_bars(area: &Area<'_>, data: &ChartData) -> DrawResult {
    let n = data.bars.len();
    let top = top_of(data.bars.iter().filter_map(|(_, v)| *v));
    let mut chart = ChartBuilder::on(area)
        .caption(bars_title(data), ("sans-serif", 20))
        .margin(16)
        .margin_right(right_margin(data))
        .x_label_area_size(56)
        .y_label_area_size(84)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    let labels: Vec<String> = data.bars.iter().map(|(l, _)| l.clone()).collect();
    chart
        .configure_mesh()
        .x_labels(n.max(2))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(data.measure.as_str())
        .label_style(("sans-serif", LABEL_PX))
        .axis_desc_style(("sans-serif", LABEL_PX))
        .y_label_formatter(&axis_number)
        .bold_line_style(GRID_COLOUR)
        .light_line_style(FINE_GRID_COLOUR)
        .axis_style(AXIS_COLOUR)
        .disable_x_mesh()
        .draw()?;
    for (i, (_, value)) in data.bars.iter().enumerate() {
        let x = i as f64;
        match value {
            Some(v) => {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.3, 0.0), (x + 0.3, *v)],
                    AREA_COLOUR.filled(),
                )))?;
                chart.draw_series(std::iter::once(Text::new(
                    value_label(*v, data.decimals),
                    (x - 0.05, *v + top * 0.06),
                    ("sans-serif", 14).into_font(),
                )))?;
            }
            None => {
                chart.draw_series(std::iter::once(Text::new(
                    "geheim",
                    (x - 0.15, top * 0.04),
                    ("sans-serif", 14).into_font().color(&RED),
                )))?;
            }
        }
    }
    Ok(())
}

/// A number on the vertical axis, with a decimal comma and at most one decimal.
fn axis_number(y: &f64) -> String {
    crate::document::format_number(super::indicator::round_decimals(*y, 1))
}

/// A value as a label: with exactly `decimals` decimals and a decimal comma (`5,0`, `12`).
fn value_label(value: f64, decimals: usize) -> String {
    let value = super::indicator::round_decimals(value, decimals);
    format!("{value:.decimals$}").replace('.', ",")
}

/// The label of the period at tick `x` (only at whole positions).
fn label_at(periods: &[Period], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() > 0.01 || i < 0.0 {
        return String::new();
    }
    periods
        .get(i as usize)
        .map(Period::label)
        .unwrap_or_default()
}

/// Consecutive runs of present values, as points.
fn segments(values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => current.push((i as f64, *v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_break_the_line() {
        let segs = segments(&[Some(1.0), None, Some(3.0), Some(4.0), None]);
        assert_eq!(segs, vec![vec![(0.0, 1.0)], vec![(2.0, 3.0), (3.0, 4.0)]]);
    }

    fn example(area_values: Vec<Option<f64>>, bars: Vec<(String, Option<f64>)>) -> ChartData {
        ChartData {
            title: "Thuiszitters: Havenstad (GM9901)".into(),
            measure: "per 1.000".into(),
            decimals: 1,
            periods: (2019..=2024).map(Period::year).collect(),
            secret_periods: area_values
                .iter()
                .zip(2019..)
                .filter(|(v, _)| v.is_none())
                .map(|(_, y)| Period::year(y))
                .collect(),
            series: vec![
                Series {
                    label: "Havenstad (GM9901)".into(),
                    values: area_values,
                },
                Series {
                    label: "Nederland, berekend uit 12 gemeenten".into(),
                    values: vec![
                        Some(6.2),
                        Some(6.1),
                        Some(6.0),
                        Some(5.9),
                        Some(5.9),
                        Some(5.8),
                    ],
                },
                Series {
                    label: "Jeugdregio Havenland (JZ99)".into(),
                    values: vec![
                        Some(6.2),
                        Some(6.1),
                        Some(6.1),
                        Some(5.9),
                        Some(5.8),
                        Some(5.8),
                    ],
                },
            ],
            bars_period: (!bars.is_empty()).then_some(Period::year(2024)),
            bars,
            bars_dimension: "geslacht".into(),
            source: "synthetisch, in de vorm van de leerplichtcijfers".into(),
            made_on: Some("1 december 2026".into()),
            provisional_periods: vec![Period::year(2024)],
            targets: vec![ChartTarget {
                label: "Streefwaarde Minder thuiszitters: 4 (31 december 2030)".into(),
                value: 4.0,
            }],
            untargeted: Vec::new(),
        }
    }

    /// An area's values falling over the six years, none of them secret.
    fn falling() -> Vec<Option<f64>> {
        [6.5, 6.3, 6.0, 5.8, 5.5, 5.0].map(Some).to_vec()
    }

    /// Keeps a rendered example where people can look at it after the tests.
    fn keep(name: &str, bytes: &[u8]) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/charts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    fn texts(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).unwrap();
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(|t| t.trim().to_string()))
            .collect()
    }

    #[test]
    fn a_report_chart_has_its_source_marks_target_and_labels() {
        let data = example(
            vec![Some(6.5), None, Some(6.0), Some(5.8), Some(5.5), Some(5.0)],
            vec![("Meisjes".into(), Some(4.2)), ("Jongens".into(), Some(5.8))],
        );
        let svg = render_svg(&data).unwrap();
        keep("trend-en-uitsplitsing.svg", svg.as_bytes());
        let texts = texts(&svg);
        let has = |t: &str| texts.iter().any(|x| x == t);
        assert!(
            has(
                "Bron: synthetisch, in de vorm van de leerplichtcijfers. Cijfers tot en met 2024 (voorlopig). * = voorlopig cijfer. Gemaakt op 1 december 2026."
            ),
            "{texts:?}"
        );
        for t in [
            "2024*",
            "2023",
            "geheim",
            "Uitsplitsing naar geslacht, 2024",
            "Streefwaarde Minder thuiszitters: 4 (31 december 2030)",
            "5,0 Havenstad (GM9901)",
            "5,8 Nederland",
            "Meisjes",
            "4,2",
        ] {
            assert!(has(t), "no text {t:?} in {texts:?}");
        }
        // The area's line is broken in two by the secret year; the references are dashed, so
        // drawn in many short pieces; the target is a dashed line of its own colour.
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let strokes = |colour: &str| {
            doc.descendants()
                .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(colour))
                .filter(|n| n.attribute("points").is_some_and(|p| p.contains(' ')))
                .count()
        };
        assert_eq!(strokes("#005EA3"), 2 + 1, "two pieces and the legend");
        assert!(strokes("#E67800") > 6, "dashed: {}", strokes("#E67800"));
        assert!(strokes("#BE1E2D") > 10, "the target, dashed");
        // Markers: circles for the area, triangles (polygons) for the national line.
        let circles = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle"))
            .count();
        assert!(circles >= 5, "{circles}");
        assert!(doc.descendants().any(|n| n.has_tag_name("polygon")));
    }

    /// A drawn shape read back from the SVG: what it is, its centre, its colour and (for a
    /// stretch of line) its length.
    #[derive(Debug, Clone, PartialEq)]
    struct Shape {
        kind: &'static str,
        x: f64,
        y: f64,
        colour: String,
        length: f64,
    }

    fn shapes(doc: &roxmltree::Document<'_>) -> Vec<Shape> {
        let num = |n: roxmltree::Node<'_, '_>, a: &str| -> f64 {
            n.attribute(a).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        };
        let points = |n: roxmltree::Node<'_, '_>| -> Vec<(f64, f64)> {
            n.attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|p| p.split_once(','))
                .filter_map(|(x, y)| Some((x.parse().ok()?, y.parse().ok()?)))
                .collect()
        };
        let colour = |n: roxmltree::Node<'_, '_>| -> String {
            match n.attribute("fill") {
                Some(f) if f != "none" => f.to_string(),
                _ => n.attribute("stroke").unwrap_or("").to_string(),
            }
        };
        let mut out = Vec::new();
        for n in doc.descendants() {
            let shape = |kind, x, y, length| Shape {
                kind,
                x,
                y,
                colour: colour(n),
                length,
            };
            match n.tag_name().name() {
                "circle" => {
                    let kind = if n.attribute("fill") == Some("none") {
                        "hollow circle"
                    } else {
                        "circle"
                    };
                    out.push(shape(kind, num(n, "cx"), num(n, "cy"), 0.0));
                }
                "polygon" => {
                    let p = points(n);
                    let k = p.len().max(1) as f64;
                    let (x, y) = p.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
                    out.push(shape("triangle", x / k, y / k, 0.0));
                }
                "rect" => out.push(shape(
                    if n.attribute("fill") == Some("none") {
                        "hollow square"
                    } else {
                        "square"
                    },
                    num(n, "x") + num(n, "width") / 2.0,
                    num(n, "y") + num(n, "height") / 2.0,
                    num(n, "width"),
                )),
                "line" => {
                    let (x1, y1, x2, y2) = (num(n, "x1"), num(n, "y1"), num(n, "x2"), num(n, "y2"));
                    let length = (x2 - x1).hypot(y2 - y1);
                    // The arms of a cross; longer lines are the axes and the grid.
                    if length < 16.0 {
                        out.push(shape("cross", (x1 + x2) / 2.0, (y1 + y2) / 2.0, length));
                    }
                }
                "polyline" => {
                    let p = points(n);
                    if let (Some(first), Some(last)) = (p.first(), p.last()) {
                        let length = p
                            .windows(2)
                            .map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1))
                            .sum();
                        out.push(shape("line", (first.0 + last.0) / 2.0, first.1, length));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The legend's frame read back from the SVG: left, top, right, bottom.
    fn legend_frame(doc: &roxmltree::Document<'_>) -> (f64, f64, f64, f64) {
        let frame = doc
            .descendants()
            .find(|n| n.has_tag_name("rect") && n.attribute("stroke") == Some("#C8C8C8"))
            .expect("the legend's frame");
        let attr = |a: &str| -> f64 { frame.attribute(a).unwrap().parse().unwrap() };
        let (left, top) = (attr("x"), attr("y"));
        (left, top, left + attr("width"), top + attr("height"))
    }

    #[test]
    fn every_legend_entry_shows_the_marker_and_dash_of_its_line() {
        // The area and seven references: eight series, each of its own colour.
        let mut data = example(falling(), Vec::new());
        for (label, value) in [
            ("Vergelijkbare gemeenten", 5.2),
            ("Kustdorp (GM9903)", 3.1),
            ("Heuvelrug (GM9904)", 2.4),
            ("Veenstad (GM9905)", 4.4),
            ("Duinwijk (GM9906)", 1.6),
        ] {
            data.series.push(Series {
                label: label.into(),
                values: vec![Some(value); 6],
            });
        }
        assert_eq!(data.series.len(), 1 + REFERENCE_COLOURS.len());
        let svg = render_svg(&data).unwrap();
        keep("legenda.svg", svg.as_bytes());
        keep("legenda.png", &render_png(&data).unwrap());
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let (left, top, right, bottom) = legend_frame(&doc);
        let in_legend = |s: &Shape| s.x > left && s.x < right && s.y > top && s.y < bottom;
        let all = shapes(&doc);
        let mut seen_kinds = Vec::new();
        for (i, series) in data.series.iter().enumerate() {
            let c = colour_of(i);
            let colour = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
            let label = doc
                .descendants()
                .find(|n| n.has_tag_name("text") && n.text().map(str::trim) == Some(&series.label))
                .unwrap_or_else(|| panic!("no legend label {}", series.label));
            let label_y: f64 = label.attribute("y").unwrap().parse().unwrap();
            // The entry: the shapes of the series' colour in the legend, beside its label.
            let entry: Vec<&Shape> = all
                .iter()
                .filter(|s| s.colour == colour && in_legend(s))
                .filter(|s| s.y >= label_y && s.y <= label_y + 12.0)
                .collect();
            let plotted: Vec<&Shape> = all
                .iter()
                .filter(|s| s.colour == colour && !in_legend(s))
                .collect();
            let markers = |shapes: &[&Shape]| -> Vec<&'static str> {
                let mut kinds: Vec<&str> = shapes
                    .iter()
                    .filter(|s| s.kind != "line")
                    .map(|s| s.kind)
                    .collect();
                kinds.sort_unstable();
                kinds.dedup();
                kinds
            };
            let marker = markers(&entry);
            assert_eq!(
                marker.len(),
                1,
                "series {i}: one marker in its entry: {entry:?}"
            );
            assert_eq!(
                marker,
                markers(&plotted),
                "series {i}: the marker of its line"
            );
            seen_kinds.push(marker[0]);
            // The dash: the longest piece of line in the entry is a whole dash of the line's.
            let longest = |shapes: &[&Shape]| {
                shapes
                    .iter()
                    .filter(|s| s.kind == "line" && s.length > 0.0)
                    .map(|s| s.length)
                    .fold(0.0f64, f64::max)
            };
            let pieces = entry.iter().filter(|s| s.kind == "line").count();
            match dash_of(i) {
                None => assert_eq!(pieces, 1, "series {i}: a solid line in its entry"),
                Some((dash, _)) => {
                    // Two whole dashes at least, so the entry cannot be taken for a solid line.
                    let whole = entry
                        .iter()
                        .filter(|s| s.kind == "line" && (s.length - f64::from(dash)).abs() < 1.5)
                        .count();
                    assert!(whole >= 2, "series {i}: two dashes in its entry: {entry:?}");
                    assert!(
                        (longest(&entry) - f64::from(dash)).abs() < 1.5,
                        "series {i}: dash {} in the entry, {dash} on the line",
                        longest(&entry)
                    );
                    assert!(
                        (longest(&plotted) - f64::from(dash)).abs() < 1.5,
                        "series {i}: dash {} on the line",
                        longest(&plotted)
                    );
                }
            }
        }
        assert_eq!(
            seen_kinds,
            [
                "circle",
                "triangle",
                "square",
                "cross",
                "hollow circle",
                "hollow square",
                "triangle",
                "square"
            ],
            "the markers in turn"
        );
        // No two series look alike: each has its own dash, and its own colour and marker.
        let looks: std::collections::BTreeSet<_> = (0..data.series.len())
            .map(|i| {
                let c = colour_of(i);
                (dash_of(i), marker_of(i) as u8, (c.0, c.1, c.2))
            })
            .collect();
        assert_eq!(looks.len(), data.series.len());
        let dashes: std::collections::BTreeSet<_> = (0..data.series.len()).map(dash_of).collect();
        assert_eq!(dashes.len(), data.series.len(), "a dash of its own");
        // The target's entry is dashed like the target line.
        let target: Vec<&Shape> = all
            .iter()
            .filter(|s| s.colour == "#BE1E2D" && in_legend(s) && s.kind == "line")
            .collect();
        assert!(target.len() >= 2, "{target:?}");
    }

    #[test]
    fn the_legend_covers_no_point_line_or_target_of_the_plot() {
        // Lines at the bottom, in the middle and at the top of the plot, a target, and labels
        // long enough to need more than one row of the legend.
        let mut data = example(falling(), Vec::new());
        for (label, value) in [
            ("Vergelijkbare gemeenten in dezelfde grootteklasse", 0.4),
            ("Kustdorp (GM9903), een kleine gemeente aan zee", 3.1),
            ("Regio Noordkust, berekend uit 6 gemeenten", 9.8),
        ] {
            data.series.push(Series {
                label: label.into(),
                values: vec![Some(value); 6],
            });
        }
        let svg = render_svg(&data).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let (left, top, right, bottom) = legend_frame(&doc);
        let inside = |(x, y): (f64, f64)| x >= left && x <= right && y >= top && y <= bottom;
        // Every point of every plotted line (series and targets) and every marker.
        let mut plotted = 0;
        let mut in_legend = 0;
        for n in doc.descendants() {
            let coloured = |c: &RGBColor| {
                let hex = format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
                n.attribute("stroke") == Some(hex.as_str())
                    || n.attribute("fill") == Some(hex.as_str())
            };
            let ours = std::iter::once(&AREA_COLOUR).chain(&REFERENCE_COLOURS);
            if !ours.chain([&TARGET_COLOUR]).any(coloured) {
                continue;
            }
            let num =
                |a: &str| -> f64 { n.attribute(a).and_then(|v| v.parse().ok()).unwrap_or(0.0) };
            let points: Vec<(f64, f64)> = match n.tag_name().name() {
                "polyline" | "polygon" => n
                    .attribute("points")
                    .unwrap_or("")
                    .split_whitespace()
                    .filter_map(|p| p.split_once(','))
                    .filter_map(|(x, y)| Some((x.parse().ok()?, y.parse().ok()?)))
                    .collect(),
                "circle" => vec![(num("cx"), num("cy"))],
                "rect" => vec![(num("x"), num("y"))],
                "line" => vec![(num("x1"), num("y1")), (num("x2"), num("y2"))],
                _ => Vec::new(),
            };
            if points.is_empty() {
                continue;
            }
            if points.iter().all(|p| inside(*p)) {
                in_legend += 1;
            } else {
                plotted += 1;
                let under: Vec<&(f64, f64)> = points.iter().filter(|p| inside(**p)).collect();
                assert!(
                    under.is_empty(),
                    "a {} of the plot lies under the legend ({left},{top})-({right},{bottom}): {under:?}",
                    n.tag_name().name()
                );
            }
        }
        assert!(plotted > 20, "the lines and markers were found: {plotted}");
        assert!(
            in_legend >= 6,
            "the legend's samples were found: {in_legend}"
        );
        // The legend took more than one row for its long labels and still fits the chart.
        let layout = legend_layout(&legend_entries(&data));
        assert!(
            layout.at.iter().any(|(_, y)| *y > LEGEND_PAD),
            "{:?}",
            layout.at
        );
        assert!(right <= f64::from(WIDTH));
        keep("legenda-lang.png", &render_png(&data).unwrap());
    }

    #[test]
    fn everything_secret_gives_sentences_instead_of_empty_panels() {
        let data = example(
            vec![None; 6],
            vec![("Meisjes".into(), None), ("Jongens".into(), None)],
        );
        let svg = render_svg(&data).unwrap();
        keep("alles-geheim.svg", svg.as_bytes());
        let texts = texts(&svg);
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("Alle cijfers van dit gebied zijn geheim"))
        );
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("Alle cijfers van deze uitsplitsing zijn geheim"))
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        assert_eq!(
            doc.descendants()
                .filter(|n| n.has_tag_name("polyline"))
                .count(),
            0
        );
    }

    #[test]
    fn a_png_is_rendered_with_the_embedded_font() {
        let data = example(
            falling(),
            vec![("Meisjes".into(), Some(4.2)), ("Jongens".into(), None)],
        );
        let png = render_png(&data).unwrap();
        keep("trend-en-uitsplitsing.png", &png);
        let trend_only = ChartData {
            bars: Vec::new(),
            bars_period: None,
            ..data.clone()
        };
        keep("trend.png", &render_png(&trend_only).unwrap());
        let secret = example(vec![None; 6], vec![("Meisjes".into(), None)]);
        keep("alles-geheim.png", &render_png(&secret).unwrap());
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        // Twice the SVG's 960 x (plot + legend + bars 400 + foot 30) pixels.
        let legend = legend_layout(&legend_entries(&data)).height;
        assert!(legend >= 60, "a legend panel of {legend} px");
        assert_eq!(
            (info.width, info.height),
            (1920, 2 * (PLOT_H + legend + 430))
        );
        // Text was drawn: without a font the PNG of the sentence panel would hold no dark pixels.
        let svg_text = svg_to_png(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><rect width="200" height="40" fill="white"/><text x="4" y="28" font-family="sans-serif" font-size="20">geheim</text></svg>"#,
            1.0,
        )
        .unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&svg_text))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        let dark = buf.chunks(4).filter(|p| p[0] < 100).count();
        assert!(dark > 50, "only {dark} dark pixels: no font?");
    }

    /// Every series of `data` with a long label and a value in the last period, so each gets a
    /// direct label; `extra` references besides the example's two.
    fn with_references(extra: usize) -> ChartData {
        let mut data = example(falling(), Vec::new());
        for r in 0..extra {
            data.series.push(Series {
                label: format!("Vergelijkbare gemeente nummer {r} in de provincie Zuidkust"),
                values: vec![Some(1.0 + r as f64 * 1.3); 6],
            });
        }
        data
    }

    #[test]
    fn no_text_runs_past_the_edge_of_the_chart() {
        let data = with_references(4);
        let svg = render_svg(&data).unwrap();
        keep("eindlabels.svg", svg.as_bytes());
        keep("eindlabels.png", &render_png(&data).unwrap());
        // Measured as rendered with the embedded font, not estimated.
        let tree = svg_tree(&svg).unwrap();
        let (width, height) = (tree.size().width(), tree.size().height());
        fn walk(group: &resvg::usvg::Group, out: &mut Vec<(String, resvg::usvg::Rect)>) {
            for node in group.children() {
                match node {
                    resvg::usvg::Node::Group(g) => walk(g, out),
                    resvg::usvg::Node::Text(t) => {
                        let text = t.chunks().iter().map(|c| c.text()).collect();
                        out.push((text, t.abs_bounding_box()));
                    }
                    _ => {}
                }
            }
        }
        let mut texts = Vec::new();
        walk(tree.root(), &mut texts);
        let ends: Vec<&String> = texts
            .iter()
            .map(|(t, _)| t)
            .filter(|t| data.series.iter().any(|s| t.contains(&s.label[..6])))
            .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        assert_eq!(
            ends.len(),
            data.series.len(),
            "a direct label per line: {ends:?}"
        );
        assert!(
            ends.iter().any(|t| t.ends_with('…')),
            "a long label is cut: {ends:?}"
        );
        for (text, b) in &texts {
            assert!(
                b.left() >= 0.0 && b.right() <= width && b.top() >= 0.0 && b.bottom() <= height,
                "{text:?} runs from {} to {} of {width} wide, {} to {} of {height} high",
                b.left(),
                b.right(),
                b.top(),
                b.bottom()
            );
        }
        // Every direct label's estimate is at least its rendered width, which the margin uses.
        for (text, b) in texts.iter().filter(|(t, _)| ends.contains(&t)) {
            assert!(
                f64::from(text_width(text, END_PX)) >= f64::from(b.width()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn every_series_has_a_colour_and_marker_of_its_own() {
        // The area and eleven references: more than there are colours or markers.
        let data = with_references(9);
        let svg = render_svg(&data).unwrap();
        keep("veel-lijnen.png", &render_png(&data).unwrap());
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let (left, top, right, bottom) = legend_frame(&doc);
        let mut groups: std::collections::BTreeMap<(String, &str), usize> = Default::default();
        for s in shapes(&doc) {
            let in_legend = s.x > left && s.x < right && s.y > top && s.y < bottom;
            // Not the target, nor the white background.
            let drawn = !["#BE1E2D", "#FFFFFF"].contains(&s.colour.as_str());
            if !in_legend && s.kind != "line" && drawn {
                *groups.entry((s.colour.clone(), s.kind)).or_default() += 1;
            }
        }
        // Each series draws a marker per period (a cross as two strokes), in a pair of colour
        // and marker no other series has.
        assert_eq!(groups.len(), data.series.len(), "{groups:?}");
        for ((colour, kind), count) in &groups {
            let per_period = if *kind == "cross" { 2 } else { 1 };
            assert_eq!(*count, 6 * per_period, "{colour} {kind}");
        }
        // The area's colour is its own.
        let area = format!(
            "#{:02X}{:02X}{:02X}",
            AREA_COLOUR.0, AREA_COLOUR.1, AREA_COLOUR.2
        );
        let with_area_colour: Vec<_> = groups.keys().filter(|(c, _)| *c == area).collect();
        assert_eq!(with_area_colour, [&(area.clone(), "circle")]);
        // And the first eight references have a dash of their own.
        let first = 1 + REFERENCE_DASHES.len();
        let dashes: std::collections::BTreeSet<_> = (0..first).map(dash_of).collect();
        assert_eq!(dashes.len(), first);
    }

    /// A colour written as the SVG writes it (`#E1E1E1`).
    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    /// The relative luminance of a colour the SVG names (`#E1E1E1`), from 0 (black) to 1.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap()) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2)
    }

    #[test]
    fn the_grid_is_lighter_than_the_axes_and_every_line_of_data() {
        let data = example(
            falling(),
            vec![("Meisjes".into(), Some(4.2)), ("Jongens".into(), Some(5.8))],
        );
        let svg = render_svg(&data).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let nodes: Vec<roxmltree::Node<'_, '_>> = doc.descendants().collect();
        let num = |n: &roxmltree::Node<'_, '_>, a: &str| -> f64 {
            n.attribute(a)
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        };
        let stroked = |n: &roxmltree::Node<'_, '_>, c: RGBColor| {
            n.attribute("stroke") == Some(hex(c).as_str())
        };
        // The grid: one horizontal line across the plot at every value the vertical axis
        // labels, in both panels, thin and opaque, and no vertical grid at all.
        let grid: Vec<usize> = (0..nodes.len())
            .filter(|i| nodes[*i].has_tag_name("line") && stroked(&nodes[*i], GRID_COLOUR))
            .collect();
        let mut grid_ys: Vec<f64> = Vec::new();
        for i in &grid {
            let n = &nodes[*i];
            assert_eq!(num(n, "y1"), num(n, "y2"), "a horizontal grid line");
            assert!(num(n, "x2") - num(n, "x1") > 300.0, "across the plot");
            assert_eq!(n.attribute("stroke-width"), Some("1"));
            assert_eq!(n.attribute("opacity"), Some("1"));
            grid_ys.push(num(n, "y1"));
        }
        let mut tick_ys: Vec<f64> = nodes
            .iter()
            .filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("end"))
            .map(|n| num(n, "y"))
            .collect();
        grid_ys.sort_by(f64::total_cmp);
        tick_ys.sort_by(f64::total_cmp);
        assert!(grid_ys.len() >= 8, "{grid_ys:?}");
        assert_eq!(grid_ys, tick_ys, "a grid line at each labelled value");
        // Every other long line is the finer grid, in the background's colour.
        for n in nodes.iter().filter(|n| n.has_tag_name("line")) {
            let long = (num(n, "x2") - num(n, "x1")).hypot(num(n, "y2") - num(n, "y1")) > 16.0;
            if long && !stroked(n, GRID_COLOUR) {
                assert!(
                    stroked(n, FINE_GRID_COLOUR),
                    "{:?}",
                    n.attributes().collect::<Vec<_>>()
                );
            }
        }
        assert_eq!(hex(FINE_GRID_COLOUR), hex(BACKGROUND));
        // The axes and their ticks: thin lines of the axis colour, both axes of both panels.
        let axes: Vec<&roxmltree::Node<'_, '_>> = nodes
            .iter()
            .filter(|n| n.has_tag_name("polyline") && stroked(n, AXIS_COLOUR))
            .collect();
        assert!(
            axes.iter()
                .all(|n| n.attribute("stroke-width") == Some("1"))
        );
        let long_axes = axes
            .iter()
            .filter(|n| {
                let p: Vec<f64> = n
                    .attribute("points")
                    .unwrap_or("")
                    .split([' ', ','])
                    .filter_map(|v| v.parse().ok())
                    .collect();
                p.len() == 4 && (p[2] - p[0]).hypot(p[3] - p[1]) > 200.0
            })
            .count();
        assert_eq!(long_axes, 4, "two axes in each panel");
        // Lighter than the axes and than every colour data is drawn in, and thinner than
        // every line of data.
        let grid_light = luminance(&hex(GRID_COLOUR));
        assert!(grid_light > luminance(&hex(AXIS_COLOUR)) + 0.3);
        let data_colours = std::iter::once(AREA_COLOUR)
            .chain(REFERENCE_COLOURS)
            .chain([TARGET_COLOUR]);
        for c in data_colours {
            assert!(grid_light > luminance(&hex(c)) + 0.3, "{}", hex(c));
        }
        let data_lines: Vec<f64> = nodes
            .iter()
            .filter(|n| n.has_tag_name("polyline"))
            .filter(|n| (0..data.series.len()).any(|s| stroked(n, colour_of(s))))
            .map(|n| num(n, "stroke-width"))
            .collect();
        assert!(data_lines.len() > 10);
        assert!(
            data_lines.iter().all(|w| *w >= 2.0),
            "{data_lines:?}, the grid 1 wide"
        );
        let first_data = nodes
            .iter()
            .position(|n| n.has_tag_name("polyline") && stroked(n, AREA_COLOUR))
            .unwrap();
        let trend_grid = grid
            .iter()
            .filter(|g| num(&nodes[**g], "y1") < f64::from(PLOT_H));
        assert!(trend_grid.clone().count() >= 4);
        assert!(
            trend_grid.into_iter().all(|g| *g < first_data),
            "the grid under the lines"
        );
    }
}

#[cfg(test)]
mod secret_tests;
