//! Mirroring another relay: copy its sealed bundles and membership log here, and ours there.
//!
//! For every workspace either relay knows, a task connects to the upstream relay with this
//! relay's key (which the upstream must allow with `--allow-mirror`), brings the membership logs
//! level, subscribes to the upstream bundle log and forwards local bundles the upstream lacks.
//! Bundles stay sealed: the mirror checks signatures and membership like any relay, nothing more.
//!
//! The upstream relay must prove its own key, and that key is pinned ([`UpstreamPin`]): given
//! with `--mirror-key`, or the one it proves first (stored, trust on first use). An upstream
//! that proves another key is refused before this relay authenticates, the reason is logged and
//! mirroring stops; a `wss://` upstream's certificate is checked against the system's trust
//! store plus `--mirror-ca FILE`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kompas_engine::sync::membership::SignedOp;
use kompas_engine::sync::wire::{Encoded, Hash32, Message, OrgKey, WorkspaceId};
use tokio::sync::mpsc;

use crate::client::{ClientError, RelayClient};
use crate::protocol::Refusal;
use crate::state::RelayState;
use crate::workspace::Workspace;

/// Why a mirror session ended.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// Talking to the upstream relay failed.
    #[error("upstream: {0}")]
    Upstream(#[from] ClientError),
    /// This relay refused what the upstream sent.
    #[error("lokaal geweigerd: {0}")]
    Local(#[from] Refusal),
    /// This relay's store failed.
    #[error("lokale opslag: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The two membership logs disagree at some position.
    #[error("de lidmaatschapslogboeken van beide relays lopen uiteen bij operatie {0}")]
    Forked(usize),
}

impl MirrorError {
    /// Whether trying again cannot help (the upstream is not the relay whose key is pinned).
    fn is_final(&self) -> bool {
        matches!(self, MirrorError::Upstream(e) if e.is_final())
    }
}

/// The upstream relay's key as this relay trusts it: from `--mirror-key`, from the store, or
/// learnt on the first proven contact and stored from then on.
pub struct UpstreamPin {
    key: Mutex<Option<OrgKey>>,
}

impl UpstreamPin {
    /// The pin in force at start: `--mirror-key` (stored, replacing an older pin) or the
    /// stored one.
    pub fn load(state: &RelayState) -> Result<UpstreamPin, crate::store::StoreError> {
        let key = match state.config.mirror_key {
            Some(given) => {
                if state.store.mirrored_key()? != Some(given) {
                    state.store.pin_mirrored_key(&given)?;
                }
                Some(given)
            }
            None => state.store.mirrored_key()?,
        };
        Ok(UpstreamPin {
            key: Mutex::new(key),
        })
    }

    /// The pinned key, if any.
    fn get(&self) -> Option<OrgKey> {
        *self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pins `found` if nothing is pinned yet; refuses it if another key is.
    fn learn(&self, state: &RelayState, upstream: &str, found: OrgKey) -> Result<(), MirrorError> {
        let mut key = self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match *key {
            Some(pinned) if pinned != found => {
                Err(ClientError::KeyMismatch { pinned, found }.into())
            }
            Some(_) => Ok(()),
            None => {
                state.store.pin_mirrored_key(&found)?;
                *key = Some(found);
                tracing::info!(%upstream, key = %found, "relaysleutel van de gespiegelde relay vastgelegd");
                Ok(())
            }
        }
    }
}

/// Mirrors every workspace this relay knows, and every one asked for later, until shutdown.
pub async fn run(
    state: Arc<RelayState>,
    upstream: String,
    mut requests: mpsc::UnboundedReceiver<WorkspaceId>,
) {
    let pin = match UpstreamPin::load(&state) {
        Ok(pin) => Arc::new(pin),
        Err(e) => {
            tracing::error!(%upstream, error = %e, "spiegelen niet gestart: de vastgelegde relaysleutel is niet te lezen of op te slaan");
            return;
        }
    };
    let mut running = HashSet::new();
    let mut shutdown = state.watch_shutdown();
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let start = |id: WorkspaceId| {
        let (state, upstream, done_tx) = (state.clone(), upstream.clone(), done_tx.clone());
        let pin = pin.clone();
        tokio::spawn(async move {
            mirror_workspace(state, upstream, &pin, id).await;
            let _ = done_tx.send(id);
        });
    };
    for id in state.workspace_ids() {
        running.insert(id);
        start(id);
    }
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            Some(id) = done.recv() => {
                running.remove(&id);
            }
            request = requests.recv() => match request {
                None => return,
                Some(id) => {
                    if running.insert(id) {
                        start(id);
                    }
                }
            }
        }
    }
}

/// Keeps one workspace mirrored, reconnecting with backoff. Ends at shutdown, when neither
/// relay knows the workspace, or when the upstream is not the relay whose key is pinned.
async fn mirror_workspace(
    state: Arc<RelayState>,
    upstream: String,
    pin: &UpstreamPin,
    id: WorkspaceId,
) {
    let mut backoff = Duration::from_millis(100);
    let mut shutdown = state.watch_shutdown();
    while !state.is_shutting_down() {
        match session(&state, &upstream, pin, id).await {
            Ok(Ended::Unknown) => return,
            Ok(Ended::Disconnected) => backoff = Duration::from_millis(100),
            Err(e) if e.is_final() => {
                tracing::error!(workspace = %id, %upstream, reason = %e, "spiegelen gestopt: de gespiegelde relay is niet de relay met de vastgelegde sleutel (geef de juiste sleutel met --mirror-key als de relay echt een nieuwe sleutel heeft)");
                return;
            }
            Err(e) => {
                tracing::warn!(workspace = %id, %upstream, reason = %e, "spiegelen onderbroken");
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
    }
}

/// How a mirror session ended without an error.
enum Ended {
    /// Neither relay knows the workspace.
    Unknown,
    /// The relay is stopping or the session should simply be started again.
    Disconnected,
}

/// One connection to the upstream relay for one workspace, until it ends.
async fn session(
    state: &RelayState,
    upstream: &str,
    pin: &UpstreamPin,
    id: WorkspaceId,
) -> Result<Ended, MirrorError> {
    let pinned = pin.get();
    let mut client =
        RelayClient::open_trusting(upstream, state.config.mirror_ca.as_deref(), "--mirror-ca")
            .await?;
    let welcome = client
        .authenticate_pinned(id, state.signing_key(), pinned)
        .await?;
    if pinned.is_none() {
        pin.learn(state, upstream, welcome.relay)?;
    }
    let levelled = level_membership(state, &mut client, id).await?;
    state.mark_levelled(id);
    let Some(ws) = levelled else {
        return Ok(Ended::Unknown);
    };
    let down_cursor = format!("mirror-down/{id}");
    let up_cursor = format!("mirror-up/{id}");
    let mut after = state.store.cursor(&down_cursor)?;
    client.send(&Message::Subscribe { after }).await?;
    let mut up = state.store.cursor(&up_cursor)?;
    let mut upstream_ops = ws.with_members(|m| m.len());
    let mut in_flight: Option<InFlight> = None;
    let mut from_upstream: HashSet<Hash32> = HashSet::new();
    let mut local_head = ws.watch_head();
    let mut local_members = ws.watch_members();
    let mut shutdown = state.watch_shutdown();
    loop {
        // One request upstream at a time, membership first: a new member's redeem must reach
        // upstream before the bundles it signs.
        if in_flight.is_none() {
            if upstream_ops < ws.with_members(|m| m.len()) {
                if let Some(op) = ws.op_at(upstream_ops)? {
                    in_flight = Some(InFlight::Op);
                    client.send(&Message::MembershipAppend { op }).await?;
                }
            } else if up < ws.head()
                && let Some(item) = ws.range(up, 1, usize::MAX)?.into_iter().next()
            {
                if from_upstream.remove(&item.bundle.hash()) {
                    up = item.seq;
                    state.store.set_cursor(&up_cursor, up)?;
                    continue;
                }
                in_flight = Some(InFlight::Bundle(item.seq));
                client
                    .send(&Message::Push {
                        bundle: item.bundle,
                    })
                    .await?;
            }
        }
        tokio::select! {
            _ = shutdown.changed() => return Ok(Ended::Disconnected),
            _ = local_head.changed() => {}
            _ = local_members.changed() => {}
            message = client.recv() => match message? {
                Message::Pushed { item } => {
                    let hash = item.bundle.hash();
                    let stored = ws.push(&state.store, &item.bundle).await?;
                    if !stored.duplicate {
                        from_upstream.insert(hash);
                    }
                    after = item.seq;
                    state.store.set_cursor(&down_cursor, after)?;
                }
                Message::Ack { .. } => {
                    if let Some(InFlight::Bundle(seq)) = in_flight.take() {
                        up = seq;
                        state.store.set_cursor(&up_cursor, up)?;
                    }
                }
                Message::MembershipAck { index, .. } => {
                    in_flight = None;
                    upstream_ops = upstream_ops.max(index + 1);
                }
                Message::MembershipOps { start, ops } => {
                    upstream_ops = upstream_ops.max(start + ops.len() as u64);
                    append_missing(state, &ws, start, &ops).await?;
                }
                Message::Error { code, message } => match in_flight.take() {
                    // Upstream refuses this bundle for good (e.g. its author was removed
                    // there): skip it rather than retry it forever.
                    Some(InFlight::Bundle(seq)) if !code.is_transient() => {
                        tracing::warn!(workspace = %id, %upstream, seq, reason = %message, "wijziging door de gespiegelde relay geweigerd; overgeslagen");
                        up = seq;
                        state.store.set_cursor(&up_cursor, up)?;
                    }
                    _ => return Err(ClientError::Refused { code, message }.into()),
                },
                other => return Err(ClientError::Unexpected(other.name()).into()),
            }
        }
    }
}

/// The one request a mirror session has outstanding upstream.
enum InFlight {
    /// A local bundle with this sequence number.
    Bundle(u64),
    /// A local membership operation.
    Op,
}

/// Brings both membership logs to the same length (they must agree on their common part), and
/// returns the local workspace once it exists.
async fn level_membership(
    state: &RelayState,
    client: &mut RelayClient,
    id: WorkspaceId,
) -> Result<Option<Arc<Workspace>>, MirrorError> {
    let remote = client.membership(0).await?;
    let local = match state.workspace(&id) {
        Some(ws) => ws.log()?,
        None => Vec::new(),
    };
    if let Some(i) = (0..remote.len().min(local.len())).find(|&i| remote[i] != local[i]) {
        return Err(MirrorError::Forked(i));
    }
    for op in local.iter().skip(remote.len()) {
        client.append(op.clone()).await?;
    }
    let mut ws = state.workspace(&id);
    for op in remote.iter().skip(local.len()) {
        ws = Some(match ws {
            None => state.create_workspace(op, None).await?.0,
            Some(ws) => {
                ws.append_op(&state.store, op, None).await?;
                ws
            }
        });
    }
    Ok(ws)
}

/// Appends the operations of a `MembershipOps` push that this relay does not have yet.
async fn append_missing(
    state: &RelayState,
    ws: &Workspace,
    start: u64,
    ops: &[SignedOp],
) -> Result<(), MirrorError> {
    for (index, op) in (start..).zip(ops) {
        match ws.op_at(index)? {
            Some(mine) if mine.to_bytes() == op.to_bytes() => {}
            Some(_) => return Err(MirrorError::Forked(index as usize)),
            None => {
                ws.append_op(&state.store, op, None).await?;
            }
        }
    }
    Ok(())
}
