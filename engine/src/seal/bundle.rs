//! Sealing and opening a bundle: encrypt with the epoch's workspace key, sign as the author.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use super::NONCE_LEN;
use super::cipher::{decrypt, encrypt};
use super::key::{Epoch, KeyRing};
use super::payload::{Payload, PayloadError};
use crate::identity::org_id_of;

/// The domain that separates bundle signatures from every other signature an identity makes.
const SIGNATURE_DOMAIN: &[u8] = b"kompas 2026-11 sealed bundle v1\0";

/// The sealed, signed form of a payload, ready to be put in a wire envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The epoch whose key encrypted it.
    pub epoch: Epoch,
    /// The random AEAD nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The encrypted payload with its authentication tag.
    pub ciphertext: Vec<u8>,
    /// The author's Ed25519 signature over [`signed_message`].
    pub signature: [u8; 64],
}

/// Who may write to a workspace, as far as the opener knows.
pub trait Roster {
    /// Whether `author` may have written a bundle sealed in `epoch`.
    fn may_write(&self, author: &VerifyingKey, epoch: Epoch) -> bool;
}

/// Why a payload could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// This replica has no workspace key.
    #[error("geen werkruimtesleutel om mee te versleutelen")]
    NoKey,
    /// The payload is too large to encrypt.
    #[error("de inhoud is te groot om te versleutelen")]
    TooLarge,
}

/// Why a bundle was refused. None of these is ever applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The author is not a member who may write in the bundle's epoch.
    #[error("bundel van {org_id}, dat geen lid is dat mag schrijven (sleuteltijdvak {epoch})")]
    NotAMember { org_id: String, epoch: Epoch },
    /// The signature does not match the content and the author.
    #[error("bundel van {org_id} heeft een ongeldige handtekening")]
    BadSignature { org_id: String },
    /// The epoch's key is not (yet) known here.
    #[error("bundel versleuteld met sleuteltijdvak {0}, waarvan deze kopie de sleutel niet heeft")]
    UnknownEpoch(Epoch),
    /// The ciphertext does not decrypt with the epoch's key.
    #[error("bundel van {org_id} laat zich niet ontsleutelen")]
    Undecryptable { org_id: String },
    /// The plaintext is not a payload.
    #[error("bundel van {org_id}: {source}")]
    BadPayload {
        org_id: String,
        source: PayloadError,
    },
}

/// Seals `payload` with the newest key of `ring`, signed by `signing`.
pub fn seal(
    signing: &SigningKey,
    workspace: &[u8],
    ring: &KeyRing,
    payload: &Payload,
    nonce: [u8; NONCE_LEN],
) -> Result<Sealed, SealError> {
    let (epoch, key) = ring.current().ok_or(SealError::NoKey)?;
    let author = signing.verifying_key();
    let aad = associated_data(workspace, &author, epoch);
    let ciphertext = encrypt(key.as_bytes(), &nonce, &aad, &payload.encode())
        .map_err(|_| SealError::TooLarge)?;
    let message = signed_message(workspace, &author, epoch, &nonce, &ciphertext);
    let signature = signing.sign(&message).to_bytes();
    Ok(Sealed {
        epoch,
        nonce,
        ciphertext,
        signature,
    })
}

/// Checks and decrypts a bundle: membership first, then signature, epoch key and ciphertext.
pub fn open(
    sealed: &Sealed,
    author: &VerifyingKey,
    workspace: &[u8],
    roster: &impl Roster,
    ring: &KeyRing,
) -> Result<Payload, OpenError> {
    let org_id = || org_id_of(author);
    if !roster.may_write(author, sealed.epoch) {
        return Err(OpenError::NotAMember {
            org_id: org_id(),
            epoch: sealed.epoch,
        });
    }
    let message = signed_message(
        workspace,
        author,
        sealed.epoch,
        &sealed.nonce,
        &sealed.ciphertext,
    );
    author
        .verify(&message, &Signature::from_bytes(&sealed.signature))
        .map_err(|_| OpenError::BadSignature { org_id: org_id() })?;
    let key = ring
        .get(sealed.epoch)
        .ok_or(OpenError::UnknownEpoch(sealed.epoch))?;
    let aad = associated_data(workspace, author, sealed.epoch);
    let plain = decrypt(key.as_bytes(), &sealed.nonce, &aad, &sealed.ciphertext)
        .map_err(|_| OpenError::Undecryptable { org_id: org_id() })?;
    Payload::decode(&plain).map_err(|source| OpenError::BadPayload {
        org_id: org_id(),
        source,
    })
}

/// The exact bytes an author signs: domain, workspace, author key, epoch, nonce, ciphertext.
pub fn signed_message(
    workspace: &[u8],
    author: &VerifyingKey,
    epoch: Epoch,
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
) -> Vec<u8> {
    let mut out = associated_data(workspace, author, epoch);
    out.extend_from_slice(nonce);
    out.extend_from_slice(ciphertext);
    out
}

/// What the ciphertext is bound to: it cannot be moved to another workspace, author or epoch.
fn associated_data(workspace: &[u8], author: &VerifyingKey, epoch: Epoch) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIGNATURE_DOMAIN.len() + 2 + workspace.len() + 36);
    out.extend_from_slice(SIGNATURE_DOMAIN);
    out.extend_from_slice(
        &u16::try_from(workspace.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(workspace);
    out.extend_from_slice(author.as_bytes());
    out.extend_from_slice(&epoch.0.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::document::DocId;
    use crate::seal::{PayloadForm, WorkspaceKey};

    struct Members(BTreeSet<[u8; 32]>);

    impl Roster for Members {
        fn may_write(&self, author: &VerifyingKey, _epoch: Epoch) -> bool {
            self.0.contains(author.as_bytes())
        }
    }

    fn setup() -> (SigningKey, KeyRing, Members, Payload) {
        let signing = SigningKey::from_bytes(&[1; 32]);
        let ring = KeyRing::with(Epoch(0), WorkspaceKey::from_bytes([2; 32]));
        let members = Members([*signing.verifying_key().as_bytes()].into());
        let payload = Payload {
            doc: DocId::parse("abc").unwrap(),
            form: PayloadForm::Changes,
            data: b"changes".to_vec(),
        };
        (signing, ring, members, payload)
    }

    #[test]
    fn a_member_bundle_opens() {
        let (signing, ring, members, payload) = setup();
        let sealed = seal(&signing, b"ws", &ring, &payload, [3; 24]).unwrap();
        let author = signing.verifying_key();
        assert_eq!(
            open(&sealed, &author, b"ws", &members, &ring).unwrap(),
            payload
        );
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"changes"));
    }

    #[test]
    fn every_kind_of_bad_bundle_gets_its_own_error() {
        let (signing, ring, members, payload) = setup();
        let author = signing.verifying_key();
        let sealed = seal(&signing, b"ws", &ring, &payload, [3; 24]).unwrap();

        let stranger = SigningKey::from_bytes(&[9; 32]);
        let theirs = seal(&stranger, b"ws", &ring, &payload, [3; 24]).unwrap();
        assert!(matches!(
            open(&theirs, &stranger.verifying_key(), b"ws", &members, &ring),
            Err(OpenError::NotAMember { .. })
        ));

        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert!(matches!(
            open(&tampered, &author, b"ws", &members, &ring),
            Err(OpenError::BadSignature { .. })
        ));
        assert!(matches!(
            open(&sealed, &author, b"other", &members, &ring),
            Err(OpenError::BadSignature { .. })
        ));

        let other_ring = KeyRing::with(Epoch(1), WorkspaceKey::from_bytes([2; 32]));
        assert_eq!(
            open(&sealed, &author, b"ws", &members, &other_ring),
            Err(OpenError::UnknownEpoch(Epoch(0)))
        );
        let wrong_key = KeyRing::with(Epoch(0), WorkspaceKey::from_bytes([7; 32]));
        assert!(matches!(
            open(&sealed, &author, b"ws", &members, &wrong_key),
            Err(OpenError::Undecryptable { .. })
        ));
    }

    #[test]
    fn sealing_uses_the_newest_epoch() {
        let (signing, mut ring, _, payload) = setup();
        ring.insert(Epoch(1), WorkspaceKey::from_bytes([5; 32]));
        let sealed = seal(&signing, b"ws", &ring, &payload, [3; 24]).unwrap();
        assert_eq!(sealed.epoch, Epoch(1));
        assert_eq!(
            seal(&signing, b"ws", &KeyRing::default(), &payload, [3; 24]),
            Err(SealError::NoKey)
        );
    }
}
