//! One numeric cell as CBS and Dutch spreadsheets write it.

use crate::figures::excerpt::excerpt;

/// What a value cell holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// No value: empty, `.` or `-`.
    Missing,
    /// A secret value: `x`, `geheim` or `?`.
    Secret,
    /// A number.
    Number(f64),
}

/// Reads a cell: `12`, `12,5` (decimal comma), `12.5`, `-3`, `x`, `geheim`, `.`.
/// Thousands separators are refused, because `1.234` is ambiguous.
pub fn parse_cell(raw: &str) -> Result<Cell, String> {
    let t = raw.trim();
    match t {
        "" | "." | "-" => return Ok(Cell::Missing),
        "x" | "X" | "?" => return Ok(Cell::Secret),
        _ if t.eq_ignore_ascii_case("geheim") => return Ok(Cell::Secret),
        _ => {}
    }
    let commas = t.bytes().filter(|b| *b == b',').count();
    let dots = t.bytes().filter(|b| *b == b'.').count();
    if commas + dots > 1 {
        return Err(format!(
            "{:?} is geen getal; schrijf getallen zonder scheidingsteken voor duizendtallen",
            excerpt(t)
        ));
    }
    let ok = t
        .strip_prefix('-')
        .unwrap_or(t)
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b',' || b == b'.');
    let parsed = if commas == 1 {
        t.replacen(',', ".", 1).parse::<f64>()
    } else {
        t.parse::<f64>()
    };
    match parsed {
        Ok(n) if ok && n.is_finite() => Ok(Cell::Number(n)),
        _ => Err(format!("{:?} is geen getal", excerpt(t))),
    }
}
