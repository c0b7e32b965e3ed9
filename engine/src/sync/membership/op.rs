//! Membership operations, their canonical encoding and their signatures.

use ed25519_dalek::SigningKey;

use crate::base::codec::{Encoded, Reader, Writer};
use crate::base::{Hash32, KxKey, OrgKey, Sig, WireError, WorkspaceId};
use crate::identity::OrgType;
use crate::time::Timestamp;

use super::role::Role;
use super::sealed_names::{MemberKeys, SealedNames};

/// Domain separation for membership signatures.
const SIGNATURE_CONTEXT: &[u8] = b"kompas/membership/v2\0";

/// The largest encoded membership operation any replica or relay accepts: far below a frame,
/// so that a page of the log always fits one. A key change for a few hundred members fits.
pub const MAX_OP_BYTES: usize = 256 * 1024;

/// The largest wrapped key material for one member (a key ring of about two hundred epochs).
pub const MAX_WRAPPED_BYTES: usize = 8 * 1024;

/// The largest name (of the workspace or of an organisation), in bytes.
pub const MAX_NAME_BYTES: usize = 1024;

/// The public description of a member, as it enters the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberProfile {
    /// The member's Ed25519 public key: its identity.
    pub key: OrgKey,
    /// Display name, e.g. "Gemeente Zwolle".
    pub name: String,
    /// The kind of organisation.
    pub org_type: OrgType,
    /// X25519 public key other members wrap workspace keys to.
    pub kx: KxKey,
}

/// A workspace key wrapped (encrypted) for one member; opaque to the relay and to this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The member who can unwrap it.
    pub member: OrgKey,
    /// The wrapped key material.
    pub sealed: Vec<u8>,
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpBody {
    /// Creates the workspace; its author is the first coordinator. Written before names were
    /// sealed (tag 1) and still read; new workspaces start with [`OpBody::CreateSealed`].
    Create {
        /// The workspace's display name.
        name: String,
        /// The creating organisation.
        coordinator: MemberProfile,
    },
    /// Registers an invite by the public half of its one-time key (coordinator only).
    Invite {
        /// The invite's one-time public key, see [`super::InviteToken::public`].
        invite_key: OrgKey,
        /// The role the joiner gets.
        role: Role,
        /// After this moment the invite can no longer be redeemed.
        expires: Timestamp,
    },
    /// Registers an invite whose joiner stays pending until a coordinator confirms it with
    /// [`OpBody::Confirm`] (tag 12; coordinator only). Its code carries no workspace keys.
    InviteConfirmed {
        /// The invite's one-time public key, see [`super::InviteToken::public`].
        invite_key: OrgKey,
        /// The role the joiner gets once confirmed.
        role: Role,
        /// After this moment the invite can no longer be redeemed.
        expires: Timestamp,
    },
    /// Redeems an invite made with [`OpBody::InviteConfirmed`] (tag 13); signed by the joiner,
    /// who becomes a pending member. The joiner holds no workspace key yet, so its name and
    /// type are boxed for each coordinator's exchange key instead of sealed for members.
    RedeemPending {
        /// The invite's one-time public key.
        invite_key: OrgKey,
        /// The invite key's signature admitting this joiner, see [`super::InviteToken::prove`].
        proof: Sig,
        /// The joining organisation's keys.
        joiner: MemberKeys,
        /// The joiner's names, boxed for one coordinator each (see [`super::NameBox`]).
        boxes: Vec<WrappedKey>,
    },
    /// Confirms a pending member (tag 11; coordinator only), after the coordinator compared
    /// the joiner's fingerprint with the joiner. Until then no replica shares keys with it.
    Confirm {
        /// The pending member's key.
        member: OrgKey,
        /// The joiner's names, sealed for members by the confirming coordinator.
        names: SealedNames,
    },
    /// Creates the workspace with its name and the coordinator's name and type sealed for
    /// members (tag 9); its author is the first coordinator.
    CreateSealed {
        /// The creating organisation's keys.
        coordinator: MemberKeys,
        /// The workspace's name and the coordinator's name and type.
        names: SealedNames,
    },
    /// Redeems an invite; signed by the joiner, whose profile it carries in the clear. Written
    /// before names were sealed (tag 3) and still read; joiners now write
    /// [`OpBody::RedeemSealed`]. The token stays with the joiner: `proof` is the invite key's
    /// signature over the joiner's keys.
    Redeem {
        /// The invite's one-time public key.
        invite_key: OrgKey,
        /// The invite key's signature admitting this joiner, see [`super::InviteToken::prove`].
        proof: Sig,
        /// The joining organisation.
        profile: MemberProfile,
    },
    /// Redeems an invite with the joiner's name and type sealed for members (tag 10); signed
    /// by the joiner.
    RedeemSealed {
        /// The invite's one-time public key.
        invite_key: OrgKey,
        /// The invite key's signature admitting this joiner, see [`super::InviteToken::prove`].
        proof: Sig,
        /// The joining organisation's keys.
        joiner: MemberKeys,
        /// The joiner's name and type.
        names: SealedNames,
    },
    /// Withdraws an unused invite (coordinator only).
    RevokeInvite {
        /// The invite's one-time public key.
        invite_key: OrgKey,
    },
    /// Removes a member (coordinator only).
    Remove {
        /// The member's key.
        member: OrgKey,
        /// The cut-off: the highest of the member's own bundle sequence numbers that still
        /// counts (the highest the removing coordinator's replica held). Every replica refuses
        /// the member's bundles numbered above it, whichever relay brings them (see
        /// [`super::Removal::admits`]). `None` in removals written before the cut-off existed
        /// (operation tag 5), which only end the member's writing in later key epochs.
        cutoff: Option<u64>,
    },
    /// Moves the workspace to the next key epoch (coordinator only).
    KeyEpoch {
        /// The new epoch: always the current one plus one.
        epoch: u64,
        /// The new key, wrapped for each remaining member.
        wrapped: Vec<WrappedKey>,
    },
    /// Hands key material to one member (any member may), e.g. older epochs to a newcomer.
    ShareKeys {
        /// The receiving member.
        member: OrgKey,
        /// The wrapped key material.
        sealed: Vec<u8>,
    },
}

/// An operation before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipOp {
    /// The workspace.
    pub workspace: WorkspaceId,
    /// The hash of the previous operation; `None` only for `Create`.
    pub prev: Option<Hash32>,
    /// The signing organisation.
    pub author: OrgKey,
    /// When the author made it (checked against the relay's clock on arrival).
    pub at: Timestamp,
    /// What it does.
    pub body: OpBody,
}

/// An operation with its author's signature: an entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOp {
    /// The operation.
    pub op: MembershipOp,
    /// The author's signature over its canonical encoding.
    pub signature: Sig,
}

impl SignedOp {
    /// Signs an operation as the holder of `key`.
    pub fn sign(
        workspace: WorkspaceId,
        prev: Option<Hash32>,
        at: Timestamp,
        body: OpBody,
        key: &SigningKey,
    ) -> SignedOp {
        let op = MembershipOp {
            workspace,
            prev,
            author: OrgKey::of(key),
            at,
            body,
        };
        let signature = Sig::sign(key, &op.signed_bytes());
        SignedOp { op, signature }
    }

    /// Whether the signature is the author's over the operation.
    pub fn verifies(&self) -> bool {
        self.op
            .author
            .verifies(&self.op.signed_bytes(), &self.signature)
    }

    /// The operation's content address, which the next operation names as `prev`.
    pub fn hash(&self) -> Hash32 {
        Hash32::of(&self.to_bytes())
    }
}

impl Encoded for SignedOp {
    const WHAT: &'static str = "membership op";

    fn encode(&self, w: &mut Writer) {
        self.op.encode(w);
        w.fixed(&self.signature.0);
    }

    fn decode(r: &mut Reader<'_>) -> Result<SignedOp, WireError> {
        Ok(SignedOp {
            op: MembershipOp::decode(r)?,
            signature: Sig(r.array("op.signature")?),
        })
    }
}

impl MembershipOp {
    /// The canonical bytes a signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(SIGNATURE_CONTEXT);
        self.encode(&mut w);
        w.into_bytes()
    }

    fn encode(&self, w: &mut Writer) {
        w.fixed(&self.workspace.0);
        w.option(self.prev.as_ref(), |w, h| w.fixed(&h.0));
        w.fixed(&self.author.0);
        w.i64(self.at.0);
        self.body.encode(w);
    }

    fn decode(r: &mut Reader<'_>) -> Result<MembershipOp, WireError> {
        Ok(MembershipOp {
            workspace: WorkspaceId(r.array("op.workspace")?),
            prev: r.option("op.prev", |r| r.array("op.prev").map(Hash32))?,
            author: OrgKey(r.array("op.author")?),
            at: Timestamp(r.i64("op.at")?),
            body: OpBody::decode(r)?,
        })
    }
}

impl OpBody {
    /// A short name for messages and logs.
    pub fn name(&self) -> &'static str {
        match self {
            OpBody::Create { .. } | OpBody::CreateSealed { .. } => "create",
            OpBody::Invite { .. } | OpBody::InviteConfirmed { .. } => "invite",
            OpBody::Redeem { .. } | OpBody::RedeemSealed { .. } | OpBody::RedeemPending { .. } => {
                "redeem"
            }
            OpBody::Confirm { .. } => "confirm",
            OpBody::RevokeInvite { .. } => "revoke-invite",
            OpBody::Remove { .. } => "remove",
            OpBody::KeyEpoch { .. } => "key-epoch",
            OpBody::ShareKeys { .. } => "share-keys",
        }
    }

    /// Whether this creates the workspace (in either form).
    pub fn creates(&self) -> bool {
        matches!(self, OpBody::Create { .. } | OpBody::CreateSealed { .. })
    }

    /// The invite this redeems (in either form), if it is a redeem.
    pub fn redeemed_invite(&self) -> Option<&OrgKey> {
        match self {
            OpBody::Redeem { invite_key, .. }
            | OpBody::RedeemSealed { invite_key, .. }
            | OpBody::RedeemPending { invite_key, .. } => Some(invite_key),
            _ => None,
        }
    }

    fn encode(&self, w: &mut Writer) {
        match self {
            OpBody::CreateSealed { coordinator, names } => {
                w.u8(9);
                coordinator.encode(w);
                names.encode(w);
            }
            OpBody::RedeemSealed {
                invite_key,
                proof,
                joiner,
                names,
            } => {
                w.u8(10);
                w.fixed(&invite_key.0);
                w.fixed(&proof.0);
                joiner.encode(w);
                names.encode(w);
            }
            OpBody::Confirm { member, names } => {
                w.u8(11);
                w.fixed(&member.0);
                names.encode(w);
            }
            OpBody::InviteConfirmed {
                invite_key,
                role,
                expires,
            } => {
                w.u8(12);
                w.fixed(&invite_key.0);
                w.u8(role.to_byte());
                w.i64(expires.0);
            }
            OpBody::RedeemPending {
                invite_key,
                proof,
                joiner,
                boxes,
            } => {
                w.u8(13);
                w.fixed(&invite_key.0);
                w.fixed(&proof.0);
                joiner.encode(w);
                encode_wrapped(w, boxes);
            }
            OpBody::Create { name, coordinator } => {
                w.u8(1);
                w.str(name);
                coordinator.encode(w);
            }
            OpBody::Invite {
                invite_key,
                role,
                expires,
            } => {
                w.u8(2);
                w.fixed(&invite_key.0);
                w.u8(role.to_byte());
                w.i64(expires.0);
            }
            OpBody::Redeem {
                invite_key,
                proof,
                profile,
            } => {
                w.u8(3);
                w.fixed(&invite_key.0);
                w.fixed(&proof.0);
                profile.encode(w);
            }
            OpBody::RevokeInvite { invite_key } => {
                w.u8(4);
                w.fixed(&invite_key.0);
            }
            OpBody::Remove {
                member,
                cutoff: None,
            } => {
                w.u8(5);
                w.fixed(&member.0);
            }
            OpBody::Remove {
                member,
                cutoff: Some(cutoff),
            } => {
                w.u8(8);
                w.fixed(&member.0);
                w.u64(*cutoff);
            }
            OpBody::KeyEpoch { epoch, wrapped } => {
                w.u8(6);
                w.u64(*epoch);
                encode_wrapped(w, wrapped);
            }
            OpBody::ShareKeys { member, sealed } => {
                w.u8(7);
                w.fixed(&member.0);
                w.bytes(sealed);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<OpBody, WireError> {
        Ok(match r.u8("op.kind")? {
            1 => OpBody::Create {
                name: r.str("create.name")?,
                coordinator: MemberProfile::decode(r)?,
            },
            2 => OpBody::Invite {
                invite_key: OrgKey(r.array("invite.key")?),
                role: decode_role(r, "invite.role")?,
                expires: Timestamp(r.i64("invite.expires")?),
            },
            3 => OpBody::Redeem {
                invite_key: OrgKey(r.array("redeem.invite_key")?),
                proof: Sig(r.array("redeem.proof")?),
                profile: MemberProfile::decode(r)?,
            },
            4 => OpBody::RevokeInvite {
                invite_key: OrgKey(r.array("revoke.invite_key")?),
            },
            5 => OpBody::Remove {
                member: OrgKey(r.array("remove.member")?),
                cutoff: None,
            },
            8 => OpBody::Remove {
                member: OrgKey(r.array("remove.member")?),
                cutoff: Some(r.u64("remove.cutoff")?),
            },
            6 => OpBody::KeyEpoch {
                epoch: r.u64("key_epoch.epoch")?,
                wrapped: decode_wrapped(r, "key_epoch.wrapped")?,
            },
            7 => OpBody::ShareKeys {
                member: OrgKey(r.array("share.member")?),
                sealed: r.bytes("share.sealed")?.to_vec(),
            },
            9 => OpBody::CreateSealed {
                coordinator: MemberKeys::decode(r)?,
                names: SealedNames::decode(r)?,
            },
            10 => OpBody::RedeemSealed {
                invite_key: OrgKey(r.array("redeem.invite_key")?),
                proof: Sig(r.array("redeem.proof")?),
                joiner: MemberKeys::decode(r)?,
                names: SealedNames::decode(r)?,
            },
            11 => OpBody::Confirm {
                member: OrgKey(r.array("confirm.member")?),
                names: SealedNames::decode(r)?,
            },
            12 => OpBody::InviteConfirmed {
                invite_key: OrgKey(r.array("invite.key")?),
                role: decode_role(r, "invite.role")?,
                expires: Timestamp(r.i64("invite.expires")?),
            },
            13 => OpBody::RedeemPending {
                invite_key: OrgKey(r.array("redeem.invite_key")?),
                proof: Sig(r.array("redeem.proof")?),
                joiner: MemberKeys::decode(r)?,
                boxes: decode_wrapped(r, "redeem.boxes")?,
            },
            value => {
                return Err(WireError::BadTag {
                    what: "op.kind",
                    value,
                });
            }
        })
    }
}

impl MemberProfile {
    fn encode(&self, w: &mut Writer) {
        w.fixed(&self.key.0);
        w.str(&self.name);
        w.u8(org_type_byte(self.org_type));
        w.fixed(&self.kx.0);
    }

    fn decode(r: &mut Reader<'_>) -> Result<MemberProfile, WireError> {
        Ok(MemberProfile {
            key: OrgKey(r.array("profile.key")?),
            name: r.str("profile.name")?,
            org_type: decode_org_type(r, "profile.org_type")?,
            kx: KxKey(r.array("profile.kx")?),
        })
    }
}

fn encode_wrapped(w: &mut Writer, wrapped: &[WrappedKey]) {
    w.list(wrapped, |w, k| {
        w.fixed(&k.member.0);
        w.bytes(&k.sealed);
    });
}

fn decode_wrapped(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<WrappedKey>, WireError> {
    r.list(what, |r| {
        Ok(WrappedKey {
            member: OrgKey(r.array("wrapped.member")?),
            sealed: r.bytes("wrapped.sealed")?.to_vec(),
        })
    })
}

/// Reads an organisation type's byte.
pub(super) fn decode_org_type(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<OrgType, WireError> {
    let value = r.u8(what)?;
    OrgType::ALL
        .get(usize::from(value))
        .copied()
        .ok_or(WireError::BadTag { what, value })
}

/// An organisation type's byte on the wire: its position in [`OrgType::ALL`].
pub(super) fn org_type_byte(t: OrgType) -> u8 {
    OrgType::ALL
        .iter()
        .position(|x| *x == t)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(u8::MAX)
}

/// Reads a role byte.
pub(crate) fn decode_role(r: &mut Reader<'_>, what: &'static str) -> Result<Role, WireError> {
    let value = r.u8(what)?;
    Role::from_byte(value).ok_or(WireError::BadTag { what, value })
}
