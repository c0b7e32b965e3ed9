//! A bad value as an error message quotes it: at most [`EXCERPT_CHARS`] characters, so one
//! unclosed quote in a large file cannot turn a message into megabytes.

/// How many characters of a bad value an error message repeats.
pub const EXCERPT_CHARS: usize = 80;

/// The start of `s`, with `…` when it was cut.
pub fn excerpt(s: &str) -> String {
    match s.char_indices().nth(EXCERPT_CHARS) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut() {
        assert_eq!(excerpt("GM01"), "GM01");
        let long = "é".repeat(1000);
        assert_eq!(excerpt(&long).chars().count(), EXCERPT_CHARS + 1);
    }
}
