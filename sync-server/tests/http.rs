//! The relay's HTTP surface without a socket: `/healthz`, `/metrics` and the websocket route.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kompas_relay::{RelayConfig, RelayState, app};
use tower::ServiceExt;

async fn get(state: &std::sync::Arc<RelayState>, path: &str) -> (StatusCode, String, String) {
    let response = app(state.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn health_and_metrics_answer_and_health_turns_unavailable_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let state = RelayState::open(RelayConfig::new(dir.path().to_path_buf()), [1; 32]).unwrap();
    assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
    let (status, kind, text) = get(&state, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    for name in [
        "kompas_relay_connections_open 0",
        "kompas_relay_bundles_stored_total 0",
        "kompas_relay_bundles_served_total 0",
        "kompas_relay_received_bytes_total 0",
        "# TYPE kompas_relay_ack_seconds histogram",
        "kompas_relay_quota_limit{quota=\"workspace_bytes\"} 4294967296",
        "kompas_relay_storage_fault 0",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    // A Prometheus text parser reads it, histograms included.
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    for histogram in ["kompas_relay_ack_seconds", "kompas_relay_pull_seconds"] {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == histogram)
            .unwrap_or_else(|| panic!("{histogram} missing from\n{text}"));
        assert!(
            matches!(&sample.value, prometheus_parse::Value::Histogram(buckets) if buckets.len() >= 10),
            "{sample:?}"
        );
    }
    // A plain GET on the websocket route is refused, not served.
    assert!(get(&state, "/ws").await.0.is_client_error());
    // A storage fault turns both health endpoints unavailable until a flush works again.
    state
        .store
        .as_sled()
        .expect("a sled relay")
        .inject_fault(true);
    assert!(state.store.flush().await.is_err());
    let (status, _, text) = get(&state, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(text.starts_with("opslagfout"), "{text}");
    assert_eq!(
        get(&state, "/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(
        get(&state, "/metrics")
            .await
            .2
            .contains("kompas_relay_storage_fault 1")
    );
    state
        .store
        .as_sled()
        .expect("a sled relay")
        .inject_fault(false);
    state.store.flush().await.unwrap();
    assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
    state.shut_down();
    assert_eq!(
        get(&state, "/healthz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn the_relay_key_is_created_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = RelayConfig::new(dir.path().to_path_buf());
    let first = RelayState::open(config.clone(), [1; 32])
        .unwrap()
        .relay_key();
    let again = RelayState::open(config, [2; 32]).unwrap().relay_key();
    assert_eq!(first, again);
}
