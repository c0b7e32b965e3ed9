//! Sealing: workspace keys and epochs, authenticated encryption of bundles, signatures, key wrapping.
//!
//! Everything a replica sends to a relay is sealed here first. A bundle's payload (Automerge
//! changes of one document, or a full snapshot of it) is encrypted with the workspace key of the
//! current epoch (XChaCha20-Poly1305 with a random 24-byte nonce that the caller passes in) and
//! signed with the author organisation's Ed25519 key. Opening checks, in this order, that the
//! author may write to the workspace, that the signature holds, that the epoch's key is known,
//! and that the ciphertext decrypts; each failure has its own [`OpenError`].
//!
//! Workspace keys reach members wrapped for each member's X25519 key-exchange key, which is
//! derived from the organisation's identity seed. When a member is removed the coordinator
//! starts a new epoch and wraps the key ring only for the members that remain.
//!
//! Nothing in this module reads the clock or randomness: keys, nonces and ephemeral secrets are
//! arguments.

mod bundle;
mod cipher;
mod exchange;
mod key;
mod names;
mod payload;
mod wrap;

pub use bundle::{OpenError, Roster, SealError, doc_ref, open, seal};
pub use exchange::{ExchangePublic, ExchangeSecret};
pub use key::{Epoch, KeyRing, KeyRingError, WorkspaceKey};
pub use names::{open_text, seal_text};
pub use payload::{Payload, PayloadError, PayloadForm};
pub use wrap::{
    WrapError, WrappedRing, box_names, open_names_box, open_ring_with_secret,
    seal_ring_with_secret, unwrap_ring, wrap_ring,
};

/// The length of an XChaCha20-Poly1305 nonce.
pub use crate::base::NONCE_LEN;
