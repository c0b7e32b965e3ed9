//! The edit form of a document, generated from its kind's fields: which control each field
//! gets, what it shows, and how what a person typed becomes assignments for the engine, with
//! every problem kept at the field it is about.
//!
//! The checks themselves are the engine's (`FieldDef::parse_value`, and the replica's link and
//! privacy checks on saving); this module only collects their messages per field.

use std::collections::{BTreeMap, HashMap};

use kompas_engine::document::{Assignment, format_number};
use kompas_engine::{FieldDef, FieldType, FieldValue, KindDef, ReplicaError};

use super::dates;

/// Choices with at most this many options are radio buttons; more become a select.
const RADIO_LIMIT: usize = 5;
/// List rows shown empty below the filled ones, so a row can be added without a script.
const SPARE_ROWS: usize = 1;

/// One option of a choice or a link.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The control a field gets.
pub enum Widget {
    /// A one-line text box (`kind` is the input type: text or date).
    Line { value: String, kind: &'static str },
    /// A number; percentages say so.
    Number { value: String, percent: bool },
    /// A long text.
    Area { value: String },
    /// A few options as radio buttons.
    Radios { options: Vec<Opt> },
    /// Options (or documents to link to) as a select.
    Select { options: Vec<Opt> },
    /// A list: a row per item, each with a cell per item field.
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Cell>>,
        count: usize,
    },
}

/// One cell of a list row.
pub struct Cell {
    pub name: String,
    pub id: String,
    pub label: String,
    pub value: String,
    pub kind: &'static str,
    pub options: Vec<Opt>,
    pub error: Option<String>,
}

/// One field of the form.
pub struct FormField {
    /// The field's name in the kind.
    pub field: String,
    /// The input's name in the form.
    pub name: String,
    pub id: String,
    pub label: String,
    pub help: String,
    pub required: bool,
    pub error: Option<String>,
    pub widget: Widget,
}

/// What the form holds: a raw string per input name, as typed or as stored.
pub type Input = HashMap<String, String>;

/// Documents that a link field may point at, by kind: `(id, title)`.
pub type Targets = HashMap<String, Vec<(String, String)>>;

/// The input name of a field.
fn input_name(field: &str) -> String {
    format!("veld.{field}")
}

fn cell_name(field: &str, row: usize, sub: &str) -> String {
    format!("veld.{field}.{row}.{sub}")
}

/// How many rows a list field has in `input`.
pub fn row_count(input: &Input, field: &str) -> usize {
    input
        .get(&format!("rijen.{field}"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(500)
}

/// The form input of a document's stored values.
pub fn input_of(kind: &KindDef, fields: &BTreeMap<String, FieldValue>) -> Input {
    let mut input = Input::new();
    for def in &kind.fields {
        match (&def.ty, fields.get(&def.name)) {
            (FieldType::List { fields: subs }, value) => {
                let items = match value {
                    Some(FieldValue::List(items)) => items.as_slice(),
                    _ => &[],
                };
                for (i, item) in items.iter().enumerate() {
                    for sub in subs {
                        if let Some(v) = item.get(&sub.name) {
                            input.insert(cell_name(&def.name, i, &sub.name), shown(v));
                        }
                    }
                }
                input.insert(
                    format!("rijen.{}", def.name),
                    (items.len() + SPARE_ROWS).to_string(),
                );
            }
            (_, Some(v)) => {
                input.insert(input_name(&def.name), shown(v));
            }
            (_, None) => {}
        }
    }
    input
}

/// A stored value as a person reads and types it: numbers with a decimal comma.
pub fn shown(value: &FieldValue) -> String {
    match value {
        FieldValue::Number(n) => format_number(*n),
        other => other.to_string(),
    }
}

/// A stored value of the field `def` as a person reads it on a page: a choice by its label,
/// a date in words, a list item by item with its fields' labels, numbers with a decimal comma.
pub fn shown_as(def: &FieldDef, value: &FieldValue) -> String {
    match (&def.ty, value) {
        (FieldType::Choice { .. }, FieldValue::Text(t)) => FieldType::option_shown(t),
        (FieldType::Date, FieldValue::Text(d)) => dates::day(d),
        (FieldType::List { fields: subs }, FieldValue::List(items)) => items
            .iter()
            .map(|item| {
                let parts: Vec<String> = subs
                    .iter()
                    .filter_map(|sub| {
                        let v = item.get(&sub.name)?;
                        let v = shown_as(sub, v);
                        (!v.is_empty()).then(|| format!("{}: {v}", sub.label))
                    })
                    .collect();
                parts.join(", ")
            })
            .filter(|item| !item.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
        _ => shown(value),
    }
}

/// The form input of a submitted form: every `veld.*` and `rijen.*` pair.
pub fn input_of_form(pairs: &[(String, String)]) -> Input {
    pairs
        .iter()
        .filter(|(k, _)| k.starts_with("veld.") || k.starts_with("rijen."))
        .cloned()
        .collect()
}

/// Turns the input into one assignment per field of the kind, checking each value with the
/// engine; every problem is returned by field (list cells as `field[row].sub`).
pub fn assignments(
    kind: &KindDef,
    input: &Input,
) -> Result<Vec<Assignment>, BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut errors = BTreeMap::new();
    for def in &kind.fields {
        let value = match &def.ty {
            FieldType::List { fields: subs } => match list_json(def, subs, input) {
                Ok(json) => json,
                Err(cell_errors) => {
                    errors.extend(cell_errors);
                    continue;
                }
            },
            _ => input
                .get(&input_name(&def.name))
                .map(|v| v.trim().to_string())
                .unwrap_or_default(),
        };
        if !value.is_empty()
            && let Err(e) = def.parse_value(&value)
        {
            errors.insert(e.field.clone(), e.problem);
            continue;
        }
        out.push(Assignment {
            field: def.name.clone(),
            value,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A list's rows as the JSON text the engine reads; rows left empty are dropped.
fn list_json(
    def: &FieldDef,
    subs: &[FieldDef],
    input: &Input,
) -> Result<String, BTreeMap<String, String>> {
    let mut items = Vec::new();
    let mut errors = BTreeMap::new();
    for row in 0..row_count(input, &def.name) {
        let mut item = serde_json::Map::new();
        for sub in subs {
            let raw = input
                .get(&cell_name(&def.name, row, &sub.name))
                .map(|v| v.trim())
                .unwrap_or_default();
            if raw.is_empty() {
                continue;
            }
            match sub.parse_value(raw) {
                Ok(v) => {
                    item.insert(
                        sub.name.clone(),
                        serde_json::to_value(&v).unwrap_or(serde_json::Value::Null),
                    );
                }
                Err(e) => {
                    errors.insert(format!("{}[{row}].{}", def.name, sub.name), e.problem);
                }
            }
        }
        if !item.is_empty() {
            items.push(serde_json::Value::Object(item));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if items.is_empty() {
        return Ok(String::new());
    }
    Ok(serde_json::Value::Array(items).to_string())
}

/// The field a replica's refusal is about, with the message to show there.
pub fn field_error(e: &ReplicaError) -> Option<(String, String)> {
    match e {
        ReplicaError::Value(v) => Some((v.field.clone(), v.problem.clone())),
        ReplicaError::BadLink {
            field, expected, ..
        } => Some((
            field.clone(),
            format!("kies een bestaand document van soort {expected}"),
        )),
        ReplicaError::Privacy(p) => Some((p.field.clone(), p.to_string())),
        _ => None,
    }
}

/// The form's fields with their controls, values and errors.
pub fn fields(
    kind: &KindDef,
    input: &Input,
    errors: &BTreeMap<String, String>,
    targets: &Targets,
) -> Vec<FormField> {
    kind.fields
        .iter()
        .map(|def| {
            let name = input_name(&def.name);
            let value = input.get(&name).cloned().unwrap_or_default();
            let widget = match &def.ty {
                FieldType::Text | FieldType::Figure | FieldType::Organisation => Widget::Line {
                    value,
                    kind: "text",
                },
                FieldType::Date => Widget::Line {
                    value,
                    kind: "date",
                },
                FieldType::LongText => Widget::Area { value },
                FieldType::Number | FieldType::Count => Widget::Number {
                    value,
                    percent: false,
                },
                FieldType::Percentage => Widget::Number {
                    value,
                    percent: true,
                },
                FieldType::Choice { options } => {
                    let opts = choice_options(options, &value);
                    if options.len() <= RADIO_LIMIT {
                        Widget::Radios { options: opts }
                    } else {
                        Widget::Select { options: opts }
                    }
                }
                FieldType::Link { kind } => Widget::Select {
                    options: link_options(targets.get(kind), &value),
                },
                FieldType::List { fields: subs } => rows_widget(def, subs, input, errors, targets),
            };
            FormField {
                field: def.name.clone(),
                id: format!("veld-{}", def.name),
                name,
                label: def.label.clone(),
                help: def.help.clone(),
                required: def.required,
                error: errors.get(&def.name).cloned(),
                widget,
            }
        })
        .collect()
}

fn choice_options(options: &[String], value: &str) -> Vec<Opt> {
    let mut out = vec![Opt {
        value: String::new(),
        label: "(niet gekozen)".into(),
        selected: value.is_empty(),
    }];
    out.extend(options.iter().map(|o| Opt {
        value: o.clone(),
        label: FieldType::option_shown(o),
        selected: o == value,
    }));
    out
}

fn link_options(targets: Option<&Vec<(String, String)>>, value: &str) -> Vec<Opt> {
    let mut out = vec![Opt {
        value: String::new(),
        label: "(geen)".into(),
        selected: value.is_empty(),
    }];
    out.extend(targets.into_iter().flatten().map(|(id, title)| Opt {
        value: id.clone(),
        label: title.clone(),
        selected: id == value,
    }));
    out
}

fn rows_widget(
    def: &FieldDef,
    subs: &[FieldDef],
    input: &Input,
    errors: &BTreeMap<String, String>,
    targets: &Targets,
) -> Widget {
    let filled = (0..row_count(input, &def.name))
        .filter(|row| {
            subs.iter().any(|sub| {
                input
                    .get(&cell_name(&def.name, *row, &sub.name))
                    .is_some_and(|v| !v.trim().is_empty())
            })
        })
        .map(|row| row + 1)
        .max()
        .unwrap_or(0);
    let count = row_count(input, &def.name).max(filled + SPARE_ROWS);
    let rows = (0..count)
        .map(|row| {
            subs.iter()
                .map(|sub| {
                    let name = cell_name(&def.name, row, &sub.name);
                    let value = input.get(&name).cloned().unwrap_or_default();
                    let (kind, options) = match &sub.ty {
                        FieldType::Date => ("date", Vec::new()),
                        FieldType::Number | FieldType::Percentage => ("text", Vec::new()),
                        FieldType::Choice { options } => ("text", choice_options(options, &value)),
                        FieldType::Link { kind } => {
                            ("text", link_options(targets.get(kind), &value))
                        }
                        _ => ("text", Vec::new()),
                    };
                    Cell {
                        id: format!("veld-{}-{row}-{}", def.name, sub.name),
                        label: format!("{}, rij {}", sub.label, row + 1),
                        error: errors
                            .get(&format!("{}[{row}].{}", def.name, sub.name))
                            .cloned(),
                        name,
                        value,
                        kind,
                        options,
                    }
                })
                .collect()
        })
        .collect();
    Widget::Rows {
        columns: subs.iter().map(|s| s.label.clone()).collect(),
        rows,
        count,
    }
}

/// Applies a row button (add a row, remove row N) to the input; `true` if `action` was one.
pub fn row_action(kind: &KindDef, input: &mut Input, action: &str) -> bool {
    if let Some(field) = action.strip_prefix("rij-erbij:") {
        if kind.field(field).is_some() {
            let n = row_count(input, field).max(SPARE_ROWS) + 1;
            input.insert(format!("rijen.{field}"), n.to_string());
        }
        return true;
    }
    let Some(rest) = action.strip_prefix("rij-weg:") else {
        return false;
    };
    let Some((field, row)) = rest.rsplit_once(':') else {
        return true;
    };
    let (Some(def), Ok(row)) = (kind.field(field), row.parse::<usize>()) else {
        return true;
    };
    let FieldType::List { fields: subs } = &def.ty else {
        return true;
    };
    let n = row_count(input, field).max(row + 1);
    for r in row..n {
        for sub in subs {
            let next = input.remove(&cell_name(field, r + 1, &sub.name));
            match next {
                Some(v) => input.insert(cell_name(field, r, &sub.name), v),
                None => input.remove(&cell_name(field, r, &sub.name)),
            };
        }
    }
    input.insert(format!("rijen.{field}"), n.saturating_sub(1).to_string());
    true
}
