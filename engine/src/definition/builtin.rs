//! The built-in workflow definitions, compiled into the engine so they work from any directory.

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
