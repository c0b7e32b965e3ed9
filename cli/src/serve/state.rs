//! What every request of the web app can reach: the lent data directory, the login token and
//! sessions, the live-update channel and what the sync thread last saw of each relay.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kompas_engine::published::PUBLISHED_KIND;
use kompas_engine::sync::replication::{Machine, Report, known_members};
use kompas_engine::{DocId, Replica, SledStore, Timestamp};
use tokio::sync::broadcast;

use super::error::AppError;
use crate::commands::sync::WatchHost;
use crate::context::{Opened, now};
use crate::lending::Lending;
use crate::machine_work::MachineWork;

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
    work: Arc<MachineWork<SledStore>>,
    uploads: super::uploads::Uploads,
    /// Raised when a published definition changed: the sync thread reads the definitions in
    /// force again.
    reload: Arc<AtomicBool>,
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
                work: Arc::default(),
                uploads: Default::default(),
                reload: Arc::default(),
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

    /// Runs `work` on the running sync's own machine, between two of its events, waiting while
    /// another kompas command has borrowed the data directory. What `work` signs is sent to
    /// the relays right after.
    pub async fn with_machine<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Replica<SledStore>, &mut Machine) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.inner.work.submit(Box::new(move |replica, machine| {
            let result = match machine {
                Some(machine) => work(replica, machine),
                None => Err(AppError::Refused(
                    "Deze organisatie hoort nog niet bij een samenwerking.".into(),
                )),
            };
            // The request may have given up waiting; then nobody needs the answer.
            let _ = tx.send(result);
        }));
        match tokio::time::timeout(PATIENCE, rx).await {
            Ok(Ok(result)) => result,
            // Stopped, or busy too long: the task may still run, which is what was asked.
            Ok(Err(_)) | Err(_) => Err(AppError::Busy),
        }
    }

    /// The queue of tasks for the sync machine.
    pub fn machine_work(&self) -> Arc<MachineWork<SledStore>> {
        self.inner.work.clone()
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

    /// Asks the sync thread to read the definitions in force again (a published definition
    /// changed here or arrived from a partner).
    pub fn definitions_changed(&self) {
        self.inner.reload.store(true, Ordering::SeqCst);
    }

    /// The uploaded files waiting for their confirmation.
    pub fn uploads(&self) -> &super::uploads::Uploads {
        &self.inner.uploads
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
/// the relays, every applied change goes to the open pages, and a published definition that
/// arrives has the definitions in force read again.
pub struct SyncHost {
    /// The state the reports go to.
    state: AppState,
    /// The data directory the sync thread keeps in the slot.
    lending: Arc<Lending>,
}

impl SyncHost {
    /// The host for the web app with `state`, whose sync keeps its directory in `lending`.
    pub fn new(state: AppState, lending: Arc<Lending>) -> SyncHost {
        SyncHost { state, lending }
    }

    /// The name of the organisation `org_id` in the member list, or the id if it is not known.
    fn org_name(&self, org_id: &str) -> String {
        self.lending
            .get(Duration::ZERO)
            .and_then(|opened| known_members(opened.replica.store()).ok().flatten())
            .and_then(|set| {
                set.members()
                    .find(|m| m.profile.key.org_id() == org_id)
                    .map(|m| m.profile.name.clone())
            })
            .unwrap_or_else(|| org_id.to_string())
    }

    /// Whether `doc` is a published definition.
    fn is_definition(&self, doc: &DocId) -> bool {
        self.lending.get(Duration::ZERO).is_some_and(|opened| {
            opened
                .replica
                .get(doc)
                .is_ok_and(|view| view.kind == PUBLISHED_KIND)
        })
    }
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
                if self.is_definition(doc) {
                    self.state.definitions_changed();
                }
                self.state.changed(LiveEvent {
                    doc: Some(doc.to_string()),
                    org: self.org_name(author),
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

    fn work(&self) -> Option<Arc<MachineWork<SledStore>>> {
        Some(self.state.machine_work())
    }

    fn reload(&self) -> Option<Arc<AtomicBool>> {
        Some(self.state.inner.reload.clone())
    }

    fn returned(&mut self) {
        self.state.changed(LiveEvent {
            doc: None,
            org: String::new(),
        });
    }
}
