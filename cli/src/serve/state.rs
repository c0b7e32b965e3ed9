//! What every request of the web app can reach: the lent data directory with every
//! samenwerking in it, the login token and sessions (each with the samenwerking it chose), the
//! live-update channel and what the sync thread last saw of each relay.
//!
//! Which samenwerking a request is about comes from its session: the guard (`security.rs`)
//! runs every handler inside [`CHOSEN`], so [`AppState::with`], [`AppState::with_machine`],
//! the relays and the live events reach the chosen samenwerking only, without any handler
//! having to say so.

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
use crate::lending::{Held, Lending};
use crate::machine_work::MachineWork;

/// How long a request waits while another kompas command has the data directory.
const PATIENCE: Duration = Duration::from_secs(20);
/// How many live events a slow page may fall behind before it is told to reload.
const LIVE_BACKLOG: usize = 256;

tokio::task_local! {
    /// The store of the samenwerking the request being handled is about.
    pub static CHOSEN: u32;
}

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
    /// What the sync thread last saw of each relay, by samenwerking (store) and relay.
    relays: Mutex<BTreeMap<(u32, String), RelaySeen>>,
    /// The queue of tasks for each samenwerking's sync machine, by store.
    work: Mutex<BTreeMap<u32, Arc<MachineWork<SledStore>>>>,
    uploads: super::uploads::Uploads,
    /// Raised when a published definition changed: the sync thread reads the definitions in
    /// force again.
    reload: Arc<AtomicBool>,
    /// The samenwerkingen served, as the sync thread last opened them.
    served: Mutex<Arc<[Served]>>,
    /// The store a session that chose nothing sees (`kompas serve --samenwerking`).
    preferred: Option<u32>,
}

/// One samenwerking the web app serves, as its header offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The number of its store in the data directory.
    pub store: u32,
    /// Its name.
    pub name: String,
    /// Whether the organisation created or joined it (a store may wait for one).
    pub in_workspace: bool,
}

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token every form of this session carries.
    pub csrf: String,
    /// The samenwerking (store) this browser chose; in a request, the one it is about.
    pub chosen: Option<u32>,
    /// In a request: the samenwerkingen the header offers (empty when there is one).
    pub offered: Arc<[Served]>,
}

/// Something changed that open pages should show.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveEvent {
    /// The samenwerking (store) it happened in; only its pages hear of it.
    #[serde(skip)]
    pub store: u32,
    /// The document that changed, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The organisation that changed it, by name.
    pub org: String,
}

/// The live events of one samenwerking.
pub struct LiveFeed {
    store: u32,
    rx: broadcast::Receiver<LiveEvent>,
}

impl LiveFeed {
    /// The next event of this feed's samenwerking.
    pub async fn next(&mut self) -> Result<LiveEvent, broadcast::error::RecvError> {
        loop {
            let event = self.rx.recv().await?;
            if event.store == self.store {
                return Ok(event);
            }
        }
    }
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

/// The samenwerkingen of `held` as the header offers them.
fn served_in(held: &Held) -> Arc<[Served]> {
    held.iter()
        .map(|opened| Served {
            store: opened.store,
            name: crate::partnerships::label_of(&opened.replica),
            in_workspace: known_members(opened.replica.store()).is_ok_and(|s| s.is_some()),
        })
        .collect()
}

impl AppState {
    /// The state for a server on `port` that lets in whoever shows `token`, showing the
    /// samenwerking in store `preferred` to a session that chose none (`None`: the first).
    pub fn new(
        lending: Arc<Lending>,
        token: String,
        port: u16,
        preferred: Option<u32>,
    ) -> AppState {
        let served = lending
            .all(Duration::ZERO)
            .map(|held| served_in(&held))
            .unwrap_or_else(|| Arc::new([]));
        AppState {
            inner: Arc::new(Inner {
                lending,
                token,
                port,
                sessions: Mutex::new(HashMap::new()),
                live: broadcast::channel(LIVE_BACKLOG).0,
                relays: Mutex::new(BTreeMap::new()),
                work: Mutex::default(),
                uploads: Default::default(),
                reload: Arc::default(),
                served: Mutex::new(served),
                preferred,
            }),
        }
    }

    /// The samenwerkingen served: those the organisation is in, or the one store waiting
    /// for one.
    pub fn served(&self) -> Arc<[Served]> {
        let all = lock(&self.inner.served).clone();
        if all.iter().any(|s| s.in_workspace) {
            all.iter().filter(|s| s.in_workspace).cloned().collect()
        } else {
            all
        }
    }

    /// The samenwerkingen served, first waiting (as a page does) for the sync thread to open
    /// them when none is known yet, as in the first moments after the server started.
    pub async fn served_when_open(&self) -> Arc<[Served]> {
        if lock(&self.inner.served).is_empty() {
            let lending = self.inner.lending.clone();
            let held = tokio::task::spawn_blocking(move || lending.all(PATIENCE))
                .await
                .ok()
                .flatten();
            if let Some(held) = held {
                self.refresh_served(&held);
            }
        }
        self.served()
    }

    /// Reads the samenwerkingen served again from what the sync thread opened.
    fn refresh_served(&self, held: &Held) {
        *lock(&self.inner.served) = served_in(held);
    }

    /// The store a session that chose `chosen` sees: its choice while it is served, otherwise
    /// the preferred one, otherwise the first.
    pub fn store_for(&self, chosen: Option<u32>) -> u32 {
        let served = self.served();
        let is_served = |store: &u32| served.iter().any(|s| s.store == *store);
        chosen
            .filter(is_served)
            .or(self.inner.preferred.filter(is_served))
            .or(served.first().map(|s| s.store))
            .unwrap_or(1)
    }

    /// The store of the samenwerking the current request is about.
    pub fn chosen_store(&self) -> u32 {
        CHOSEN
            .try_with(|store| *store)
            .unwrap_or_else(|_| self.store_for(None))
    }

    /// Remembers that session `id` chose the samenwerking in store `store`.
    pub fn choose(&self, id: &str, store: u32) {
        if let Some(session) = lock(&self.inner.sessions).get_mut(id) {
            session.chosen = Some(store);
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
        let store = self.chosen_store();
        tokio::task::spawn_blocking(move || {
            let opened = lending
                .get(store, PATIENCE)
                .ok_or(AppError::Busy)?
                .ok_or_else(gone)?;
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
        self.machine_work(self.chosen_store())
            .submit(Box::new(move |replica, machine| {
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

    /// The queue of tasks for the sync machine of the samenwerking in store `store`.
    pub fn machine_work(&self, store: u32) -> Arc<MachineWork<SledStore>> {
        lock(&self.inner.work).entry(store).or_default().clone()
    }

    /// Starts a session and returns its id.
    pub fn new_session(&self, id: String, csrf: String) {
        let session = Session {
            csrf,
            chosen: None,
            offered: Arc::new([]),
        };
        lock(&self.inner.sessions).insert(id, session);
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

    /// The live events of the samenwerking the current request is about.
    pub fn subscribe(&self) -> LiveFeed {
        LiveFeed {
            store: self.chosen_store(),
            rx: self.inner.live.subscribe(),
        }
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

    /// What the sync thread last saw of each relay of the samenwerking the current request
    /// is about.
    pub fn relays_seen(&self) -> BTreeMap<String, RelaySeen> {
        let store = self.chosen_store();
        lock(&self.inner.relays)
            .iter()
            .filter(|((s, _), _)| *s == store)
            .map(|((_, relay), seen)| (relay.clone(), seen.clone()))
            .collect()
    }

    /// The name the cookie of this server's session has: the port is part of it, since
    /// browsers share cookies between the ports of one host.
    pub fn cookie_name(&self) -> String {
        format!("kompas_sessie_{}", self.inner.port)
    }
}

/// The refusal for a session whose samenwerking the data directory no longer has.
fn gone() -> AppError {
    AppError::NotFound(
        "Deze samenwerking is er niet meer in deze kompas-map; kies een andere bovenaan de pagina."
            .into(),
    )
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain maps, each change a single insert: a panic elsewhere cannot leave one half-written.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The web app as host of the watching sync: every report updates what the overview shows of
/// the relays, every applied change goes to the open pages of its samenwerking, and a
/// published definition that arrives has the definitions in force read again.
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

    /// The opened samenwerking in store `store`, if the slot holds it right now.
    fn opened_store(&self, store: u32) -> Option<Arc<Opened>> {
        self.lending.get(store, Duration::ZERO).flatten()
    }

    /// The name of the organisation `org_id` in the member list of store `store`, or the id if
    /// it is not known.
    fn org_name(&self, store: u32, org_id: &str) -> String {
        self.opened_store(store)
            .and_then(|opened| known_members(opened.replica.store()).ok().flatten())
            .and_then(|set| {
                set.members()
                    .find(|m| m.profile.key.org_id() == org_id)
                    .map(|m| m.profile.name.clone())
            })
            .unwrap_or_else(|| org_id.to_string())
    }

    /// Whether `doc` of store `store` is a published definition.
    fn is_definition(&self, store: u32, doc: &DocId) -> bool {
        self.opened_store(store).is_some_and(|opened| {
            opened
                .replica
                .get(doc)
                .is_ok_and(|view| view.kind == PUBLISHED_KIND)
        })
    }
}

impl WatchHost for SyncHost {
    fn report(&mut self, store: u32, report: &Report) {
        let inner = &self.state.inner;
        let seen = |relay: &str, f: &dyn Fn(&mut RelaySeen)| {
            let mut relays = lock(&inner.relays);
            f(relays.entry((store, relay.to_string())).or_default());
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
                if self.is_definition(store, doc) {
                    self.state.definitions_changed();
                }
                self.state.changed(LiveEvent {
                    store,
                    doc: Some(doc.to_string()),
                    org: self.org_name(store, author),
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
            Report::MembersChanged { .. } => {
                if let Some(held) = self.lending.all(Duration::ZERO) {
                    self.state.refresh_served(&held);
                }
                self.state.changed(LiveEvent {
                    store,
                    doc: None,
                    org: String::new(),
                })
            }
            _ => {}
        }
    }

    fn work(&self, store: u32) -> Option<Arc<MachineWork<SledStore>>> {
        Some(self.state.machine_work(store))
    }

    fn reload(&self) -> Option<Arc<AtomicBool>> {
        Some(self.state.inner.reload.clone())
    }

    fn opened(&mut self, held: &Held) {
        self.state.refresh_served(held);
        for opened in held {
            self.state.changed(LiveEvent {
                store: opened.store,
                doc: None,
                org: String::new(),
            });
        }
    }
}
