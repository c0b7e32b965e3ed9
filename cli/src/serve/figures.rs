//! Cijfers: the list of indicators, and an indicator's page with its chart inline, the table of
//! an area's figures (count, denominator, %, per 1,000, status; secret values as `geheim`), the
//! changes, the comparison with the country, the region and comparable municipalities, the
//! breakdowns and districts, and the stories and personas beside the figures.
//!
//! Everything shown is computed by the engine's figures API, as `kompas figures show`,
//! `compare` and `chart` compute it and round it (each value to its unit's decimals); numbers
//! are written by the CLI's Dutch formatting.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use kompas_engine::SledStore;
use kompas_engine::figures::benchmark::{Comparison, PeerGroup, Reference, compare, measure_unit};
use kompas_engine::figures::chart::{ChartData, chart_data, render_svg};
use kompas_engine::figures::report::{AreaReport, Line, area_report};
use kompas_engine::figures::shown_cache::ShownCache;
use kompas_engine::figures::storage::{Figures, FiguresError};
use kompas_engine::figures::story::Story;
use kompas_engine::figures::{AreaCode, AreaLevel, AreaRegistry, Indicator, Status};

use super::error::AppError;
use super::page::{Chrome, render};
use super::state::{AppState, Session};
use crate::commands::figures::format::{number, optional, signed, thousands, value};

/// The references every indicator page compares with.
const REFERENCES: [Reference; 3] = [Reference::National, Reference::Region, Reference::Peers];
/// Over how many years the longer change is computed (as `figures show` by default).
const YEARS: i16 = 5;
/// The protected tables of the indicators shown last, for the whole process: its entries are
/// keyed by the heads they were computed from and the policy in force (see the engine's
/// `figures::shown_cache`), so whichever store a page reads, it gets its own figures, protected
/// as they must be now.
static SHOWN: std::sync::LazyLock<ShownCache> = std::sync::LazyLock::new(ShownCache::default);

impl From<FiguresError> for AppError {
    fn from(e: FiguresError) -> Self {
        match e {
            FiguresError::UnknownIndicator { name, .. } => {
                AppError::NotFound(format!("Er is geen indicator {name}."))
            }
            e if e.is_input_error() => AppError::Refused(e.to_string()),
            e => AppError::internal(e),
        }
    }
}

struct IndicatorRow {
    name: String,
    title: String,
    definition: String,
    unit: &'static str,
    source: String,
}

#[derive(Template)]
#[template(path = "figures.html")]
struct FiguresPage {
    chrome: Chrome,
    indicators: Vec<IndicatorRow>,
}

/// `GET /cijfers`.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let figures = Figures::new(&opened.replica);
            let indicators = figures
                .indicators()?
                .into_iter()
                .map(|i| IndicatorRow {
                    unit: unit_nl(&i),
                    name: i.name,
                    title: i.title,
                    definition: i.definition,
                    source: i.source,
                })
                .collect();
            render(&FiguresPage {
                chrome: Chrome::new(opened, &session, "cijfers", "Cijfers"),
                indicators,
            })
        })
        .await
}

/// The unit of an indicator in words.
fn unit_nl(i: &Indicator) -> &'static str {
    match i.unit.name() {
        "aantal" => "aantal",
        "percentage" => "percentage",
        _ => "per 1.000",
    }
}

/// One line of a figures table, every number already written the Dutch way.
pub struct Row {
    label: String,
    value: String,
    secret: bool,
    denominator: String,
    percentage: String,
    per_1000: String,
    status: &'static str,
    note: String,
}

impl Row {
    fn of(l: &Line, label: String) -> Row {
        Row {
            label,
            value: value(l.value),
            secret: l.value.is_none(),
            denominator: optional(l.denominator),
            percentage: optional(l.percentage),
            per_1000: optional(l.per_1000),
            status: match l.status {
                Status::Definitief => "definitief",
                Status::Voorlopig => "voorlopig",
            },
            note: l.note.clone().unwrap_or_default(),
        }
    }

    fn all(lines: &[Line], label: impl Fn(&Line) -> String) -> Vec<Row> {
        lines.iter().map(|l| Row::of(l, label(l))).collect()
    }
}

struct ChangeRow {
    span: String,
    from: String,
    difference: String,
    relative: String,
    judgement: &'static str,
    note: String,
}

struct ReferenceRow {
    label: String,
    value: String,
    difference: String,
    judgement: &'static str,
    why_missing: String,
}

struct ComparisonView {
    period: String,
    measure: &'static str,
    value: String,
    references: Vec<ReferenceRow>,
    rank: String,
}

impl ComparisonView {
    fn of(c: &Comparison) -> ComparisonView {
        ComparisonView {
            period: c.period.label(),
            measure: c.measure,
            value: match (c.value, c.value_missing) {
                (Some(v), _) => number(v),
                (None, Some(why)) => why.label().to_string(),
                (None, None) => value(None),
            },
            references: c
                .references
                .iter()
                .map(|r| ReferenceRow {
                    label: if r.areas > 0 && r.reference == Reference::Peers {
                        format!("{} (uit {} gebieden)", r.label, r.areas)
                    } else {
                        r.label.clone()
                    },
                    value: r.value.map_or_else(String::new, number),
                    difference: r.difference.map_or_else(String::new, signed),
                    judgement: r.judgement.map_or("", |j| j.label()),
                    why_missing: r.missing.clone().unwrap_or_default(),
                })
                .collect(),
            rank: c
                .rank
                .map(|(place, of)| {
                    let meaning = match c.better {
                        kompas_engine::figures::Direction::Neutral => "1 = hoogste",
                        _ => "1 = best",
                    };
                    format!("Plaats onder vergelijkbare gemeenten: {place} van {of} ({meaning}).")
                })
                .unwrap_or_default(),
        }
    }
}

struct StoryView {
    id: String,
    kind: String,
    title: String,
    text: String,
    like_these: String,
}

impl StoryView {
    fn of(s: &Story, registry: &AreaRegistry) -> StoryView {
        let place = s
            .gebied
            .as_deref()
            .and_then(|g| AreaCode::parse(g).ok())
            .map_or_else(|| "het gebied".to_string(), |a| registry.label(a));
        StoryView {
            id: s.id.to_string(),
            kind: s.soort.clone(),
            title: s.titel.clone(),
            text: s.tekst.clone(),
            like_these: match (s.aantal_jongeren, s.aantal_geheim) {
                (Some(n), _) => format!("{} jongeren zoals deze in {place}", number(n)),
                (None, true) => format!("Het aantal jongeren zoals deze in {place} is geheim"),
                (None, false) => String::new(),
            },
        }
    }
}

/// What the page shows of the chosen area.
struct AreaView {
    label: String,
    measure: &'static str,
    chart: String,
    chart_problem: String,
    series: Vec<Row>,
    changes: Vec<ChangeRow>,
    comparison: ComparisonView,
    breakdowns_period: String,
    breakdowns: Vec<Row>,
    parts: Vec<Row>,
}

#[derive(Template)]
#[template(path = "figures_indicator.html")]
struct IndicatorPage {
    chrome: Chrome,
    indicator: Indicator,
    unit: &'static str,
    value_label: String,
    better: &'static str,
    observations: String,
    span: String,
    areas: Vec<(String, String, bool)>,
    area: Option<AreaView>,
    stories: Vec<StoryView>,
    imported: String,
}

#[derive(serde::Deserialize, Default)]
pub struct AreaQuery {
    #[serde(default)]
    gebied: String,
    /// How many observations were just imported (after a confirmed upload).
    ingelezen: Option<u64>,
}

/// `GET /cijfers/{name}[?gebied=CODE]`: the area asked for, else the first municipality with
/// figures, else the first area.
pub async fn indicator(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Query(query): Query<AreaQuery>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let figures = Figures::new(&opened.replica);
            let mut chrome = Chrome::new(opened, &session, "cijfers", "");
            let mut page = indicator_page(&figures, &name, &query.gebied, |title| {
                chrome.title = title.to_string();
                chrome
            })?;
            page.imported = query.ingelezen.map_or_else(String::new, thousands);
            render(&page)
        })
        .await
}

/// The indicator page; `chrome` gives the page around it for the indicator's title.
fn indicator_page(
    figures: &Figures<'_, SledStore>,
    name: &str,
    asked: &str,
    chrome: impl FnOnce(&str) -> Chrome,
) -> Result<IndicatorPage, AppError> {
    let indicator = figures.indicator(name)?;
    let shown = figures.shown_cached(&indicator, &SHOWN)?;
    let (table, registry) = (&shown.table, &shown.registry);
    let with_figures = table.areas();
    let chosen = if asked.trim().is_empty() {
        with_figures
            .iter()
            .find(|a| a.level() == AreaLevel::Municipality)
            .or_else(|| with_figures.iter().next())
            .copied()
    } else {
        let code = AreaCode::parse(asked).map_err(|e| AppError::Refused(e.to_string()))?;
        if !with_figures.contains(&code) {
            return Err(AppError::NotFound(format!(
                "Er zijn geen cijfers van {} bij indicator {}.",
                registry.label(code),
                indicator.name
            )));
        }
        Some(code)
    };
    // Rounded as `figures show`, `compare` and `chart` write it, for people and in JSON alike.
    let measure = measure_unit(&indicator, table);
    let area = chosen.map(|code| {
        let report = area_report(&indicator, table, registry, code, None, YEARS)
            .rounded(indicator.unit, measure);
        let (chart, chart_problem) = match chart_data(
            &indicator,
            table,
            registry,
            code,
            &REFERENCES,
            &PeerGroup::SizeClass,
        )
        .map(ChartData::rounded)
        .and_then(|data| render_svg(&data))
        {
            Ok(svg) => (accessible_svg(&svg), String::new()),
            Err(e) => (String::new(), e.to_string()),
        };
        let latest = report.series.last().map(|l| l.period);
        let comparison = latest.map(|p| {
            compare(
                &indicator,
                table,
                registry,
                code,
                p,
                &REFERENCES,
                &PeerGroup::SizeClass,
            )
            .rounded(measure)
        });
        area_view(&report, chart, chart_problem, comparison.as_ref())
    });
    let periods = table.periods();
    let span = match (periods.first(), periods.last()) {
        (Some(a), Some(b)) if a == b => a.label(),
        (Some(a), Some(b)) => format!("{} tot en met {}", a.label(), b.label()),
        _ => String::new(),
    };
    let areas = with_figures
        .iter()
        .map(|a| {
            (
                a.as_str().to_string(),
                registry.label(*a),
                Some(*a) == chosen,
            )
        })
        .collect();
    let stories = figures
        .stories(&indicator)?
        .iter()
        .map(|s| StoryView::of(s, registry))
        .collect();
    Ok(IndicatorPage {
        chrome: chrome(&indicator.title),
        unit: unit_nl(&indicator),
        value_label: if indicator.unit.is_count() {
            "Aantal".to_string()
        } else {
            format!("Waarde ({})", unit_nl(&indicator))
        },
        better: match indicator.better.name() {
            "hoger" => "hoger is beter",
            "lager" => "lager is beter",
            _ => "hoger of lager is op zich niet beter",
        },
        observations: thousands(table.len() as u64),
        span,
        areas,
        area,
        stories,
        indicator,
        imported: String::new(),
    })
}

fn area_view(
    r: &AreaReport,
    chart: String,
    chart_problem: String,
    comparison: Option<&Comparison>,
) -> AreaView {
    let changes = [
        ("vorige periode".to_string(), &r.change_previous),
        (format!("{} jaar eerder", r.years), &r.change_years),
    ]
    .into_iter()
    .filter_map(|(span, c)| {
        c.as_ref().map(|c| ChangeRow {
            span,
            from: c.from.label(),
            difference: signed(c.difference),
            relative: c
                .relative
                .map_or_else(String::new, |p| format!("{}%", signed(p))),
            judgement: c.judgement.label(),
            note: c.population_note.clone().unwrap_or_default(),
        })
    })
    .collect();
    AreaView {
        label: r.label.clone(),
        measure: r.measure,
        chart,
        chart_problem,
        series: Row::all(&r.series, |l| l.period.label()),
        changes,
        comparison: comparison.map_or_else(
            || ComparisonView {
                period: String::new(),
                measure: r.measure,
                value: String::new(),
                references: Vec::new(),
                rank: String::new(),
            },
            ComparisonView::of,
        ),
        breakdowns_period: r
            .series
            .last()
            .map_or_else(String::new, |l| l.period.label()),
        breakdowns: Row::all(&r.breakdowns, |l| l.label.clone()),
        parts: Row::all(&r.parts, |l| l.label.clone()),
    }
}

/// The engine's chart SVG as part of the page: an image with a name for screen readers (the
/// table below it holds the same figures), scaling with the page.
fn accessible_svg(svg: &str) -> String {
    match svg.strip_prefix("<svg ") {
        Some(rest) => {
            format!("<svg role=\"img\" aria-labelledby=\"grafiek-titel\" class=\"grafiek\" {rest}")
        }
        None => String::new(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use axum::http::StatusCode;

    use super::super::tests::Fixture;
    use crate::commands::figures::demo;

    /// A fixture with the demo's figures (the municipality also writes the persona).
    pub async fn with_figures() -> Fixture {
        Fixture::with(|replica| {
            demo::seed(replica, replica).unwrap();
        })
        .await
    }

    #[tokio::test]
    async fn the_list_names_every_indicator() {
        let f = with_figures().await;
        let (status, html) = f.page("/cijfers").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("href=\"/cijfers/jeugdhulp\""), "{html}");
        assert!(html.contains("Thuiszitters per 1.000 leerlingen"));
        assert!(html.contains("aria-current=\"page\">Cijfers"));

        let empty = Fixture::new().await;
        let (status, html) = empty.page("/cijfers").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Nog geen indicatoren"));
    }

    #[tokio::test]
    async fn an_indicator_page_shows_chart_table_comparison_and_stories() {
        let f = with_figures().await;
        let (status, html) = f
            .page(&format!("/cijfers/jeugdhulp?gebied={}", demo::AREA))
            .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        for part in [
            "<svg role=\"img\" aria-labelledby=\"grafiek-titel\"",
            "Per 1.000",
            "Nederland",
            "Uitsplitsing",
            "Wijken en buurten",
            "Noor, 15 jaar",
            "jongeren zoals deze in",
        ] {
            assert!(html.contains(part), "missing {part}");
        }
        // Dutch numbers: thousands with a dot, a decimal comma.
        let table = &html[html.find("id=\"verloop\"").unwrap()..];
        for cell in ["2.370", "24.000", "9,9", "98,8"] {
            assert!(
                table.contains(&format!("<td class=\"getal\">{cell}</td>")),
                "missing {cell}"
            );
        }
        // A secret value is `geheim`, never a number.
        assert!(html.contains("<td class=\"getal\"><span class=\"geheim\">geheim</span></td>"));

        let (status, _) = f.page("/cijfers/jeugdhulp").await;
        assert_eq!(status, StatusCode::OK);
        let (status, html) = f.page("/cijfers/bestaat-niet").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("Er is geen indicator bestaat-niet"));
        let (status, _) = f.page("/cijfers/jeugdhulp?gebied=GM0001").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, html) = f.page("/cijfers/jeugdhulp?gebied=onzin").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    }

    /// Issue 13: the page writes rates rounded to their unit's decimals, in its tables, its
    /// changes and its comparison, as `figures show` and `compare` do.
    #[tokio::test]
    async fn an_indicator_page_writes_rates_rounded_to_their_units_decimals() {
        use kompas_engine::Timestamp;
        use kompas_engine::figures::storage::{Figures, IndicatorFields};
        use kompas_engine::figures::{AreaCode, Breakdown, Observation, Period, Status};
        let f = Fixture::with(|replica| {
            let figures = Figures::new(replica);
            let fields = IndicatorFields {
                title: Some("Schoolverzuim".into()),
                unit: Some("per-1000".into()),
                ..Default::default()
            };
            let indicator = figures
                .define("verzuim", &fields, Timestamp(1), [1; 8])
                .unwrap();
            let rows = [
                ("GM0363", 2024, 11.049_999_7),
                ("GM0363", 2025, 12.345_678_901),
                ("NL01", 2024, 10.0),
                ("NL01", 2025, 10.0),
            ]
            .into_iter()
            .map(|(area, year, value)| Observation {
                area: AreaCode::parse(area).unwrap(),
                period: Period::year(year),
                breakdown: Breakdown::total(),
                value: Some(value),
                denominator: None,
                status: Status::Definitief,
                note: None,
            })
            .collect();
            figures
                .store_observations(&indicator, rows, Timestamp(2), [2; 8])
                .unwrap();
        })
        .await;
        let (status, html) = f.page("/cijfers/verzuim?gebied=GM0363").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let table = &html[html.find("id=\"verloop\"").unwrap()..];
        for cell in ["11", "12,3"] {
            assert!(
                table.contains(&format!("<td class=\"getal\">{cell}</td>")),
                "missing {cell}"
            );
        }
        let comparison = &html[html.find("id=\"vergelijking\"").unwrap()..];
        assert!(
            comparison.contains("<td class=\"getal\">+2,3</td>"),
            "{comparison}"
        );
        assert!(html.contains("+1,3 per 1.000"), "the change, rounded");
        for unrounded in ["12,34", "2,34", "11,05", "1,29"] {
            assert!(!html.contains(unrounded), "unrounded {unrounded}");
        }
    }
}
