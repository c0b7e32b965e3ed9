//! The HTTP surface: the websocket endpoint, `/healthz` and `/metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::connection;
use crate::state::RelayState;

/// Extra room the websocket layer allows above the frame limit, so that a frame that is too
/// large still arrives and gets a typed `FrameTooLarge` answer instead of a dropped connection.
const OVERSIZE_ROOM: usize = 1024 * 1024;

/// The relay's router.
pub fn app(state: Arc<RelayState>) -> Router {
    Router::new()
        .route("/ws", get(websocket))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn websocket(State(state): State<Arc<RelayState>>, upgrade: WebSocketUpgrade) -> Response {
    if state.is_shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "de relay stopt\n").into_response();
    }
    let max = state.config.max_frame + OVERSIZE_ROOM;
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| connection::serve(socket, state))
}

async fn healthz(State(state): State<Arc<RelayState>>) -> Response {
    if state.is_shutting_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "stopt\n").into_response()
    } else {
        "ok\n".into_response()
    }
}

async fn metrics(State(state): State<Arc<RelayState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.render_metrics(),
    )
        .into_response()
}
