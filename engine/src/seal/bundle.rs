//! Sealing and opening a bundle: encrypt with the epoch's workspace key, sign as the author.
//!
//! The envelope ([`SealedBundle`]) and its signature are base types (`crate::base`); this
//! module fills it with an encrypted [`Payload`] and, on the way in, checks it in a fixed order:
//! the author may write, the signature holds, the epoch's key is known, the ciphertext decrypts,
//! the payload reads and names the document the envelope addresses.

use ed25519_dalek::SigningKey;

use super::NONCE_LEN;
use super::cipher::{decrypt, encrypt};
use super::key::{Epoch, KeyRing};
use super::payload::{Payload, PayloadError};
use crate::base::{DocRef, OrgKey, SealedBundle, WorkspaceId};
use crate::document::DocId;

/// Who may write to a workspace, as far as the opener knows.
pub trait Roster {
    /// Whether `author` may have written a bundle sealed in `epoch`.
    fn may_write(&self, author: &OrgKey, epoch: Epoch) -> bool;
}

/// Why a payload could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// This replica has no workspace key.
    #[error("geen sleutel van de samenwerking om mee te versleutelen")]
    NoKey,
    /// The payload is too large to encrypt.
    #[error("de inhoud is te groot om te versleutelen")]
    TooLarge,
}

/// Why a bundle was refused. None of these is ever applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The author is not a member who may write in the bundle's epoch.
    #[error("wijziging van {org_id}, dat geen lid is dat mag schrijven (sleutel {epoch})")]
    NotAMember { org_id: String, epoch: Epoch },
    /// The signature does not match the content and the author.
    #[error("wijziging van {org_id} heeft een ongeldige handtekening")]
    BadSignature { org_id: String },
    /// The epoch's key is not (yet) known here.
    #[error("wijziging versleuteld met sleutel {0} van de samenwerking, die deze kopie niet heeft")]
    UnknownEpoch(Epoch),
    /// The ciphertext does not decrypt with the epoch's key.
    #[error("wijziging van {org_id} laat zich niet ontsleutelen")]
    Undecryptable { org_id: String },
    /// The plaintext is not a payload, or not for the document the envelope names.
    #[error("wijziging van {org_id}: {source}")]
    BadPayload {
        org_id: String,
        source: PayloadError,
    },
}

/// The address under which a document's bundles of `epoch` travel: a keyed hash relays cannot
/// reverse, different in every epoch.
pub fn doc_ref(ring: &KeyRing, epoch: Epoch, doc: &DocId) -> Option<DocRef> {
    let key = ring.doc_ref_key(epoch)?;
    Some(DocRef(
        *blake3::keyed_hash(&key, doc.as_str().as_bytes()).as_bytes(),
    ))
}

/// Seals `payload` with the newest key of `ring` into a bundle signed by `signing`.
pub fn seal(
    signing: &SigningKey,
    workspace: WorkspaceId,
    ring: &KeyRing,
    payload: &Payload,
    nonce: [u8; NONCE_LEN],
) -> Result<SealedBundle, SealError> {
    let (epoch, key) = ring.current().ok_or(SealError::NoKey)?;
    let doc = doc_ref(ring, epoch, &payload.doc).ok_or(SealError::NoKey)?;
    let aad = SealedBundle::associated_data(&workspace, epoch.0, &OrgKey::of(signing), &doc);
    let ciphertext = encrypt(key.as_bytes(), &nonce, &aad, &payload.encode())
        .map_err(|_| SealError::TooLarge)?;
    Ok(SealedBundle::sign(
        workspace, epoch.0, doc, nonce, ciphertext, signing,
    ))
}

/// Checks and decrypts a bundle.
pub fn open(
    bundle: &SealedBundle,
    roster: &impl Roster,
    ring: &KeyRing,
) -> Result<Payload, OpenError> {
    let org_id = || bundle.author.org_id();
    let epoch = Epoch(bundle.epoch);
    if !roster.may_write(&bundle.author, epoch) {
        return Err(OpenError::NotAMember {
            org_id: org_id(),
            epoch,
        });
    }
    bundle
        .verify()
        .map_err(|_| OpenError::BadSignature { org_id: org_id() })?;
    let key = ring.get(epoch).ok_or(OpenError::UnknownEpoch(epoch))?;
    let plain = decrypt(
        key.as_bytes(),
        &bundle.nonce,
        &bundle.aad(),
        &bundle.ciphertext,
    )
    .map_err(|_| OpenError::Undecryptable { org_id: org_id() })?;
    let bad = |source| OpenError::BadPayload {
        org_id: org_id(),
        source,
    };
    let payload = Payload::decode(&plain).map_err(bad)?;
    if doc_ref(ring, epoch, &payload.doc) != Some(bundle.doc) {
        return Err(bad(PayloadError::Malformed(format!(
            "document {} hoort niet bij het adres op de envelop",
            payload.doc
        ))));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::base::Encoded;
    use crate::seal::{PayloadForm, WorkspaceKey};

    struct Members(BTreeSet<OrgKey>);

    impl Roster for Members {
        fn may_write(&self, author: &OrgKey, _epoch: Epoch) -> bool {
            self.0.contains(author)
        }
    }

    const WS: WorkspaceId = WorkspaceId([1; 16]);

    fn setup() -> (SigningKey, KeyRing, Members, Payload) {
        let signing = SigningKey::from_bytes(&[1; 32]);
        let ring = KeyRing::with(Epoch(0), WorkspaceKey::from_bytes([2; 32]));
        let members = Members([OrgKey::of(&signing)].into());
        let payload = Payload {
            doc: DocId::parse("abc").unwrap(),
            form: PayloadForm::Changes,
            data: b"changes".to_vec(),
            seq: 1,
        };
        (signing, ring, members, payload)
    }

    #[test]
    fn a_member_bundle_opens_and_hides_its_content() {
        let (signing, ring, members, payload) = setup();
        let sealed = seal(&signing, WS, &ring, &payload, [3; 24]).unwrap();
        assert_eq!(open(&sealed, &members, &ring).unwrap(), payload);
        let bytes = sealed.to_bytes();
        assert!(!bytes.windows(7).any(|w| w == b"changes"));
        assert!(!bytes.windows(3).any(|w| w == b"abc"));
    }

    #[test]
    fn every_kind_of_bad_bundle_gets_its_own_error() {
        let (signing, ring, members, payload) = setup();
        let sealed = seal(&signing, WS, &ring, &payload, [3; 24]).unwrap();

        let stranger = SigningKey::from_bytes(&[9; 32]);
        let theirs = seal(&stranger, WS, &ring, &payload, [3; 24]).unwrap();
        assert!(matches!(
            open(&theirs, &members, &ring),
            Err(OpenError::NotAMember { .. })
        ));

        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert!(matches!(
            open(&tampered, &members, &ring),
            Err(OpenError::BadSignature { .. })
        ));

        let other_ring = KeyRing::with(Epoch(1), WorkspaceKey::from_bytes([2; 32]));
        assert_eq!(
            open(&sealed, &members, &other_ring),
            Err(OpenError::UnknownEpoch(Epoch(0)))
        );
        let wrong_key = KeyRing::with(Epoch(0), WorkspaceKey::from_bytes([7; 32]));
        assert!(matches!(
            open(&sealed, &members, &wrong_key),
            Err(OpenError::Undecryptable { .. })
        ));
    }

    #[test]
    fn a_payload_cannot_travel_under_another_documents_address() {
        let (signing, ring, members, payload) = setup();
        let other = Payload {
            doc: DocId::parse("xyz").unwrap(),
            ..payload.clone()
        };
        let sealed = seal(&signing, WS, &ring, &payload, [3; 24]).unwrap();
        let moved_doc = doc_ref(&ring, Epoch(0), &other.doc).unwrap();
        // Re-signing under another address is what a member could do; the opener notices.
        let (epoch, key) = ring.current().unwrap();
        let aad = SealedBundle::associated_data(&WS, epoch.0, &sealed.author, &moved_doc);
        let ciphertext = encrypt(key.as_bytes(), &[3; 24], &aad, &payload.encode()).unwrap();
        let forged = SealedBundle::sign(WS, epoch.0, moved_doc, [3; 24], ciphertext, &signing);
        assert!(matches!(
            open(&forged, &members, &ring),
            Err(OpenError::BadPayload { .. })
        ));
    }

    #[test]
    fn a_documents_address_changes_with_the_epoch_and_sizes_come_in_classes() {
        let (signing, mut ring, members, payload) = setup();
        let before = seal(&signing, WS, &ring, &payload, [3; 24]).unwrap();
        ring.insert(Epoch(1), WorkspaceKey::from_bytes([5; 32]));
        let after = seal(&signing, WS, &ring, &payload, [3; 24]).unwrap();
        assert_ne!(before.doc, after.doc);
        assert_eq!(open(&before, &members, &ring).unwrap(), payload);
        assert_eq!(open(&after, &members, &ring).unwrap(), payload);
        // Payloads of different sizes within one class give ciphertexts of one size.
        let sized = |n: usize| {
            let p = Payload {
                data: vec![7; n],
                ..payload.clone()
            };
            seal(&signing, WS, &ring, &p, [3; 24])
                .unwrap()
                .ciphertext
                .len()
        };
        assert_eq!(sized(10), sized(200));
        assert_eq!(sized(3000), sized(4000));
        assert!(sized(5000) > sized(4000));
    }

    #[test]
    fn sealing_uses_the_newest_epoch() {
        let (signing, mut ring, _, payload) = setup();
        ring.insert(Epoch(1), WorkspaceKey::from_bytes([5; 32]));
        let sealed = seal(&signing, WS, &ring, &payload, [3; 24]).unwrap();
        assert_eq!(sealed.epoch, 1);
        assert_eq!(
            seal(&signing, WS, &KeyRing::default(), &payload, [3; 24]),
            Err(SealError::NoKey)
        );
    }
}
