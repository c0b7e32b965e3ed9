//! Running a relay: serve the router on a listener, mirror if asked, stop gracefully.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::app::app;
use crate::mirror;
use crate::state::RelayState;
use crate::tls::TlsListener;

/// How long open connections get to close after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves until `signal` completes, then tells every connection the relay stops, waits for them
/// (at most a few seconds) and flushes the store. With `config.tls` the relay speaks TLS on the
/// listener (`wss://`); a certificate that does not load fails here, before anything is served.
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
    let stopping = state.clone();
    let signal = async move {
        signal.await;
        stopping.shut_down();
    };
    match state.config.tls.clone() {
        Some(files) => {
            let listener =
                TlsListener::new(listener, (*files).clone()).map_err(std::io::Error::other)?;
            axum::serve(listener, app(state.clone()))
                .with_graceful_shutdown(signal)
                .await?
        }
        None => {
            axum::serve(listener, app(state.clone()))
                .with_graceful_shutdown(signal)
                .await?
        }
    }
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while state.metrics.connections_open.load(Ordering::Relaxed) > 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    state.store.flush().await.map_err(std::io::Error::other)?;
    Ok(())
}
