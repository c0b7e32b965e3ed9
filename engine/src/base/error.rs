//! Why bytes could not be decoded into a frame or message.

/// A decoding failure. `what` names the field being read, so the error says where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The input ended inside a field.
    #[error("afgebroken bericht: {what} is onvolledig")]
    Truncated {
        /// The field being read.
        what: &'static str,
    },
    /// Bytes were left over after a complete value.
    #[error("{extra} overbodige bytes na {what}")]
    TrailingBytes {
        /// The value that was complete.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// A tag byte had a value that means nothing here.
    #[error("onbekende waarde {value} voor {what}")]
    BadTag {
        /// The field being read.
        what: &'static str,
        /// The value found.
        value: u8,
    },
    /// Text was not valid UTF-8.
    #[error("{what} is geen geldige UTF-8-tekst")]
    BadText {
        /// The field being read.
        what: &'static str,
    },
    /// A frame announced a length above the limit.
    #[error("frame van {len} bytes is groter dan de grens van {max} bytes")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The limit in force.
        max: usize,
    },
    /// A frame announced a length too small to hold its header.
    #[error("frame van {len} bytes is te kort voor een kop")]
    FrameTooShort {
        /// The announced length.
        len: u32,
    },
    /// A frame was written in a wire version this side does not speak.
    #[error("protocolversie {version} wordt niet ondersteund (wel: {min} tot en met {max})")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
        /// The lowest supported.
        min: u8,
        /// The highest supported.
        max: u8,
    },
    /// A frame carried a message type this side does not know.
    #[error("onbekend berichttype {kind}")]
    UnknownMessage {
        /// The message type byte.
        kind: u8,
    },
}
