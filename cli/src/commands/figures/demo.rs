//! The figures part of `kompas demo`: synthetic, CBS-shaped figures about youth care, and a
//! persona beside them with the number of young people like her.

use kompas_engine::document::Assignment;
use kompas_engine::figures::import::{ColumnMapping, ImportOptions, read_areas};
use kompas_engine::figures::storage::{Figures, IndicatorFields};
use kompas_engine::figures::{AreaCode, Breakdown};
use kompas_engine::{DocId, Replica, SledStore};

use super::import::{Target, import_from, options_for};
use crate::context::{now, random};

const AREAS: &str = include_str!("../../../fixtures/gebieden-synthetisch.csv");
const YOUTH_CARE: &str = include_str!("../../../fixtures/jeugdhulp-gemeenten-synthetisch.csv");
const YOUTH_CARE_MAPPING: &str = include_str!("../../../fixtures/jeugdhulp-mapping.json");
const DISTRICTS: &str = include_str!("../../../fixtures/kerncijfers-wijken-synthetisch.csv");
const DISTRICTS_MAPPING: &str = include_str!("../../../fixtures/wijken-mapping.json");
const OUT_OF_SCHOOL: &str = include_str!("../../../fixtures/thuiszitters-synthetisch.csv");
const OUT_OF_SCHOOL_MAPPING: &str = include_str!("../../../fixtures/thuiszitters-mapping.json");

/// The indicator the demo fills.
pub const INDICATOR: &str = "jeugdhulp";
/// The indicator of pupils out of school for a long time, per 1,000 pupils.
pub const OUT_OF_SCHOOL_INDICATOR: &str = "thuiszitters";
/// The demo municipality's area code.
pub const AREA: &str = "GM9901";

/// What the demo did with figures.
#[derive(Debug, serde::Serialize)]
pub struct DemoFigures {
    /// The indicator.
    pub indicator: String,
    /// Observations stored.
    pub observations: usize,
    /// The persona's story document.
    pub persona: DocId,
    /// How many young people in the area are like the persona.
    pub young_people_like_her: f64,
    /// Observations stored for the out-of-school indicator.
    pub out_of_school_observations: usize,
    /// The latest figures of the demo municipality, one per indicator.
    pub latest: Vec<LatestFigure>,
    /// The municipality's documents to hand to the partners: the registry and the indicators.
    #[serde(skip)]
    pub documents: Vec<DocId>,
}

/// The latest figure of an indicator for the demo municipality, as the state of the youth
/// lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatestFigure {
    /// The indicator.
    pub indicator: String,
    /// The value in the indicator's unit (a count, or per 1,000).
    pub value: f64,
    /// The period, e.g. `2024`.
    pub period: String,
    /// Where it comes from.
    pub source: String,
}

/// The municipality reads in the synthetic figures; the provider writes a persona beside them.
pub fn seed(
    municipality: &Replica<SledStore>,
    provider: &Replica<SledStore>,
) -> anyhow::Result<DemoFigures> {
    let figures = Figures::new(municipality);
    let mut areas = read_areas(AREAS.as_bytes())?;
    // The key figures by district name the districts too.
    for (code, info) in read_areas(DISTRICTS.as_bytes())?.iter() {
        areas.insert(code, info.clone());
    }
    let registry = figures.store_registry(&areas, now(), random())?;
    let fields = IndicatorFields {
        title: Some("Jongeren met jeugdhulp".into()),
        definition: Some("Jongeren tot 18 jaar die in het jaar jeugdhulp kregen (SYNTHETISCHE voorbeeldcijfers).".into()),
        unit: Some("aantal".into()),
        better: Some("geen".into()),
        source: Some("synthetisch, in de vorm van CBS StatLine".into()),
    };
    let mut observations = 0;
    for (csv, mapping) in [
        (YOUTH_CARE, YOUTH_CARE_MAPPING),
        (DISTRICTS, DISTRICTS_MAPPING),
    ] {
        let options = ImportOptions {
            mapping: Some(ColumnMapping::from_json(mapping)?),
            ..options_for(&figures, INDICATOR, fields.unit.as_deref())?
        };
        let target = Target {
            name: INDICATOR,
            fields: &fields,
            dry_run: false,
        };
        observations +=
            import_from(&figures, csv.as_bytes(), &options, &target, &mut |_| {})?.observations;
    }
    let out_of_school_fields = IndicatorFields {
        title: Some("Thuiszitters per 1.000 leerlingen".into()),
        definition: Some("Leerplichtige leerlingen die langer dan vier weken zonder ontheffing niet naar school gaan, per 1.000 leerlingen (SYNTHETISCHE voorbeeldcijfers).".into()),
        unit: Some("per-1000".into()),
        better: Some("lager".into()),
        source: Some("synthetisch, in de vorm van de leerplichtcijfers".into()),
    };
    let out_of_school_observations = import_from(
        &figures,
        OUT_OF_SCHOOL.as_bytes(),
        // The file counts pupils out of school beside all pupils; the import turns the counts
        // into the indicator's unit, per 1,000 pupils.
        &ImportOptions {
            mapping: Some(ColumnMapping::from_json(OUT_OF_SCHOOL_MAPPING)?),
            ..options_for(
                &figures,
                OUT_OF_SCHOOL_INDICATOR,
                out_of_school_fields.unit.as_deref(),
            )?
        },
        &Target {
            name: OUT_OF_SCHOOL_INDICATOR,
            fields: &out_of_school_fields,
            dry_run: false,
        },
        &mut |_| {},
    )?
    .observations;
    let out_of_school = figures.indicator(OUT_OF_SCHOOL_INDICATOR)?;
    let indicator = figures.indicator(INDICATOR)?;
    let mut latest = Vec::new();
    for ind in [&indicator, &out_of_school] {
        let (table, _) = figures.shown_observations(ind)?;
        let area = AreaCode::parse(AREA)?;
        let Some(period) = table.latest_period(area) else {
            continue;
        };
        let Some(o) = table.get(area, &Breakdown::total(), period) else {
            continue;
        };
        // Stored in the indicator's unit; rounded to its decimals, as every output writes it.
        let Some(value) = o.value.map(|v| ind.unit.round(v)) else {
            continue;
        };
        latest.push(LatestFigure {
            indicator: ind.name.clone(),
            value,
            period: period.label(),
            source: ind.source.clone(),
        });
    }
    // The persona stands for the girls with youth care in Havenstad, as far as may be shown.
    let (table, _) = figures.shown_observations(&indicator)?;
    let area = AreaCode::parse(AREA)?;
    let girls = Breakdown::total().with("geslacht", "Meisjes");
    let like_her = table
        .latest_period(area)
        .and_then(|p| table.get(area, &girls, p))
        .and_then(|o| o.value);
    let set = |field: &str, value: String| Assignment {
        field: field.into(),
        value,
    };
    let persona = super::super::doc::create(
        provider,
        "verhaal",
        &[
            set("soort", "persona".into()),
            set("titel", "Noor, 15 jaar".into()),
            set(
                "tekst",
                "Noor (verzonnen) woont met haar moeder en broertje in het Havenkwartier. Sinds de scheiding slaapt ze slecht en mist ze steeds vaker de eerste les. Via de jeugdhulpverlener op school praat ze nu één keer per week met iemand die tijd voor haar heeft.".into(),
            ),
            set("indicator", INDICATOR.into()),
            set("gebied", AREA.into()),
        ]
        .into_iter()
        .chain(like_her.map(|n| set("aantal-jongeren", n.to_string())))
        .collect::<Vec<_>>(),
    )?;
    Ok(DemoFigures {
        indicator: indicator.name,
        observations,
        persona,
        young_people_like_her: like_her.unwrap_or(0.0),
        out_of_school_observations,
        latest,
        documents: vec![registry, indicator.id, out_of_school.id],
    })
}
