//! The built-in workflow definitions, compiled into the engine so they work from any directory.

use super::{Loaded, Registry, Source, check, content_hash};

/// `(file name, text)` of every built-in definition.
pub const BUILTIN: [(&str, &str); 3] = [
    (
        "kwaliteitskompas.yaml",
        include_str!("../../../workflows/kwaliteitskompas.yaml"),
    ),
    (
        "gesprek-over-cijfers.yaml",
        include_str!("../../../workflows/gesprek-over-cijfers.yaml"),
    ),
    (
        "verbeteracties.yaml",
        include_str!("../../../workflows/verbeteracties.yaml"),
    ),
];

/// The built-in definitions that check clean, with their hashes, parsed anew on every call
/// (`composition::builtin` keeps one parse per process).
pub fn builtin_registry() -> Registry {
    let mut registry = Registry::default();
    for (file, body) in BUILTIN {
        if let Some(definition) = check(file, body).definition {
            registry.insert(Loaded {
                definition,
                body: body.to_string(),
                hash: content_hash(body),
                source: Source::Builtin,
            });
        }
    }
    registry
}
