//! Property test of charts and small numbers: whatever small counts a table holds, once it is
//! protected, the chart drawn of it shows no secret value anywhere: not as a number in a text,
//! nor as a bar, nor as a point or marker of a line.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::DocId;
use crate::figures::{
    AreaInfo, Breakdown, Direction, ObsKey, Observation, Status, SuppressionPolicy, Unit, protect,
};

/// The area the chart is of; the other municipality makes the national reference.
const AREA: &str = "GM0001";
const OTHER: &str = "GM0002";
/// Categories of the breakdown, as a file would name them.
const CATEGORIES: [&str; 4] = ["jongens", "meisjes", "anders", "onbekend"];

/// One cell as generated: a count and its population.
type Cell = (u32, u32);

fn indicator() -> Indicator {
    Indicator {
        id: DocId::parse("aaaaaaaaaaaa").unwrap(),
        name: "thuiszitters".into(),
        title: "Thuiszitters".into(),
        definition: String::new(),
        unit: Unit::Count,
        better: Direction::Lower,
        source: "synthetisch".into(),
    }
}

fn registry() -> AreaRegistry {
    let mut registry = AreaRegistry::default();
    for (code, name) in [(AREA, "Havenstad"), (OTHER, "Kustdorp")] {
        registry.insert(
            AreaCode::parse(code).unwrap(),
            AreaInfo {
                name: name.into(),
                region: None,
                size_class: None,
                province: None,
            },
        );
    }
    registry
}

/// The rows of the table: per year, the area's categories and their total, and the other
/// municipality's total; with a population for each cell when `populations` holds.
fn rows(years: &[Vec<Cell>], others: &[Cell], populations: bool) -> Vec<Observation> {
    let cell =
        |area: &str, year: i16, breakdown: Breakdown, (value, population): Cell| Observation {
            area: AreaCode::parse(area).unwrap(),
            period: Period::year(year),
            breakdown,
            value: Some(f64::from(value)),
            denominator: populations.then_some(f64::from(population)),
            status: Status::Definitief,
            note: None,
        };
    let mut out = Vec::new();
    for (i, (parts, other)) in years.iter().zip(others).enumerate() {
        let year = 2019 + i as i16;
        let total = parts
            .iter()
            .fold((0, 0), |(v, p), (cv, cp)| (v + cv, p + cp));
        out.push(cell(AREA, year, Breakdown::total(), total));
        for (part, name) in parts.iter().zip(CATEGORIES) {
            let breakdown = Breakdown::total().with("geslacht", name);
            out.push(cell(AREA, year, breakdown, *part));
        }
        out.push(cell(OTHER, year, Breakdown::total(), *other));
    }
    out
}

/// The numbers a text shows: its words that read as a number, as the chart writes them.
fn numbers_in(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.trim_matches(|c: char| "()[]:;.".contains(c)))
        .filter(|w| !w.is_empty() && w.replace(',', ".").parse::<f64>().is_ok())
        .map(str::to_string)
        .collect()
}

fn num(n: &roxmltree::Node<'_, '_>, attribute: &str) -> f64 {
    n.attribute(attribute)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The points of a polyline.
fn points(n: &roxmltree::Node<'_, '_>) -> Vec<(f64, f64)> {
    n.attribute("points")
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|p| p.split_once(','))
        .filter_map(|(x, y)| Some((x.parse().ok()?, y.parse().ok()?)))
        .collect()
}

/// Checks the chart of the area, drawn from `original` once protected.
fn check_chart(original: Vec<Observation>) -> Result<(), TestCaseError> {
    let (indicator, registry, policy) = (indicator(), registry(), SuppressionPolicy::default());
    let mut protected = original.clone();
    protect(&mut protected, Unit::Count, &registry, &policy);
    let shown: BTreeMap<ObsKey, Option<f64>> =
        protected.iter().map(|o| (o.key(), o.value)).collect();
    // Secret: what the policy makes secret (a count up to the threshold, or one of a population
    // that small), and whatever else protection hid to keep those from being worked out.
    let secret: Vec<&Observation> = original
        .iter()
        .filter(|o| {
            let small = o.value.is_some_and(|v| v <= policy.threshold)
                || o.denominator.is_some_and(|d| d <= policy.threshold);
            small || shown.get(&o.key()) == Some(&None)
        })
        .collect();
    let table: ObservationTable = protected.into_iter().collect();
    let area = AreaCode::parse(AREA).unwrap();
    let data = chart_data(
        &indicator,
        &table,
        &registry,
        area,
        &[Reference::National],
        &PeerGroup::SizeClass,
    )
    .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let svg = render_svg(&data).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let doc = roxmltree::Document::parse(&svg).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let unit = measure_unit(&indicator, &table);

    // 1. No text writes a secret value, unless another, shown figure of the chart has the
    // same label. Left out: the values the vertical axis labels (its scale, not figures) and
    // the texts that hold names rather than figures.
    let label = |v: f64| value_label(v, data.decimals);
    let shown_labels: BTreeSet<String> = data
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .chain(data.bars.iter().filter_map(|(_, v)| v.as_ref()))
        .chain(data.targets.iter().map(|t| &t.value))
        .map(|v| label(*v))
        .collect();
    let forbidden: BTreeSet<String> = secret
        .iter()
        .filter_map(|o| o.comparable(unit).or(o.value))
        .map(label)
        .filter(|l| !shown_labels.contains(l))
        .collect();
    let names: BTreeSet<String> = data
        .series
        .iter()
        .map(|s| s.label.clone())
        .chain([data.title.clone(), data.source_line(), bars_title(&data)])
        .chain([data.measure.clone(), "Periode".to_string()])
        .collect();
    let mut figures_read = 0;
    for n in doc.descendants().filter(|n| n.has_tag_name("text")) {
        let text = n.text().unwrap_or("").trim();
        if n.attribute("text-anchor") == Some("end") || names.contains(text) {
            continue;
        }
        for number in numbers_in(text) {
            figures_read += 1;
            prop_assert!(
                !forbidden.contains(&number),
                "secret value {} shown in {:?}",
                number,
                text
            );
        }
    }
    let area_shown = data
        .series
        .first()
        .is_some_and(|s| s.values.iter().any(Option::is_some));
    if area_shown {
        prop_assert!(figures_read > 0, "the period labels at least");
    } else {
        // Every figure of the area is secret: a sentence stands where its trend would be.
        prop_assert!(
            doc.descendants().filter_map(|n| n.text()).any(|t| t
                .trim()
                .starts_with("Alle cijfers van dit gebied zijn geheim")),
            "no sentence in place of a trend that is all secret"
        );
    }

    // 2. The area's line and markers stand only at periods whose value is shown.
    let total = Breakdown::total();
    let secret_cell = |area: AreaCode, breakdown: &Breakdown, period: Period| {
        secret
            .iter()
            .any(|o| o.area == area && o.breakdown == *breakdown && o.period == period)
    };
    let legend = doc
        .descendants()
        .find(|n| n.has_tag_name("rect") && n.attribute("stroke") == Some("#C8C8C8"))
        .map(|f| {
            let (x, y) = (num(&f, "x"), num(&f, "y"));
            (x, y, x + num(&f, "width"), y + num(&f, "height"))
        });
    let outside_legend = |(x, y): (f64, f64)| {
        legend.is_none_or(|(l, t, r, b)| !(x >= l && x <= r && y >= t && y <= b))
    };
    // Where each period and each bar's category is labelled along the horizontal axes. The
    // trend stands above the bars; when it is all secret, a sentence takes its place and the
    // bars move up.
    let labelled_at = |wanted: &str, trend: bool| -> Option<f64> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("middle"))
            .filter(|n| !area_shown || (num(n, "y") < f64::from(PLOT_H)) == trend)
            .find(|n| n.text().map(|t| t.trim().trim_end_matches('*')) == Some(wanted))
            .map(|n| num(&n, "x"))
    };
    let area_colour = format!(
        "#{:02X}{:02X}{:02X}",
        AREA_COLOUR.0, AREA_COLOUR.1, AREA_COLOUR.2
    );
    let mut shown_x = Vec::new();
    for (i, period) in data.periods.iter().enumerate() {
        let is_secret = secret_cell(area, &total, *period);
        prop_assert_eq!(data.series[0].values[i].is_none(), is_secret, "{}", period);
        if !area_shown {
            // No trend is drawn, so no period is labelled; any mark of the area fails below.
            continue;
        }
        let x = labelled_at(&period.label(), true)
            .ok_or_else(|| TestCaseError::fail(format!("no label of {period}")))?;
        if !is_secret {
            shown_x.push(x);
        }
    }
    let near_shown = |x: f64| shown_x.iter().any(|s| (s - x).abs() <= 1.0);
    let in_trend = |y: f64| y < f64::from(PLOT_H);
    let mut markers = 0;
    for n in doc.descendants() {
        let ours = n.attribute("stroke") == Some(area_colour.as_str())
            || n.attribute("fill") == Some(area_colour.as_str());
        if !ours {
            continue;
        }
        let at: Vec<(f64, f64)> = match n.tag_name().name() {
            "circle" => vec![(num(&n, "cx"), num(&n, "cy"))],
            "polyline" => points(&n),
            _ => Vec::new(),
        };
        for p in at
            .into_iter()
            .filter(|p| in_trend(p.1) && outside_legend(*p))
        {
            prop_assert!(near_shown(p.0), "a mark of the area at {:?}", p);
            markers += usize::from(n.has_tag_name("circle"));
        }
    }
    prop_assert_eq!(markers, shown_x.len(), "a marker at every shown period");

    // 3. A bar stands only for a category whose value is shown.
    let latest = *data.periods.last().unwrap();
    let mut bars_shown = 0;
    for (name, value) in &data.bars {
        let breakdown = Breakdown::total().with("geslacht", name);
        let is_secret = secret_cell(area, &breakdown, latest);
        prop_assert_eq!(value.is_none(), is_secret, "{}", name);
        bars_shown += usize::from(!is_secret);
        if !data.bars.iter().any(|(_, v)| v.is_some()) {
            continue;
        }
        let x = labelled_at(name, false)
            .ok_or_else(|| TestCaseError::fail(format!("no label of bar {name}")))?;
        let bars_here = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(area_colour.as_str()))
            .filter(|n| (num(n, "x") + num(n, "width") / 2.0 - x).abs() <= 2.0)
            .count();
        prop_assert_eq!(bars_here, usize::from(!is_secret), "bars of {}", name);
    }
    let bars_drawn = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(area_colour.as_str()))
        .count();
    prop_assert_eq!(bars_drawn, bars_shown);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Small counts, breakdowns of two to four categories over two to six years, with and
    /// without populations (then the chart shows figures per 1,000).
    #[test]
    fn no_secret_value_shows_in_a_chart(
        years in (2usize..5, 2usize..7).prop_flat_map(|(categories, years)| {
            prop::collection::vec(
                prop::collection::vec((0u32..25, 1u32..400), categories),
                years,
            )
        }),
        others in prop::collection::vec((0u32..60, 1u32..900), 6),
        populations in any::<bool>(),
    ) {
        check_chart(rows(&years, &others, populations))?;
    }
}
