//! Diagnostics: one problem in a workflow file, with where it is, what is wrong and a hint.

use std::fmt;

/// How bad a problem is: errors make a file unusable, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The definition cannot be used.
    Error,
    /// The definition works, but probably not as meant.
    Warning,
}

/// A position in a file, 1-based, counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Position {
    /// The line (1-based).
    pub line: u32,
    /// The column (1-based).
    pub column: u32,
}

impl From<serde_saphyr::Location> for Position {
    fn from(loc: serde_saphyr::Location) -> Self {
        Position {
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX).max(1),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX).max(1),
        }
    }
}

/// One problem found in a workflow file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    /// Where in the file.
    #[serde(flatten)]
    pub position: Position,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong (Dutch).
    pub message: String,
    /// How to fix it (Dutch); may be empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hint: String,
}

impl Diagnostic {
    /// The file `file` is not UTF-8 text: the error points at the first byte that is not,
    /// with its line and its column counted in bytes from the start of that line.
    pub fn not_utf8(file: &str, bytes: &[u8], error: std::str::Utf8Error) -> Diagnostic {
        let offset = error.valid_up_to();
        let before = &bytes[..offset.min(bytes.len())];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Diagnostic {
            file: file.to_string(),
            position: Position {
                line: to_u32(line),
                column: to_u32(offset - line_start + 1),
            },
            severity: Severity::Error,
            message: format!("het bestand is geen UTF-8-tekst (byte {offset} is ongeldig)"),
            hint: "sla het bestand op als UTF-8".into(),
        }
    }

    /// Whether this diagnostic makes the definition unusable.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: message`, then the hint on its own indented line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "",
            Severity::Warning => "waarschuwing: ",
        };
        write!(
            f,
            "{}:{}:{}: {level}{}",
            self.file, self.position.line, self.position.column, self.message
        )?;
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one file while it is checked.
#[derive(Debug, Clone)]
pub(crate) struct Sink {
    file: String,
    pub(crate) items: Vec<Diagnostic>,
}

impl Sink {
    pub(crate) fn new(file: &str) -> Self {
        Sink {
            file: file.to_string(),
            items: Vec::new(),
        }
    }

    pub(crate) fn error(
        &mut self,
        at: Position,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Severity::Error, at, message.into(), hint.into());
    }

    pub(crate) fn warning(
        &mut self,
        at: Position,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Severity::Warning, at, message.into(), hint.into());
    }

    fn push(&mut self, severity: Severity, position: Position, message: String, hint: String) {
        self.items.push(Diagnostic {
            file: self.file.clone(),
            position,
            severity,
            message,
            hint,
        });
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// The diagnostics in file order.
    pub(crate) fn finish(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (a.position, a.severity, &a.message).cmp(&(b.position, b.severity, &b.message))
        });
        self.items.dedup();
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_that_is_not_utf8_is_placed_by_line_and_column() {
        let bytes = b"naam: x\ntitel: caf\xe9\n".to_vec();
        let err = String::from_utf8(bytes).unwrap_err();
        let d = Diagnostic::not_utf8("w.yaml", err.as_bytes(), err.utf8_error());
        assert_eq!(
            d.position,
            Position {
                line: 2,
                column: 11
            }
        );
        assert!(d.is_error());
        assert!(d.to_string().starts_with("w.yaml:2:11: "), "{d}");
    }
}
