//! One websocket connection: handshake, authentication, then requests and subscriptions.
//!
//! A connection runs as one task that reads a frame, answers it, and in between sends what a
//! subscription has pending. Writes wait for the socket, so a client that does not read stops
//! being read from: the per-connection buffer is one frame each way.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use kompas_engine::sync::membership::OpBody;
use kompas_engine::sync::wire::{
    Access, CHALLENGE_LEN, ErrorCode, MIN_PROTOCOL_VERSION, Message, OrgKey, PROTOCOL_VERSION,
    WireError, WorkspaceId, decode_frame, encode_frame, sign_relay_proof, verify_auth,
};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::op_time::Arrival;
use crate::refusal::Refusal;
use crate::state::{RelayState, now, random};
use crate::workspace::{Workspace, not_member};

/// Serves one upgraded websocket until it closes, fails or the relay shuts down.
pub async fn serve(socket: WebSocket, state: Arc<RelayState>) {
    let open = state
        .metrics
        .connections_open
        .fetch_add(1, Ordering::Relaxed)
        + 1;
    Metrics::inc(&state.metrics.connections_total);
    let mut conn = Connection {
        socket,
        state: state.clone(),
    };
    if open as usize > state.config.max_connections {
        let refusal = Refusal::new(
            ErrorCode::Overloaded,
            "de relay heeft te veel verbindingen; probeer het later opnieuw",
        );
        conn.refuse_and_close(&refusal).await;
    } else if let Some(session) = conn.handshake().await {
        conn.run(session).await;
    }
    state
        .metrics
        .connections_open
        .fetch_sub(1, Ordering::Relaxed);
}

/// How long a connection for an unknown workspace waits for the mirror to fetch it.
const MIRROR_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

struct Connection {
    socket: WebSocket,
    state: Arc<RelayState>,
}

/// An authenticated connection's view.
struct Session {
    workspace: WorkspaceId,
    key: OrgKey,
    mirror: bool,
    ws: Option<Arc<Workspace>>,
    members_rx: Option<watch::Receiver<u64>>,
    sub: Option<Subscription>,
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
        match tokio::time::timeout(limit, self.authenticate()).await {
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
        };
        if session.removed() {
            return Err(Some(removed(&key)));
        }
        let welcome = match &session.ws {
            Some(ws) => ws.with_members(|m| Message::Welcome {
                access: session.access(m.role_of(&key)),
                head: ws.head(),
                membership_len: m.len(),
                epoch: m.epoch(),
            }),
            None => Message::Welcome {
                access: session.access(None),
                head: 0,
                membership_len: 0,
                epoch: 0,
            },
        };
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
        loop {
            let catching_up = session.catching_up();
            let outcome = tokio::select! {
                biased;
                _ = shutdown.changed() => Err(Fail::Refused(Refusal::new(ErrorCode::ShuttingDown, "de relay stopt"))),
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
                let ws = session.reader()?;
                let state = self.state.clone();
                let _permit = state.writes.try_acquire().map_err(|_| overloaded())?;
                let stored = ws.push(&self.state.store, &bundle).await?;
                let counter = if stored.duplicate {
                    &self.state.metrics.bundles_duplicate
                } else {
                    &self.state.metrics.bundles_stored
                };
                Metrics::inc(counter);
                self.reply(&Message::Ack {
                    seq: stored.seq,
                    hash: stored.hash,
                    duplicate: stored.duplicate,
                })
                .await
            }
            Message::Pull { after, limit } => {
                let ws = session.reader()?;
                let limit = (limit as usize).min(self.state.config.pull_limit);
                let items = ws.range(after, limit, self.state.config.pull_budget)?;
                Metrics::add(&self.state.metrics.bundles_served, items.len());
                let head = ws.head();
                self.reply(&Message::Bundles { items, head }).await
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
            Message::MembershipPull { after } => {
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
                            "operatie hoort bij werkruimte {}, deze verbinding bij {}",
                            op.op.workspace, session.workspace
                        ),
                    )));
                }
                let is_member = session
                    .ws
                    .as_ref()
                    .is_some_and(|ws| ws.with_members(|m| m.is_member(&session.key)));
                let joining = matches!(op.op.body, OpBody::Create { .. } | OpBody::Redeem { .. });
                if !is_member && !session.mirror && !joining {
                    return Err(not_member(&session.key).into());
                }
                let state = self.state.clone();
                let _permit = state.writes.try_acquire().map_err(|_| overloaded())?;
                let clock = (!session.mirror).then(|| Arrival {
                    now: now(),
                    carrier: session.key,
                });
                let index = match &session.ws {
                    Some(ws) => ws.append_op(&self.state.store, &op, clock).await?,
                    None => {
                        if !session.mirror {
                            self.state.check_creator(&op)?;
                        }
                        let ws = self.state.create_workspace(&op, clock).await?;
                        let index = ws.with_members(|m| m.len()) - 1;
                        session.members_rx = Some(ws.watch_members());
                        session.ws = Some(ws);
                        index
                    }
                };
                Metrics::inc(&self.state.metrics.membership_ops);
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
            Metrics::inc(&self.state.metrics.bundles_served);
            self.reply(&Message::Pushed { item }).await?;
        }
        Ok(())
    }

    /// Reads the next frame, skipping pings; a closed or failed socket is `Closed`.
    async fn recv(&mut self) -> Incoming {
        loop {
            let raw = match self.socket.recv().await {
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
            Metrics::add(&self.state.metrics.bytes_in, raw.len());
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
        Metrics::add(&self.state.metrics.bytes_out, bytes.len());
        self.socket
            .send(WsMessage::Binary(bytes.into()))
            .await
            .is_ok()
    }

    async fn send_refusal(&mut self, refusal: &Refusal) -> bool {
        self.state.metrics.error(refusal.code);
        self.send(&refusal.to_message()).await
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
    fn reader(&self) -> Result<Arc<Workspace>, Refusal> {
        let ws = self.ws.clone().ok_or_else(|| {
            Refusal::new(
                ErrorCode::UnknownWorkspace,
                format!("werkruimte {} is onbekend bij deze relay", self.workspace),
            )
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
            "organisatie {} is uit deze werkruimte verwijderd",
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
