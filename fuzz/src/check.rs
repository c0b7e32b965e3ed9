//! The property the frame decoder fuzz target checks, shared with the corpus test in the engine.

use kompas_engine::sync::wire::{FrameDecoder, MAX_FRAME_BYTES, decode_frame, encode_frame};

/// Decodes `data` as one frame and as a stream; whatever decodes must encode back to the same
/// bytes (the encoding is canonical). Panics only if that property fails.
pub fn check_frame_bytes(data: &[u8]) {
    if let Ok(message) = decode_frame(data, MAX_FRAME_BYTES) {
        assert_eq!(
            encode_frame(&message),
            data,
            "decoded frame re-encodes differently"
        );
    }
    let mut decoder = FrameDecoder::new(64 * 1024);
    for chunk in data.chunks(7) {
        decoder.push(chunk);
        while let Ok(Some(message)) = decoder.next_message() {
            let again = encode_frame(&message);
            assert_eq!(decode_frame(&again, MAX_FRAME_BYTES).ok(), Some(message));
        }
    }
}
