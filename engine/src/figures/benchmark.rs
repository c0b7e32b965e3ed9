//! Benchmarks: an area against the national value, its region and its peer group.
//!
//! Areas are compared in the indicator's comparable measure (per 1,000 for counts with a
//! denominator). A reference value is the observation of that reference area when there is one,
//! and otherwise computed from the municipalities it covers: pooled (sum of values over sum of
//! denominators) when every one has a denominator, else the plain mean. Secret values are left out.

use super::change::Judgement;
use super::{
    AreaCode, AreaLevel, AreaRegistry, Breakdown, Direction, Indicator, Observation,
    ObservationTable, Period, Unit,
};

/// What to compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reference {
    /// The Netherlands.
    National,
    /// The area's region (its jeugdregio in the area registry).
    Region,
    /// The peer group.
    Peers,
}

impl Reference {
    /// Reads `national`/`landelijk`, `region`/`regio`, `peers`/`vergelijkbaar`.
    pub fn parse(s: &str) -> Option<Reference> {
        match s.trim() {
            "national" | "landelijk" | "nederland" => Some(Reference::National),
            "region" | "regio" => Some(Reference::Region),
            "peers" | "vergelijkbaar" | "vergelijkbare" => Some(Reference::Peers),
            _ => None,
        }
    }
}

/// Who counts as comparable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PeerGroup {
    /// Municipalities of the same size class in the area registry.
    #[default]
    SizeClass,
    /// A fixed list of areas.
    Areas(Vec<AreaCode>),
}

/// One reference value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReferenceValue {
    /// Which reference.
    pub reference: Reference,
    /// A Dutch label: `Nederland`, `Jeugdregio Havenland (JZ99)`, `Vergelijkbare gemeenten (klasse 5)`.
    pub label: String,
    /// The value, if it can be known.
    pub value: Option<f64>,
    /// How many areas it covers (0 for an observed value of the reference area itself).
    pub areas: usize,
    /// The area minus the reference.
    pub difference: Option<f64>,
    /// How the area compares.
    pub judgement: Option<Judgement>,
    /// Why there is no value, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

/// Why a value is absent: nothing was imported for it, or it is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Missing {
    /// No observation for this area and period.
    #[serde(rename = "no-figures")]
    NoFigures,
    /// The observation is secret (small-number protection).
    #[serde(rename = "secret")]
    Secret,
}

impl Missing {
    /// The Dutch words for people.
    pub fn label(self) -> &'static str {
        match self {
            Missing::NoFigures => "geen cijfers",
            Missing::Secret => "geheim",
        }
    }
}

/// How a computed reference is labelled: `Nederland, berekend uit 2 gemeenten`.
fn computed_label(name: &str, areas: usize) -> String {
    let what = if areas == 1 { "gemeente" } else { "gemeenten" };
    format!("{name}, berekend uit {areas} {what}")
}

/// An area compared with its references in one period.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// The area.
    pub area: AreaCode,
    /// Its label.
    pub label: String,
    /// The period.
    pub period: Period,
    /// The area's comparable value (`None` if missing or secret).
    pub value: Option<f64>,
    /// Why there is no value: there are no figures for the period, or they are secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_missing: Option<Missing>,
    /// What the numbers are: `per 1.000`, `%`, `aantal`.
    pub measure: &'static str,
    /// The references, in the order asked.
    pub references: Vec<ReferenceValue>,
    /// Which direction is better, which decides what rank 1 means.
    pub better: Direction,
    /// The area's place among itself and its peers (1 = best), and how many there are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<(usize, usize)>,
}

/// The measure in which areas are compared, as a Dutch label.
pub fn measure_label(indicator: &Indicator, table: &ObservationTable) -> &'static str {
    measure_unit(indicator, table).label()
}

/// The unit in which areas are compared: counts with a denominator are compared per 1,000.
pub fn measure_unit(indicator: &Indicator, table: &ObservationTable) -> Unit {
    match indicator.unit {
        Unit::Count if table.iter().any(|o| o.denominator.is_some()) => Unit::PerThousand,
        unit => unit,
    }
}

/// Compares `area` in `period` with `references`.
pub fn compare(
    indicator: &Indicator,
    table: &ObservationTable,
    registry: &AreaRegistry,
    area: AreaCode,
    period: Period,
    references: &[Reference],
    peers: &PeerGroup,
) -> Comparison {
    let total = Breakdown::total();
    let unit = indicator.unit;
    let observed = table.get(area, &total, period);
    let value = observed.and_then(|o| o.comparable(unit));
    let value_missing = match observed {
        None => Some(Missing::NoFigures),
        Some(o) if o.value.is_none() => Some(Missing::Secret),
        Some(_) => None,
    };
    let mut rank = None;
    let refs = references
        .iter()
        .map(|r| {
            let (label, found) = match r {
                Reference::National => {
                    let national = table
                        .cross_section(period)
                        .into_iter()
                        .find(|o| o.area.level() == AreaLevel::National)
                        .cloned();
                    match national {
                        Some(o) => ("Nederland".to_string(), Ok((o.comparable(unit), 0))),
                        None => {
                            let all: Vec<&Observation> = table
                                .cross_section(period)
                                .into_iter()
                                .filter(|o| o.area.level() == AreaLevel::Municipality)
                                .collect();
                            let (v, n) = aggregate(unit, &all);
                            (computed_label("Nederland", n), Ok((v, n)))
                        }
                    }
                }
                Reference::Region => match registry.region_of(area) {
                    None => (
                        "regio".to_string(),
                        Err("de regio van dit gebied is onbekend; lees een gebiedsindeling in".to_string()),
                    ),
                    Some(region) => {
                        let label = registry.label(region);
                        match table.get(region, &total, period) {
                            Some(o) => (label, Ok((o.comparable(unit), 0))),
                            None => {
                                let (v, n) = aggregate(unit, &cells(table, &registry.members_of(region), period));
                                (computed_label(&label, n), Ok((v, n)))
                            }
                        }
                    }
                },
                Reference::Peers => {
                    let (label, group) = match peers {
                        PeerGroup::Areas(list) => ("Vergelijkingsgroep".to_string(), list.clone()),
                        PeerGroup::SizeClass => (
                            format!(
                                "Vergelijkbare gemeenten (grootteklasse {})",
                                registry.size_class_of(area).unwrap_or("onbekend")
                            ),
                            registry.peers_of(area),
                        ),
                    };
                    let group: Vec<AreaCode> = group.into_iter().filter(|a| *a != area).collect();
                    if group.is_empty() {
                        (
                            label,
                            Err("geen vergelijkbare gebieden bekend; lees een gebiedsindeling met grootteklassen in".to_string()),
                        )
                    } else {
                        let found = cells(table, &group, period);
                        rank = value.map(|v| rank_of(v, &found, unit, indicator.better));
                        (label, Ok(aggregate(unit, &found)))
                    }
                }
            };
            let (value_ref, areas, missing) = match found {
                Ok((Some(v), n)) => (Some(v), n, None),
                Ok((None, _)) => (None, 0, Some("geen (openbare) cijfers voor deze periode".to_string())),
                Err(why) => (None, 0, Some(why)),
            };
            let difference = value.zip(value_ref).map(|(a, b)| a - b);
            ReferenceValue {
                reference: *r,
                label,
                value: value_ref,
                areas,
                difference,
                judgement: difference.map(|d| Judgement::of(d, indicator.better)),
                missing,
            }
        })
        .collect();
    Comparison {
        area,
        label: registry.label(area),
        period,
        value,
        value_missing,
        measure: measure_label(indicator, table),
        references: refs,
        better: indicator.better,
        rank,
    }
}

fn cells<'t>(
    table: &'t ObservationTable,
    areas: &[AreaCode],
    period: Period,
) -> Vec<&'t Observation> {
    let total = Breakdown::total();
    areas
        .iter()
        .filter_map(|a| table.get(*a, &total, period))
        .collect()
}

/// The reference value of a group of observations, and how many took part.
pub fn aggregate(unit: Unit, rows: &[&Observation]) -> (Option<f64>, usize) {
    let shown: Vec<&&Observation> = rows.iter().filter(|o| o.value.is_some()).collect();
    if shown.is_empty() {
        return (None, 0);
    }
    let pooled = shown.iter().all(|o| o.denominator.is_some_and(|d| d > 0.0));
    let value = if pooled {
        let people: f64 = shown.iter().filter_map(|o| o.people(unit)).sum();
        let base: f64 = shown.iter().filter_map(|o| o.denominator).sum();
        let scale = match unit {
            Unit::Count | Unit::PerThousand => 1000.0,
            Unit::Percentage => 100.0,
        };
        people / base * scale
    } else {
        shown.iter().filter_map(|o| o.comparable(unit)).sum::<f64>() / shown.len() as f64
    };
    (Some(value), shown.len())
}

/// The place of `value` among the peers plus itself: 1 is best (for a neutral indicator: highest).
fn rank_of(value: f64, peers: &[&Observation], unit: Unit, better: Direction) -> (usize, usize) {
    let others: Vec<f64> = peers.iter().filter_map(|o| o.comparable(unit)).collect();
    let ahead = others
        .iter()
        .filter(|v| match better {
            Direction::Lower => **v < value,
            Direction::Higher | Direction::Neutral => **v > value,
        })
        .count();
    (ahead + 1, others.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DocId;
    use crate::figures::AreaInfo;
    use crate::figures::test_support::obs;

    fn row(area: &str, value: f64, denominator: f64) -> Observation {
        Observation {
            denominator: Some(denominator),
            ..obs(area, Breakdown::total(), value)
        }
    }

    fn code(s: &str) -> AreaCode {
        AreaCode::parse(s).unwrap()
    }

    #[test]
    fn references_are_pooled_per_1000_and_judged() {
        let table: ObservationTable = [
            row("GM0001", 50.0, 1000.0),
            row("GM0002", 30.0, 1000.0),
            row("GM0003", 100.0, 1000.0),
            row("GM0004", 10.0, 2000.0),
        ]
        .into_iter()
        .collect();
        let mut registry = AreaRegistry::default();
        for (gm, class) in [
            ("GM0001", "3"),
            ("GM0002", "3"),
            ("GM0003", "3"),
            ("GM0004", "5"),
        ] {
            registry.insert(
                code(gm),
                AreaInfo {
                    name: gm.into(),
                    region: Some(code("JZ01")),
                    size_class: Some(class.into()),
                    province: None,
                },
            );
        }
        let ind = Indicator {
            id: DocId::parse("x").unwrap(),
            name: "x".into(),
            title: "x".into(),
            definition: String::new(),
            unit: Unit::Count,
            better: Direction::Lower,
            source: String::new(),
        };
        let c = compare(
            &ind,
            &table,
            &registry,
            code("GM0001"),
            Period::year(2023),
            &[Reference::National, Reference::Region, Reference::Peers],
            &PeerGroup::SizeClass,
        );
        assert_eq!(c.value, Some(50.0));
        assert_eq!(c.measure, "per 1.000");
        // National: 190 of 5000 = 38 per 1,000.
        assert_eq!(c.references[0].value, Some(38.0));
        assert_eq!(c.references[0].judgement, Some(Judgement::Slechter));
        assert_eq!(c.references[1].value, Some(38.0));
        // Peers GM0002 and GM0003: 130 of 2000 = 65 per 1,000.
        assert_eq!(c.references[2].value, Some(65.0));
        assert_eq!(c.references[2].areas, 2);
        assert_eq!(c.references[2].judgement, Some(Judgement::Beter));
        assert_eq!(c.rank, Some((2, 3)));
        let lone = compare(
            &ind,
            &table,
            &AreaRegistry::default(),
            code("GM0001"),
            Period::year(2023),
            &[Reference::Region],
            &PeerGroup::SizeClass,
        );
        assert!(lone.references[0].missing.is_some());
    }
}
