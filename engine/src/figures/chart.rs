//! Charts as SVG text: the trend of an area with benchmark lines, and its breakdown as bars.
//!
//! Secret values are visibly absent: a line breaks where a value is secret and the word
//! `geheim` stands at that place on the axis; a secret bar is not drawn and is labelled `geheim`.
//! Rendering returns a string; writing it to a file is the caller's business.

use plotters::prelude::*;

use super::benchmark::{PeerGroup, Reference, compare, measure_label};
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

const COLOURS: [RGBColor; 5] = [
    RGBColor(0, 94, 163),
    RGBColor(230, 120, 0),
    RGBColor(0, 140, 90),
    RGBColor(150, 60, 160),
    RGBColor(120, 120, 120),
];

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
    Ok(ChartData {
        title: format!("{}: {}", indicator.title, registry.label(area)),
        measure: measure_label(indicator, table).to_string(),
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

/// Draws the chart as an SVG document.
pub fn render_svg(data: &ChartData) -> Result<String, ChartError> {
    let draw = |e: &dyn std::fmt::Display| ChartError::Draw(e.to_string());
    let height = if data.bars.is_empty() { 480 } else { 880 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw(&e))?;
        let (top, bottom) = if data.bars.is_empty() {
            (root.clone(), None)
        } else {
            let (t, b) = root.split_vertically(480);
            (t, Some(b))
        };
        draw_trend(&top, data).map_err(|e| draw(&e))?;
        if let Some(bottom) = bottom {
            draw_bars(&bottom, data).map_err(|e| draw(&e))?;
        }
        root.present().map_err(|e| draw(&e))?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn top_of(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0f64, f64::max);
    if max > 0.0 { max * 1.15 } else { 1.0 }
}

fn draw_trend(area: &Area<'_>, data: &ChartData) -> DrawResult {
    let n = data.periods.len();
    let top = top_of(
        data.series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(&data.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    let periods = data.periods.clone();
    chart
        .configure_mesh()
        .x_labels(n.max(2))
        .x_label_formatter(&|x| label_at(&periods, *x))
        .x_desc("Periode")
        .y_desc(data.measure.as_str())
        .y_label_formatter(&axis_number)
        .disable_x_mesh()
        .draw()?;
    for (i, series) in data.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let style = ShapeStyle::from(&colour).stroke_width(if i == 0 { 3 } else { 2 });
        let mut labelled = false;
        for segment in segments(&series.values) {
            let drawn = chart.draw_series(LineSeries::new(segment.clone(), style))?;
            if !labelled {
                drawn
                    .label(series.label.as_str())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
                labelled = true;
            }
            chart.draw_series(segment.iter().map(|p| Circle::new(*p, 3, style.filled())))?;
        }
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
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    Ok(())
}

fn draw_bars(area: &Area<'_>, data: &ChartData) -> DrawResult {
    let n = data.bars.len();
    let top = top_of(data.bars.iter().filter_map(|(_, v)| *v));
    let title = match data.bars_period {
        Some(p) => format!("Uitsplitsing {}", p.label()),
        None => "Uitsplitsing".to_string(),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
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
        .y_label_formatter(&axis_number)
        .disable_x_mesh()
        .draw()?;
    for (i, (_, value)) in data.bars.iter().enumerate() {
        let x = i as f64;
        match value {
            Some(v) => {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.3, 0.0), (x + 0.3, *v)],
                    COLOURS[0].filled(),
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

/// A number on the vertical axis, with a decimal comma.
fn axis_number(y: &f64) -> String {
    crate::document::format_number((y * 10.0).round() / 10.0)
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

    #[test]
    fn an_svg_is_drawn_with_dutch_labels_and_secret_gaps() {
        let data = ChartData {
            title: "Jeugdhulp: Havenstad (GM9901)".into(),
            measure: "per 1.000".into(),
            periods: vec![Period::year(2021), Period::year(2022), Period::year(2023)],
            series: vec![
                Series {
                    label: "Havenstad (GM9901)".into(),
                    values: vec![Some(50.0), None, Some(60.0)],
                },
                Series {
                    label: "Nederland".into(),
                    values: vec![Some(40.0), Some(41.0), Some(42.0)],
                },
            ],
            secret_periods: vec![Period::year(2022)],
            bars: vec![("meisje".into(), Some(55.0)), ("jongen".into(), None)],
            bars_period: Some(Period::year(2023)),
        };
        let svg = render_svg(&data).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for text in [
            "Havenstad (GM9901)",
            "Nederland",
            "Periode",
            "geheim",
            "Uitsplitsing 2023",
            "meisje",
        ] {
            assert!(svg.contains(text), "missing {text}");
        }
        // The area's line is broken in two, the national line is whole: three lines in all.
        // The area's line is broken in two by the secret year; each series also has a legend line.
        assert_eq!(
            svg.matches(r##"stroke="#005EA3" stroke-width="3""##)
                .count(),
            2 + 1
        );
        assert_eq!(
            svg.matches(r##"stroke="#E67800" stroke-width="2""##)
                .count(),
            1 + 1
        );
    }
}
