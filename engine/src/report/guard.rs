//! The privacy guard over everything a report puts out: every text of the report model, and
//! every rendered output (HTML, PDF source, iCalendar, minutes) before it is written.

use crate::privacy::{PrivacyError, check_text};

use super::agenda::AgendaItem;
use super::model::RoundReport;

/// Keys of the serialised report whose values are identifiers and hashes, not texts people wrote.
const IDENTIFIER_KEYS: [&str; 4] = ["id", "covered", "data_version", "definition"];

/// Checks every text in the report for a BSN or a date of birth, naming where it was found.
pub fn check_report(report: &RoundReport) -> Result<(), PrivacyError> {
    let value = serde_json::to_value(report).unwrap_or_default();
    walk("rapport", &value)
}

fn walk(path: &str, value: &serde_json::Value) -> Result<(), PrivacyError> {
    match value {
        serde_json::Value::String(s) => check_text(path, s),
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(&format!("{path}[{i}]"), v)?;
            }
            Ok(())
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if !IDENTIFIER_KEYS.contains(&k.as_str()) {
                    walk(&format!("{path}.{k}"), v)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Checks a rendered output whole. Words of 12 or more lowercase letters and digits with a
/// letter among them (document ids, change hashes, stable event ids) are identifiers, not
/// numbers people wrote, and are left out of the check; every text inside the report was
/// checked unmasked by [`check_report`] before it was rendered.
pub fn check_output(what: &str, text: &str) -> Result<(), PrivacyError> {
    check_text(what, &mask_identifiers(text))
}

/// Checks the texts that go into a calendar: its name and every event's title and
/// description. The serialised file is not checked whole: its time stamps (`20270630T120000`)
/// are runs of digits that can pass the elfproef, and they are made by kompas, not written by
/// people.
pub fn check_agenda(name: &str, items: &[AgendaItem]) -> Result<(), PrivacyError> {
    check_text("agenda", name)?;
    for item in items {
        check_text(&format!("agenda: {}", item.uid), &item.title)?;
        check_text(&format!("agenda: {}", item.uid), &item.description)?;
    }
    Ok(())
}

fn mask_identifiers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let is_id = token.len() >= 12
            && token.chars().any(|c| c.is_ascii_lowercase())
            && token
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if is_id {
            out.extend(std::iter::repeat_n('x', token.len()));
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_pass_and_a_bsn_does_not() {
        // 123456782 passes the elfproef.
        assert!(check_output("x", "document 0a1234567820bcde en kk123456782z").is_ok());
        assert!(check_output("x", "leerling 123456782 woont").is_err());
        assert!(
            check_output("x", "nr A123456782").is_err(),
            "too short to be an id"
        );
        assert!(
            check_output("x", "UID:Q123456782ZZZZ").is_err(),
            "capitals: no id"
        );
    }

    #[test]
    fn the_agenda_guard_checks_titles_and_descriptions() {
        let item = |title: &str, description: &str| AgendaItem {
            uid: "verbeteractie-x@kompas.samenwerking".into(),
            title: title.into(),
            description: description.into(),
            when: crate::report::When::Day("2027-06-30".into()),
        };
        assert!(check_agenda("kompas", &[item("Sportpas invoeren", "Eigenaar: gemeente")]).is_ok());
        assert!(check_agenda("kompas", &[item("Gesprek", "over leerling 123456782")]).is_err());
        assert!(check_agenda("kompas", &[item("leerling 123456782", "")]).is_err());
        assert!(check_agenda("kompas 123456782", &[]).is_err());
    }
}
