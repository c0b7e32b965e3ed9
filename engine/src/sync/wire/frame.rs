//! Frames: a length prefix, a version byte, a message type byte and the message body.
//!
//! ```text
//! u32 length (big-endian, counts everything after itself) | u8 version | u8 kind | body
//! ```
//! Over a websocket every binary message holds exactly one frame; over a byte stream frames
//! follow each other and [`FrameDecoder`] splits them. Decoding never panics and never reads
//! past a declared length; a length above the limit is refused before any body is buffered.

use super::message::Message;
use crate::base::WireError;
use crate::base::codec::{Reader, Writer};

/// The wire version this code writes. Version 2 added the relay's proof of its key to the
/// handshake (`Hello` carries the client's nonce, `Challenge` the relay's signature over it) and
/// redeemed invites with a proof by the invite's one-time key instead of the token.
pub const PROTOCOL_VERSION: u8 = 2;
/// The lowest wire version this code reads: version 1 relays cannot prove their key.
pub const MIN_PROTOCOL_VERSION: u8 = 2;
/// Bytes in a frame before the body: length, version and kind.
pub const FRAME_HEADER_LEN: usize = 6;

/// Encodes a message as one frame in the current version.
pub fn encode_frame(message: &Message) -> Vec<u8> {
    let mut body = Writer::new();
    body.u8(PROTOCOL_VERSION);
    body.u8(message.kind());
    message.encode_body(&mut body);
    let body = body.into_bytes();
    let mut w = Writer::new();
    w.u32(u32::try_from(body.len()).unwrap_or(u32::MAX));
    w.fixed(&body);
    w.into_bytes()
}

/// Decodes exactly one frame that fills `bytes`, refusing frames larger than `max` bytes.
pub fn decode_frame(bytes: &[u8], max: usize) -> Result<Message, WireError> {
    let total = frame_len(bytes, max)?.ok_or(WireError::Truncated {
        what: "frame.length",
    })?;
    if bytes.len() < total {
        return Err(WireError::Truncated { what: "frame" });
    }
    if bytes.len() > total {
        return Err(WireError::TrailingBytes {
            what: "frame",
            extra: bytes.len() - total,
        });
    }
    decode_checked(&bytes[4..])
}

/// The total length (prefix included) of the frame `bytes` starts with, once the prefix is
/// there, after checking it against `max`.
pub fn frame_len(bytes: &[u8], max: usize) -> Result<Option<usize>, WireError> {
    let Some(prefix) = bytes.get(..4) else {
        return Ok(None);
    };
    let mut r = Reader::new(prefix);
    let len = r.u32("frame.length")?;
    let total = u64::from(len) + 4;
    if total > max as u64 {
        return Err(WireError::FrameTooLarge { len: total, max });
    }
    if (len as usize) < FRAME_HEADER_LEN - 4 {
        return Err(WireError::FrameTooShort { len });
    }
    Ok(Some(total as usize))
}

/// Decodes version, kind and body (everything after the length prefix).
fn decode_checked(rest: &[u8]) -> Result<Message, WireError> {
    let mut r = Reader::new(rest);
    let version = r.u8("frame.version")?;
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
        return Err(WireError::UnsupportedVersion {
            version,
            min: MIN_PROTOCOL_VERSION,
            max: PROTOCOL_VERSION,
        });
    }
    let kind = r.u8("frame.kind")?;
    let message = Message::decode_body(kind, &mut r)?;
    r.finish(message.name())?;
    Ok(message)
}

/// Splits a byte stream into messages, holding at most one frame's worth of bytes.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max: usize,
}

impl FrameDecoder {
    /// A decoder refusing frames above `max` bytes.
    pub fn new(max: usize) -> FrameDecoder {
        FrameDecoder {
            buf: Vec::new(),
            max,
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// How many bytes are waiting.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, `None` if more bytes are needed. After an error the stream is
    /// out of step and the caller should close it.
    pub fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        let Some(total) = frame_len(&self.buf, self.max)? else {
            return Ok(None);
        };
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buf.drain(..total).collect();
        decode_checked(&frame[4..]).map(Some)
    }
}
