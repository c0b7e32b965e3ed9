//! YAML syntax and type errors from serde-saphyr, retold in Dutch with their place and a hint.

use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};

use super::diagnostic::{Position, Sink};

/// Adds the diagnostic for a file that could not be read as a workflow definition.
pub(crate) fn report(err: &serde_saphyr::Error, sink: &mut Sink) {
    let position = err
        .location()
        .map(Position::from)
        .unwrap_or(Position { line: 1, column: 1 });
    let raw = DefaultMessageFormatter.format_message(err).to_string();
    let (message, hint) = translate(&raw);
    sink.error(position, message, hint);
}

/// Names between backticks in a serde message, in order.
fn ticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// Retells the messages serde and the YAML parser produce; unknown ones are kept as they are.
fn translate(raw: &str) -> (String, String) {
    let names = ticked(raw);
    if raw.starts_with("unknown field") {
        let field = names.first().copied().unwrap_or("?");
        let expected = names.get(1..).map(|n| n.join(", ")).unwrap_or_default();
        return (
            format!("onbekend onderdeel {field:?}"),
            if expected.is_empty() {
                "kijk of de naam goed gespeld is en op de goede plek (inspringing) staat; `kompas workflow schema` noemt alle onderdelen".into()
            } else {
                format!("toegestaan zijn: {expected}")
            },
        );
    }
    if raw.starts_with("missing field") {
        let field = names.first().copied().unwrap_or("?");
        return (
            format!("verplicht onderdeel {field:?} ontbreekt"),
            format!("voeg {field}: toe"),
        );
    }
    if raw.starts_with("duplicate field") || raw.contains("duplicate mapping key") {
        let field = names.first().copied().unwrap_or("");
        return (
            format!("onderdeel {field:?} staat er twee keer").replace(" \"\"", ""),
            "laat er één staan".into(),
        );
    }
    if let Some(rest) = raw.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        return (
            format!(
                "verkeerd soort waarde: {} waar {} verwacht werd",
                what(found),
                what(expected)
            ),
            "kijk naar de inspringing en of hier een tekst, een getal, een lijst of een blok hoort"
                .into(),
        );
    }
    if let Some(rest) = raw.strip_prefix("invalid value: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        return (
            format!(
                "ongeldige waarde {} waar {} verwacht werd",
                what(found),
                what(expected)
            ),
            String::new(),
        );
    }
    if let Some(expected) = raw.strip_prefix("expected ") {
        return (
            format!("verkeerd soort waarde: hier hoort {}", what(expected)),
            "kijk naar de inspringing en of hier een tekst, een getal, een lijst of een blok hoort"
                .into(),
        );
    }
    if raw.contains("invalid boolean") {
        return (
            "verwacht true of false".into(),
            "schrijf true of false".into(),
        );
    }
    if raw.contains("unexpected end") {
        return (
            "het bestand houdt onverwacht op".into(),
            "kijk of alle haakjes en aanhalingstekens gesloten zijn".into(),
        );
    }
    (
        format!("YAML-fout: {raw}"),
        "kijk naar de inspringing (spaties, geen tabs), dubbele punten en aanhalingstekens".into(),
    )
}

/// Dutch words for the kinds of value serde names.
fn what(s: &str) -> String {
    let s = s.trim();
    if s.starts_with("a sequence") || s.starts_with("sequence") || s.contains("Vec") {
        "een lijst".into()
    } else if s.starts_with("a map")
        || s.starts_with("map")
        || s.starts_with("struct")
        || s.starts_with("mapping")
    {
        "een blok met onderdelen".into()
    } else if s.starts_with("a string") || s.starts_with("string") || s.contains("String") {
        "een tekst".into()
    } else if s.starts_with("a boolean") || s.starts_with("boolean") {
        "true of false".into()
    } else if s.starts_with("integer") || s.starts_with("u32") || s.contains("integer") {
        "een geheel getal".into()
    } else if s.starts_with("floating point") {
        "een getal".into()
    } else if s == "unit value" || s.starts_with("null") {
        "een lege waarde".into()
    } else {
        s.to_string()
    }
}
