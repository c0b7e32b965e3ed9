//! The compact encoding of a batch of observations inside an indicator document.
//!
//! One line per observation, fields separated by tabs:
//! `area  period  value  denominator  status  breakdown  note`, where a secret value is `x`, an
//! absent denominator is empty, status is `d` (final) or `v` (provisional) and the breakdown is
//! `dim=cat|dim=cat`. Texts never contain tabs, newlines, `|` or `=` ([`clean_text`] sees to that).
//! Decoding checks everything again, including the privacy guard, because a batch may arrive
//! from another replica.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{AreaCode, Breakdown, Observation, Period, Status};
use crate::privacy;

/// Why stored observations could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("opgeslagen cijfers, regel {line}: {problem}")]
pub struct CodecError {
    /// The line within the batch (1-based).
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// Replaces the characters the encoding reserves by spaces and trims the result.
pub fn clean_text(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r' | '|' | '=') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Appends the encoding of `rows` to `out`.
pub fn encode(rows: &[Observation], out: &mut Vec<u8>) {
    let mut line = String::with_capacity(64);
    for o in rows {
        line.clear();
        let _ = write!(line, "{}\t{}\t", o.area, o.period);
        match o.value {
            Some(v) => write_number(&mut line, v),
            None => line.push('x'),
        }
        line.push('\t');
        if let Some(d) = o.denominator {
            write_number(&mut line, d);
        }
        line.push_str(match o.status {
            Status::Definitief => "\td\t",
            Status::Voorlopig => "\tv\t",
        });
        for (i, (k, v)) in o.breakdown.iter().enumerate() {
            if i > 0 {
                line.push('|');
            }
            let _ = write!(line, "{k}={v}");
        }
        line.push('\t');
        if let Some(n) = &o.note {
            line.push_str(n);
        }
        line.push('\n');
        out.extend_from_slice(line.as_bytes());
    }
}

/// Writes a number so that it reads back exactly; whole numbers take the short way.
fn write_number(out: &mut String, n: f64) {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        let _ = write!(out, "{}", n as i64);
    } else {
        let _ = write!(out, "{n}");
    }
}

/// Decodes one batch, checking every field.
pub fn decode(bytes: &[u8]) -> Result<Vec<Observation>, CodecError> {
    let text = std::str::from_utf8(bytes).map_err(|_| CodecError {
        line: 0,
        problem: "geen UTF-8".into(),
    })?;
    let mut out = Vec::with_capacity(text.len() / 40);
    for (i, line) in text.lines().enumerate() {
        let bad = |problem: String| CodecError {
            line: i + 1,
            problem,
        };
        let f: Vec<&str> = line.split('\t').collect();
        let [area, period, value, den, status, breakdown, note] = f.as_slice() else {
            return Err(bad(format!("verwacht 7 velden, vond er {}", f.len())));
        };
        let number = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| bad(format!("{s:?} is geen getal")))
        };
        let mut dims = BTreeMap::new();
        for part in breakdown.split('|').filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("uitsplitsing {part:?} mist =")))?;
            privacy::check_text(k, v).map_err(|e| bad(e.to_string()))?;
            dims.insert(k.to_string(), v.to_string());
        }
        privacy::check_text("trendbreuk", note).map_err(|e| bad(e.to_string()))?;
        out.push(Observation {
            area: AreaCode::parse(area).map_err(|e| bad(e.to_string()))?,
            period: Period::parse(period).map_err(|e| bad(e.to_string()))?,
            value: if *value == "x" {
                None
            } else {
                Some(number(value)?)
            },
            denominator: if den.is_empty() {
                None
            } else {
                Some(number(den)?)
            },
            status: match *status {
                "d" => Status::Definitief,
                "v" => Status::Voorlopig,
                other => return Err(bad(format!("onbekende status {other:?}"))),
            },
            breakdown: Breakdown::from_map(dims),
            note: (!note.is_empty()).then(|| note.to_string()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip() {
        let rows = vec![
            Observation {
                area: AreaCode::parse("GM0363").unwrap(),
                period: Period::parse("2023KW02").unwrap(),
                breakdown: Breakdown::total().with("geslacht", "meisje"),
                value: Some(12.5),
                denominator: Some(1000.0),
                status: Status::Voorlopig,
                note: Some("nieuwe definitie".into()),
            },
            Observation {
                area: AreaCode::parse("WK036301").unwrap(),
                period: Period::year(2022),
                breakdown: Breakdown::total(),
                value: None,
                denominator: None,
                status: Status::Definitief,
                note: None,
            },
        ];
        let mut bytes = Vec::new();
        encode(&rows, &mut bytes);
        assert_eq!(decode(&bytes).unwrap(), rows);
    }

    #[test]
    fn damaged_batches_name_the_line() {
        let err =
            decode(b"GM0363\t2023JJ00\t1\t\td\t\t\nGM0363\t2023JJ00\tveel\t\td\t\t\n").unwrap_err();
        assert_eq!(err.line, 2);
        let bsn = decode(b"GM0363\t2023JJ00\t1\t\td\tgroep=111222333\t\n").unwrap_err();
        assert!(bsn.problem.contains("burgerservicenummer"), "{bsn}");
    }
}
