//! The sealed bundle: the only unit of document data that crosses the network.
//!
//! A bundle carries Automerge changes (or a full save) of one document, encrypted by the author
//! with the workspace key of `epoch`, and signed by the author over a canonical encoding of every
//! other field. A relay verifies the signature and membership without being able to decrypt; the
//! hash of the encoded bundle is its content address, used to deduplicate.

use ed25519_dalek::SigningKey;

use super::codec::{Encoded, Reader, Writer};
use super::error::WireError;
use super::keys::{DocRef, Hash32, OrgKey, Sig, WorkspaceId};

/// Length of the AEAD nonce (XChaCha20-Poly1305 uses 24 bytes).
pub const NONCE_LEN: usize = 24;

/// The default largest frame, length prefix included: 4 MiB. It is the wire format's limit
/// (`sync::wire` frames), defined here because the bundle's limit follows from it.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// The largest encoded bundle a relay accepts: room is left so that a bundle always fits in one
/// `Pushed` or `Bundles` frame of [`MAX_FRAME_BYTES`].
pub const MAX_BUNDLE_BYTES: usize = MAX_FRAME_BYTES - 1024;

/// Domain separation for bundle signatures.
const SIGNATURE_CONTEXT: &[u8] = b"kompas/bundle/v1\0";
/// Domain separation for the AEAD associated data.
const AAD_CONTEXT: &[u8] = b"kompas/bundle-aad/v1\0";

/// An encrypted, signed change bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBundle {
    /// The workspace it belongs to.
    pub workspace: WorkspaceId,
    /// The key generation it was encrypted with.
    pub epoch: u64,
    /// The author organisation's public key.
    pub author: OrgKey,
    /// The document it changes, as an opaque address.
    pub doc: DocRef,
    /// The AEAD nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The encrypted payload.
    pub ciphertext: Vec<u8>,
    /// The author's signature over everything above.
    pub signature: Sig,
}

/// Why a bundle is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The signature does not match the author's key and the contents.
    #[error("wijziging {hash} heeft geen geldige handtekening van {author}")]
    BadSignature {
        /// The bundle's content address.
        hash: Hash32,
        /// The claimed author.
        author: OrgKey,
    },
}

impl SealedBundle {
    /// Signs a bundle whose ciphertext the caller produced with [`SealedBundle::associated_data`]
    /// as the AEAD associated data.
    pub fn sign(
        workspace: WorkspaceId,
        epoch: u64,
        doc: DocRef,
        nonce: [u8; NONCE_LEN],
        ciphertext: Vec<u8>,
        key: &SigningKey,
    ) -> SealedBundle {
        let mut bundle = SealedBundle {
            workspace,
            epoch,
            author: OrgKey::of(key),
            doc,
            nonce,
            ciphertext,
            signature: Sig([0; 64]),
        };
        bundle.signature = Sig::sign(key, &bundle.signed_bytes());
        bundle
    }

    /// The associated data an AEAD seal of this bundle's payload must bind: the workspace, key
    /// epoch, author and document, so a ciphertext cannot be moved to another header.
    pub fn associated_data(
        workspace: &WorkspaceId,
        epoch: u64,
        author: &OrgKey,
        doc: &DocRef,
    ) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(AAD_CONTEXT);
        w.fixed(&workspace.0);
        w.u64(epoch);
        w.fixed(&author.0);
        w.fixed(&doc.0);
        w.into_bytes()
    }

    /// This bundle's associated data (see [`SealedBundle::associated_data`]).
    pub fn aad(&self) -> Vec<u8> {
        SealedBundle::associated_data(&self.workspace, self.epoch, &self.author, &self.doc)
    }

    /// The canonical bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(SIGNATURE_CONTEXT);
        self.encode_unsigned(&mut w);
        w.into_bytes()
    }

    /// Checks the author's signature. Membership is the caller's business.
    pub fn verify(&self) -> Result<(), BundleError> {
        if self.author.verifies(&self.signed_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(BundleError::BadSignature {
                hash: self.hash(),
                author: self.author,
            })
        }
    }

    /// The content address: the BLAKE3 hash of the full encoding, signature included.
    pub fn hash(&self) -> Hash32 {
        Hash32::of(&self.to_bytes())
    }

    /// The size of the encoding in bytes.
    pub fn encoded_len(&self) -> usize {
        16 + 8 + 32 + 32 + NONCE_LEN + 4 + self.ciphertext.len() + 64
    }

    fn encode_unsigned(&self, w: &mut Writer) {
        w.fixed(&self.workspace.0);
        w.u64(self.epoch);
        w.fixed(&self.author.0);
        w.fixed(&self.doc.0);
        w.fixed(&self.nonce);
        w.bytes(&self.ciphertext);
    }
}

impl Encoded for SealedBundle {
    const WHAT: &'static str = "bundle";

    fn encode(&self, w: &mut Writer) {
        self.encode_unsigned(w);
        w.fixed(&self.signature.0);
    }

    fn decode(r: &mut Reader<'_>) -> Result<SealedBundle, WireError> {
        Ok(SealedBundle {
            workspace: WorkspaceId(r.array("bundle.workspace")?),
            epoch: r.u64("bundle.epoch")?,
            author: OrgKey(r.array("bundle.author")?),
            doc: DocRef(r.array("bundle.doc")?),
            nonce: r.array("bundle.nonce")?,
            ciphertext: r.bytes("bundle.ciphertext")?.to_vec(),
            signature: Sig(r.array("bundle.signature")?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SealedBundle {
        SealedBundle::sign(
            WorkspaceId([1; 16]),
            2,
            DocRef([3; 32]),
            [4; NONCE_LEN],
            b"versleuteld".to_vec(),
            &SigningKey::from_bytes(&[5; 32]),
        )
    }

    #[test]
    fn signed_bundle_verifies_and_round_trips() {
        let b = sample();
        b.verify().unwrap();
        assert_eq!(SealedBundle::from_bytes(&b.to_bytes()).unwrap(), b);
        assert_eq!(b.to_bytes().len(), b.encoded_len());
    }

    #[test]
    fn any_tampering_breaks_the_signature_and_changes_the_hash() {
        let b = sample();
        let mut tampered = b.clone();
        tampered.ciphertext[0] ^= 1;
        assert!(matches!(
            tampered.verify(),
            Err(BundleError::BadSignature { .. })
        ));
        assert_ne!(tampered.hash(), b.hash());
        let mut moved = b.clone();
        moved.epoch = 3;
        assert!(moved.verify().is_err());
        let mut reauthored = b.clone();
        reauthored.author = OrgKey::of(&SigningKey::from_bytes(&[6; 32]));
        assert!(reauthored.verify().is_err());
    }

    #[test]
    fn associated_data_binds_the_header() {
        let b = sample();
        let mut other = b.clone();
        other.doc = DocRef([9; 32]);
        assert_ne!(b.aad(), other.aad());
    }
}
