//! One connection's protocol, without sockets or disks: handshake, authentication, then
//! requests and subscriptions.
//!
//! The adapter feeds each decoded frame to [`Session::handle`] with the time, the relay's
//! [`Rules`] and the workspace the connection is bound to (if it has one), and carries out the
//! [`Action`] it returns: send an answer, find the workspace a key authenticated for (then
//! [`Session::admit`]), or make a checked write durable and acknowledge it. Randomness (the
//! challenge) is passed in. When a workspace's heads move, [`Session::pending`] gives what a
//! subscriber has not been sent yet, page by page, and refuses a key that was removed.
//!
//! A key that is neither a member nor a mirror learns nothing about the workspace: its welcome
//! carries zeros, and every read is refused with `NotMember`, whether the workspace exists or
//! not, until it proves with `Candidacy` that it holds an open invite. It may always try to
//! create the workspace; that a workspace id is taken is the one thing a refused creation says.
//! A joiner waiting for a coordinator's confirmation proves the invite it redeemed the same way,
//! and may then read the membership log, but neither push, pull nor subscribe to bundles.

use kompas_engine::Timestamp;
use kompas_engine::sync::membership::candidacy_holds;
use kompas_engine::sync::membership::{InviteState, MembershipError, Role, SignedOp};
use kompas_engine::sync::wire::{
    Access, CHALLENGE_LEN, ErrorCode, MIN_PROTOCOL_VERSION, Message, OrgKey, PROTOCOL_VERSION, Sig,
    WorkspaceId, sign_relay_proof, verify_auth,
};

use super::log::WorkspaceLog;
use super::op_time::Arrival;
use super::refusal::Refusal;
use super::rules::Rules;
use super::workspace::{Admitted, WorkspaceCore, not_member};

/// What the adapter does next for a frame.
#[derive(Debug)]
pub enum Action {
    /// Sends this answer.
    Send(Message),
    /// Finds the workspace `key` authenticated for, then calls [`Session::admit`].
    Identified {
        /// The workspace asked for.
        workspace: WorkspaceId,
        /// The authenticated key.
        key: OrgKey,
        /// Whether it is a relay allowed to mirror this one.
        mirror: bool,
    },
    /// Checks the bundle's signature ([`Admitted::verify`], outside the workspace's lock),
    /// stages it, makes the log durable, commits it and sends its acknowledgement.
    Push(Admitted),
    /// Stages the operation in the connection's workspace, makes it durable, commits it and
    /// sends its acknowledgement.
    Append {
        /// The operation.
        op: SignedOp,
        /// Its arrival, for the time check; none for a mirror.
        arrival: Option<Arrival>,
    },
    /// Creates the workspace from its first operation (or, if another connection created it
    /// meanwhile, appends to it), makes it durable and acknowledges it. A failed creation
    /// gives its quota back ([`Session::creation_failed`]).
    Create {
        /// The operation.
        op: SignedOp,
        /// Its arrival, for the time check; none for a mirror.
        arrival: Option<Arrival>,
    },
    /// Nothing to send now; a new subscription is served by [`Session::pending`].
    Subscribed,
}

/// One connection's protocol state.
#[derive(Debug)]
pub struct Session {
    phase: Phase,
}

/// Where a connection is in its life; each phase carries its own data.
#[derive(Debug)]
enum Phase {
    /// Waiting for `Hello`; the challenge to send is chosen already.
    Hello { nonce: [u8; CHALLENGE_LEN] },
    /// The challenge was sent; waiting for `Auth`.
    Auth { nonce: [u8; CHALLENGE_LEN] },
    /// Authenticated; waiting for the adapter to find the workspace.
    Identified {
        workspace: WorkspaceId,
        key: OrgKey,
        mirror: bool,
        nonce: [u8; CHALLENGE_LEN],
    },
    /// Welcomed: requests are served.
    Open(Standing),
}

/// An authenticated connection's view.
#[derive(Debug)]
struct Standing {
    workspace: WorkspaceId,
    key: OrgKey,
    mirror: bool,
    /// When the relay welcomed the connection.
    since: Timestamp,
    /// This connection's challenge, which a candidacy proof signs.
    nonce: [u8; CHALLENGE_LEN],
    /// A key that is not a member proved it holds an open invite: it may read the membership
    /// log and redeem.
    candidate: bool,
    sub: Option<Subscription>,
}

/// What a subscriber has been sent so far.
#[derive(Debug, Clone, Copy)]
struct Subscription {
    bundles: u64,
    ops: u64,
}

impl Session {
    /// A new connection, which will be challenged with `nonce` (random, from the adapter).
    pub fn new(nonce: [u8; CHALLENGE_LEN]) -> Session {
        Session {
            phase: Phase::Hello { nonce },
        }
    }

    /// Handles one frame. `ws` is the workspace the connection is bound to, if any.
    pub fn handle<L: WorkspaceLog>(
        &mut self,
        rules: &Rules,
        ws: Option<&WorkspaceCore<L>>,
        now: Timestamp,
        message: Message,
    ) -> Result<Action, Refusal> {
        match &mut self.phase {
            Phase::Hello { nonce } => {
                let nonce = *nonce;
                let challenge = challenge(rules, nonce, message)?;
                self.phase = Phase::Auth { nonce };
                Ok(Action::Send(challenge))
            }
            Phase::Auth { nonce } => {
                let nonce = *nonce;
                let (workspace, key) = authenticate(rules, &nonce, message)?;
                let mirror = rules.is_mirror(&key);
                self.phase = Phase::Identified {
                    workspace,
                    key,
                    mirror,
                    nonce,
                };
                Ok(Action::Identified {
                    workspace,
                    key,
                    mirror,
                })
            }
            Phase::Identified { .. } => Err(unexpected(&message, "het welkom van de relay")),
            Phase::Open(standing) => standing.request(rules, ws, now, message),
        }
    }

    /// Welcomes an identified key to workspace `ws` (none if the relay does not know it):
    /// returns the welcome, or refuses a removed member.
    pub fn admit<L: WorkspaceLog>(
        &mut self,
        ws: Option<&WorkspaceCore<L>>,
        now: Timestamp,
    ) -> Result<Message, Refusal> {
        let Phase::Identified {
            workspace,
            key,
            mirror,
            nonce,
        } = self.phase
        else {
            return Err(Refusal::new(
                ErrorCode::UnexpectedMessage,
                "de verbinding is nog niet aangemeld",
            ));
        };
        let standing = Standing {
            workspace,
            key,
            mirror,
            since: now,
            nonce,
            candidate: false,
            sub: None,
        };
        if standing.removed(ws) {
            return Err(removed(&key));
        }
        let welcome = standing.welcome(ws);
        self.phase = Phase::Open(standing);
        Ok(welcome)
    }

    /// The workspace and key, once authenticated.
    pub fn who(&self) -> Option<(WorkspaceId, OrgKey)> {
        match &self.phase {
            Phase::Hello { .. } | Phase::Auth { .. } => None,
            Phase::Identified { workspace, key, .. } => Some((*workspace, *key)),
            Phase::Open(s) => Some((s.workspace, s.key)),
        }
    }

    /// Whether the connection is welcomed and its key a member of `ws` or a mirror.
    pub fn vetted<L: WorkspaceLog>(&self, ws: Option<&WorkspaceCore<L>>) -> bool {
        match &self.phase {
            Phase::Open(s) => s.mirror || s.is_member(ws),
            _ => false,
        }
    }

    /// Whether the connection subscribed.
    pub fn subscribed(&self) -> bool {
        matches!(&self.phase, Phase::Open(s) if s.sub.is_some())
    }

    /// A key that is neither a member nor a mirror may stay connected `limit_ms` after its
    /// welcome; past that, the refusal that closes it.
    pub fn overstayed<L: WorkspaceLog>(
        &self,
        ws: Option<&WorkspaceCore<L>>,
        now: Timestamp,
        limit_ms: i64,
    ) -> Option<Refusal> {
        let Phase::Open(s) = &self.phase else {
            return None;
        };
        let member = s.mirror || s.is_member(ws);
        (!member && now.millis().saturating_sub(s.since.millis()) > limit_ms).then(|| {
            Refusal::new(
                ErrorCode::TimedOut,
                format!(
                    "een organisatie die geen lid is mag {} s verbonden blijven",
                    limit_ms / 1000
                ),
            )
        })
    }

    /// Whether a subscriber has not been sent everything durable in `ws` yet.
    pub fn catching_up<L: WorkspaceLog>(&self, ws: Option<&WorkspaceCore<L>>) -> bool {
        match (&self.phase, ws) {
            (Phase::Open(s), Some(ws)) => s
                .sub
                .is_some_and(|sub| sub.bundles < ws.head() || sub.ops < ws.ops_len()),
            _ => false,
        }
    }

    /// The next frames a subscriber has not been sent: one page of membership operations, or
    /// else one batch of bundles (call again while [`Session::catching_up`]). Refuses a key
    /// that was removed from the workspace, subscribed or not.
    pub fn pending<L: WorkspaceLog>(
        &mut self,
        rules: &Rules,
        ws: Option<&WorkspaceCore<L>>,
    ) -> Result<Vec<Message>, Refusal> {
        let Phase::Open(s) = &mut self.phase else {
            return Ok(Vec::new());
        };
        if s.removed(ws) {
            return Err(removed(&s.key));
        }
        let (Some(ws), Some(sub)) = (ws, s.sub.as_mut()) else {
            return Ok(Vec::new());
        };
        if sub.ops < ws.ops_len() {
            let ops = ws.ops_page(sub.ops, rules.answers.membership_page)?;
            let start = sub.ops;
            sub.ops += ops.len() as u64;
            return Ok(vec![Message::MembershipOps { start, ops }]);
        }
        let items = ws.range(
            sub.bundles,
            rules.answers.push_batch,
            rules.answers.pull_budget,
        )?;
        Ok(items
            .into_iter()
            .map(|item| {
                sub.bundles = item.seq;
                Message::Pushed { item }
            })
            .collect())
    }

    /// Gives back the creation quota charged for a `Create` that failed.
    pub fn creation_failed(&self, rules: &Rules, op: &SignedOp) {
        if let Phase::Open(s) = &self.phase
            && !s.mirror
        {
            rules.quotas.uncreate(&op.op.author);
        }
    }
}

impl Standing {
    fn request<L: WorkspaceLog>(
        &mut self,
        rules: &Rules,
        ws: Option<&WorkspaceCore<L>>,
        now: Timestamp,
        message: Message,
    ) -> Result<Action, Refusal> {
        if self.removed(ws) {
            return Err(removed(&self.key));
        }
        match message {
            Message::Push { bundle } => {
                let ws = self.reader(ws)?;
                writable(rules, ws)?;
                let pusher = (!self.mirror).then_some(self.key);
                rules.quotas.charge_push(
                    now,
                    pusher,
                    ws.id(),
                    bundle.encoded_len() as u64,
                    ws.stored_bytes(),
                )?;
                Ok(Action::Push(Admitted::new(bundle, ws.id())?))
            }
            Message::Pull { after, limit } => {
                let ws = self.reader(ws)?;
                let limit = (limit as usize).min(rules.answers.pull_limit);
                let items = ws.range(after, limit, rules.answers.pull_budget)?;
                Ok(Action::Send(Message::Bundles {
                    items,
                    head: ws.head(),
                }))
            }
            Message::Subscribe { after } => {
                let ws = self.reader(ws)?;
                self.sub = Some(Subscription {
                    bundles: after,
                    ops: ws.ops_len(),
                });
                Ok(Action::Subscribed)
            }
            Message::Candidacy { invite_key, proof } => {
                self.prove_candidacy(rules, ws, now, &invite_key, &proof)?;
                self.candidate = true;
                Ok(Action::Send(self.welcome(ws)))
            }
            Message::MembershipPull { after } => {
                if !self.may_read_log(ws) {
                    return Err(not_member(&self.key));
                }
                // Asked beyond the log, the empty page starts at the log's end: it tells the
                // client how long the log is instead of echoing a position the relay lacks.
                let (start, ops) = match ws {
                    Some(ws) => (
                        after.min(ws.ops_len()),
                        ws.ops_page(after, rules.answers.membership_page)?,
                    ),
                    None => (0, Vec::new()),
                };
                Ok(Action::Send(Message::MembershipOps { start, ops }))
            }
            Message::MembershipAppend { op } => self.append(rules, ws, now, op),
            other => Err(unexpected(&other, "een verzoek")),
        }
    }

    fn append<L: WorkspaceLog>(
        &self,
        rules: &Rules,
        ws: Option<&WorkspaceCore<L>>,
        now: Timestamp,
        op: SignedOp,
    ) -> Result<Action, Refusal> {
        if op.op.workspace != self.workspace {
            return Err(Refusal::new(
                ErrorCode::WrongWorkspace,
                format!(
                    "operatie hoort bij samenwerking {}, deze verbinding bij {}",
                    op.op.workspace, self.workspace
                ),
            ));
        }
        if !self.is_member(ws) && !self.mirror {
            let creates = op.op.body.creates();
            if creates && ws.is_some() {
                // Said without folding, so that the refusal names nothing of the log.
                return Err(Refusal::new(
                    ErrorCode::MembershipRefused,
                    "de samenwerking bestaat al",
                ));
            }
            let redeems = op.op.body.redeemed_invite().is_some() && self.candidate;
            if !creates && !redeems {
                return Err(not_member(&self.key));
            }
        }
        let arrival = (!self.mirror).then_some(Arrival {
            now,
            carrier: self.key,
        });
        let author = (!self.mirror).then_some(self.key);
        match ws {
            Some(ws) => {
                writable(rules, ws)?;
                if let Some(index) = ws.held_at(&op)? {
                    // Already durable in the log: acknowledged again, charged nothing.
                    return Ok(Action::Send(Message::MembershipAck {
                        index,
                        hash: op.hash(),
                    }));
                }
                rules.quotas.charge_op(now, author, ws.ops_len())?;
                Ok(Action::Append { op, arrival })
            }
            None => {
                if !self.mirror {
                    check_creator(rules, &op)?;
                    rules.quotas.charge_create(now, op.op.author)?;
                }
                Ok(Action::Create { op, arrival })
            }
        }
    }

    /// The welcome for this connection now: the real figures for a member, a mirror and a
    /// candidate that proved its invite; zeros for any other key, whether the workspace exists
    /// or not.
    fn welcome<L: WorkspaceLog>(&self, ws: Option<&WorkspaceCore<L>>) -> Message {
        let role = ws.and_then(|ws| ws.members().role_of(&self.key));
        let access = self.access(role);
        match ws {
            Some(ws) if access != Access::Candidate || self.candidate => Message::Welcome {
                access,
                head: ws.head(),
                membership_len: ws.ops_len(),
                epoch: ws.members().epoch(),
            },
            _ => Message::Welcome {
                access,
                head: 0,
                membership_len: 0,
                epoch: 0,
            },
        }
    }

    /// Checks that `proof` is the signature of the invite `invite_key` of this workspace over
    /// this connection's challenge and key, and that the invite is open now. Without a valid
    /// proof the answer is `NotMember`, as for any stranger; the holder of a used, revoked or
    /// expired invite is told which.
    fn prove_candidacy<L: WorkspaceLog>(
        &self,
        rules: &Rules,
        ws: Option<&WorkspaceCore<L>>,
        now: Timestamp,
        invite_key: &OrgKey,
        proof: &Sig,
    ) -> Result<(), Refusal> {
        let ws = ws.ok_or_else(|| not_member(&self.key))?;
        let invite = ws.members().invites().get(invite_key).cloned();
        let proved = invite.is_some()
            && candidacy_holds(
                invite_key,
                proof,
                &rules.relay_key(),
                &self.nonce,
                &self.workspace,
                &self.key,
            );
        let Some(invite) = invite.filter(|_| proved) else {
            return Err(not_member(&self.key));
        };
        let waiting = ws.members().is_pending(&self.key);
        let refused = match invite.state {
            // A joiner waiting for confirmation reads the log (to learn of its confirmation and
            // the keys shared with it) and nothing else.
            InviteState::Used { by } if by == self.key && waiting => None,
            InviteState::Used { by } => Some(MembershipError::InviteUsed { by }),
            InviteState::Revoked => Some(MembershipError::InviteRevoked),
            InviteState::Open if invite.expires < now => Some(MembershipError::InviteExpired {
                expires: invite.expires,
            }),
            InviteState::Open => None,
        };
        match refused {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    fn is_member<L: WorkspaceLog>(&self, ws: Option<&WorkspaceCore<L>>) -> bool {
        ws.is_some_and(|ws| ws.members().is_member(&self.key))
    }

    /// Whether this connection may read the membership log.
    fn may_read_log<L: WorkspaceLog>(&self, ws: Option<&WorkspaceCore<L>>) -> bool {
        self.mirror || self.candidate || self.is_member(ws)
    }

    /// What this key may do now, given its role in the member set.
    fn access(&self, role: Option<Role>) -> Access {
        match (role, self.mirror) {
            (Some(role), _) => Access::Member(role),
            (None, true) => Access::Mirror,
            (None, false) => Access::Candidate,
        }
    }

    fn removed<L: WorkspaceLog>(&self, ws: Option<&WorkspaceCore<L>>) -> bool {
        !self.mirror && ws.is_some_and(|ws| ws.members().was_removed(&self.key))
    }

    /// The workspace, if this key may read and write bundles in it.
    /// A key that is not a member hears `NotMember` whether the workspace exists or not.
    fn reader<'w, L: WorkspaceLog>(
        &self,
        ws: Option<&'w WorkspaceCore<L>>,
    ) -> Result<&'w WorkspaceCore<L>, Refusal> {
        let ws = ws.ok_or_else(|| {
            if self.mirror {
                Refusal::new(
                    ErrorCode::UnknownWorkspace,
                    format!("samenwerking {} is onbekend bij deze relay", self.workspace),
                )
            } else {
                not_member(&self.key)
            }
        })?;
        if self.mirror || ws.members().is_member(&self.key) {
            Ok(ws)
        } else {
            Err(not_member(&self.key))
        }
    }
}

/// The answer to `Hello`: the challenge, with the relay's proof over the client's nonce.
fn challenge(
    rules: &Rules,
    nonce: [u8; CHALLENGE_LEN],
    message: Message,
) -> Result<Message, Refusal> {
    let Message::Hello {
        min_version,
        max_version,
        nonce: hello_nonce,
        ..
    } = message
    else {
        return Err(unexpected(&message, "hello"));
    };
    let version = max_version.min(PROTOCOL_VERSION);
    if version < min_version.max(MIN_PROTOCOL_VERSION) {
        return Err(Refusal::new(
            ErrorCode::UnsupportedVersion,
            format!(
                "de relay spreekt protocolversie {MIN_PROTOCOL_VERSION} tot en met {PROTOCOL_VERSION}, de client {min_version} tot en met {max_version}"
            ),
        ));
    }
    Ok(Message::Challenge {
        version,
        relay: rules.relay_key(),
        nonce,
        proof: sign_relay_proof(&hello_nonce, &nonce, rules.signing_key()),
    })
}

/// Checks `Auth`: the signature over this connection's challenge, and the operator's bans.
fn authenticate(
    rules: &Rules,
    nonce: &[u8; CHALLENGE_LEN],
    message: Message,
) -> Result<(WorkspaceId, OrgKey), Refusal> {
    let Message::Auth {
        workspace,
        key,
        signature,
    } = message
    else {
        return Err(unexpected(&message, "auth"));
    };
    if !verify_auth(&rules.relay_key(), nonce, &workspace, &key, &signature) {
        return Err(Refusal::new(
            ErrorCode::AuthFailed,
            "de handtekening onder de aanmelding klopt niet",
        ));
    }
    if rules.is_banned(&key) {
        return Err(Refusal::new(
            ErrorCode::Banned,
            format!(
                "de beheerder van deze relay heeft sleutel {key} geweerd; neem contact op met de beheerder"
            ),
        ));
    }
    Ok((workspace, key))
}

/// Refuses writes to a workspace the operator froze.
fn writable<L: WorkspaceLog>(rules: &Rules, ws: &WorkspaceCore<L>) -> Result<(), Refusal> {
    if rules.is_frozen(&ws.id()) {
        return Err(Refusal::new(
            ErrorCode::Frozen,
            format!(
                "de beheerder van deze relay heeft samenwerking {} bevroren: lezen kan, schrijven niet",
                ws.id()
            ),
        ));
    }
    Ok(())
}

/// Refuses a `Create` for a workspace this relay does not have yet when its author is not on
/// the operator's allow-list (`--allow-create`). Workspaces copied by mirroring do not come
/// through here.
fn check_creator(rules: &Rules, op: &SignedOp) -> Result<(), Refusal> {
    if !op.op.body.creates() || rules.may_create(&op.op.author) {
        return Ok(());
    }
    Err(Refusal::new(
        ErrorCode::MembershipRefused,
        format!(
            "deze relay maakt alleen samenwerkingen aan voor organisaties die de beheerder heeft toegelaten, en sleutel {} hoort daar niet bij; vraag de beheerder van de relay om die sleutel toe te laten met --allow-create (kompas whoami toont de sleutel van uw organisatie)",
            op.op.author
        ),
    ))
}

/// The refusal for a frame that does not belong where it came.
pub fn unexpected(message: &Message, expected: &str) -> Refusal {
    Refusal::new(
        ErrorCode::UnexpectedMessage,
        format!(
            "onverwacht bericht {} (verwacht: {expected})",
            message.name()
        ),
    )
}

/// The refusal for a key removed from the workspace.
pub fn removed(key: &OrgKey) -> Refusal {
    Refusal::new(
        ErrorCode::Removed,
        format!(
            "organisatie {} is uit deze samenwerking verwijderd",
            key.org_id()
        ),
    )
}
