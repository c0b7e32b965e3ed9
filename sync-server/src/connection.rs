//! One websocket connection: the adapter between a socket and the protocol core's
//! [`Session`].
//!
//! A connection runs as one task that reads a frame, hands it to its session, carries out the
//! action the session returns (a write is flushed before it is committed and acknowledged),
//! and in between sends what a subscription has pending. A push does not hold up the next
//! frame: it is staged and waits in the connection's [`Pipeline`] for the flush that makes it
//! durable, while the task reads on (up to the pipeline's bound); the flush's return sends the
//! acknowledgements in order. Any other request, and any refusal, waits for the pushes before
//! it, so answers keep the order of the requests. Writes wait for the socket, so a client that
//! does not read stops being read from. Its ticket bounds what it may buffer while a frame
//! arrives; a clock tick closes it when a frame takes too long, when it stays silent (after a
//! ping), or when a key that is not a member stays too long.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures_util::{FutureExt, SinkExt};
use kompas_engine::sync::wire::{
    ErrorCode, Message, WireError, WorkspaceId, decode_frame, encode_frame,
};
use tokio::sync::watch;

use crate::admission::{Cut, Ticket};
use crate::backend::RelayLog;
use crate::pipeline::Pipeline;
use crate::protocol::{Action, Admitted, Checked, Refusal, Session, Stored, WorkspaceCore};
use crate::state::{RelayState, now, random};
use crate::workspace::Workspace;

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
        session: Session::new(random()),
        ws: None,
        members_rx: None,
        head_rx: None,
        last_heard: Instant::now(),
        pinged: false,
        held: None,
    };
    if conn.ticket.is_over() {
        let refusal = Refusal::new(
            ErrorCode::Overloaded,
            "de relay heeft te veel verbindingen; probeer het later opnieuw",
        );
        conn.refuse_and_close(&refusal).await;
    } else if conn.handshake().await {
        conn.run().await;
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
    /// The protocol state.
    session: Session,
    /// The workspace the connection is bound to, once it has one.
    ws: Option<Arc<Workspace>>,
    /// Wakes the connection when the membership log grows.
    members_rx: Option<watch::Receiver<u64>>,
    /// Wakes a subscriber when the bundle head moves.
    head_rx: Option<watch::Receiver<u64>>,
    /// When the client last sent anything (a frame, a ping or a pong).
    last_heard: Instant,
    /// Whether the relay pinged since then.
    pinged: bool,
    /// A frame read while gathering pushes that is not one, served next.
    held: Option<Incoming>,
}

/// How often a connection checks its clocks.
const TICK: Duration = Duration::from_millis(500);

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

/// Runs `f` on the core of `ws` (read-locked), or on none.
fn with_core<T>(
    ws: &Option<Arc<Workspace>>,
    f: impl FnOnce(Option<&WorkspaceCore<RelayLog>>) -> T,
) -> T {
    match ws {
        Some(ws) => f(Some(&ws.read())),
        None => f(None),
    }
}

impl Connection {
    /// Hello, Challenge, Auth, Welcome. Returns whether the connection was welcomed; a
    /// refused one is closed.
    async fn handshake(&mut self) -> bool {
        let limit = self.state.config.handshake_timeout;
        let ticket = self.ticket.clone();
        let outcome = tokio::select! {
            outcome = tokio::time::timeout(limit, self.authenticate()) => outcome,
            cut = ticket.cut() => Ok(Err(Some(self.cut_refusal(cut)))),
        };
        match outcome {
            Ok(Ok(())) => true,
            Ok(Err(Some(refusal))) => {
                self.refuse_and_close(&refusal).await;
                false
            }
            Ok(Err(None)) => false,
            Err(_) => {
                let refusal =
                    Refusal::new(ErrorCode::UnexpectedMessage, "de aanmelding duurde te lang");
                self.refuse_and_close(&refusal).await;
                false
            }
        }
    }

    async fn authenticate(&mut self) -> Result<(), Option<Refusal>> {
        loop {
            let message = match self.recv().await {
                Incoming::Message(m) => *m,
                Incoming::Bad(refusal) => return Err(Some(refusal)),
                Incoming::Closed => return Err(None),
            };
            let action = with_core(&None, |core| {
                self.session.handle(&self.state.rules, core, now(), message)
            })?;
            match action {
                Action::Send(challenge) => {
                    if !self.send(&challenge).await {
                        return Err(None);
                    }
                }
                Action::Identified {
                    workspace,
                    key,
                    mirror,
                } => return self.admit(workspace, key, mirror).await,
                other => return Err(Some(out_of_turn(&other))),
            }
        }
    }

    /// Binds an authenticated key to its workspace and welcomes it.
    async fn admit(
        &mut self,
        workspace: WorkspaceId,
        key: kompas_engine::sync::wire::OrgKey,
        mirror: bool,
    ) -> Result<(), Option<Refusal>> {
        if let Err(refused) = self.ticket.authenticated(key) {
            self.state.metrics.connection_refused(&refused);
            return Err(Some(Refusal::new(
                ErrorCode::Overloaded,
                format!("{refused}; sluit een andere verbinding of probeer het later opnieuw"),
            )));
        }
        let mut ws = self.state.workspace(&workspace);
        if ws.is_none() && !mirror {
            ws = await_mirrored(&self.state, workspace).await;
        }
        // With a store other nodes write to, the member set is read again first, so that a
        // member or invite added through another node a moment ago counts.
        if let Some(ws) = &ws
            && self.state.store.is_shared()
        {
            ws.catch_up().map_err(Some)?;
        }
        self.bind(ws);
        let welcome = with_core(&self.ws, |core| self.session.admit(core, now()))?;
        if with_core(&self.ws, |core| self.session.vetted(core)) {
            self.ticket.vetted();
        }
        self.send(&welcome).await.then_some(()).ok_or(None)
    }

    fn bind(&mut self, ws: Option<Arc<Workspace>>) {
        self.members_rx = ws.as_ref().map(|w| w.watch_members());
        self.ws = ws;
    }

    /// The request loop. Pushes are pipelined (`pipeline.rs`): the loop reads on while earlier
    /// pushes wait for their flush, and acknowledges them in order when it returns. Every other
    /// answer (to a request, or a refusal) waits until the acknowledgements of the pushes
    /// before it are sent, so answers come in request order and a request is served after
    /// the pushes before it are durable and shown.
    async fn run(&mut self) {
        let mut shutdown = self.state.watch_shutdown();
        let ticket = self.ticket.clone();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pipeline = Pipeline::default();
        loop {
            let catching_up = with_core(&self.ws, |core| self.session.catching_up(core));
            let reading = pipeline.has_room();
            // The watches are held apart from `self` while the frame handlers borrow it; a
            // handler that binds new ones (a creation, a subscription) wins.
            let mut members_rx = self.members_rx.take();
            let mut head_rx = self.head_rx.take();
            let outcome = tokio::select! {
                biased;
                _ = shutdown.changed() => Err(Fail::Refused(Refusal::new(ErrorCode::ShuttingDown, "de relay stopt"))),
                cut = ticket.cut() => {
                    let refusal = self.cut_refusal(cut);
                    if self.drain(&mut pipeline).await.is_ok() {
                        self.refuse_and_close(&refusal).await;
                    }
                    return;
                }
                flushed = pipeline.flushed() => self.acknowledge(&mut pipeline, flushed).await,
                _ = tick.tick() => self.check_clocks().await,
                _ = changed(&mut members_rx) => self.send_pending().await,
                incoming = self.next_incoming(), if reading => match incoming {
                    Incoming::Closed => return,
                    Incoming::Bad(refusal) => Err(Fail::Refused(refusal)),
                    Incoming::Message(m) => self.handle(*m, &mut pipeline).await,
                },
                _ = changed(&mut head_rx), if !catching_up => Ok(()),
                () = std::future::ready(()), if catching_up => self.send_pending().await,
            };
            self.members_rx = self.members_rx.take().or(members_rx);
            self.head_rx = self.head_rx.take().or(head_rx);
            match outcome {
                Ok(()) => {}
                Err(Fail::Gone) => return,
                Err(Fail::Refused(refusal)) => {
                    // The pushes before what is refused are answered first.
                    if self.drain(&mut pipeline).await.is_err() {
                        return;
                    }
                    if refusal.closes() {
                        self.refuse_and_close(&refusal).await;
                        return;
                    }
                    if !self.send_refusal(&refusal).await {
                        return;
                    }
                }
            }
        }
    }

    /// Hands a request to the session and carries out what it asks for. A push, with the
    /// pushes right behind it, is staged and left in `pipeline` for its flush; anything else
    /// waits for the pushes before it first.
    async fn handle(&mut self, message: Message, pipeline: &mut Pipeline) -> Result<(), Fail> {
        if matches!(message, Message::Push { .. }) {
            return self.pushes(message, pipeline).await;
        }
        let arrived = Instant::now();
        self.drain(pipeline).await?;
        let action = with_core(&self.ws, |core| {
            self.session.handle(&self.state.rules, core, now(), message)
        })?;
        let state = self.state.clone();
        match action {
            Action::Send(answer) => {
                if let Message::Bundles { items, .. } = &answer {
                    state.metrics.bundles_served.inc_by(items.len() as u64);
                }
                let sent = self.reply(&answer).await;
                if matches!(answer, Message::Bundles { .. }) {
                    state.metrics.pull_took(arrived.elapsed());
                }
                sent
            }
            Action::Subscribed => {
                self.head_rx = self.ws.as_ref().map(|ws| ws.watch_head());
                Ok(())
            }
            Action::Append { op, arrival } => {
                let ws = self.bound()?;
                let _permit = state.writes.try_acquire().map_err(|_| overloaded())?;
                let ack = ws.append_op(&state.store, &op, arrival).await?;
                self.appended(&ack).await
            }
            Action::Create { op, arrival } => {
                let _permit = state.writes.try_acquire().map_err(|_| overloaded())?;
                match state.create_workspace(&op, arrival).await {
                    Ok((ws, ack)) => {
                        self.bind(Some(ws));
                        self.appended(&ack).await
                    }
                    Err(refusal) => {
                        self.session.creation_failed(&state.rules, &op);
                        Err(refusal.into())
                    }
                }
            }
            Action::Push(_) | Action::Identified { .. } => Err(out_of_turn(&action).into()),
        }
    }

    /// Serves `first`, a push, together with the pushes that arrived right behind it (as many
    /// as are here already, up to [`MAX_BATCH`] and what the pipeline takes): the session
    /// admits them under one read lock, their signatures are checked outside it, and the
    /// bundles are staged in one write and queued for the flush. A refusal is sent after the
    /// pushes before it are answered; the first frame that is not a push waits for the next
    /// turn of the request loop.
    async fn pushes(&mut self, first: Message, pipeline: &mut Pipeline) -> Result<(), Fail> {
        let mut frames = vec![(first, Instant::now())];
        let mut bytes = frame_size(&frames[0].0);
        while frames.len() < MAX_BATCH && pipeline.has_room_for(frames.len(), bytes) {
            match self.recv().now_or_never() {
                Some(Incoming::Message(m)) if matches!(*m, Message::Push { .. }) => {
                    bytes = bytes.saturating_add(frame_size(&m));
                    frames.push((*m, Instant::now()));
                }
                Some(other) => {
                    self.held = Some(other);
                    break;
                }
                None => break,
            }
        }
        let rules = &self.state.rules;
        let session = &mut self.session;
        let admitted: Vec<(Result<Admitted, Refusal>, Instant)> = with_core(&self.ws, |core| {
            frames
                .into_iter()
                .map(|(message, arrived)| {
                    let admitted = match session.handle(rules, core, now(), message) {
                        Ok(Action::Push(admitted)) => Ok(admitted),
                        Ok(other) => Err(out_of_turn(&other)),
                        Err(refusal) => Err(refusal),
                    };
                    (admitted, arrived)
                })
                .collect()
        });
        // The signatures of those admitted are checked together, outside the lock.
        let mut answers: Vec<Option<Result<Checked, Refusal>>> = Vec::with_capacity(admitted.len());
        let mut arrivals = Vec::with_capacity(admitted.len());
        let mut to_verify = Vec::with_capacity(admitted.len());
        let mut places = Vec::with_capacity(admitted.len());
        for (place, (admitted, arrived)) in admitted.into_iter().enumerate() {
            arrivals.push(arrived);
            match admitted {
                Ok(admitted) => {
                    to_verify.push(admitted);
                    places.push(place);
                    answers.push(None);
                }
                Err(refusal) => answers.push(Some(Err(refusal))),
            }
        }
        for (place, verified) in places.into_iter().zip(Admitted::verify_all(to_verify)) {
            answers[place] = Some(verified);
        }
        let checked: Vec<(Result<Checked, Refusal>, Instant)> = answers
            .into_iter()
            .map(|answer| {
                answer.unwrap_or_else(|| {
                    Err(Refusal::new(
                        ErrorCode::Internal,
                        "de relay kon de handtekening niet controleren",
                    ))
                })
            })
            .zip(arrivals)
            .collect();
        let mut run = Vec::with_capacity(checked.len());
        for (checked, arrived) in checked {
            match checked {
                Ok(checked) => run.push((checked, arrived)),
                Err(refusal) => {
                    self.stage(pipeline, std::mem::take(&mut run)).await?;
                    self.refuse_in_turn(pipeline, refusal).await?;
                }
            }
        }
        self.stage(pipeline, run).await
    }

    /// Stages checked bundles in one write and queues their acknowledgements (or refuses them,
    /// each in its turn).
    async fn stage(
        &mut self,
        pipeline: &mut Pipeline,
        run: Vec<(Checked, Instant)>,
    ) -> Result<(), Fail> {
        if run.is_empty() {
            return Ok(());
        }
        let ws = self.bound()?;
        // A connection whose pushes wait holds a write permit already.
        let permit = match pipeline.holds_permit() {
            true => None,
            false => match self.state.writes.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    for _ in &run {
                        self.refuse_in_turn(pipeline, overloaded()).await?;
                    }
                    return Ok(());
                }
            },
        };
        let (bundles, arrivals): (Vec<Checked>, Vec<Instant>) = run.into_iter().unzip();
        let answers = ws.stage_all(&bundles);
        let mut permit = permit;
        for ((answer, arrived), checked) in answers.into_iter().zip(arrivals).zip(&bundles) {
            match answer {
                Ok(stored) => {
                    // Pushes staged after a refusal emptied the queue ride on without a permit:
                    // they are few (one batch) and already written.
                    pipeline.push(
                        stored,
                        arrived,
                        checked.bundle().encoded_len(),
                        permit.take(),
                    );
                }
                Err(refusal) => self.refuse_in_turn(pipeline, refusal).await?,
            }
        }
        pipeline.start(&self.state.store);
        Ok(())
    }

    /// Sends a refusal of a push once the pushes before it are answered; one that closes the
    /// connection ends the request.
    async fn refuse_in_turn(
        &mut self,
        pipeline: &mut Pipeline,
        refusal: Refusal,
    ) -> Result<(), Fail> {
        if refusal.closes() {
            return Err(Fail::Refused(refusal));
        }
        self.drain(pipeline).await?;
        if self.send_refusal(&refusal).await {
            Ok(())
        } else {
            Err(Fail::Gone)
        }
    }

    /// Acknowledges, in order, the pushes the flush that returned made durable (or refuses
    /// them if it failed); the next flush has started for the pushes staged meanwhile.
    async fn acknowledge(
        &mut self,
        pipeline: &mut Pipeline,
        flushed: Result<(), Refusal>,
    ) -> Result<(), Fail> {
        let covered = pipeline.take_covered(&self.state.store);
        if let Err(refusal) = flushed {
            for _ in &covered {
                if !self.send_refusal(&refusal).await {
                    return Err(Fail::Gone);
                }
            }
            return Ok(());
        }
        let stored: Vec<Stored> = covered.iter().map(|w| w.stored).collect();
        if let Some(ws) = &self.ws {
            ws.commit(&stored);
        }
        let metrics = &self.state.metrics;
        for waiting in &covered {
            let counter = if waiting.stored.duplicate {
                &metrics.bundles_duplicate
            } else {
                &metrics.bundles_stored
            };
            counter.inc();
            metrics.ack_took(waiting.arrived.elapsed());
        }
        let acks: Vec<Message> = stored.iter().map(Stored::ack).collect();
        if self.send_all(&acks).await {
            Ok(())
        } else {
            Err(Fail::Gone)
        }
    }

    /// Waits until every push of `pipeline` is answered.
    async fn drain(&mut self, pipeline: &mut Pipeline) -> Result<(), Fail> {
        while !pipeline.is_empty() {
            pipeline.start(&self.state.store);
            let flushed = pipeline.flushed().await;
            self.acknowledge(pipeline, flushed).await?;
        }
        Ok(())
    }

    /// Acknowledges a durable membership operation; a key that became a member with it is
    /// vetted.
    async fn appended(&mut self, ack: &Message) -> Result<(), Fail> {
        if with_core(&self.ws, |core| self.session.vetted(core)) {
            self.ticket.vetted();
        }
        self.state.metrics.membership_ops.inc();
        self.reply(ack).await
    }

    /// The workspace the connection is bound to; the session asks for writes only then.
    fn bound(&self) -> Result<Arc<Workspace>, Refusal> {
        self.ws.clone().ok_or_else(|| {
            Refusal::new(
                ErrorCode::Internal,
                "de verbinding hoort bij geen samenwerking",
            )
        })
    }

    /// Sends what the session has pending (one page or batch), or closes a removed key.
    async fn send_pending(&mut self) -> Result<(), Fail> {
        let frames = with_core(&self.ws, |core| {
            self.session.pending(&self.state.rules, core)
        })?;
        for frame in frames {
            if matches!(frame, Message::Pushed { .. }) {
                self.state.metrics.bundles_served.inc();
            }
            self.reply(&frame).await?;
        }
        Ok(())
    }

    /// The frame held back while gathering pushes, or else the next one from the socket.
    async fn next_incoming(&mut self) -> Incoming {
        match self.held.take() {
            Some(held) => held,
            None => self.recv().await,
        }
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

    /// Sends frames in order and flushes the socket once, after the last.
    async fn send_all(&mut self, messages: &[Message]) -> bool {
        for message in messages {
            let bytes = encode_frame(message);
            self.state.metrics.bytes_out.inc_by(bytes.len() as u64);
            if self
                .socket
                .feed(WsMessage::Binary(bytes.into()))
                .await
                .is_err()
            {
                return false;
            }
        }
        self.socket.flush().await.is_ok()
    }

    async fn send_refusal(&mut self, refusal: &Refusal) -> bool {
        self.state.metrics.error(refusal.code);
        if let Some(quota) = refusal.quota {
            self.state.metrics.quota_refused(quota);
        }
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
        match self.session.who() {
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
    async fn check_clocks(&mut self) -> Result<(), Fail> {
        let limits = self.state.admission.limits().clone();
        let timed_out = |refusal: Refusal| {
            self.state.metrics.refused("timed_out");
            Err(Fail::Refused(refusal))
        };
        if let Some(age) = self.ticket.frame_age()
            && age > limits.frame_timeout
        {
            return timed_out(Refusal::new(
                ErrorCode::TimedOut,
                format!(
                    "een bericht kwam niet binnen {} s volledig aan",
                    limits.frame_timeout.as_secs()
                ),
            ));
        }
        let silent = self.last_heard.elapsed();
        if silent > limits.idle_timeout {
            return timed_out(Refusal::new(
                ErrorCode::TimedOut,
                format!(
                    "de verbinding bleef {} s stil",
                    limits.idle_timeout.as_secs()
                ),
            ));
        }
        let limit_ms = i64::try_from(limits.candidate_timeout.as_millis()).unwrap_or(i64::MAX);
        if let Some(refusal) = with_core(&self.ws, |core| {
            self.session.overstayed(core, now(), limit_ms)
        }) {
            return timed_out(refusal);
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

/// The most pushes served together: their signatures are checked in one go on the
/// connection's thread, so a batch is kept short enough not to hold up other connections.
const MAX_BATCH: usize = 64;

/// The size of a push's bundle (0 for any other frame).
fn frame_size(message: &Message) -> usize {
    match message {
        Message::Push { bundle } => bundle.encoded_len(),
        _ => 0,
    }
}

/// The refusal for an action the session cannot ask for at this point.
fn out_of_turn(action: &Action) -> Refusal {
    Refusal::new(
        ErrorCode::Internal,
        format!("de relay kan deze stap nu niet uitvoeren: {action:?}"),
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
