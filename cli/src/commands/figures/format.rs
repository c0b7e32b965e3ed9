//! Numbers the Dutch way for people: thousands with dots, a decimal comma, `geheim` for secrets.

/// A number with at most one decimal: `1.234`, `12,5`. Beyond what fits in whole numbers it
/// is written in powers of ten (`1e23`), never clipped to the largest whole number.
pub fn number(n: f64) -> String {
    if !n.is_finite() || n.abs() >= 1e15 {
        return format!("{n:e}");
    }
    let rounded = kompas_engine::figures::indicator::round_decimals(n, 1);
    let negative = rounded < 0.0;
    let whole = rounded.abs().trunc() as u64;
    let tenth = ((rounded.abs() - rounded.abs().trunc()) * 10.0).round() as u64;
    let mut out = thousands(whole);
    if tenth > 0 {
        out.push(',');
        out.push_str(&tenth.to_string());
    }
    if negative { format!("-{out}") } else { out }
}

/// A whole number with dots between thousands: `1.234.567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A value, or `geheim` when it is secret, or `-` when there is none.
pub fn value(v: Option<f64>) -> String {
    v.map_or_else(|| "geheim".to_string(), number)
}

/// An optional derived figure: empty when absent.
pub fn optional(v: Option<f64>) -> String {
    v.map(number).unwrap_or_default()
}

/// A difference with its sign: `+3,2`, `-1`.
pub fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", number(v))
    } else {
        number(v)
    }
}

/// A date written `YYYY-MM-DD` the Dutch way (`31 december 2026`); other text as it is.
pub fn dutch_date(date: &str) -> String {
    kompas_engine::time::dutch_date_text(date).unwrap_or_else(|| date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dutch_numbers() {
        assert_eq!(number(1234567.0), "1.234.567");
        assert_eq!(number(12.46), "12,5");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(value(None), "geheim");
        assert_eq!(signed(2.0), "+2");
        assert_eq!(number(1e23), "1e23");
        assert_eq!(dutch_date("2026-12-31"), "31 december 2026");
    }
}
