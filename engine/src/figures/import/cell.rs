//! One numeric cell as CBS and Dutch spreadsheets write it.

use crate::document::number::{Written, read_written};
use crate::figures::excerpt::excerpt;

/// What a value cell holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// No value: empty, `.` or `-`.
    Missing,
    /// A secret value: `x`, `geheim` or `?`.
    Secret,
    /// A number, as far as it can be read alone (see [`Written`]).
    Number(Written),
}

/// Reads a cell: `12`, `12,5`, `12.5`, `-3`, `1.234.567`, `x`, `geheim`, `.`; `1.234` is left
/// for the column's convention to decide.
pub fn parse_cell(raw: &str) -> Result<Cell, String> {
    let t = raw.trim();
    match t {
        "" | "." | "-" => return Ok(Cell::Missing),
        "x" | "X" | "?" => return Ok(Cell::Secret),
        _ if t.eq_ignore_ascii_case("geheim") => return Ok(Cell::Secret),
        _ => {}
    }
    read_written(t)
        .map(Cell::Number)
        .ok_or_else(|| format!("{:?} is geen getal", excerpt(t)))
}
