//! Running a relay: accept connections under the admission limits, terminate TLS on them if
//! configured, serve the router on each with a header-read timeout, mirror if asked, follow the
//! other nodes' writes to a shared store, stop gracefully.
//!
//! The accept loop is ours rather than `axum::serve` because the relay must count a connection
//! from its first byte (half-open and unauthenticated connections count against the limits),
//! bound how long request headers may take, and shed the oldest unvetted connection when the
//! system runs out of file descriptors; hyper's connection builder does the HTTP.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt as _;

use crate::admission::Ticket;
use crate::app::app;
use crate::backend::Backend;
use crate::metered::Metered;
use crate::mirror;
use crate::postgres::Heads;
use crate::postgres::listen::{Follower, follow};
use crate::protocol::Marks;
use crate::protocol::quota::MinuteUsage;
use crate::state::RelayState;
use crate::store::RelayStore;
use crate::tls::Terminator;

/// How long open connections get to close after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves until `signal` completes, then tells every connection the relay stops, waits for them
/// (at most a few seconds) and flushes the store (at most the flush timeout: a store that cannot
/// flush must not keep the relay from stopping; what it acknowledged was flushed before).
pub async fn serve(
    listener: TcpListener,
    state: Arc<RelayState>,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Some(upstream) = state.config.mirror.clone() {
        let (tx, rx) = mpsc::unbounded_channel();
        state.set_mirror_requests(tx);
        tokio::spawn(mirror::run(state.clone(), upstream, rx));
    }
    // A certificate that does not load fails here, before anything is served.
    let tls = match state.config.tls.as_deref() {
        Some(files) => Some(Terminator::start(files.clone()).map_err(std::io::Error::other)?),
        None => None,
    };
    match state.store.clone() {
        Backend::Sled(store) => {
            tokio::spawn(watch_free_space(store, state.watch_shutdown()));
        }
        Backend::Postgres(store) => {
            // The follower reads the database on the store's runtime and hands what it finds
            // to a task here, which catches the workspaces up (under their locks).
            let (tx, mut rx) = mpsc::channel(4096);
            store.spawn(follow(
                store.clone(),
                state.watch_shutdown(),
                Node {
                    // Weak: the follower runs on the store's runtime, which the state owns.
                    state: Arc::downgrade(&state),
                    heads: tx,
                },
            ));
            let follower = state.clone();
            tokio::spawn(async move {
                while let Some(heads) = rx.recv().await {
                    follower.observe(heads);
                }
            });
        }
    }
    let router = app(state.clone());
    let exhausted = AtomicU64::new(0);
    tokio::pin!(signal);
    loop {
        tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => accept(stream, peer, &state, &router, tls.as_ref()),
                Err(e) => accept_failed(&e, &state, &exhausted).await,
            },
        }
    }
    drop(listener);
    state.shut_down();
    state.admission.shed_all_unvetted();
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while state.admission.census().total > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let limit = state.config.limits.flush_timeout;
    match tokio::time::timeout(limit, state.store.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(_) => Err(std::io::Error::other(format!(
            "de opslag kon niet binnen {} s worden weggeschreven",
            limit.as_secs()
        ))),
    }
}

/// Looks at the free space of the data directory's file system every half second until
/// shutdown, so that `/healthz` and `/readyz` report a full disk, and stop reporting it once
/// there is room again, also while nobody writes.
async fn watch_free_space(store: RelayStore, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                let _ = store.check_space();
            }
        }
    }
}

/// Admits a connection and serves HTTP on it (after the TLS handshake, with `tls`) in its own
/// task. The bytes are counted below TLS, so the admission limits hold for encrypted
/// connections alike.
fn accept(
    stream: TcpStream,
    peer: SocketAddr,
    state: &Arc<RelayState>,
    router: &Router,
    tls: Option<&Arc<Terminator>>,
) {
    let ticket = match state.admission.admit(peer.ip()) {
        Ok(ticket) => ticket,
        Err(refused) => {
            state.metrics.connection_refused(&refused);
            tracing::info!(peer = %peer, reason = %refused, "verbinding geweigerd");
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let metered = Metered::new(stream, ticket.clone());
    let router = router.clone();
    let header_timeout = state.config.limits.header_timeout;
    let tls = tls.cloned();
    tokio::spawn(async move {
        let work = async {
            match tls {
                Some(tls) => {
                    if let Some(encrypted) = tls.handshake(metered).await {
                        serve_http(TokioIo::new(encrypted), router, &ticket, header_timeout).await;
                    }
                }
                None => serve_http(TokioIo::new(metered), router, &ticket, header_timeout).await,
            }
        };
        tokio::select! {
            () = work => {}
            cut = ticket.cut() => tracing::debug!(peer = %peer, ?cut, "http-verbinding afgebroken"),
        }
    });
}

/// Serves HTTP/1.1 (and websocket upgrades) on one connection, its ticket in every request.
async fn serve_http<I>(io: I, router: Router, ticket: &Ticket, header_timeout: Duration)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let tagged = ticket.clone();
    let service = router.map_request(move |mut request: hyper::Request<Incoming>| {
        // The request's headers are complete: on a kept-alive connection (a metrics scraper),
        // each request starts its own count.
        tagged.consumed();
        request.extensions_mut().insert(tagged.clone());
        request
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(64 * 1024);
    let _ = http
        .serve_connection(io, TowerToHyperService::new(service))
        .with_upgrades()
        .await;
}

/// The system refused to hand over a new connection. Out of file descriptors, the oldest
/// unvetted connection is closed so that members can still get in; either way the loop pauses
/// briefly instead of spinning.
async fn accept_failed(e: &std::io::Error, state: &RelayState, logged: &AtomicU64) {
    let out_of_files = matches!(e.raw_os_error(), Some(23 | 24)); // ENFILE, EMFILE
    if out_of_files {
        state.admission.shed_unvetted();
        state.metrics.files_exhausted();
    }
    // One line per second at most, so a flood does not fill the log.
    let second = crate::state::now().0 / 1000;
    if logged.swap(second as u64, Ordering::Relaxed) != second as u64 {
        if out_of_files {
            tracing::warn!(error = %e, "geen bestandsdescriptors meer vrij; de oudste verbinding zonder lidmaatschap wordt gesloten");
        } else {
            tracing::warn!(error = %e, "kan geen verbinding aannemen");
        }
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// A node as the follower of its database sees it.
struct Node {
    state: std::sync::Weak<RelayState>,
    /// Heads go to a task on the server's runtime, which catches workspaces up under their
    /// locks; the follower's own runtime must not wait for those.
    heads: mpsc::Sender<Heads>,
}

impl Follower for Node {
    fn moved(&self, heads: Heads) {
        // A full channel drops them: the next sweep reads every workspace's heads again.
        let _ = self.heads.try_send(heads);
    }

    fn marked(&self, marks: Marks) {
        if let Some(state) = self.state.upgrade() {
            state.rules.set_marks(marks);
        }
    }

    fn usage(&self) -> MinuteUsage {
        self.state
            .upgrade()
            .map(|state| state.rules.quotas.usage(crate::state::now()))
            .unwrap_or_default()
    }

    fn others_used(&self, others: MinuteUsage) {
        if let Some(state) = self.state.upgrade() {
            state.rules.quotas.others_used(others);
        }
    }
}
