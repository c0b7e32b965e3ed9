//! The versioned binary wire format between replicas and relays (see `docs/protocol.md`).
//!
//! Frames are length-prefixed and bounded; every message type has a fixed, hand-written
//! encoding pinned by byte snapshots. Decoding any input yields a message or a [`WireError`],
//! never a panic. The sealed bundle envelope and the challenge-answer bytes live here too.

mod auth;
mod bundle;
pub mod codec;
mod error;
mod error_code;
mod frame;
mod keys;
mod message;

pub use auth::{
    CHALLENGE_LEN, auth_signed_bytes, relay_proof_bytes, sign_auth, sign_relay_proof, verify_auth,
    verify_relay_proof,
};
pub use bundle::{BundleError, MAX_BUNDLE_BYTES, NONCE_LEN, SealedBundle};
pub use codec::Encoded;
pub use error::WireError;
pub use error_code::ErrorCode;
pub use frame::{
    FRAME_HEADER_LEN, FrameDecoder, MAX_FRAME_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
    decode_frame, encode_frame, frame_len,
};
pub use keys::{BadHex, DocRef, Hash32, KxKey, OrgKey, Sig, WorkspaceId};
pub use message::{Access, Message, Sequenced};

#[cfg(test)]
mod tests;
