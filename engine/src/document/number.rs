//! Numbers as people write them, with a decimal comma or point and thousands separators, and
//! the one case that cannot be read alone: `1.234` or `1,234` (a thousand and more, or one and
//! a bit). The caller decides such a number by what else it knows (the convention of a file's
//! column), or refuses it.

/// A written number, read as far as it can be read on its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Written {
    /// The number; `decimal` is the separator it shows to be the decimal one, if any.
    Sure { value: f64, decimal: Option<char> },
    /// One separator followed by exactly three digits: `as_decimal` if the separator is the
    /// decimal one, `as_thousands` if it separates thousands.
    Ambiguous {
        separator: char,
        as_decimal: f64,
        as_thousands: f64,
    },
}

impl Written {
    /// The value under a convention: `decimal` is the decimal separator, if known.
    pub fn under(self, decimal: Option<char>) -> Option<f64> {
        match self {
            Written::Sure { value, .. } => Some(value),
            Written::Ambiguous {
                separator,
                as_decimal,
                as_thousands,
            } => match decimal {
                Some(d) if d == separator => Some(as_decimal),
                Some(_) => Some(as_thousands),
                None => None,
            },
        }
    }
}

/// The other separator: `.` for `,` and the other way round.
pub fn other_separator(c: char) -> char {
    if c == ',' { '.' } else { ',' }
}

/// Reads `12`, `-3`, `12,5`, `12.5`, `1.234.567`, `1.234,5`, `1,234.5`; `1.234` and `1,234` are
/// [`Written::Ambiguous`]. `None` when it is not a number (thousands groups must have three
/// digits, and only one decimal separator is allowed).
pub fn read_written(s: &str) -> Option<Written> {
    let t = s.trim();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if body.is_empty()
        || !body.starts_with(|c: char| c.is_ascii_digit())
        || !body.ends_with(|c: char| c.is_ascii_digit())
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return None;
    }
    let sign = if negative { -1.0 } else { 1.0 };
    let number = |whole: &str, fraction: &str| -> Option<f64> {
        let n = if fraction.is_empty() {
            whole.parse::<f64>().ok()?
        } else {
            joined(&[whole, ".", fraction])?
        };
        Some(sign * n).filter(|n| n.is_finite())
    };
    let dots = body.matches('.').count();
    let commas = body.matches(',').count();
    // Thousands groups: 1 to 3 digits, then groups of exactly 3; returns the digits.
    let grouped = |s: &str, sep: char| -> Option<String> {
        let mut parts = s.split(sep);
        let first = parts.next()?;
        if first.is_empty() || first.len() > 3 {
            return None;
        }
        let mut digits = first.to_string();
        for p in parts {
            if p.len() != 3 {
                return None;
            }
            digits.push_str(p);
        }
        Some(digits)
    };
    let value = match (dots, commas) {
        (0, 0) => Written::Sure {
            value: number(body, "")?,
            decimal: None,
        },
        (_, _) if dots > 0 && commas > 0 => {
            let decimal = if body.rfind('.') > body.rfind(',') {
                '.'
            } else {
                ','
            };
            let (whole, fraction) = body.rsplit_once(decimal)?;
            if whole.contains(decimal) {
                return None;
            }
            Written::Sure {
                value: number(&grouped(whole, other_separator(decimal))?, fraction)?,
                decimal: Some(decimal),
            }
        }
        (1, 0) | (0, 1) => {
            let separator = if dots == 1 { '.' } else { ',' };
            let (whole, fraction) = body.split_once(separator)?;
            let as_decimal = number(whole, fraction)?;
            if fraction.len() == 3 && whole.len() <= 3 && !whole.starts_with('0') {
                Written::Ambiguous {
                    separator,
                    as_decimal,
                    as_thousands: sign * joined(&[whole, fraction])?,
                }
            } else {
                Written::Sure {
                    value: as_decimal,
                    decimal: Some(separator),
                }
            }
        }
        _ => {
            // One kind, more than once: thousands separators.
            let separator = if dots > 0 { '.' } else { ',' };
            Written::Sure {
                value: number(&grouped(body, separator)?, "")?,
                decimal: Some(other_separator(separator)),
            }
        }
    };
    Some(value)
}

/// Parses the concatenation of `parts` as a number, without allocating for the short texts
/// numbers in files are.
fn joined(parts: &[&str]) -> Option<f64> {
    let mut buffer = [0u8; 64];
    let mut len = 0;
    for part in parts {
        let end = len + part.len();
        if end > buffer.len() {
            return parts.concat().parse().ok();
        }
        buffer[len..end].copy_from_slice(part.as_bytes());
        len = end;
    }
    std::str::from_utf8(&buffer[..len]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_with_what_they_show() {
        let sure = |s: &str| match read_written(s) {
            Some(Written::Sure { value, decimal }) => (value, decimal),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(sure("12"), (12.0, None));
        assert_eq!(sure("-3"), (-3.0, None));
        assert_eq!(sure("12,5"), (12.5, Some(',')));
        assert_eq!(sure("9.9"), (9.9, Some('.')));
        assert_eq!(sure("1.234.567"), (1_234_567.0, Some(',')));
        assert_eq!(sure("1.234,5"), (1234.5, Some(',')));
        assert_eq!(sure("1,234.5"), (1234.5, Some('.')));
        assert_eq!(sure("0.123"), (0.123, Some('.')));
        assert_eq!(sure("1234.567"), (1234.567, Some('.')));
        assert_eq!(
            read_written("1.234"),
            Some(Written::Ambiguous {
                separator: '.',
                as_decimal: 1.234,
                as_thousands: 1234.0
            })
        );
        for bad in [
            "",
            "-",
            "1.2.3",
            "12,34,5",
            "1.234,5,6",
            "1e5",
            "12a",
            ".5",
            "5.",
            "1..2",
        ] {
            assert_eq!(read_written(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ambiguous_numbers_follow_the_convention() {
        let w = read_written("1.234").unwrap();
        assert_eq!(w.under(Some(',')), Some(1234.0));
        assert_eq!(w.under(Some('.')), Some(1.234));
        assert_eq!(w.under(None), None);
    }
}
