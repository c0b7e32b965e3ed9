//! Live updates: server-sent events telling open pages that something changed, so they can
//! show it without a reload (the script `assets/kompas.js` does the showing).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::state::AppState;

/// `GET /live`: one `wijziging` event per change in the samenwerking the session chose, as JSON
/// `{doc, org}`.
pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(state.subscribe(), |mut feed| async move {
        let event = match feed.next().await {
            Ok(change) => Event::default()
                .event("wijziging")
                .json_data(&change)
                .unwrap_or_else(|_| Event::default().event("wijziging").data("{}")),
            // Fell behind: an empty event makes the page fetch what it shows anew.
            Err(RecvError::Lagged(_)) => Event::default().event("wijziging").data("{}"),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), feed))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
