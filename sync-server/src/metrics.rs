//! Counters the relay exposes at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use kompas_engine::sync::wire::ErrorCode;

/// The relay's counters. All are monotonic except `connections_open`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Websocket connections open now.
    pub connections_open: AtomicU64,
    /// Websocket connections accepted since start.
    pub connections_total: AtomicU64,
    /// Bundles stored (new, not duplicates).
    pub bundles_stored: AtomicU64,
    /// Bundles pushed again that were stored already.
    pub bundles_duplicate: AtomicU64,
    /// Bundles sent to clients (pull answers and subscriptions).
    pub bundles_served: AtomicU64,
    /// Membership operations stored.
    pub membership_ops: AtomicU64,
    /// Frame bytes received.
    pub bytes_in: AtomicU64,
    /// Frame bytes sent.
    pub bytes_out: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts an error frame sent.
    pub fn error(&self, code: ErrorCode) {
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(code.name()).or_default() += 1;
        }
    }

    /// How many error frames with this code were sent.
    pub fn errors_of(&self, code: ErrorCode) -> u64 {
        self.errors
            .lock()
            .map(|e| e.get(code.name()).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// The Prometheus text exposition.
    pub fn render(&self, workspaces: usize, disk_bytes: u64) -> String {
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, kind: &str, value: u64| {
            let _ = writeln!(out, "# HELP kompas_relay_{name} {help}");
            let _ = writeln!(out, "# TYPE kompas_relay_{name} {kind}");
            let _ = writeln!(out, "kompas_relay_{name} {value}");
        };
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        gauge(
            "connections_open",
            "Websocket connections open now.",
            "gauge",
            load(&self.connections_open),
        );
        gauge(
            "connections_total",
            "Websocket connections accepted.",
            "counter",
            load(&self.connections_total),
        );
        gauge(
            "bundles_stored_total",
            "Sealed bundles stored.",
            "counter",
            load(&self.bundles_stored),
        );
        gauge(
            "bundles_duplicate_total",
            "Sealed bundles received that were stored already.",
            "counter",
            load(&self.bundles_duplicate),
        );
        gauge(
            "bundles_served_total",
            "Sealed bundles sent to clients.",
            "counter",
            load(&self.bundles_served),
        );
        gauge(
            "membership_ops_total",
            "Membership operations stored.",
            "counter",
            load(&self.membership_ops),
        );
        gauge(
            "received_bytes_total",
            "Frame bytes received.",
            "counter",
            load(&self.bytes_in),
        );
        gauge(
            "sent_bytes_total",
            "Frame bytes sent.",
            "counter",
            load(&self.bytes_out),
        );
        gauge(
            "workspaces",
            "Workspaces known.",
            "gauge",
            workspaces as u64,
        );
        gauge(
            "disk_bytes",
            "Bytes the store takes on disk.",
            "gauge",
            disk_bytes,
        );
        let _ = writeln!(
            out,
            "# HELP kompas_relay_errors_total Error frames sent, by code."
        );
        let _ = writeln!(out, "# TYPE kompas_relay_errors_total counter");
        if let Ok(errors) = self.errors.lock() {
            for (code, n) in errors.iter() {
                let _ = writeln!(out, "kompas_relay_errors_total{{code=\"{code}\"}} {n}");
            }
        }
        out
    }
}
