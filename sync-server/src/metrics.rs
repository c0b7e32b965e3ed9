//! What the relay exposes at `/metrics`, in the OpenMetrics text format (which Prometheus
//! reads), through the `prometheus-client` crate: counters, gauges, the quotas in force and
//! latency histograms for acknowledgements and pulls.

use std::time::Duration;

use kompas_engine::sync::wire::ErrorCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::admission::{Census, Refused};
use crate::config::Quotas;

/// The media type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QuotaLabel {
    quota: &'static str,
}

/// The relay's metrics.
pub struct Metrics {
    registry: Registry,
    /// Websocket connections open now.
    pub connections_open: Gauge,
    /// Websocket connections accepted since start.
    pub connections_total: Counter,
    /// Bundles stored (new, not duplicates).
    pub bundles_stored: Counter,
    /// Bundles pushed again that were stored already.
    pub bundles_duplicate: Counter,
    /// Bundles sent to clients (pull answers and subscriptions).
    pub bundles_served: Counter,
    /// Membership operations stored.
    pub membership_ops: Counter,
    /// Frame bytes received.
    pub bytes_in: Counter,
    /// Frame bytes sent.
    pub bytes_out: Counter,
    errors: Family<CodeLabel, Counter>,
    refused_connections: Family<ReasonLabel, Counter>,
    quota_refusals: Family<QuotaLabel, Counter>,
    ack_seconds: Histogram,
    pull_seconds: Histogram,
    workspaces: Gauge,
    disk_bytes: Gauge,
    tcp_connections: Gauge,
    unvetted: Gauge,
    buffered_bytes: Gauge,
    storage_fault: Gauge,
}

impl Metrics {
    /// Registers every metric, with the quotas in force as gauges.
    pub fn new(quotas: &Quotas) -> Metrics {
        let mut registry = Registry::with_prefix("kompas_relay");
        let m = Metrics {
            connections_open: Gauge::default(),
            connections_total: Counter::default(),
            bundles_stored: Counter::default(),
            bundles_duplicate: Counter::default(),
            bundles_served: Counter::default(),
            membership_ops: Counter::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            errors: Family::default(),
            refused_connections: Family::default(),
            quota_refusals: Family::default(),
            // From 0.5 ms to about 16 s.
            ack_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            pull_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            workspaces: Gauge::default(),
            disk_bytes: Gauge::default(),
            tcp_connections: Gauge::default(),
            unvetted: Gauge::default(),
            buffered_bytes: Gauge::default(),
            storage_fault: Gauge::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "connections_open",
            "Websocket connections open now",
            m.connections_open.clone(),
        );
        r.register(
            "connections",
            "Websocket connections accepted",
            m.connections_total.clone(),
        );
        r.register(
            "tcp_connections",
            "TCP connections held, in every phase",
            m.tcp_connections.clone(),
        );
        r.register(
            "unvetted_connections",
            "Connections that are not (yet) a member's",
            m.unvetted.clone(),
        );
        r.register(
            "buffered_bytes",
            "Bytes of frames still arriving, over all connections",
            m.buffered_bytes.clone(),
        );
        r.register(
            "refused_connections",
            "Connections refused or closed by a limit, by reason",
            m.refused_connections.clone(),
        );
        r.register(
            "bundles_stored",
            "Sealed bundles stored",
            m.bundles_stored.clone(),
        );
        r.register(
            "bundles_duplicate",
            "Sealed bundles received that were stored already",
            m.bundles_duplicate.clone(),
        );
        r.register(
            "bundles_served",
            "Sealed bundles sent to clients",
            m.bundles_served.clone(),
        );
        r.register(
            "membership_ops",
            "Membership operations stored",
            m.membership_ops.clone(),
        );
        r.register("received_bytes", "Frame bytes received", m.bytes_in.clone());
        r.register("sent_bytes", "Frame bytes sent", m.bytes_out.clone());
        r.register("errors", "Error frames sent, by code", m.errors.clone());
        r.register(
            "quota_refusals",
            "Requests refused by a quota, by quota",
            m.quota_refusals.clone(),
        );
        r.register(
            "ack_seconds",
            "Time from a push arriving to its durable acknowledgement",
            m.ack_seconds.clone(),
        );
        r.register(
            "pull_seconds",
            "Time to answer a pull",
            m.pull_seconds.clone(),
        );
        r.register("workspaces", "Workspaces known", m.workspaces.clone());
        r.register(
            "disk_bytes",
            "Bytes the store takes on disk",
            m.disk_bytes.clone(),
        );
        r.register(
            "storage_fault",
            "1 while the last write to the store failed",
            m.storage_fault.clone(),
        );
        let limits: Family<QuotaLabel, Gauge> = Family::default();
        for (quota, value) in quotas.named() {
            limits
                .get_or_create(&QuotaLabel { quota })
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        r.register("quota_limit", "Quotas in force (0: no limit)", limits);
        Metrics { registry, ..m }
    }

    /// Counts an error frame sent.
    pub fn error(&self, code: ErrorCode) {
        self.errors
            .get_or_create(&CodeLabel { code: code.name() })
            .inc();
    }

    /// How many error frames with this code were sent.
    pub fn errors_of(&self, code: ErrorCode) -> u64 {
        self.errors
            .get_or_create(&CodeLabel { code: code.name() })
            .get()
    }

    /// Counts a connection refused at the door.
    pub fn connection_refused(&self, refused: &Refused) {
        let reason = match refused {
            Refused::Full(_) => "full",
            Refused::PerIp { .. } => "per_ip",
            Refused::PerKey { .. } => "per_key",
        };
        self.refused(reason);
    }

    /// Counts a connection closed by a limit (`evicted`, `buffer`, `timed_out`, ...).
    pub fn refused(&self, reason: &'static str) {
        self.refused_connections
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// Counts a moment the system had no file descriptors left for a new connection.
    pub fn files_exhausted(&self) {
        self.refused("files_exhausted");
    }

    /// Counts a request refused by a quota.
    pub fn quota_refused(&self, quota: &'static str) {
        self.quota_refusals
            .get_or_create(&QuotaLabel { quota })
            .inc();
    }

    /// Records how long an acknowledgement took.
    pub fn ack_took(&self, took: Duration) {
        self.ack_seconds.observe(took.as_secs_f64());
    }

    /// Records how long a pull took.
    pub fn pull_took(&self, took: Duration) {
        self.pull_seconds.observe(took.as_secs_f64());
    }

    /// The text exposition, with the gauges that are read when asked.
    pub fn render(
        &self,
        workspaces: usize,
        disk_bytes: u64,
        census: Census,
        fault: bool,
    ) -> String {
        let gauge = |g: &Gauge, v: u64| g.set(i64::try_from(v).unwrap_or(i64::MAX));
        gauge(&self.workspaces, workspaces as u64);
        gauge(&self.disk_bytes, disk_bytes);
        gauge(&self.tcp_connections, census.total as u64);
        gauge(&self.unvetted, census.unvetted as u64);
        gauge(&self.buffered_bytes, census.buffered as u64);
        gauge(&self.storage_fault, u64::from(fault));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
