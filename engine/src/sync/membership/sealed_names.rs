//! Names sealed for members: the workspace's name and each organisation's name and type, as
//! `Create` and `Redeem` carry them since operation tags 9 and 10.
//!
//! They are encrypted with a key derived from one key epoch's workspace key (see
//! [`KeyRing::names_key`]), bound to the workspace and to the organisation they describe, and
//! padded to a multiple of [`PAD_BLOCK`] bytes so that their length says little. A relay stores
//! and forwards them without reading them; a member that does not hold the epoch's key yet sees
//! [`UNREADABLE_NAME`] until it does.

use crate::base::codec::{Reader, Writer};
use crate::base::{KxKey, OrgKey, WireError, WorkspaceId};
use crate::identity::OrgType;
use crate::seal::{
    Epoch, ExchangePublic, ExchangeSecret, KeyRing, NONCE_LEN, WrappedRing, box_names,
    open_names_box, open_text, seal_text,
};

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

/// Domain separation for the associated data of a pending joiner's boxed names.
const BOX_AAD_CONTEXT: &[u8] = b"kompas/membership/pending-names/v1\0";

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
        let aad = aad(workspace, subject, epoch);
        let (nonce, ciphertext) = seal_text(ring, epoch, &aad, &names.padded())?;
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
        Names::read(&plain)
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

impl Names {
    /// The plaintext both seals cover: the names, padded with zeros to a multiple of
    /// [`PAD_BLOCK`] bytes.
    fn padded(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.option(self.workspace.as_ref(), |w, n| w.str(n));
        w.str(&self.name);
        w.u8(org_type_byte(self.org_type));
        let mut plain = w.into_bytes();
        plain.resize(plain.len().div_ceil(PAD_BLOCK) * PAD_BLOCK, 0);
        plain
    }

    /// Reads what [`Names::padded`] wrote; `None` for anything else, or names above their bounds.
    fn read(plain: &[u8]) -> Option<Names> {
        let mut r = Reader::new(plain);
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
}

/// A pending joiner's name and type boxed for one coordinator (as `RedeemPending` carries
/// them): the joiner holds no workspace key yet, so it cannot seal them for members. The box
/// is an X25519 agreement with the coordinator's exchange key, bound to workspace and joiner.
pub struct NameBox;

impl NameBox {
    /// Boxes `names` of `joiner` for the exchange key `recipient`; `None` when the recipient's
    /// key is unusable.
    pub fn seal(
        names: &Names,
        workspace: &WorkspaceId,
        joiner: &OrgKey,
        recipient: &KxKey,
        ephemeral: [u8; 32],
        nonce: [u8; NONCE_LEN],
    ) -> Option<Vec<u8>> {
        let aad = box_aad(workspace, joiner);
        box_names(
            &names.padded(),
            &ExchangePublic(recipient.0),
            &aad,
            ephemeral,
            nonce,
        )
        .ok()
        .map(|b| b.encode())
    }

    /// Opens names boxed for `ours`; `None` when they are not for it, or do not open.
    pub fn open(
        boxed: &[u8],
        workspace: &WorkspaceId,
        joiner: &OrgKey,
        ours: &ExchangeSecret,
    ) -> Option<Names> {
        let boxed = WrappedRing::decode(boxed).ok()?;
        let plain = open_names_box(&boxed, ours, &box_aad(workspace, joiner)).ok()?;
        Names::read(&plain).filter(|n| n.workspace.is_none())
    }
}

fn box_aad(workspace: &WorkspaceId, joiner: &OrgKey) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(BOX_AAD_CONTEXT);
    w.fixed(&workspace.0);
    w.fixed(&joiner.0);
    w.into_bytes()
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
