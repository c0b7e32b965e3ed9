//! Numbers in an indicator's own unit: a number declared to be in the unit of the indicator that
//! another field names (`eenheid-van`, such as the baseline and target of a societal result)
//! must fit it (a count is whole and not negative, a percentage lies from 0 to 100, a figure per
//! 1,000 from 0 to 1,000), and that field must name an indicator that exists. A field of type
//! `cijfer` that no number depends on (a story's indicator) is not held to existence: a partner
//! may write beside an indicator before it has arrived.
//!
//! These rules apply to edits made here. Documents that arrive from partners are not held to
//! them (the indicator they name may arrive later), and values that an edit leaves alone are
//! not checked again, so documents written before the rules (percentage targets) keep loading
//! and can still be edited.

use std::collections::BTreeMap;

use super::{Indicator, Unit};
use crate::catalog::{FieldDef, FieldType};
use crate::document::{FieldValue, ValueError, format_number};

/// Checks `after` (a document's fields once an edit is applied) for the fields in `changed`.
/// `indicators` are the indicators known here.
pub fn check_units(
    fields: &[FieldDef],
    after: &BTreeMap<String, FieldValue>,
    changed: &dyn Fn(&str) -> bool,
    indicators: &[Indicator],
) -> Result<(), ValueError> {
    check_level(fields, after, changed, indicators, "")
}

/// Whether a kind has fields these rules are about (so that other edits need not look up the
/// indicators at all).
pub fn has_unit_rules(fields: &[FieldDef]) -> bool {
    fields.iter().any(|f| match &f.ty {
        FieldType::List { fields } => has_unit_rules(fields),
        _ => f.unit_of.is_some(),
    })
}

/// Whether `n` is a value of `unit`; the problem in words when it is not.
pub fn fits_unit(unit: Unit, n: f64) -> Result<(), String> {
    let shown = format_number(n);
    match unit {
        Unit::Count if n < 0.0 || n.fract() != 0.0 => Err(format!(
            "{shown} is geen aantal; de indicator telt, dus schrijf een geheel getal vanaf 0"
        )),
        Unit::Percentage if !(0.0..=100.0).contains(&n) => Err(format!(
            "{shown} is geen percentage; de indicator is een percentage, dus van 0 tot en met 100"
        )),
        Unit::PerThousand if !(0.0..=1000.0).contains(&n) => Err(format!(
            "{shown} kan niet per 1.000; de indicator telt per 1.000, dus van 0 tot en met 1.000"
        )),
        _ => Ok(()),
    }
}

fn check_level(
    fields: &[FieldDef],
    values: &BTreeMap<String, FieldValue>,
    changed: &dyn Fn(&str) -> bool,
    indicators: &[Indicator],
    prefix: &str,
) -> Result<(), ValueError> {
    let find = |name: &str| indicators.iter().find(|i| i.name == name);
    for def in fields {
        let path = format!("{prefix}{}", def.name);
        let problem = |problem: String| ValueError {
            field: path.clone(),
            problem,
        };
        match (&def.ty, values.get(&def.name)) {
            (FieldType::Figure, Some(FieldValue::Text(name)))
                if changed(&def.name)
                    && fields.iter().any(|f| f.unit_of.as_ref() == Some(&def.name))
                    && find(name).is_none() =>
            {
                return Err(problem(unknown_indicator(name, indicators)));
            }
            (FieldType::List { fields }, Some(FieldValue::List(items))) if changed(&def.name) => {
                for (i, item) in items.iter().enumerate() {
                    let prefix = format!("{path}[{i}].");
                    check_level(fields, item, &|_| true, indicators, &prefix)?;
                }
            }
            _ => {}
        }
        let Some(of) = &def.unit_of else { continue };
        if !changed(&def.name) && !changed(of) {
            continue;
        }
        let (Some(FieldValue::Number(n)), Some(FieldValue::Text(name))) =
            (values.get(&def.name), values.get(of))
        else {
            continue;
        };
        if let Some(indicator) = find(name) {
            fits_unit(indicator.unit, *n).map_err(problem)?;
        }
    }
    Ok(())
}

fn unknown_indicator(name: &str, indicators: &[Indicator]) -> String {
    let known: Vec<&str> = indicators.iter().map(|i| i.name.as_str()).collect();
    if known.is_empty() {
        format!(
            "er is geen indicator {name:?}, en nog geen enkele; lees eerst cijfers in met `kompas figures import` of maak de indicator met `kompas figures define`"
        )
    } else {
        format!(
            "er is geen indicator {name:?}; bekende indicatoren: {}",
            known.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DocId;
    use crate::figures::Direction;

    fn indicator(name: &str, unit: Unit) -> Indicator {
        Indicator {
            id: DocId::parse("aaaaaaaaaaaa").unwrap(),
            name: name.into(),
            title: name.into(),
            definition: String::new(),
            unit,
            better: Direction::Lower,
            source: String::new(),
        }
    }

    fn field(name: &str, ty: FieldType, unit_of: Option<&str>) -> FieldDef {
        FieldDef {
            unit_of: unit_of.map(Into::into),
            ..FieldDef::new(name, ty)
        }
    }

    fn result_kind() -> Vec<FieldDef> {
        vec![
            field("indicator", FieldType::Figure, None),
            field("nulmeting", FieldType::Number, Some("indicator")),
            field("streefwaarde", FieldType::Number, Some("indicator")),
        ]
    }

    fn values(indicator: &str, baseline: f64, target: f64) -> BTreeMap<String, FieldValue> {
        BTreeMap::from([
            ("indicator".into(), FieldValue::Text(indicator.into())),
            ("nulmeting".into(), FieldValue::Number(baseline)),
            ("streefwaarde".into(), FieldValue::Number(target)),
        ])
    }

    #[test]
    fn targets_take_the_unit_of_their_indicator() {
        let known = [
            indicator("thuiszitters", Unit::PerThousand),
            indicator("sport", Unit::Percentage),
            indicator("jeugdhulp", Unit::Count),
        ];
        let all = |_: &str| true;
        let check = |name: &str, b: f64, t: f64| {
            check_units(&result_kind(), &values(name, b, t), &all, &known)
        };
        assert_eq!(check("thuiszitters", 6.5, 4.0), Ok(()));
        assert_eq!(
            check("thuiszitters", 6.5, 240.0),
            Ok(()),
            "per 1,000 above 100"
        );
        assert_eq!(check("jeugdhulp", 1200.0, 900.0), Ok(()), "a count target");
        assert_eq!(check("sport", 65.0, 75.0), Ok(()));
        let err = check("sport", 65.0, 140.0).unwrap_err();
        assert_eq!(err.field, "streefwaarde");
        assert!(err.problem.contains("percentage"), "{}", err.problem);
        let err = check("jeugdhulp", 12.5, 10.0).unwrap_err();
        assert_eq!(err.field, "nulmeting");
        assert!(err.problem.contains("geheel getal"), "{}", err.problem);
        assert_eq!(
            check("thuiszitters", 1200.0, 4.0).unwrap_err().field,
            "nulmeting"
        );
    }

    #[test]
    fn an_unknown_indicator_is_refused_naming_the_field_and_the_known_ones() {
        let known = [indicator("thuiszitters", Unit::PerThousand)];
        let err = check_units(
            &result_kind(),
            &values("thuizitters", 6.0, 4.0),
            &|_| true,
            &known,
        )
        .unwrap_err();
        assert_eq!(err.field, "indicator");
        assert!(err.problem.contains("\"thuizitters\""), "{}", err.problem);
        assert!(err.problem.contains("thuiszitters"), "{}", err.problem);
        let none = check_units(&result_kind(), &values("x", 6.0, 4.0), &|_| true, &[]).unwrap_err();
        assert!(none.problem.contains("figures define"), "{}", none.problem);
    }

    #[test]
    fn values_an_edit_leaves_alone_are_not_checked_again() {
        // An old result: a percentage target of 140 on a count indicator, with a stale name.
        let known = [indicator("sport", Unit::Percentage)];
        let old = values("verdwenen", 20.0, 140.0);
        let only_title = |f: &str| f == "titel";
        assert_eq!(
            check_units(&result_kind(), &old, &only_title, &known),
            Ok(())
        );
        // Changing the target is checked against the named indicator, once it exists.
        let mut edited = values("sport", 20.0, 140.0);
        let target = |f: &str| f == "streefwaarde";
        assert!(check_units(&result_kind(), &edited, &target, &known).is_err());
        edited.insert("streefwaarde".into(), FieldValue::Number(40.0));
        assert_eq!(
            check_units(&result_kind(), &edited, &target, &known),
            Ok(())
        );
    }

    #[test]
    fn list_items_name_existing_indicators_and_keep_to_their_units() {
        let list = vec![field(
            "cijfers",
            FieldType::List {
                fields: vec![
                    field("indicator", FieldType::Figure, None),
                    field("waarde", FieldType::Number, Some("indicator")),
                ],
            },
            None,
        )];
        assert!(has_unit_rules(&list));
        let known = [indicator("sport", Unit::Percentage)];
        let item = |name: &str, v: f64| {
            BTreeMap::from([(
                "cijfers".to_string(),
                FieldValue::List(vec![BTreeMap::from([
                    ("indicator".to_string(), FieldValue::Text(name.into())),
                    ("waarde".to_string(), FieldValue::Number(v)),
                ])]),
            )])
        };
        assert_eq!(
            check_units(&list, &item("sport", 60.0), &|_| true, &known),
            Ok(())
        );
        let err = check_units(&list, &item("sport", 160.0), &|_| true, &known).unwrap_err();
        assert_eq!(err.field, "cijfers[0].waarde");
        let err = check_units(&list, &item("zwemmen", 60.0), &|_| true, &known).unwrap_err();
        assert_eq!(err.field, "cijfers[0].indicator");
    }
}
