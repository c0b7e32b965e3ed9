//! Usage errors in Dutch: a clap `ErrorFormatter` that writes every kind of command-line error
//! from its context (which argument, which value, what was expected), the usage line and a
//! pointer to `--help`.

use std::fmt::Write as _;

use clap::builder::StyledStr;
use clap::error::{ContextKind, ContextValue, ErrorFormatter, ErrorKind};

/// Renders clap's errors in Dutch; apply with `err.apply::<Dutch>()`.
pub struct Dutch;

/// A value a value parser refused, with a Dutch reason (shown after the value).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadValue(pub String);

impl ErrorFormatter for Dutch {
    fn format_error(error: &clap::error::Error<Self>) -> StyledStr {
        let mut out = format!("kompas: {}", message(error));
        // clap leaves the usage out for a bad value; the pointer to help is always there.
        let command = match usage(error) {
            Some(usage) => {
                let _ = write!(out, "\n\nGebruik: {usage}");
                usage
                    .split_whitespace()
                    .take_while(|w| !w.starts_with(['[', '<', '-']))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            None => "kompas".to_string(),
        };
        let _ = writeln!(out, "\n\nMeer hulp: {command} --help");
        StyledStr::from(out)
    }
}

/// The error itself, in one sentence (or a few lines), without usage.
pub fn message<F: ErrorFormatter>(error: &clap::error::Error<F>) -> String {
    let text = |kind| match error.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(s)) => Some(s.join(", ")),
        Some(ContextValue::StyledStr(s)) => Some(s.to_string()),
        Some(ContextValue::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let arg = text(ContextKind::InvalidArg).unwrap_or_default();
    let value = text(ContextKind::InvalidValue).unwrap_or_default();
    let mut out = match error.kind() {
        ErrorKind::InvalidValue if value.is_empty() => {
            format!("{arg} heeft een waarde nodig, maar kreeg er geen")
        }
        ErrorKind::InvalidValue => format!("{value:?} is geen geldige waarde voor {arg}"),
        ErrorKind::ValueValidation => {
            let reason = std::error::Error::source(error).map(dutch_reason);
            match reason {
                Some(reason) => format!("{value:?} is geen geldige waarde voor {arg}: {reason}"),
                None => format!("{value:?} is geen geldige waarde voor {arg}"),
            }
        }
        ErrorKind::UnknownArgument => format!("onbekende optie of te veel argumenten: {arg}"),
        ErrorKind::InvalidSubcommand => format!(
            "onbekende opdracht {:?}",
            text(ContextKind::InvalidSubcommand).unwrap_or_default()
        ),
        ErrorKind::NoEquals => format!("geef de waarde van {arg} met een =-teken"),
        ErrorKind::TooManyValues => format!("te veel waarden voor {arg}: {value:?}"),
        ErrorKind::TooFewValues => format!(
            "{arg} heeft minstens {} waarde(n) nodig, maar kreeg er {}",
            text(ContextKind::MinValues).unwrap_or_default(),
            text(ContextKind::ActualNumValues).unwrap_or_default()
        ),
        ErrorKind::WrongNumberOfValues => format!(
            "{arg} heeft {} waarde(n) nodig, maar kreeg er {}",
            text(ContextKind::ExpectedNumValues).unwrap_or_default(),
            text(ContextKind::ActualNumValues).unwrap_or_default()
        ),
        ErrorKind::ArgumentConflict => match text(ContextKind::PriorArg) {
            Some(prior) if prior == arg => format!("{arg} mag maar één keer gegeven worden"),
            Some(prior) => format!("{arg} gaat niet samen met {prior}"),
            None => format!("{arg} gaat niet samen met een andere gegeven optie"),
        },
        ErrorKind::MissingRequiredArgument => format!("dit ontbreekt nog: {arg}"),
        ErrorKind::MissingSubcommand => format!(
            "`{}` heeft een opdracht nodig",
            text(ContextKind::InvalidSubcommand).unwrap_or_default()
        ),
        ErrorKind::InvalidUtf8 => "een argument is geen geldige UTF-8-tekst".to_string(),
        ErrorKind::Io | ErrorKind::Format => "de uitvoer kan niet geschreven worden".to_string(),
        _ => "de opdracht is niet goed gegeven".to_string(),
    };
    if let Some(valid) = text(ContextKind::ValidValue) {
        let _ = write!(out, "\nmogelijke waarden: {valid}");
    }
    if let Some(valid) = text(ContextKind::ValidSubcommand) {
        let _ = write!(out, "\nmogelijke opdrachten: {valid}");
    }
    for kind in [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ] {
        if let Some(suggestion) = text(kind) {
            let _ = write!(out, "\nbedoel je {suggestion}?");
        }
    }
    out
}

/// The usage line of the command the error is about, without clap's English title.
fn usage<F: ErrorFormatter>(error: &clap::error::Error<F>) -> Option<String> {
    match error.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(usage)) => {
            let usage = usage.to_string();
            Some(usage.strip_prefix("Usage: ").unwrap_or(&usage).to_string())
        }
        _ => None,
    }
}

/// Why a value parser refused a value, in Dutch: our own reasons as they are, the standard
/// number parsers' reasons translated; anything else is left out rather than shown in English.
fn dutch_reason(source: &(dyn std::error::Error + 'static)) -> String {
    use std::num::IntErrorKind;
    if let Some(bad) = source.downcast_ref::<BadValue>() {
        return bad.0.clone();
    }
    if let Some(e) = source.downcast_ref::<std::num::ParseIntError>() {
        return match e.kind() {
            IntErrorKind::PosOverflow => "het getal is te groot",
            IntErrorKind::NegOverflow => "het getal is te klein",
            IntErrorKind::Empty => "er staat geen getal",
            _ => "verwacht een geheel getal",
        }
        .to_string();
    }
    if source.downcast_ref::<std::num::ParseFloatError>().is_some() {
        return "verwacht een getal".to_string();
    }
    "die waarde wordt hier niet geaccepteerd".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(args: &[&str]) -> String {
        match crate::help_nl::command().try_get_matches_from(args) {
            Ok(_) => panic!("{args:?} was accepted"),
            Err(e) => e.apply::<Dutch>().to_string(),
        }
    }

    #[test]
    fn usage_errors_are_dutch_with_usage_and_help() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["kompas", "bestaatniet"],
                "onbekende opdracht \"bestaatniet\"",
            ),
            (&["kompas", "doc", "show"], "dit ontbreekt nog: <ID>"),
            (&["kompas", "doc", "list", "--onzin"], "onbekende optie"),
            (
                &["kompas", "workspace", "invite", "--role", "baas"],
                "mogelijke waarden: partner, coordinator",
            ),
            (
                &["kompas", "serve", "--port", "abc"],
                "\"abc\" is geen geldige waarde voor --port <POORT>: verwacht een geheel getal",
            ),
            (&["kompas", "-q", "-v", "whoami"], "gaat niet samen met"),
            (&["kompas", "doc", "lsit"], "bedoel je set, list?"),
        ];
        for (args, expected) in cases {
            let text = error(args);
            let bad_value = args.contains(&"baas") || args.contains(&"abc");
            assert_eq!(
                text.contains("\nGebruik: kompas"),
                !bad_value,
                "{args:?}:\n{text}"
            );
            assert!(text.contains(expected), "{args:?}:\n{text}");
            assert!(text.contains("Meer hulp: kompas"), "{args:?}:\n{text}");
            for english in [
                "error:",
                "Usage",
                "tip:",
                "For more information",
                "[OPTIONS]",
            ] {
                assert!(!text.contains(english), "{args:?}:\n{text}");
            }
        }
    }
}
