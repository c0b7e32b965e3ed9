//! The versioned binary wire format between replicas and relays (see `docs/protocol.md`).
//!
//! Frames are length-prefixed and bounded; every message type has a fixed, hand-written
//! encoding pinned by byte snapshots. Decoding any input yields a message or a [`WireError`],
//! never a panic. The types the frames are made of (keys and ids, the byte codec, the sealed
//! bundle envelope, the challenge-answer bytes) live in [`crate::base`], below sealing and the
//! member list, and are re-exported here.

mod error_code;
mod frame;
mod message;

pub use crate::base::codec;
pub use crate::base::{
    BadHex, BundleError, CHALLENGE_LEN, DocRef, Encoded, Hash32, KxKey, MAX_BUNDLE_BYTES,
    MAX_FRAME_BYTES, NONCE_LEN, OrgKey, SealedBundle, Sig, WireError, WorkspaceId,
    auth_signed_bytes, relay_proof_bytes, sign_auth, sign_relay_proof, verify_auth,
    verify_relay_proof,
};
pub use error_code::ErrorCode;
pub use frame::{
    FRAME_HEADER_LEN, FrameDecoder, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, decode_frame,
    encode_frame, frame_len,
};
pub use message::{Access, Message, Sequenced};

#[cfg(test)]
mod tests;
