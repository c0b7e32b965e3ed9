//! What every request of the web app can reach: the lent data directory, the login token and
//! sessions, the live-update channel and what the sync thread last saw of each relay.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kompas_engine::Timestamp;
use kompas_engine::sync::replication::Report;
use tokio::sync::broadcast;

use super::error::AppError;
use crate::commands::sync::WatchHost;
use crate::context::{Opened, now};
use crate::lending::Lending;

/// How long a request waits while another kompas command has the data directory.
const PATIENCE: Duration = Duration::from_secs(20);
/// How many live events a slow page may fall behind before it is told to reload.
const LIVE_BACKLOG: usize = 256;

/// The shared state of the web app; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    lending: Arc<Lending>,
    token: String,
    port: u16,
    sessions: Mutex<HashMap<String, Session>>,
    live: broadcast::Sender<LiveEvent>,
    relays: Mutex<BTreeMap<String, RelaySeen>>,
}

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token every form of this session carries.
    pub csrf: String,
}

/// Something changed that open pages should show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveEvent {
    /// The document that changed, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The organisation that changed it, by name.
    pub org: String,
}

/// What the sync thread last saw of a relay.
#[derive(Debug, Clone, Default)]
pub struct RelaySeen {
    /// Whether a connection is open.
    pub connected: bool,
    /// When the relay last answered.
    pub last_contact: Option<Timestamp>,
    /// The last problem it reported.
    pub problem: Option<String>,
}

impl AppState {
    /// The state for a server on `port` that lets in whoever shows `token`.
    pub fn new(lending: Arc<Lending>, token: String, port: u16) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                lending,
                token,
                port,
                sessions: Mutex::new(HashMap::new()),
                live: broadcast::channel(LIVE_BACKLOG).0,
                relays: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// The login token.
    pub fn token(&self) -> &str {
        &self.inner.token
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// Runs `work` on the opened data directory on a blocking thread, waiting while another
    /// kompas command has borrowed it.
    pub async fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Opened) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let lending = self.inner.lending.clone();
        tokio::task::spawn_blocking(move || {
            let opened = lending.get(PATIENCE).ok_or(AppError::Busy)?;
            work(&opened)
        })
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("taak afgebroken: {e}")))?
    }

    /// Starts a session and returns its id.
    pub fn new_session(&self, id: String, csrf: String) {
        lock(&self.inner.sessions).insert(id, Session { csrf });
    }

    /// The session with this id.
    pub fn session(&self, id: &str) -> Option<Session> {
        lock(&self.inner.sessions).get(id).cloned()
    }

    /// Tells open pages that something changed.
    pub fn changed(&self, event: LiveEvent) {
        // Nobody listening is fine.
        let _ = self.inner.live.send(event);
    }

    /// A receiver of live events.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.inner.live.subscribe()
    }

    /// What the sync thread last saw of each relay.
    pub fn relays_seen(&self) -> BTreeMap<String, RelaySeen> {
        lock(&self.inner.relays).clone()
    }

    /// The name the cookie of this server's session has: the port is part of it, since
    /// browsers share cookies between the ports of one host.
    pub fn cookie_name(&self) -> String {
        format!("kompas_sessie_{}", self.inner.port)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain maps, each change a single insert: a panic elsewhere cannot leave one half-written.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The web app as host of the watching sync: every report updates what the overview shows of
/// the relays, and every applied change goes to the open pages.
pub struct SyncHost {
    /// The state the reports go to.
    pub state: AppState,
    /// Organisation names by id, for live events.
    pub names: Box<dyn Fn(&str) -> String + Send>,
}

impl WatchHost for SyncHost {
    fn report(&mut self, report: &Report) {
        let inner = &self.state.inner;
        let seen = |relay: &str, f: &dyn Fn(&mut RelaySeen)| {
            let mut relays = lock(&inner.relays);
            f(relays.entry(relay.to_string()).or_default());
        };
        match report {
            Report::Connected { relay } => seen(relay, &|r| {
                r.connected = true;
                r.last_contact = Some(now());
                r.problem = None;
            }),
            Report::Stored { relay, .. } | Report::Done { relay, .. } => {
                seen(relay, &|r| r.last_contact = Some(now()))
            }
            Report::Applied { relay, doc, author } => {
                seen(relay, &|r| r.last_contact = Some(now()));
                self.state.changed(LiveEvent {
                    doc: Some(doc.to_string()),
                    org: (self.names)(author),
                });
            }
            Report::Disconnected { relay, reason, .. } => seen(relay, &|r| {
                r.connected = false;
                r.problem = Some(reason.clone());
            }),
            Report::RelayError { relay, message, .. } => {
                seen(relay, &|r| r.problem = Some(message.clone()))
            }
            Report::GaveUp { relay } => seen(relay, &|r| r.connected = false),
            Report::MembersChanged { .. } => self.state.changed(LiveEvent {
                doc: None,
                org: String::new(),
            }),
            _ => {}
        }
    }

    fn returned(&mut self) {
        self.state.changed(LiveEvent {
            doc: None,
            org: String::new(),
        });
    }
}
