//! Running a relay: accept connections under the admission limits, serve the router on each
//! with a header-read timeout, mirror if asked, stop gracefully.
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
use tokio::sync::mpsc;
use tower::ServiceExt as _;

use crate::app::app;
use crate::metered::Metered;
use crate::mirror;
use crate::state::RelayState;

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
    let router = app(state.clone());
    let exhausted = AtomicU64::new(0);
    tokio::pin!(signal);
    loop {
        tokio::select! {
            () = &mut signal => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => accept(stream, peer, &state, &router),
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

/// Admits a connection and serves HTTP on it in its own task.
fn accept(stream: TcpStream, peer: SocketAddr, state: &Arc<RelayState>, router: &Router) {
    let ticket = match state.admission.admit(peer.ip()) {
        Ok(ticket) => ticket,
        Err(refused) => {
            state.metrics.connection_refused(&refused);
            tracing::info!(peer = %peer, reason = %refused, "verbinding geweigerd");
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(Metered::new(stream, ticket.clone()));
    let tagged = ticket.clone();
    let service = router
        .clone()
        .map_request(move |mut request: hyper::Request<Incoming>| {
            // The request's headers are complete: on a kept-alive connection (a metrics
            // scraper), each request starts its own count.
            tagged.consumed();
            request.extensions_mut().insert(tagged.clone());
            request
        });
    let header_timeout = state.config.limits.header_timeout;
    tokio::spawn(async move {
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(64 * 1024);
        let conn = http
            .serve_connection(io, TowerToHyperService::new(service))
            .with_upgrades();
        tokio::select! {
            _ = conn => {}
            cut = ticket.cut() => tracing::debug!(peer = %peer, ?cut, "http-verbinding afgebroken"),
        }
    });
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
