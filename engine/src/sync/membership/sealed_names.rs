//! Names sealed for members: the workspace's name and each organisation's name and type, as
//! `Create` and `Redeem` carry them since operation tags 9 and 10.
//!
//! They are encrypted with a key derived from one key epoch's workspace key (see
//! [`KeyRing::names_key`]), bound to the workspace and to the organisation they describe, and
//! padded to a multiple of [`PAD_BLOCK`] bytes so that their length says little. A relay stores
//! and forwards them without reading them; a member that does not hold the epoch's key yet sees
//! [`UNREADABLE_NAME`] until it does.

use crate::identity::OrgType;
use crate::seal::{Epoch, KeyRing, NONCE_LEN, open_text, seal_text};
use crate::sync::wire::codec::{Reader, Writer};
use crate::sync::wire::{KxKey, OrgKey, WireError, WorkspaceId};

use super::op::{MAX_NAME_BYTES, decode_org_type, org_type_byte};

/// What a member sees instead of an organisation's name it cannot open yet.
pub const UNREADABLE_NAME: &str = "(naam nog niet leesbaar)";

/// What a member sees instead of the workspace's name it cannot open yet.
pub const UNREADABLE_WORKSPACE_NAME: &str = "(naam van de samenwerking nog niet leesbaar)";

/// Sealed names are padded to a multiple of this many bytes.
pub const PAD_BLOCK: usize = 128;

/// The largest sealed names (two names of [`MAX_NAME_BYTES`], padded, with the cipher's tag).
pub const MAX_SEALED_NAMES_BYTES: usize = 2 * MAX_NAME_BYTES + 2 * PAD_BLOCK;

/// Domain separation for the associated data.
const AAD_CONTEXT: &[u8] = b"kompas/membership/names/v1\0";

/// The keys of a member as the relay reads them: identity and exchange key, no name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberKeys {
    /// The member's Ed25519 public key.
    pub key: OrgKey,
    /// The X25519 key other members wrap workspace keys to.
    pub kx: KxKey,
}

/// What sealed names hold once opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The workspace's name (only in a `Create`).
    pub workspace: Option<String>,
    /// The organisation's name.
    pub name: String,
    /// The kind of organisation.
    pub org_type: OrgType,
}

/// Names encrypted for members under one key epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedNames {
    /// The key epoch whose names key sealed them.
    pub epoch: u64,
    /// The nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The padded, encrypted names with their tag.
    pub ciphertext: Vec<u8>,
}

impl SealedNames {
    /// Seals `names` of organisation `subject` under the newest epoch of `ring`; `None` when
    /// the ring is empty.
    pub fn seal(
        ring: &KeyRing,
        workspace: &WorkspaceId,
        subject: &OrgKey,
        names: &Names,
    ) -> Option<SealedNames> {
        let (epoch, _) = ring.current()?;
        let mut w = Writer::new();
        w.option(names.workspace.as_ref(), |w, n| w.str(n));
        w.str(&names.name);
        w.u8(org_type_byte(names.org_type));
        let mut plain = w.into_bytes();
        plain.resize(plain.len().div_ceil(PAD_BLOCK) * PAD_BLOCK, 0);
        let aad = aad(workspace, subject, epoch);
        let (nonce, ciphertext) = seal_text(ring, epoch, &aad, &plain)?;
        Some(SealedNames {
            epoch: epoch.0,
            nonce,
            ciphertext,
        })
    }

    /// Opens the names of `subject`; `None` without the epoch's key, or when they do not open
    /// or hold something other than names within their bounds.
    pub fn open(&self, ring: &KeyRing, workspace: &WorkspaceId, subject: &OrgKey) -> Option<Names> {
        let epoch = Epoch(self.epoch);
        let plain = open_text(
            ring,
            epoch,
            &self.nonce,
            &aad(workspace, subject, epoch),
            &self.ciphertext,
        )?;
        let mut r = Reader::new(&plain);
        let names = Names {
            workspace: r
                .option("names.workspace", |r| r.str("names.workspace"))
                .ok()?,
            name: r.str("names.name").ok()?,
            org_type: decode_org_type(&mut r, "names.org_type").ok()?,
        };
        let padding = r.take(r.remaining(), "names.padding").ok()?;
        let within = |n: &str| n.len() <= MAX_NAME_BYTES;
        (padding.iter().all(|b| *b == 0)
            && within(&names.name)
            && names.workspace.as_deref().is_none_or(within))
        .then_some(names)
    }

    pub(super) fn encode(&self, w: &mut Writer) {
        w.u64(self.epoch);
        w.fixed(&self.nonce);
        w.bytes(&self.ciphertext);
    }

    pub(super) fn decode(r: &mut Reader<'_>) -> Result<SealedNames, WireError> {
        Ok(SealedNames {
            epoch: r.u64("names.epoch")?,
            nonce: r.array("names.nonce")?,
            ciphertext: r.bytes("names.ciphertext")?.to_vec(),
        })
    }
}

impl MemberKeys {
    pub(super) fn encode(&self, w: &mut Writer) {
        w.fixed(&self.key.0);
        w.fixed(&self.kx.0);
    }

    pub(super) fn decode(r: &mut Reader<'_>) -> Result<MemberKeys, WireError> {
        Ok(MemberKeys {
            key: OrgKey(r.array("member.key")?),
            kx: KxKey(r.array("member.kx")?),
        })
    }
}

fn aad(workspace: &WorkspaceId, subject: &OrgKey, epoch: Epoch) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(AAD_CONTEXT);
    w.fixed(&workspace.0);
    w.fixed(&subject.0);
    w.u64(epoch.0);
    w.into_bytes()
}
