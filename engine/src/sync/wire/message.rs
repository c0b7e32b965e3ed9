//! The messages of the relay protocol and their body encodings.

use super::error_code::ErrorCode;
use crate::base::codec::{Encoded, Reader, Writer};
use crate::base::{CHALLENGE_LEN, Hash32, OrgKey, SealedBundle, Sig, WireError, WorkspaceId};
use crate::sync::membership::{Role, SignedOp};

/// What an authenticated connection may do, as the relay tells it in `Welcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A current member with this role: may push, pull, subscribe and append operations.
    Member(Role),
    /// Not (yet) a member: may create the workspace, or prove it holds an open invite
    /// ([`Message::Candidacy`]) and then read the log and redeem the invite. Until that proof,
    /// the welcome's figures are zero whether the workspace exists or not.
    Candidate,
    /// Another relay mirroring this one: may read and forward what members signed.
    Mirror,
}

/// A bundle with its position in the workspace log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequenced {
    /// Position in the workspace log, from 1.
    pub seq: u64,
    /// The bundle.
    pub bundle: SealedBundle,
}

/// One protocol message. Client requests and relay answers share the enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Client opens: the protocol versions it speaks.
    Hello {
        /// Lowest version spoken.
        min_version: u8,
        /// Highest version spoken.
        max_version: u8,
        /// Free text naming the software, for logs.
        agent: String,
        /// Fresh random bytes the relay must sign to prove its key (see [`super::sign_relay_proof`]).
        nonce: [u8; CHALLENGE_LEN],
    },
    /// Relay answers `Hello`: the chosen version, its own key, a fresh random challenge and its
    /// proof that it holds that key.
    Challenge {
        /// The version both sides will use.
        version: u8,
        /// The relay's public key (bound into the answer).
        relay: OrgKey,
        /// The challenge.
        nonce: [u8; CHALLENGE_LEN],
        /// The relay's signature over [`super::relay_proof_bytes`].
        proof: Sig,
    },
    /// Client answers the challenge for one workspace (see [`super::sign_auth`]).
    Auth {
        /// The workspace this connection is about.
        workspace: WorkspaceId,
        /// The organisation's (or mirroring relay's) public key.
        key: OrgKey,
        /// The signature over [`super::auth_signed_bytes`].
        signature: Sig,
    },
    /// Relay accepts the connection.
    Welcome {
        /// What the connection may do.
        access: Access,
        /// The highest bundle sequence number stored for the workspace (0 if none).
        head: u64,
        /// How many membership operations the relay holds for the workspace.
        membership_len: u64,
        /// The current key epoch.
        epoch: u64,
    },
    /// Client stores a bundle.
    Push {
        /// The bundle.
        bundle: SealedBundle,
    },
    /// Relay: the bundle is durable at `seq` (or was already, if `duplicate`).
    Ack {
        /// Its position.
        seq: u64,
        /// Its content address.
        hash: Hash32,
        /// Whether the relay had it already.
        duplicate: bool,
    },
    /// Client asks for bundles with a sequence number above `after`.
    Pull {
        /// The last sequence number the client has.
        after: u64,
        /// At most this many bundles in the answer.
        limit: u32,
    },
    /// Relay answers `Pull`.
    Bundles {
        /// The bundles, in sequence order (fewer than asked if a byte budget was reached).
        items: Vec<Sequenced>,
        /// The highest sequence number stored.
        head: u64,
    },
    /// Client asks to be sent every bundle above `after`, now and as they arrive.
    Subscribe {
        /// The last sequence number the client has.
        after: u64,
    },
    /// Relay sends a bundle to a subscriber.
    Pushed {
        /// The bundle and its position.
        item: Sequenced,
    },
    /// Client asks for the membership log from position `after` (0 = from the start).
    MembershipPull {
        /// How many operations the client has.
        after: u64,
    },
    /// Relay sends membership operations (an answer to `MembershipPull`, or new ones to a
    /// subscriber).
    MembershipOps {
        /// The position of the first operation.
        start: u64,
        /// The operations.
        ops: Vec<SignedOp>,
    },
    /// Client appends a membership operation.
    MembershipAppend {
        /// The operation.
        op: SignedOp,
    },
    /// Relay: the operation is durable at `index`.
    MembershipAck {
        /// Its position (0-based).
        index: u64,
        /// Its hash, the new head.
        hash: Hash32,
    },
    /// Client, not a member yet: proves it holds an open invite of the workspace (see
    /// [`crate::sync::membership::InviteToken::prove_candidacy`]). The relay answers with a
    /// `Welcome` carrying the real figures, or refuses with `NotMember`.
    Candidacy {
        /// The invite's one-time public key.
        invite_key: OrgKey,
        /// The invite key's signature over this connection's challenge and key.
        proof: Sig,
    },
    /// A typed refusal.
    Error {
        /// What kind of refusal.
        code: ErrorCode,
        /// A human-readable explanation.
        message: String,
    },
}

impl Message {
    /// The message type byte.
    pub fn kind(&self) -> u8 {
        match self {
            Message::Hello { .. } => 1,
            Message::Challenge { .. } => 2,
            Message::Auth { .. } => 3,
            Message::Welcome { .. } => 4,
            Message::Push { .. } => 5,
            Message::Ack { .. } => 6,
            Message::Pull { .. } => 7,
            Message::Bundles { .. } => 8,
            Message::Subscribe { .. } => 9,
            Message::Pushed { .. } => 10,
            Message::MembershipPull { .. } => 11,
            Message::MembershipOps { .. } => 12,
            Message::MembershipAppend { .. } => 13,
            Message::MembershipAck { .. } => 14,
            Message::Error { .. } => 15,
            Message::Candidacy { .. } => 16,
        }
    }

    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::Challenge { .. } => "challenge",
            Message::Auth { .. } => "auth",
            Message::Welcome { .. } => "welcome",
            Message::Push { .. } => "push",
            Message::Ack { .. } => "ack",
            Message::Pull { .. } => "pull",
            Message::Bundles { .. } => "bundles",
            Message::Subscribe { .. } => "subscribe",
            Message::Pushed { .. } => "pushed",
            Message::MembershipPull { .. } => "membership-pull",
            Message::MembershipOps { .. } => "membership-ops",
            Message::MembershipAppend { .. } => "membership-append",
            Message::MembershipAck { .. } => "membership-ack",
            Message::Error { .. } => "error",
            Message::Candidacy { .. } => "candidacy",
        }
    }

    /// A typed error message.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Message {
        Message::Error {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn encode_body(&self, w: &mut Writer) {
        match self {
            Message::Hello {
                min_version,
                max_version,
                agent,
                nonce,
            } => {
                w.u8(*min_version);
                w.u8(*max_version);
                w.str(agent);
                w.fixed(nonce);
            }
            Message::Challenge {
                version,
                relay,
                nonce,
                proof,
            } => {
                w.u8(*version);
                w.fixed(&relay.0);
                w.fixed(nonce);
                w.fixed(&proof.0);
            }
            Message::Auth {
                workspace,
                key,
                signature,
            } => {
                w.fixed(&workspace.0);
                w.fixed(&key.0);
                w.fixed(&signature.0);
            }
            Message::Welcome {
                access,
                head,
                membership_len,
                epoch,
            } => {
                w.u8(access_byte(*access));
                w.u64(*head);
                w.u64(*membership_len);
                w.u64(*epoch);
            }
            Message::Push { bundle } => bundle.encode(w),
            Message::Ack {
                seq,
                hash,
                duplicate,
            } => {
                w.u64(*seq);
                w.fixed(&hash.0);
                w.bool(*duplicate);
            }
            Message::Pull { after, limit } => {
                w.u64(*after);
                w.u32(*limit);
            }
            Message::Bundles { items, head } => {
                w.list(items, encode_sequenced);
                w.u64(*head);
            }
            Message::Subscribe { after } | Message::MembershipPull { after } => w.u64(*after),
            Message::Pushed { item } => encode_sequenced(w, item),
            Message::MembershipOps { start, ops } => {
                w.u64(*start);
                w.list(ops, |w, op| op.encode(w));
            }
            Message::MembershipAppend { op } => op.encode(w),
            Message::MembershipAck { index, hash } => {
                w.u64(*index);
                w.fixed(&hash.0);
            }
            Message::Error { code, message } => {
                w.u16(code.to_u16());
                w.str(message);
            }
            Message::Candidacy { invite_key, proof } => {
                w.fixed(&invite_key.0);
                w.fixed(&proof.0);
            }
        }
    }

    pub(crate) fn decode_body(kind: u8, r: &mut Reader<'_>) -> Result<Message, WireError> {
        Ok(match kind {
            1 => Message::Hello {
                min_version: r.u8("hello.min_version")?,
                max_version: r.u8("hello.max_version")?,
                agent: r.str("hello.agent")?,
                nonce: r.array("hello.nonce")?,
            },
            2 => Message::Challenge {
                version: r.u8("challenge.version")?,
                relay: OrgKey(r.array("challenge.relay")?),
                nonce: r.array("challenge.nonce")?,
                proof: Sig(r.array("challenge.proof")?),
            },
            3 => Message::Auth {
                workspace: WorkspaceId(r.array("auth.workspace")?),
                key: OrgKey(r.array("auth.key")?),
                signature: Sig(r.array("auth.signature")?),
            },
            4 => Message::Welcome {
                access: decode_access(r)?,
                head: r.u64("welcome.head")?,
                membership_len: r.u64("welcome.membership_len")?,
                epoch: r.u64("welcome.epoch")?,
            },
            5 => Message::Push {
                bundle: SealedBundle::decode(r)?,
            },
            6 => Message::Ack {
                seq: r.u64("ack.seq")?,
                hash: Hash32(r.array("ack.hash")?),
                duplicate: r.bool("ack.duplicate")?,
            },
            7 => Message::Pull {
                after: r.u64("pull.after")?,
                limit: r.u32("pull.limit")?,
            },
            8 => Message::Bundles {
                items: r.list("bundles.items", decode_sequenced)?,
                head: r.u64("bundles.head")?,
            },
            9 => Message::Subscribe {
                after: r.u64("subscribe.after")?,
            },
            10 => Message::Pushed {
                item: decode_sequenced(r)?,
            },
            11 => Message::MembershipPull {
                after: r.u64("membership_pull.after")?,
            },
            12 => Message::MembershipOps {
                start: r.u64("membership_ops.start")?,
                ops: r.list("membership_ops.ops", SignedOp::decode)?,
            },
            13 => Message::MembershipAppend {
                op: SignedOp::decode(r)?,
            },
            14 => Message::MembershipAck {
                index: r.u64("membership_ack.index")?,
                hash: Hash32(r.array("membership_ack.hash")?),
            },
            15 => Message::Error {
                code: ErrorCode::from_u16(r.u16("error.code")?),
                message: r.str("error.message")?,
            },
            16 => Message::Candidacy {
                invite_key: OrgKey(r.array("candidacy.invite_key")?),
                proof: Sig(r.array("candidacy.proof")?),
            },
            kind => return Err(WireError::UnknownMessage { kind }),
        })
    }
}

fn encode_sequenced(w: &mut Writer, item: &Sequenced) {
    w.u64(item.seq);
    item.bundle.encode(w);
}

fn decode_sequenced(r: &mut Reader<'_>) -> Result<Sequenced, WireError> {
    Ok(Sequenced {
        seq: r.u64("sequenced.seq")?,
        bundle: SealedBundle::decode(r)?,
    })
}

fn access_byte(access: Access) -> u8 {
    match access {
        Access::Member(role) => role.to_byte(),
        Access::Candidate => 3,
        Access::Mirror => 4,
    }
}

fn decode_access(r: &mut Reader<'_>) -> Result<Access, WireError> {
    let value = r.u8("welcome.access")?;
    match value {
        3 => Ok(Access::Candidate),
        4 => Ok(Access::Mirror),
        _ => Role::from_byte(value)
            .map(Access::Member)
            .ok_or(WireError::BadTag {
                what: "welcome.access",
                value,
            }),
    }
}
