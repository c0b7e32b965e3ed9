//! One websocket connection: handshake, authentication, then requests and subscriptions.
//!
//! A connection runs as one task that reads a frame, answers it, and in between sends what a
//! subscription has pending. Writes wait for the socket, so a client that does not read stops
//! being read from: the per-connection buffer is one frame each way. Its ticket bounds what it
//! may buffer while a frame arrives; a clock tick closes it when a frame takes too long, when
//! it stays silent (after a ping), or when a key that is not a member stays too long.
//!
//! A key that is neither a member nor a mirror learns nothing about the workspace: its welcome
//! carries zeros, and every read is refused with `NotMember`, whether the workspace exists or
//! not, until it proves with `Candidacy` that it holds an open invite. It may always try to
//! create the workspace; that a workspace id is taken is the one thing a refused creation says.
//! A joiner waiting for a coordinator's confirmation proves the invite it redeemed the same way,
//! and may then read the membership log, but neither push, pull nor subscribe to bundles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use kompas_engine::sync::membership::{InviteState, MembershipError, candidacy_holds};
use kompas_engine::sync::wire::{
    Access, CHALLENGE_LEN, ErrorCode, MIN_PROTOCOL_VERSION, Message, OrgKey, PROTOCOL_VERSION, Sig,
    WireError, WorkspaceId, decode_frame, encode_frame, sign_relay_proof, verify_auth,
};
use tokio::sync::watch;

use crate::admission::{Cut, Ticket};
use crate::op_time::Arrival;
use crate::quota::Exceeded;
use crate::refusal::Refusal;
use crate::state::{RelayState, now, random};
use crate::workspace::{Workspace, not_member};

/// Serves one upgraded websocket until it closes, fails or the relay shuts down.
pub async fn serve(socket: WebSocket, state: Arc<RelayState>, ticket: Ticket) {
    // The HTTP request that carried the upgrade is complete.
    ticket.consumed();
    state.metrics.connections_open.inc();
    state.metrics.connections_total.inc();
    let started = Instant::now();
    let mut conn = Connection {
        socket,
        state: state.clone(),
        ticket,
        who: None,
        last_heard: Instant::now(),
        pinged: false,
    };
    if conn.ticket.is_over() {
        let refusal = Refusal::new(
            ErrorCode::Overloaded,
            "de relay heeft te veel verbindingen; probeer het later opnieuw",
        );
        conn.refuse_and_close(&refusal).await;
    } else if let Some(session) = conn.handshake().await {
        conn.run(session).await;
    }
    state.metrics.connections_open.dec();
    let (workspace, key) = conn.who();
    tracing::info!(
        peer = %conn.ticket.ip(),
        workspace,
        key,
        duration_ms = started.elapsed().as_millis() as u64,
        "verbinding gesloten"
    );
}

/// How long a connection for an unknown workspace waits for the mirror to fetch it.
const MIRROR_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

struct Connection {
    socket: WebSocket,
    state: Arc<RelayState>,
    ticket: Ticket,
    /// The workspace and key, once authenticated (for the log).
    who: Option<(WorkspaceId, OrgKey)>,
    /// When the client last sent anything (a frame, a ping or a pong).
    last_heard: Instant,
    /// Whether the relay pinged since then.
    pinged: bool,
}

/// How often a connection checks its clocks.
const TICK: Duration = Duration::from_millis(500);

/// An authenticated connection's view.
struct Session {
    workspace: WorkspaceId,
    key: OrgKey,
    mirror: bool,
    ws: Option<Arc<Workspace>>,
    members_rx: Option<watch::Receiver<u64>>,
    sub: Option<Subscription>,
    /// When the relay welcomed the connection.
    since: Instant,
    /// This connection's challenge, which a candidacy proof signs.
    nonce: [u8; CHALLENGE_LEN],
    /// A key that is not a member proved it holds an open invite: it may read the membership
    /// log and redeem.
    candidate: bool,
}

/// What a subscriber has been sent so far.
struct Subscription {
    bundles: u64,
    ops: u64,
    head_rx: watch::Receiver<u64>,
}

/// Why handling stopped short: a refusal to send, or a socket that is gone.
enum Fail {
    Refused(Refusal),
    Gone,
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Fail {
        Fail::Refused(r)
    }
}

/// What reading the next frame gave.
enum Incoming {
    Message(Box<Message>),
    Bad(Refusal),
    Closed,
}

impl Connection {
    /// Hello, Challenge, Auth, Welcome. Returns the session, or `None` once the connection was
    /// refused and closed.
    async fn handshake(&mut self) -> Option<Session> {
        let limit = self.state.config.handshake_timeout;
        let ticket = self.ticket.clone();
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(limit, self.authenticate()) => outcome,
            cut = ticket.cut() => Ok(Err(Some(self.cut_refusal(cut)))),
        };
        match outcome {
            Ok(Ok(session)) => Some(session),
            Ok(Err(Some(refusal))) => {
                self.refuse_and_close(&refusal).await;
                None
            }
            Ok(Err(None)) => None,
            Err(_) => {
                let refusal =
                    Refusal::new(ErrorCode::UnexpectedMessage, "de aanmelding duurde te lang");
                self.refuse_and_close(&refusal).await;
                None
            }
        }
    }

    async fn authenticate(&mut self) -> Result<Session, Option<Refusal>> {
        let (version, hello_nonce) = match self.recv_handshake().await? {
            Message::Hello {
                min_version,
                max_version,
                nonce: hello_nonce,
                ..
            } => {
                let best = max_version.min(PROTOCOL_VERSION);
                if best < min_version.max(MIN_PROTOCOL_VERSION) {
                    return Err(Some(Refusal::new(
                        ErrorCode::UnsupportedVersion,
                        format!(
                            "de relay spreekt protocolversie {MIN_PROTOCOL_VERSION} tot en met {PROTOCOL_VERSION}, de client {min_version} tot en met {max_version}"
                        ),
                    )));
                }
                (best, hello_nonce)
            }
            other => return Err(Some(unexpected(&other, "hello"))),
        };
        let nonce: [u8; CHALLENGE_LEN] = random();
        let relay = self.state.relay_key();
        self.send(&Message::Challenge {
            version,
            relay,
            nonce,
            proof: sign_relay_proof(&hello_nonce, &nonce, self.state.signing_key()),
        })
        .await
        .then_some(())
        .ok_or(None)?;
        let (workspace, key) = match self.recv_handshake().await? {
            Message::Auth {
                workspace,
                key,
                signature,
            } => {
                if !verify_auth(&relay, &nonce, &workspace, &key, &signature) {
                    return Err(Some(Refusal::new(
                        ErrorCode::AuthFailed,
                        "de handtekening onder de aanmelding klopt niet",
                    )));
                }
                (workspace, key)
            }
            other => return Err(Some(unexpected(&other, "auth"))),
        };
        self.who = Some((workspace, key));
        if self.state.marks.banned.contains(&key) {
            return Err(Some(Refusal::new(
                ErrorCode::Banned,
                format!(
                    "de beheerder van deze relay heeft sleutel {key} geweerd; neem contact op met de beheerder"
                ),
            )));
        }
        if let Err(refused) = self.ticket.authenticated(key) {
            self.state.metrics.connection_refused(&refused);
            return Err(Some(Refusal::new(
                ErrorCode::Overloaded,
                format!("{refused}; sluit een andere verbinding of probeer het later opnieuw"),
            )));
        }
        let mirror = self.state.config.allow_mirror.contains(&key);
        let mut ws = self.state.workspace(&workspace);
        if ws.is_none() && !mirror {
            ws = await_mirrored(&self.state, workspace).await;
        }
        let session = Session {
            workspace,
            key,
            mirror,
            members_rx: ws.as_ref().map(|w| w.watch_members()),
            ws,
            sub: None,
            since: Instant::now(),
            nonce,
            candidate: false,
        };
        if session.removed() {
            return Err(Some(removed(&key)));
        }
        let welcome = session.welcome();
        if let Message::Welcome {
            access: Access::Member(_) | Access::Mirror,
            ..
        } = welcome
        {
            self.ticket.vetted();
        }
        self.send(&welcome).await.then_some(session).ok_or(None)
    }

    async fn recv_handshake(&mut self) -> Result<Message, Option<Refusal>> {
        match self.recv().await {
            Incoming::Message(m) => Ok(*m),
            Incoming::Bad(refusal) => Err(Some(refusal)),
            Incoming::Closed => Err(None),
        }
    }

    /// The request loop.
    async fn run(&mut self, mut session: Session) {
        let mut shutdown = self.state.watch_shutdown();
        let ticket = self.ticket.clone();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let catching_up = session.catching_up();
            let outcome = tokio::select! {
                biased;
                _ = shutdown.changed() => Err(Fail::Refused(Refusal::new(ErrorCode::ShuttingDown, "de relay stopt"))),
                cut = ticket.cut() => {
                    let refusal = self.cut_refusal(cut);
                    self.refuse_and_close(&refusal).await;
                    return;
                }
                _ = tick.tick() => self.check_clocks(&session).await,
                _ = changed(&mut session.members_rx) => self.members_changed(&mut session).await,
                incoming = self.recv() => match incoming {
                    Incoming::Closed => return,
                    Incoming::Bad(refusal) => Err(Fail::Refused(refusal)),
                    Incoming::Message(m) => self.handle(&mut session, *m).await,
                },
                _ = changed_sub(&mut session.sub), if !catching_up => Ok(()),
                () = std::future::ready(()), if catching_up => self.send_pending(&mut session).await,
            };
            match outcome {
                Ok(()) => {}
                Err(Fail::Gone) => return,
                Err(Fail::Refused(refusal)) if refusal.closes() => {
                    self.refuse_and_close(&refusal).await;
                    return;
                }
                Err(Fail::Refused(refusal)) => {
                    if !self.send_refusal(&refusal).await {
                        return;
                    }
                }
            }
        }
    }

    async fn handle(&mut self, session: &mut Session, message: Message) -> Result<(), Fail> {
        if session.removed() {
            return Err(removed(&session.key).into());
        }
        match message {
            Message::Push { bundle } => {
                let arrived = Instant::now();
                let ws = session.reader()?;
                self.writable(&ws)?;
                let state = self.state.clone();
                let _permit = state.writes.try_acquire().map_err(|_| overloaded())?;
                let pusher = (!session.mirror).then_some(session.key);
                let bytes = bundle.encoded_len() as u64;
                state
                    .quotas
                    .charge_push(now(), pusher, ws.id(), bytes, ws.stored_bytes())
                    .map_err(|e| self.over_quota(e))?;
                let stored = ws.push(&self.state.store, &bundle).await?;
                let counter = if stored.duplicate {
                    &self.state.metrics.bundles_duplicate
                } else {
                    &self.state.metrics.bundles_stored
                };
                counter.inc();
                self.state.metrics.ack_took(arrived.elapsed());
                self.reply(&Message::Ack {
                    seq: stored.seq,
                    hash: stored.hash,
                    duplicate: stored.duplicate,
                })
                .await
            }
            Message::Pull { after, limit } => {
                let arrived = Instant::now();
                let ws = session.reader()?;
                let limit = (limit as usize).min(self.state.config.pull_limit);
                let items = ws.range(after, limit, self.state.config.pull_budget)?;
                self.state.metrics.bundles_served.inc_by(items.len() as u64);
                let head = ws.head();
                let sent = self.reply(&Message::Bundles { items, head }).await;
                self.state.metrics.pull_took(arrived.elapsed());
                sent
            }
            Message::Subscribe { after } => {
                let ws = session.reader()?;
                session.sub = Some(Subscription {
                    bundles: after,
                    ops: ws.with_members(|m| m.len()),
                    head_rx: ws.watch_head(),
                });
                Ok(())
            }
            Message::Candidacy { invite_key, proof } => {
                let relay = self.state.relay_key();
                session.prove_candidacy(&relay, &invite_key, &proof)?;
                session.candidate = true;
                self.reply(&session.welcome()).await
            }
            Message::MembershipPull { after } => {
                if !session.may_read_log() {
                    return Err(not_member(&session.key).into());
                }
                let ops = match &session.ws {
                    Some(ws) => ws.ops_page(after)?,
                    None => Vec::new(),
                };
                self.reply(&Message::MembershipOps { start: after, ops })
                    .await
            }
            Message::MembershipAppend { op } => {
                if op.op.workspace != session.workspace {
                    return Err(Fail::Refused(Refusal::new(
                        ErrorCode::WrongWorkspace,
                        format!(
                            "operatie hoort bij samenwerking {}, deze verbinding bij {}",
                            op.op.workspace, session.workspace
                        ),
                    )));
                }
                let is_member = session
                    .ws
                    .as_ref()
                    .is_some_and(|ws| ws.with_members(|m| m.is_member(&session.key)));
                if !is_member && !session.mirror {
                    let creates = op.op.body.creates();
                    if creates && session.ws.is_some() {
                        // Said without folding, so that the refusal names nothing of the log.
                        return Err(Fail::Refused(Refusal::new(
                            ErrorCode::MembershipRefused,
                            "de samenwerking bestaat al",
                        )));
                    }
                    let redeems = op.op.body.redeemed_invite().is_some() && session.candidate;
                    if !creates && !redeems {
                        return Err(not_member(&session.key).into());
                    }
                }
                let state = self.state.clone();
                let _permit = state.writes.try_acquire().map_err(|_| overloaded())?;
                let clock = (!session.mirror).then(|| Arrival {
                    now: now(),
                    carrier: session.key,
                });
                let author = (!session.mirror).then_some(session.key);
                let index = match &session.ws {
                    Some(ws) => {
                        self.writable(ws)?;
                        let log_len = ws.with_members(|m| m.len());
                        state
                            .quotas
                            .charge_op(now(), author, log_len)
                            .map_err(|e| self.over_quota(e))?;
                        ws.append_op(&self.state.store, &op, clock).await?
                    }
                    None => {
                        if !session.mirror {
                            self.state.check_creator(&op)?;
                            state
                                .quotas
                                .charge_create(now(), op.op.author)
                                .map_err(|e| self.over_quota(e))?;
                        }
                        let ws = match self.state.create_workspace(&op, clock).await {
                            Ok(ws) => ws,
                            Err(refusal) => {
                                if !session.mirror {
                                    state.quotas.uncreate(&op.op.author);
                                }
                                return Err(refusal.into());
                            }
                        };
                        let index = ws.with_members(|m| m.len()) - 1;
                        session.members_rx = Some(ws.watch_members());
                        session.ws = Some(ws);
                        index
                    }
                };
                if session
                    .ws
                    .as_ref()
                    .is_some_and(|ws| ws.with_members(|m| m.is_member(&session.key)))
                {
                    self.ticket.vetted();
                }
                self.state.metrics.membership_ops.inc();
                self.reply(&Message::MembershipAck {
                    index,
                    hash: op.hash(),
                })
                .await
            }
            other => Err(unexpected(&other, "een verzoek").into()),
        }
    }

    /// The membership log grew: close if this key was removed, else forward new operations.
    async fn members_changed(&mut self, session: &mut Session) -> Result<(), Fail> {
        if session.removed() {
            return Err(removed(&session.key).into());
        }
        let (Some(ws), Some(sub)) = (&session.ws, &mut session.sub) else {
            return Ok(());
        };
        // Page by page, so that no answer exceeds a frame however much was appended.
        loop {
            let ops = ws.ops_page(sub.ops)?;
            if ops.is_empty() {
                return Ok(());
            }
            let start = sub.ops;
            sub.ops += ops.len() as u64;
            self.reply(&Message::MembershipOps { start, ops }).await?;
        }
    }

    /// Sends the next batch of bundles a subscriber has not seen.
    async fn send_pending(&mut self, session: &mut Session) -> Result<(), Fail> {
        let (Some(ws), Some(sub)) = (&session.ws, &mut session.sub) else {
            return Ok(());
        };
        let items = ws.range(sub.bundles, 64, self.state.config.pull_budget)?;
        for item in items {
            sub.bundles = item.seq;
            self.state.metrics.bundles_served.inc();
            self.reply(&Message::Pushed { item }).await?;
        }
        Ok(())
    }

    /// Reads the next frame, skipping pings; a closed or failed socket is `Closed`.
    async fn recv(&mut self) -> Incoming {
        loop {
            let received = self.socket.recv().await;
            self.ticket.consumed();
            self.last_heard = Instant::now();
            self.pinged = false;
            let raw = match received {
                None | Some(Err(_)) => return Incoming::Closed,
                Some(Ok(WsMessage::Binary(bytes))) => bytes,
                Some(Ok(WsMessage::Text(_))) => {
                    return Incoming::Bad(Refusal::new(
                        ErrorCode::Malformed,
                        "tekstberichten worden niet ondersteund; stuur binaire frames",
                    ));
                }
                Some(Ok(WsMessage::Close(_))) => return Incoming::Closed,
                Some(Ok(_)) => continue,
            };
            self.state.metrics.bytes_in.inc_by(raw.len() as u64);
            return match decode_frame(&raw, self.state.config.max_frame) {
                Ok(message) => Incoming::Message(Box::new(message)),
                Err(e) => Incoming::Bad(wire_refusal(&e)),
            };
        }
    }

    /// Sends an answer; a failed socket ends the connection quietly.
    async fn reply(&mut self, message: &Message) -> Result<(), Fail> {
        if self.send(message).await {
            Ok(())
        } else {
            Err(Fail::Gone)
        }
    }

    async fn send(&mut self, message: &Message) -> bool {
        let bytes = encode_frame(message);
        self.state.metrics.bytes_out.inc_by(bytes.len() as u64);
        self.socket
            .send(WsMessage::Binary(bytes.into()))
            .await
            .is_ok()
    }

    async fn send_refusal(&mut self, refusal: &Refusal) -> bool {
        self.state.metrics.error(refusal.code);
        let (workspace, key) = self.who();
        tracing::info!(
            peer = %self.ticket.ip(),
            workspace,
            key,
            code = refusal.code.name(),
            message = %refusal.message,
            "geweigerd"
        );
        self.send(&refusal.to_message()).await
    }

    /// The workspace and key for the log (empty before authentication).
    fn who(&self) -> (String, String) {
        match self.who {
            Some((ws, key)) => (ws.to_string(), key.to_string()),
            None => (String::new(), String::new()),
        }
    }

    /// The refusal for a connection the relay cuts short.
    fn cut_refusal(&self, cut: Cut) -> Refusal {
        match cut {
            Cut::Evicted => {
                self.state.metrics.refused("evicted");
                Refusal::new(
                    ErrorCode::Overloaded,
                    "de relay heeft te veel verbindingen van niet-leden en sluit de oudste; probeer het later opnieuw",
                )
            }
            Cut::Buffer => {
                self.state.metrics.refused("buffer");
                let limits = self.state.admission.limits();
                Refusal::new(
                    ErrorCode::FrameTooLarge,
                    format!(
                        "deze verbinding mag niet meer onvolledige gegevens laten wachten (grens {} bytes voor een verbinding die geen lid is, {} bytes voor de relay samen)",
                        limits.unvetted_buffer, limits.buffered_total
                    ),
                )
            }
        }
    }

    /// Closes a connection whose frame takes too long, that stays silent, or whose key stays
    /// a candidate too long; pings a client that has been quiet for a while.
    async fn check_clocks(&mut self, session: &Session) -> Result<(), Fail> {
        let limits = self.state.admission.limits().clone();
        let timed_out = |what: String| {
            self.state.metrics.refused("timed_out");
            Err(Fail::Refused(Refusal::new(ErrorCode::TimedOut, what)))
        };
        if let Some(age) = self.ticket.frame_age()
            && age > limits.frame_timeout
        {
            return timed_out(format!(
                "een bericht kwam niet binnen {} s volledig aan",
                limits.frame_timeout.as_secs()
            ));
        }
        let silent = self.last_heard.elapsed();
        if silent > limits.idle_timeout {
            return timed_out(format!(
                "de verbinding bleef {} s stil",
                limits.idle_timeout.as_secs()
            ));
        }
        let member = session.mirror
            || session
                .ws
                .as_ref()
                .is_some_and(|ws| ws.with_members(|m| m.is_member(&session.key)));
        if !member && session.since.elapsed() > limits.candidate_timeout {
            return timed_out(format!(
                "een organisatie die geen lid is mag {} s verbonden blijven",
                limits.candidate_timeout.as_secs()
            ));
        }
        if silent > limits.idle_timeout / 3 && !self.pinged {
            self.pinged = true;
            if self
                .socket
                .send(WsMessage::Ping(Default::default()))
                .await
                .is_err()
            {
                return Err(Fail::Gone);
            }
        }
        Ok(())
    }

    /// Refuses writes to a workspace the operator froze.
    fn writable(&self, ws: &Workspace) -> Result<(), Refusal> {
        if self.state.marks.frozen.contains(&ws.id()) {
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

    /// Counts a quota refusal and hands it on.
    fn over_quota(&self, exceeded: Exceeded) -> Refusal {
        self.state.metrics.quota_refused(exceeded.quota);
        exceeded.refusal
    }

    async fn refuse_and_close(&mut self, refusal: &Refusal) {
        if self.send_refusal(refusal).await {
            let _ = self
                .socket
                .send(WsMessage::Close(Some(CloseFrame {
                    code: 1008,
                    reason: refusal.code.name().into(),
                })))
                .await;
        }
    }
}

impl Session {
    /// The welcome for this connection now: the real figures for a member, a mirror and a
    /// candidate that proved its invite; zeros for any other key, whether the workspace exists
    /// or not.
    fn welcome(&self) -> Message {
        let role = self
            .ws
            .as_ref()
            .and_then(|ws| ws.with_members(|m| m.role_of(&self.key)));
        let access = self.access(role);
        match &self.ws {
            Some(ws) if access != Access::Candidate || self.candidate => {
                ws.with_members(|m| Message::Welcome {
                    access,
                    head: ws.head(),
                    membership_len: m.len(),
                    epoch: m.epoch(),
                })
            }
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
    fn prove_candidacy(
        &self,
        relay: &OrgKey,
        invite_key: &OrgKey,
        proof: &Sig,
    ) -> Result<(), Refusal> {
        let ws = self.ws.as_ref().ok_or_else(|| not_member(&self.key))?;
        let invite = ws.with_members(|m| m.invites().get(invite_key).cloned());
        let proved = invite.is_some()
            && candidacy_holds(
                invite_key,
                proof,
                relay,
                &self.nonce,
                &self.workspace,
                &self.key,
            );
        let Some(invite) = invite.filter(|_| proved) else {
            return Err(not_member(&self.key));
        };
        let waiting = ws.with_members(|m| m.is_pending(&self.key));
        let refused = match invite.state {
            // A joiner waiting for confirmation reads the log (to learn of its confirmation and
            // the keys shared with it) and nothing else.
            InviteState::Used { by } if by == self.key && waiting => None,
            InviteState::Used { by } => Some(MembershipError::InviteUsed { by }),
            InviteState::Revoked => Some(MembershipError::InviteRevoked),
            InviteState::Open if invite.expires < now() => Some(MembershipError::InviteExpired {
                expires: invite.expires,
            }),
            InviteState::Open => None,
        };
        match refused {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Whether this connection may read the membership log.
    fn may_read_log(&self) -> bool {
        self.mirror
            || self.candidate
            || self
                .ws
                .as_ref()
                .is_some_and(|ws| ws.with_members(|m| m.is_member(&self.key)))
    }

    /// What this key may do now, given its role in the member set.
    fn access(&self, role: Option<kompas_engine::sync::membership::Role>) -> Access {
        match (role, self.mirror) {
            (Some(role), _) => Access::Member(role),
            (None, true) => Access::Mirror,
            (None, false) => Access::Candidate,
        }
    }

    fn removed(&self) -> bool {
        !self.mirror
            && self
                .ws
                .as_ref()
                .is_some_and(|ws| ws.with_members(|m| m.was_removed(&self.key)))
    }

    /// The workspace, if this key may read and write bundles in it.
    /// A key that is not a member hears `NotMember` whether the workspace exists or not.
    fn reader(&self) -> Result<Arc<Workspace>, Refusal> {
        let ws = self.ws.clone().ok_or_else(|| {
            if self.mirror {
                Refusal::new(
                    ErrorCode::UnknownWorkspace,
                    format!("samenwerking {} is onbekend bij deze relay", self.workspace),
                )
            } else {
                not_member(&self.key)
            }
        })?;
        if self.mirror || ws.with_members(|m| m.is_member(&self.key)) {
            Ok(ws)
        } else {
            Err(not_member(&self.key))
        }
    }

    fn catching_up(&self) -> bool {
        match (&self.ws, &self.sub) {
            (Some(ws), Some(sub)) => sub.bundles < ws.head(),
            _ => false,
        }
    }
}

/// For a workspace this relay does not know: if it mirrors another relay, gives the mirror a
/// few seconds to fetch its membership log from there.
async fn await_mirrored(state: &Arc<RelayState>, id: WorkspaceId) -> Option<Arc<Workspace>> {
    state.config.mirror.as_ref()?;
    let mut added = state.watch_workspaces();
    state.request_mirror(id);
    let wait = async {
        loop {
            if state.is_levelled(&id) {
                return state.workspace(&id);
            }
            if added.changed().await.is_err() {
                return None;
            }
        }
    };
    tokio::time::timeout(MIRROR_WAIT, wait).await.ok().flatten()
}

/// Waits for a watched value to change; never returns if there is nothing to watch.
async fn changed(rx: &mut Option<watch::Receiver<u64>>) {
    if let Some(rx) = rx
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

async fn changed_sub(sub: &mut Option<Subscription>) {
    if let Some(sub) = sub
        && sub.head_rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

fn unexpected(message: &Message, expected: &str) -> Refusal {
    Refusal::new(
        ErrorCode::UnexpectedMessage,
        format!(
            "onverwacht bericht {} (verwacht: {expected})",
            message.name()
        ),
    )
}

fn removed(key: &OrgKey) -> Refusal {
    Refusal::new(
        ErrorCode::Removed,
        format!(
            "organisatie {} is uit deze samenwerking verwijderd",
            key.org_id()
        ),
    )
}

fn overloaded() -> Refusal {
    Refusal::new(
        ErrorCode::Overloaded,
        "de relay verwerkt te veel schrijfopdrachten tegelijk; probeer het later opnieuw",
    )
}

fn wire_refusal(e: &WireError) -> Refusal {
    let code = match e {
        WireError::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
        WireError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
        _ => ErrorCode::Malformed,
    };
    Refusal::new(code, e.to_string())
}
