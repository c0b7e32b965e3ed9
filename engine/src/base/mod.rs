//! The types below sealing, membership and the wire protocol: keys and ids (`keys.rs`), the
//! bounded byte codec and its error (`codec.rs`, `error.rs`), the sealed-bundle envelope
//! (`bundle.rs`) and the bytes signed in the relay handshake (`auth.rs`).
//!
//! `seal` fills the envelope, `sync::membership` signs and chains operations with these keys and
//! this codec, and `sync::wire` puts all of them in frames. Each of them imports this module and
//! this module imports none of them (only the hex helpers of `identity`), so none of the three
//! imports another in a circle. `sync::wire` re-exports everything here under its old paths.

pub mod auth;
pub mod bundle;
pub mod codec;
pub mod error;
pub mod keys;

pub use auth::{
    CHALLENGE_LEN, auth_signed_bytes, relay_proof_bytes, sign_auth, sign_relay_proof, verify_auth,
    verify_relay_proof,
};
pub use bundle::{BundleError, MAX_BUNDLE_BYTES, MAX_FRAME_BYTES, NONCE_LEN, SealedBundle};
pub use codec::Encoded;
pub use error::WireError;
pub use keys::{BadHex, DocRef, Hash32, KxKey, OrgKey, Sig, WorkspaceId};
