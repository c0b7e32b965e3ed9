//! The HTTP surface: the websocket endpoint, `/healthz`, `/readyz` and `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::admission::Ticket;
use crate::connection;
use crate::metrics::CONTENT_TYPE;
use crate::state::RelayState;

/// Extra room the websocket layer allows above the frame limit, so that a frame that is too
/// large still arrives and gets a typed `FrameTooLarge` answer instead of a dropped connection.
const OVERSIZE_ROOM: usize = 1024 * 1024;

/// The relay's router.
pub fn app(state: Arc<RelayState>) -> Router {
    Router::new()
        .route("/ws", get(websocket))
        .route("/healthz", get(healthz))
        .route("/readyz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn websocket(
    State(state): State<Arc<RelayState>>,
    ticket: Option<Extension<Ticket>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if state.is_shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "de relay stopt\n").into_response();
    }
    // `server::serve` admits every connection before its request arrives; a router used
    // without it (as in tests through `oneshot`) admits the websocket here.
    let ticket = match ticket {
        Some(Extension(ticket)) => ticket,
        None => match state
            .admission
            .admit(std::net::Ipv4Addr::UNSPECIFIED.into())
        {
            Ok(ticket) => ticket,
            Err(refused) => {
                return (StatusCode::SERVICE_UNAVAILABLE, format!("{refused}\n")).into_response();
            }
        },
    };
    let max = state.config.max_frame + OVERSIZE_ROOM;
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| connection::serve(socket, state, ticket))
}

/// `ok`, or 503 with the reason while the relay stops or its storage fails: a relay that
/// cannot store must not look healthy to the operator or a load balancer.
async fn healthz(State(state): State<Arc<RelayState>>) -> Response {
    if state.is_shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "stopt\n").into_response()
    } else if let Some(fault) = state.store.fault() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("opslagfout: {fault}\n"),
        )
            .into_response()
    } else {
        "ok\n".into_response()
    }
}

async fn metrics(State(state): State<Arc<RelayState>>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.render_metrics(),
    )
        .into_response()
}
