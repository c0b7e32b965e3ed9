//! A model relay for the simulation: the protocol's behaviour without sockets or disks.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;

use crate::sync::membership::{InviteState, MemberSet, OpBody, SignedOp, candidacy_holds};
use crate::sync::wire::{
    Access, Encoded, ErrorCode, Hash32, Message, OrgKey, PROTOCOL_VERSION, SealedBundle, Sequenced,
    sign_relay_proof, verify_auth,
};

/// The model relay's page budget for membership answers: about three operations.
const SIM_PAGE_BYTES: usize = 600;

#[derive(Default)]
struct Conn {
    nonce: [u8; 32],
    key: Option<OrgKey>,
    subscribed: bool,
    /// Not a member, but proved it holds an open invite.
    candidate: bool,
}

/// One relay: its durable log survives restarts, its connections do not.
pub struct SimRelay {
    key: SigningKey,
    bundles: Vec<SealedBundle>,
    seen: BTreeMap<Hash32, u64>,
    ops: Vec<SignedOp>,
    members: MemberSet,
    conns: BTreeMap<u64, Conn>,
}

impl SimRelay {
    pub fn new(seed: u8) -> SimRelay {
        SimRelay {
            key: SigningKey::from_bytes(&[seed; 32]),
            bundles: Vec::new(),
            seen: BTreeMap::new(),
            ops: Vec::new(),
            members: MemberSet::default(),
            conns: BTreeMap::new(),
        }
    }

    /// The welcome: real figures only for members and proved candidates, as the relay does.
    fn welcome(&self, access: Access, figures: bool) -> Message {
        if !figures {
            return Message::Welcome {
                access,
                head: 0,
                membership_len: 0,
                epoch: 0,
            };
        }
        Message::Welcome {
            access,
            head: self.bundles.len() as u64,
            membership_len: self.ops.len() as u64,
            epoch: self.members.epoch(),
        }
    }

    /// Every bundle stored, in order.
    pub fn stored(&self) -> &[SealedBundle] {
        &self.bundles
    }

    /// Stores a bundle without any check, as a relay that has not seen a removal (or one the
    /// removed member runs itself) may; connections read it on their next pull.
    pub fn store_unchecked(&mut self, bundle: SealedBundle) {
        self.bundles.push(bundle.clone());
        self.seen.insert(bundle.hash(), self.bundles.len() as u64);
    }

    pub fn open(&mut self, conn: u64) {
        let mut nonce = [0u8; 32];
        nonce[..8].copy_from_slice(&conn.to_be_bytes());
        self.conns.insert(
            conn,
            Conn {
                nonce,
                ..Conn::default()
            },
        );
    }

    pub fn close(&mut self, conn: u64) {
        self.conns.remove(&conn);
    }

    /// Open connections.
    pub fn connections(&self) -> Vec<u64> {
        self.conns.keys().copied().collect()
    }

    /// Handles a message on `conn`; returns messages to send, each on its connection.
    pub fn handle(&mut self, conn: u64, msg: Message) -> Vec<(u64, Message)> {
        let Some(c) = self.conns.get(&conn) else {
            return Vec::new();
        };
        let authed = c.key;
        let err = |code, text: &str| vec![(conn, Message::error(code, text))];
        match (msg, authed) {
            (Message::Hello { nonce, .. }, None) => vec![(
                conn,
                Message::Challenge {
                    version: PROTOCOL_VERSION,
                    relay: OrgKey::of(&self.key),
                    nonce: c.nonce,
                    proof: sign_relay_proof(&nonce, &c.nonce, &self.key),
                },
            )],
            (
                Message::Auth {
                    workspace,
                    key,
                    signature,
                },
                None,
            ) => {
                if !verify_auth(
                    &OrgKey::of(&self.key),
                    &c.nonce,
                    &workspace,
                    &key,
                    &signature,
                ) {
                    return err(ErrorCode::AuthFailed, "handtekening");
                }
                if self.members.workspace().is_some_and(|w| w != workspace) {
                    return err(ErrorCode::WrongWorkspace, "samenwerking");
                }
                if self.members.was_removed(&key) {
                    return err(ErrorCode::Removed, "verwijderd");
                }
                let access = match self.members.role_of(&key) {
                    Some(role) => Access::Member(role),
                    None => Access::Candidate,
                };
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.key = Some(key);
                }
                vec![(conn, self.welcome(access, access != Access::Candidate))]
            }
            (_, None) => err(ErrorCode::UnexpectedMessage, "eerst aanmelden"),
            (Message::Candidacy { invite_key, proof }, Some(key)) => {
                let open = self
                    .members
                    .invites()
                    .get(&invite_key)
                    .is_some_and(|i| i.state == InviteState::Open);
                let workspace = self.members.workspace();
                let proved = open
                    && workspace.is_some_and(|ws| {
                        candidacy_holds(
                            &invite_key,
                            &proof,
                            &OrgKey::of(&self.key),
                            &c.nonce,
                            &ws,
                            &key,
                        )
                    });
                if !proved {
                    return err(ErrorCode::NotMember, "geen lid");
                }
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.candidate = true;
                }
                vec![(conn, self.welcome(Access::Candidate, true))]
            }
            (Message::MembershipPull { .. }, Some(key))
                if !c.candidate && !self.members.is_member(&key) =>
            {
                err(ErrorCode::NotMember, "geen lid")
            }
            (Message::MembershipAppend { op }, Some(key))
                if !self.members.is_member(&key)
                    && (op.op.body.creates() && self.members.workspace().is_some()
                        || !(op.op.body.creates()
                            || (c.candidate && op.op.body.redeemed_invite().is_some()))) =>
            {
                err(ErrorCode::NotMember, "geen lid")
            }
            (Message::MembershipPull { after }, Some(_)) => vec![(
                conn,
                Message::MembershipOps {
                    start: after,
                    ops: self.ops_page(after),
                },
            )],
            (Message::MembershipAppend { op }, Some(_)) => {
                if let Err(e) = self.members.apply(&op) {
                    return err(ErrorCode::MembershipRefused, &e.to_string());
                }
                let index = self.ops.len() as u64;
                self.ops.push(op.clone());
                let mut out = vec![(
                    conn,
                    Message::MembershipAck {
                        index,
                        hash: op.hash(),
                    },
                )];
                for (other, c) in &self.conns {
                    if c.subscribed && *other != conn {
                        out.push((
                            *other,
                            Message::MembershipOps {
                                start: index,
                                ops: vec![op.clone()],
                            },
                        ));
                    }
                }
                if let OpBody::Remove { member, .. } = &op.op.body {
                    let gone: Vec<u64> = self
                        .conns
                        .iter()
                        .filter(|(_, c)| c.key == Some(*member))
                        .map(|(id, _)| *id)
                        .collect();
                    for id in gone {
                        out.push((id, Message::error(ErrorCode::Removed, "verwijderd")));
                        self.conns.remove(&id);
                    }
                }
                out
            }
            (_, Some(key)) if !self.members.is_member(&key) => {
                err(ErrorCode::NotMember, "geen lid")
            }
            (Message::Push { bundle }, Some(key)) => {
                if bundle.author != key || bundle.verify().is_err() {
                    return err(ErrorCode::BadBundle, "handtekening");
                }
                if bundle.epoch > self.members.epoch() {
                    return err(ErrorCode::UnknownEpoch, "tijdvak");
                }
                let hash = bundle.hash();
                if let Some(seq) = self.seen.get(&hash) {
                    return vec![(
                        conn,
                        Message::Ack {
                            seq: *seq,
                            hash,
                            duplicate: true,
                        },
                    )];
                }
                self.bundles.push(bundle.clone());
                let seq = self.bundles.len() as u64;
                self.seen.insert(hash, seq);
                let mut out = vec![(
                    conn,
                    Message::Ack {
                        seq,
                        hash,
                        duplicate: false,
                    },
                )];
                for (other, c) in &self.conns {
                    if c.subscribed {
                        out.push((
                            *other,
                            Message::Pushed {
                                item: Sequenced {
                                    seq,
                                    bundle: bundle.clone(),
                                },
                            },
                        ));
                    }
                }
                out
            }
            (Message::Pull { after, limit }, Some(_)) => vec![(
                conn,
                Message::Bundles {
                    items: self.items_after(after, limit as usize),
                    head: self.bundles.len() as u64,
                },
            )],
            (Message::Subscribe { after }, Some(_)) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.subscribed = true;
                }
                self.items_after(after, usize::MAX)
                    .into_iter()
                    .map(|item| (conn, Message::Pushed { item }))
                    .collect()
            }
            _ => err(ErrorCode::UnexpectedMessage, "onverwacht"),
        }
    }

    /// Operations from `after`, paged by bytes like the real relay but with a budget of a few
    /// operations, so that the simulation crosses page boundaries all the time.
    fn ops_page(&self, after: u64) -> Vec<SignedOp> {
        let mut bytes = 0;
        let mut page = Vec::new();
        for op in self
            .ops
            .iter()
            .skip(usize::try_from(after).unwrap_or(usize::MAX))
        {
            let size = op.to_bytes().len();
            if !page.is_empty() && bytes + size > SIM_PAGE_BYTES {
                break;
            }
            bytes += size;
            page.push(op.clone());
        }
        page
    }

    fn items_after(&self, after: u64, limit: usize) -> Vec<Sequenced> {
        self.bundles
            .iter()
            .enumerate()
            .skip(after as usize)
            .take(limit)
            .map(|(i, b)| Sequenced {
                seq: i as u64 + 1,
                bundle: b.clone(),
            })
            .collect()
    }
}
