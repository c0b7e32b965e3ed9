//! The guard: checks a value or an imported row and refuses it with the field and the reason.

use std::fmt;

use super::{
    find_birth_date, find_bsn, find_name_with_date, is_birth_date_title, is_name_title,
    looks_like_date,
};
use crate::catalog::FieldType;
use crate::document::FieldValue;

/// What the guard found. Findings never repeat the personal data itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A number that passes the elfproef, at this character position.
    Bsn { position: usize },
    /// A date announced as a date of birth, at this character position.
    BirthDate { position: usize },
    /// A column whose title says it holds citizen service numbers.
    BsnColumn,
    /// A column whose title says it holds dates of birth.
    BirthDateColumn,
    /// A row with a name in one column and a date in another.
    NameWithDate { name_column: String },
    /// A count so small that it could point at persons.
    SmallCount { threshold: u32 },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Bsn { position } => write!(
                f,
                "bevat op positie {} een getal dat een burgerservicenummer (BSN) kan zijn (het voldoet aan de elfproef)",
                position + 1
            ),
            Finding::BirthDate { position } => write!(
                f,
                "bevat op positie {} wat een geboortedatum lijkt",
                position + 1
            ),
            Finding::BsnColumn => f.write_str("is een kolom met burgerservicenummers"),
            Finding::BirthDateColumn => f.write_str("is een kolom met geboortedata"),
            Finding::SmallCount { threshold } => write!(
                f,
                "is een klein aantal (0 tot en met {threshold} is geheim volgens het cijferbeleid van de samenwerking); laat het veld leeg, of neem een groter gebied of een langere periode"
            ),
            Finding::NameWithDate { name_column } => write!(
                f,
                "bevat een datum in dezelfde rij als een naam (kolom {name_column}); dat lijkt een geboortedatum van een persoon"
            ),
        }
    }
}

/// A refusal: personal data in a field or column. Nothing of the edit or import is saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "veld {field} {finding}; gedeelde documenten bevatten alleen cijfers over groepen, geen persoonsgegevens, dus er is niets opgeslagen"
)]
pub struct PrivacyError {
    /// The field (or column) the finding is in.
    pub field: String,
    /// What was found.
    pub finding: Finding,
}

/// Checks one piece of free text for a BSN or a date of birth.
pub fn check_text(field: &str, text: &str) -> Result<(), PrivacyError> {
    let refuse = |finding| {
        Err(PrivacyError {
            field: field.to_string(),
            finding,
        })
    };
    if let Some(position) = find_bsn(text) {
        return refuse(Finding::Bsn { position });
    }
    if let Some(position) = find_birth_date(text).or_else(|| find_name_with_date(text)) {
        return refuse(Finding::BirthDate { position });
    }
    Ok(())
}

/// Checks a count against the small-number policy: a count up to `threshold` is refused, any
/// other is rounded to a multiple of `round_to` (as shown counts are).
pub fn check_count(
    field: &str,
    n: f64,
    threshold: f64,
    round_to: f64,
) -> Result<f64, PrivacyError> {
    if n <= threshold {
        return Err(PrivacyError {
            field: field.to_string(),
            finding: Finding::SmallCount {
                threshold: threshold.max(0.0) as u32,
            },
        });
    }
    let step = round_to.max(1.0);
    Ok((n / step).round() * step)
}

/// Applies the small-number policy to every count a value of type `ty` holds, in list items too
/// (named `field[index].name`): a count up to `threshold` is refused, any other is rounded to a
/// multiple of `round_to`. Values that are not counts come back as they are.
pub fn check_counts(
    field: &str,
    ty: &FieldType,
    value: FieldValue,
    threshold: f64,
    round_to: f64,
) -> Result<FieldValue, PrivacyError> {
    match (ty, value) {
        (FieldType::Count, FieldValue::Number(n)) => Ok(FieldValue::Number(check_count(
            field, n, threshold, round_to,
        )?)),
        (FieldType::List { fields }, FieldValue::List(mut items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                for (name, v) in item.iter_mut() {
                    let Some(def) = fields.iter().find(|f| &f.name == name) else {
                        continue;
                    };
                    let path = format!("{field}[{i}].{name}");
                    let taken = std::mem::replace(v, FieldValue::Number(0.0));
                    *v = check_counts(&path, &def.ty, taken, threshold, round_to)?;
                }
            }
            Ok(FieldValue::List(items))
        }
        (_, value) => Ok(value),
    }
}

/// Checks every text inside a field value, naming list items as `field[index].name`.
pub fn check_value(field: &str, value: &FieldValue) -> Result<(), PrivacyError> {
    match value {
        FieldValue::Text(text) => check_text(field, text),
        FieldValue::Number(_) => Ok(()),
        FieldValue::List(items) => {
            for (i, item) in items.iter().enumerate() {
                for (name, v) in item {
                    check_value(&format!("{field}[{i}].{name}"), v)?;
                }
            }
            Ok(())
        }
    }
}

/// Checks an imported row, given as (column title, raw value) pairs, for the shape of a record
/// about a person: a BSN or birth-date column, or a name next to a date.
pub fn check_row<'a>(
    cells: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Result<(), PrivacyError> {
    let refuse = |title: &str, finding| {
        Err(PrivacyError {
            field: title.to_string(),
            finding,
        })
    };
    let name_column = cells
        .clone()
        .into_iter()
        .find(|(title, value)| is_name_title(title) && !value.trim().is_empty())
        .map(|(title, _)| title);
    for (title, value) in cells {
        if value.trim().is_empty() {
            continue;
        }
        let t = title.trim().to_lowercase();
        if ["bsn", "burgerservicenummer", "sofinummer", "sofi-nummer"].contains(&t.as_str()) {
            return refuse(title, Finding::BsnColumn);
        }
        if is_birth_date_title(title) {
            return refuse(title, Finding::BirthDateColumn);
        }
        if let Some(name_column) = name_column
            && looks_like_date(value)
        {
            return refuse(
                title,
                Finding::NameWithDate {
                    name_column: name_column.to_string(),
                },
            );
        }
    }
    Ok(())
}
