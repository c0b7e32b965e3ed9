//! Quotas per key and per workspace: what each has used this minute, and in all, checked before
//! anything is stored. A request over a quota gets `QuotaExceeded` naming the quota; other keys
//! and workspaces are not affected.
//!
//! The per-minute counts live in memory and start over each minute (a fixed window): after a
//! restart a key gets a fresh minute, which bounds nothing for long but costs no disk write per
//! request. The totals (workspaces created per key, bytes stored per workspace) come from the
//! store.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use kompas_engine::Timestamp;
use kompas_engine::sync::wire::{ErrorCode, OrgKey, WorkspaceId};

use super::refusal::Refusal;

const MINUTE_MS: i64 = 60_000;

/// What one key and one workspace may use. The defaults leave a partnership of some fifty
/// organisations room for a busy day (a first sync of thousands of documents, figures for every
/// area) and stop one key from filling the relay's disk or memory. Zero means no limit.
#[derive(Debug, Clone)]
pub struct Quotas {
    /// Workspaces one key may create on this relay.
    pub workspaces_per_key: u64,
    /// Workspaces the relay creates per minute, from all keys together.
    pub creates_per_minute: u64,
    /// Bytes of sealed bundles one workspace may store.
    pub workspace_bytes: u64,
    /// Bundles one key may push per minute.
    pub key_bundles_per_minute: u64,
    /// Bundle bytes one key may push per minute.
    pub key_bytes_per_minute: u64,
    /// Bundles one workspace may receive per minute.
    pub workspace_bundles_per_minute: u64,
    /// Bundle bytes one workspace may receive per minute.
    pub workspace_bytes_per_minute: u64,
    /// Membership operations one key may append per minute.
    pub key_ops_per_minute: u64,
    /// Membership operations one workspace's log may hold.
    pub workspace_ops: u64,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas {
            workspaces_per_key: 16,
            creates_per_minute: 30,
            workspace_bytes: 4 << 30,
            key_bundles_per_minute: 10_000,
            key_bytes_per_minute: 256 << 20,
            workspace_bundles_per_minute: 30_000,
            workspace_bytes_per_minute: 1 << 30,
            key_ops_per_minute: 120,
            workspace_ops: 20_000,
        }
    }
}

/// The quotas in force and what has been used.
pub struct QuotaBook {
    quotas: Quotas,
    book: Mutex<Book>,
}

#[derive(Default)]
struct Book {
    minute: i64,
    keys: HashMap<OrgKey, Usage>,
    workspaces: HashMap<WorkspaceId, Usage>,
    creates: u64,
    created: HashMap<OrgKey, u64>,
    /// What the other nodes of a shared store used this minute, as last heard.
    others: MinuteUsage,
}

/// What was pushed and changed in one minute, by one key or to one workspace.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bundles pushed.
    pub bundles: u64,
    /// Bytes of those bundles.
    pub bytes: u64,
    /// Membership operations appended.
    pub ops: u64,
}

impl Usage {
    fn plus(self, other: Usage) -> Usage {
        Usage {
            bundles: self.bundles.saturating_add(other.bundles),
            bytes: self.bytes.saturating_add(other.bytes),
            ops: self.ops.saturating_add(other.ops),
        }
    }
}

/// Everything charged in one minute: what a node tells the other nodes of a shared store, and
/// what it hears from them, so that the per-minute quotas hold for all nodes together (up to
/// what the others used since they last told, at most a second's worth).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MinuteUsage {
    /// The minute (milliseconds since the epoch divided by 60,000).
    pub minute: i64,
    /// Per key.
    pub keys: HashMap<OrgKey, Usage>,
    /// Per workspace.
    pub workspaces: HashMap<WorkspaceId, Usage>,
    /// Workspaces created.
    pub creates: u64,
}

/// A quota that a request would exceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// The quota's name, as in `/metrics` and `--help`.
    pub quota: &'static str,
    /// The refusal to send.
    pub refusal: Refusal,
}

impl QuotaBook {
    /// The book for `quotas`, given how many workspaces each key created already.
    pub fn new(quotas: Quotas, created: HashMap<OrgKey, u64>) -> QuotaBook {
        QuotaBook {
            quotas,
            book: Mutex::new(Book {
                created,
                ..Book::default()
            }),
        }
    }

    /// The quotas in force.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// Charges a push of `bytes` by `key` (none for a mirror, whose pushes are other keys'
    /// bundles) to workspace `ws`, which stores `stored` bytes already.
    pub fn charge_push(
        &self,
        now: Timestamp,
        key: Option<OrgKey>,
        ws: WorkspaceId,
        bytes: u64,
        stored: u64,
    ) -> Result<(), Exceeded> {
        let q = &self.quotas;
        over(
            "workspace_bytes",
            stored.saturating_add(bytes),
            q.workspace_bytes,
            || q.total_reached("workspace_bytes"),
        )?;
        let mut book = self.book(now);
        let w = book.workspace(&ws);
        over(
            "workspace_bundles_per_minute",
            w.bundles + 1,
            q.workspace_bundles_per_minute,
            || {
                format!(
                    "deze samenwerking stuurde deze minuut al {} wijzigingen, de grens",
                    q.workspace_bundles_per_minute
                )
            },
        )?;
        over(
            "workspace_bytes_per_minute",
            w.bytes.saturating_add(bytes),
            q.workspace_bytes_per_minute,
            || {
                format!(
                    "deze samenwerking stuurde deze minuut al bijna {}, de grens",
                    size(q.workspace_bytes_per_minute)
                )
            },
        )?;
        if let Some(key) = key {
            let k = book.key(&key);
            over(
                "key_bundles_per_minute",
                k.bundles + 1,
                q.key_bundles_per_minute,
                || {
                    format!(
                        "organisatie {} stuurde deze minuut al {} wijzigingen, de grens",
                        key.org_id(),
                        q.key_bundles_per_minute
                    )
                },
            )?;
            over(
                "key_bytes_per_minute",
                k.bytes.saturating_add(bytes),
                q.key_bytes_per_minute,
                || {
                    format!(
                        "organisatie {} stuurde deze minuut al bijna {}, de grens",
                        key.org_id(),
                        size(q.key_bytes_per_minute)
                    )
                },
            )?;
            let k = book.keys.entry(key).or_default();
            k.bundles += 1;
            k.bytes = k.bytes.saturating_add(bytes);
        }
        let w = book.workspaces.entry(ws).or_default();
        w.bundles += 1;
        w.bytes = w.bytes.saturating_add(bytes);
        Ok(())
    }

    /// Charges a membership operation by `key` (none for a mirror) to a workspace whose log
    /// holds `log_len` operations.
    pub fn charge_op(
        &self,
        now: Timestamp,
        key: Option<OrgKey>,
        log_len: u64,
    ) -> Result<(), Exceeded> {
        let q = &self.quotas;
        over("workspace_ops", log_len + 1, q.workspace_ops, || {
            q.total_reached("workspace_ops")
        })?;
        let Some(key) = key else { return Ok(()) };
        let mut book = self.book(now);
        let k = book.key(&key);
        over(
            "key_ops_per_minute",
            k.ops + 1,
            q.key_ops_per_minute,
            || {
                format!(
                    "organisatie {} wijzigde deze minuut al {} keer een ledenlijst, de grens",
                    key.org_id(),
                    q.key_ops_per_minute
                )
            },
        )?;
        book.keys.entry(key).or_default().ops += 1;
        Ok(())
    }

    /// Charges the creation of a workspace by `key`. Call [`QuotaBook::uncreate`] if the
    /// creation then fails.
    pub fn charge_create(&self, now: Timestamp, key: OrgKey) -> Result<(), Exceeded> {
        let q = &self.quotas;
        let mut book = self.book(now);
        let made = book.created.get(&key).copied().unwrap_or(0);
        over("workspaces_per_key", made + 1, q.workspaces_per_key, || {
            format!(
                "organisatie {} heeft op deze relay al {made} samenwerkingen aangemaakt, de grens",
                key.org_id()
            )
        })?;
        over(
            "creates_per_minute",
            book.creates + book.others.creates + 1,
            q.creates_per_minute,
            || {
                format!(
                    "de relay maakte deze minuut al {} samenwerkingen aan, de grens",
                    q.creates_per_minute
                )
            },
        )?;
        book.creates += 1;
        *book.created.entry(key).or_default() += 1;
        Ok(())
    }

    /// Gives back a creation charged for `key` that did not happen.
    pub fn uncreate(&self, key: &OrgKey) {
        let mut book = self.lock();
        book.creates = book.creates.saturating_sub(1);
        if let Some(n) = book.created.get_mut(key) {
            *n = n.saturating_sub(1);
        }
    }

    /// How many workspaces `key` created on this relay.
    pub fn workspaces_created_by(&self, key: &OrgKey) -> u64 {
        self.lock().created.get(key).copied().unwrap_or(0)
    }

    /// What this book charged in the minute of `now` (for the other nodes of a shared store).
    pub fn usage(&self, now: Timestamp) -> MinuteUsage {
        let book = self.book(now);
        MinuteUsage {
            minute: book.minute,
            keys: book.keys.clone(),
            workspaces: book.workspaces.clone(),
            creates: book.creates,
        }
    }

    /// Takes in what the other nodes of a shared store charged in `others.minute`; it counts
    /// against every later charge in that minute. A report of an earlier minute is ignored.
    pub fn others_used(&self, others: MinuteUsage) {
        let mut book = self.lock();
        if others.minute < book.minute {
            return;
        }
        if others.minute > book.minute {
            book.start(others.minute);
        }
        book.others = others;
    }

    /// The book for the minute of `now`, started over if a new minute began.
    fn book(&self, now: Timestamp) -> MutexGuard<'_, Book> {
        let mut book = self.lock();
        let minute = now.0.div_euclid(MINUTE_MS);
        if book.minute < minute {
            book.start(minute);
        }
        book
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Book {
    fn start(&mut self, minute: i64) {
        self.minute = minute;
        self.keys.clear();
        self.workspaces.clear();
        self.creates = 0;
        self.others = MinuteUsage {
            minute,
            ..MinuteUsage::default()
        };
    }

    /// What `key` used this minute, on this node and the others.
    fn key(&self, key: &OrgKey) -> Usage {
        let own = self.keys.get(key).copied().unwrap_or_default();
        own.plus(self.others.keys.get(key).copied().unwrap_or_default())
    }

    /// What workspace `ws` received this minute, on this node and the others.
    fn workspace(&self, ws: &WorkspaceId) -> Usage {
        let own = self.workspaces.get(ws).copied().unwrap_or_default();
        own.plus(self.others.workspaces.get(ws).copied().unwrap_or_default())
    }
}

impl Quotas {
    /// The refusal for a write that would pass a total a shared store keeps for every node
    /// together (`workspace_bytes`, `workspace_ops` or `workspaces_per_key`).
    pub fn exceeded_total(&self, quota: &'static str) -> Exceeded {
        exceeded(quota, self.total_reached(quota))
    }

    /// Why a total is reached, for people.
    fn total_reached(&self, quota: &str) -> String {
        match quota {
            "workspace_bytes" => format!(
                "deze samenwerking heeft de grens van {} opgeslagen bij deze relay bereikt",
                size(self.workspace_bytes)
            ),
            "workspace_ops" => format!(
                "de ledenlijst van deze samenwerking heeft de grens van {} wijzigingen bereikt",
                self.workspace_ops
            ),
            _ => format!(
                "deze organisatie heeft op deze relay al {} samenwerkingen aangemaakt, de grens",
                self.workspaces_per_key
            ),
        }
    }

    /// Every quota with its name.
    pub fn named(&self) -> [(&'static str, u64); 9] {
        [
            ("workspaces_per_key", self.workspaces_per_key),
            ("creates_per_minute", self.creates_per_minute),
            ("workspace_bytes", self.workspace_bytes),
            ("key_bundles_per_minute", self.key_bundles_per_minute),
            ("key_bytes_per_minute", self.key_bytes_per_minute),
            (
                "workspace_bundles_per_minute",
                self.workspace_bundles_per_minute,
            ),
            (
                "workspace_bytes_per_minute",
                self.workspace_bytes_per_minute,
            ),
            ("key_ops_per_minute", self.key_ops_per_minute),
            ("workspace_ops", self.workspace_ops),
        ]
    }
}

/// Refuses when `used` would pass `limit` (0: no limit).
fn over(
    quota: &'static str,
    used: u64,
    limit: u64,
    why: impl FnOnce() -> String,
) -> Result<(), Exceeded> {
    if limit == 0 || used <= limit {
        return Ok(());
    }
    Err(exceeded(quota, why()))
}

fn exceeded(quota: &'static str, why: String) -> Exceeded {
    Exceeded {
        quota,
        refusal: Refusal::new(ErrorCode::QuotaExceeded, format!("{why} (quotum {quota})")),
    }
}

/// A byte count for people.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Quotas {
        Quotas {
            workspaces_per_key: 2,
            creates_per_minute: 3,
            workspace_bytes: 10_000,
            key_bundles_per_minute: 3,
            key_bytes_per_minute: 2_500,
            workspace_bundles_per_minute: 5,
            workspace_bytes_per_minute: 0,
            key_ops_per_minute: 2,
            workspace_ops: 4,
        }
    }

    fn quota(r: Result<(), Exceeded>) -> &'static str {
        let e = r.expect_err("refused");
        assert_eq!(e.refusal.code, ErrorCode::QuotaExceeded);
        assert!(e.refusal.message.contains(e.quota), "{}", e.refusal.message);
        // Users read these refusals: our words, not the protocol's.
        for jargon in ["bundel", "werkruimte"] {
            assert!(!e.refusal.message.contains(jargon), "{}", e.refusal.message);
        }
        e.quota
    }

    #[test]
    fn what_other_nodes_used_this_minute_counts_and_a_new_minute_starts_over() {
        let book = QuotaBook::new(small(), HashMap::new());
        let (key, ws, t) = (
            OrgKey([1; 32]),
            WorkspaceId([2; 16]),
            Timestamp(MINUTE_MS * 10),
        );
        book.charge_push(t, Some(key), ws, 100, 0).unwrap();
        let mine = book.usage(t);
        assert_eq!(mine.minute, 10);
        assert_eq!(mine.keys[&key].bundles, 1);
        assert_eq!(mine.workspaces[&ws].bytes, 100);
        // Another node took two of the key's three bundles this minute.
        let mut others = MinuteUsage {
            minute: 10,
            ..MinuteUsage::default()
        };
        others.keys.insert(
            key,
            Usage {
                bundles: 2,
                ..Usage::default()
            },
        );
        others.creates = 3;
        book.others_used(others.clone());
        assert_eq!(
            quota(book.charge_push(t, Some(key), ws, 100, 0)),
            "key_bundles_per_minute"
        );
        assert_eq!(
            quota(book.charge_create(t, OrgKey([3; 32]))),
            "creates_per_minute"
        );
        // What this node tells the others is its own use only.
        assert_eq!(book.usage(t).keys[&key].bundles, 1);
        // A late report of an earlier minute changes nothing; the next minute starts over.
        others.minute = 9;
        book.others_used(others);
        let next = Timestamp(MINUTE_MS * 11);
        book.charge_push(next, Some(key), ws, 100, 0).unwrap();
        assert_eq!(book.usage(next).keys[&key].bundles, 1);
    }

    #[test]
    fn each_quota_refuses_its_own_excess_and_leaves_others_alone() {
        let book = QuotaBook::new(small(), HashMap::new());
        let (a, b) = (OrgKey([1; 32]), OrgKey([2; 32]));
        let (ws, other) = (WorkspaceId([1; 16]), WorkspaceId([2; 16]));
        let t = Timestamp(60_000 * 100);
        for _ in 0..3 {
            book.charge_push(t, Some(a), ws, 100, 0).unwrap();
        }
        assert_eq!(
            quota(book.charge_push(t, Some(a), ws, 100, 0)),
            "key_bundles_per_minute"
        );
        // Another key in the same workspace still pushes, until the workspace's own limit.
        book.charge_push(t, Some(b), ws, 100, 0).unwrap();
        book.charge_push(t, Some(b), ws, 100, 0).unwrap();
        assert_eq!(
            quota(book.charge_push(t, Some(b), ws, 100, 0)),
            "workspace_bundles_per_minute"
        );
        assert_eq!(
            quota(book.charge_push(t, Some(b), other, 3_000, 0)),
            "key_bytes_per_minute"
        );
        assert_eq!(
            quota(book.charge_push(t, None, other, 100, 9_950)),
            "workspace_bytes"
        );
        // A new minute starts the counts over; the stored total does not.
        let next = Timestamp(t.0 + 60_000);
        book.charge_push(next, Some(a), ws, 100, 0).unwrap();
        assert_eq!(
            quota(book.charge_push(next, Some(a), ws, 100, 9_950)),
            "workspace_bytes"
        );
        // Membership operations.
        book.charge_op(t, Some(a), 0).unwrap();
        book.charge_op(t, Some(a), 1).unwrap();
        assert_eq!(quota(book.charge_op(t, Some(a), 2)), "key_ops_per_minute");
        assert_eq!(quota(book.charge_op(t, None, 4)), "workspace_ops");
    }

    #[test]
    fn workspaces_per_key_count_what_was_created_before_and_a_failed_creation_is_given_back() {
        let a = OrgKey([1; 32]);
        let book = QuotaBook::new(small(), HashMap::from([(a, 1)]));
        let t = Timestamp(0);
        book.charge_create(t, a).unwrap();
        assert_eq!(quota(book.charge_create(t, a)), "workspaces_per_key");
        book.uncreate(&a);
        assert_eq!(book.workspaces_created_by(&a), 1);
        book.charge_create(t, a).unwrap();
        // Three creations this minute in all, by anyone.
        book.charge_create(t, OrgKey([2; 32])).unwrap();
        book.charge_create(t, OrgKey([3; 32])).unwrap();
        let d = OrgKey([4; 32]);
        assert_eq!(quota(book.charge_create(t, d)), "creates_per_minute");
        book.charge_create(Timestamp(60_000), d).unwrap();
    }
}
