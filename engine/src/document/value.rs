//! Field values: parsing them from what a person typed, checked against the field's type.

use std::collections::BTreeMap;
use std::fmt;

use crate::catalog::{FieldDef, FieldType};

/// The value of one field of a document.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// Text, long text, a choice, a link (document id), a figure reference or a date (YYYY-MM-DD).
    Text(String),
    /// A number or a percentage.
    Number(f64),
    /// A list of items, each a map from field name to value.
    List(Vec<BTreeMap<String, FieldValue>>),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Text(s) => f.write_str(s),
            FieldValue::Number(n) => write!(f, "{}", format_number(*n)),
            FieldValue::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    let parts: Vec<String> =
                        item.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                    write!(f, "[{}]", parts.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// Formats a number the Dutch way: a decimal comma, no trailing zeros.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}").replace('.', ",")
    }
}

/// Why a value does not fit its field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("veld {field}: {problem}")]
pub struct ValueError {
    /// The field (for list items: `list[index].field`).
    pub field: String,
    /// What is wrong, in plain words.
    pub problem: String,
}

impl FieldDef {
    /// Parses what a person typed for this field into a checked value.
    pub fn parse_value(&self, raw: &str) -> Result<FieldValue, ValueError> {
        parse_typed(&self.name, &self.ty, raw)
    }

    /// Checks a value that arrived already structured (from JSON or an imported document).
    pub fn check_value(&self, value: &FieldValue) -> Result<FieldValue, ValueError> {
        check_typed(&self.name, &self.ty, value)
    }
}

fn problem(field: &str, problem: impl Into<String>) -> ValueError {
    ValueError {
        field: field.to_string(),
        problem: problem.into(),
    }
}

fn parse_typed(field: &str, ty: &FieldType, raw: &str) -> Result<FieldValue, ValueError> {
    let trimmed = raw.trim();
    match ty {
        FieldType::Text | FieldType::Figure | FieldType::Organisation => {
            if trimmed.contains('\n') && matches!(ty, FieldType::Text) {
                return Err(problem(
                    field,
                    "een kort tekstveld mag geen regeleinde bevatten",
                ));
            }
            Ok(FieldValue::Text(trimmed.to_string()))
        }
        FieldType::LongText => Ok(FieldValue::Text(raw.to_string())),
        FieldType::Number => parse_number(trimmed)
            .map(FieldValue::Number)
            .ok_or_else(|| number_problem(field, trimmed, "getal")),
        FieldType::Count => {
            let n =
                parse_number(trimmed).ok_or_else(|| number_problem(field, trimmed, "aantal"))?;
            check_number(field, ty, n).map(FieldValue::Number)
        }
        FieldType::Percentage => {
            let digits = trimmed.strip_suffix('%').unwrap_or(trimmed).trim();
            let n =
                parse_number(digits).ok_or_else(|| number_problem(field, trimmed, "percentage"))?;
            if !(0.0..=100.0).contains(&n) {
                return Err(problem(
                    field,
                    format!("{trimmed} ligt niet tussen 0 en 100"),
                ));
            }
            Ok(FieldValue::Number(n))
        }
        FieldType::Date => parse_date(trimmed).map(FieldValue::Text).ok_or_else(|| {
            problem(
                field,
                format!("{trimmed:?} is geen datum; schrijf JJJJ-MM-DD"),
            )
        }),
        FieldType::Choice { options } => {
            if options.iter().any(|o| o == trimmed) {
                Ok(FieldValue::Text(trimmed.to_string()))
            } else {
                Err(problem(
                    field,
                    format!(
                        "{trimmed:?} is geen keuze; kies uit: {}",
                        options.join(", ")
                    ),
                ))
            }
        }
        FieldType::Link { .. } => {
            if super::DocId::parse(trimmed).is_ok() {
                Ok(FieldValue::Text(trimmed.to_string()))
            } else {
                Err(problem(field, format!("{trimmed:?} is geen document-id")))
            }
        }
        FieldType::List { .. } => {
            let json: serde_json::Value = serde_json::from_str(trimmed).map_err(|e| {
                problem(
                    field,
                    format!("een lijst schrijf je als JSON-array van objecten ({e})"),
                )
            })?;
            check_typed(field, ty, &json_to_value(field, &json)?)
        }
    }
}

fn json_to_value(field: &str, json: &serde_json::Value) -> Result<FieldValue, ValueError> {
    serde_json::from_value(json.clone()).map_err(|_| {
        problem(
            field,
            "alleen tekst, getallen en lijsten van objecten zijn toegestaan",
        )
    })
}

fn check_typed(field: &str, ty: &FieldType, value: &FieldValue) -> Result<FieldValue, ValueError> {
    match (ty, value) {
        (FieldType::List { fields }, FieldValue::List(items)) => {
            let mut checked = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let mut out = BTreeMap::new();
                for (name, v) in item {
                    let path = format!("{field}[{i}].{name}");
                    let def = fields
                        .iter()
                        .find(|f| &f.name == name)
                        .ok_or_else(|| problem(&path, "bestaat niet in dit lijstitem"))?;
                    out.insert(name.clone(), check_typed(&path, &def.ty, v)?);
                }
                checked.push(out);
            }
            Ok(FieldValue::List(checked))
        }
        (FieldType::List { .. }, _) => Err(problem(field, "verwacht een lijst")),
        (_, FieldValue::List(_)) => Err(problem(field, "verwacht geen lijst")),
        (FieldType::Number | FieldType::Percentage | FieldType::Count, FieldValue::Number(n)) => {
            check_number(field, ty, *n).map(FieldValue::Number)
        }
        (_, FieldValue::Number(n)) => parse_typed(field, ty, &n.to_string()),
        (_, FieldValue::Text(s)) => parse_typed(field, ty, s),
    }
}

/// Parses `12`, `12.5`, `12,5` and `-3`; refuses thousands separators and anything else.
pub fn parse_number(s: &str) -> Option<f64> {
    super::number::read_written(s)?.under(None)
}

/// Checks a number against its type: a percentage lies between 0 and 100, a count is whole and
/// not negative.
fn check_number(field: &str, ty: &FieldType, n: f64) -> Result<f64, ValueError> {
    if !n.is_finite() {
        return Err(problem(field, "geen eindig getal"));
    }
    match ty {
        FieldType::Percentage if !(0.0..=100.0).contains(&n) => {
            Err(problem(field, format!("{n} ligt niet tussen 0 en 100")))
        }
        FieldType::Count if n < 0.0 || n.fract() != 0.0 => Err(problem(
            field,
            format!("{n} is geen aantal; een aantal is een geheel getal vanaf 0"),
        )),
        _ => Ok(n),
    }
}

/// Why typed text is not a number: ambiguous (`1.234`), or not a number at all.
fn number_problem(field: &str, raw: &str, what: &str) -> ValueError {
    match super::number::read_written(raw) {
        Some(super::number::Written::Ambiguous { as_thousands, .. }) => problem(
            field,
            format!(
                "{raw:?} is dubbelzinnig; schrijf duizendtallen zonder scheidingsteken ({as_thousands}) en decimalen met een komma ({})",
                raw.replace('.', ",")
            ),
        ),
        _ => problem(field, format!("{raw:?} is geen {what}")),
    }
}

/// Parses `2026-03-01` (and the Dutch `1-3-2026`) into the canonical `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<String> {
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return Some(d.to_string());
    }
    let parts: Vec<&str> = s.split('-').collect();
    if let [d, m, y] = parts.as_slice()
        && y.len() == 4
    {
        let date =
            jiff::civil::Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()?;
        return Some(date.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(ty: FieldType) -> FieldDef {
        FieldDef {
            name: "f".into(),
            label: "F".into(),
            ty,
            required: false,
            help: String::new(),
            actions: None,
            unit_of: None,
        }
    }

    #[test]
    fn numbers_accept_decimal_comma_and_refuse_garbage() {
        assert_eq!(parse_number("12,5"), Some(12.5));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("1.234,5"), Some(1234.5));
        assert_eq!(parse_number("1.234"), None, "ambiguous");
        assert_eq!(parse_number("1.234.567"), Some(1_234_567.0));
        assert_eq!(parse_number("12a"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn percentages_must_lie_between_0_and_100() {
        let d = def(FieldType::Percentage);
        assert_eq!(d.parse_value("65%").unwrap(), FieldValue::Number(65.0));
        assert_eq!(d.parse_value("7,5").unwrap(), FieldValue::Number(7.5));
        let err = d.parse_value("120").unwrap_err();
        assert!(err.problem.contains("tussen 0 en 100"), "{err}");
    }

    #[test]
    fn dates_are_normalised_and_checked() {
        assert_eq!(parse_date("2026-03-01").as_deref(), Some("2026-03-01"));
        assert_eq!(parse_date("1-3-2026").as_deref(), Some("2026-03-01"));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("morgen"), None);
    }

    #[test]
    fn choices_list_the_options_when_wrong() {
        let d = def(FieldType::Choice {
            options: vec!["open".into(), "klaar".into()],
        });
        assert_eq!(
            d.parse_value("klaar").unwrap(),
            FieldValue::Text("klaar".into())
        );
        let err = d.parse_value("half").unwrap_err().to_string();
        assert!(err.contains("open, klaar"), "{err}");
    }

    #[test]
    fn list_items_are_checked_field_by_field() {
        let d = def(FieldType::List {
            fields: vec![FieldDef {
                name: "deadline".into(),
                label: "Deadline".into(),
                ty: FieldType::Date,
                required: false,
                help: String::new(),
                actions: None,
                unit_of: None,
            }],
        });
        let ok = d.parse_value(r#"[{"deadline":"2026-05-01"}]"#).unwrap();
        assert!(matches!(ok, FieldValue::List(ref items) if items.len() == 1));
        let err = d.parse_value(r#"[{"deadline":"gisteren"}]"#).unwrap_err();
        assert_eq!(err.field, "f[0].deadline");
        let err = d.parse_value(r#"[{"onbekend":"x"}]"#).unwrap_err();
        assert_eq!(err.field, "f[0].onbekend");
        assert!(d.parse_value("geen json").is_err());
    }
}
