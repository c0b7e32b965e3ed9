//! A memory store that watches what the sync machine reads and writes, and replicas on it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::STATE_KEY;
use crate::document::{Assignment, DocId};
use crate::identity::{Identity, OrgType};
use crate::replica::Replica;
use crate::store::{MemoryStore, MetaBatch, Store, StoreError, StoredDoc};
use crate::time::Timestamp;

pub(super) const T0: Timestamp = Timestamp(1_760_000_000_000);

/// A memory store that counts document loads and metadata bytes written, and can refuse to
/// write the sync state, as if the process stopped before the state was durable.
#[derive(Default)]
pub(super) struct Watched {
    inner: MemoryStore,
    loads: AtomicUsize,
    pub(super) refuse_state: AtomicBool,
    written: AtomicUsize,
    /// Document writes (chunks appended or snapshots replaced), ever.
    pub(super) appended: AtomicUsize,
}

impl Watched {
    /// Document loads since the last call.
    pub(super) fn loads(&self) -> usize {
        self.loads.swap(0, Ordering::SeqCst)
    }

    /// Metadata bytes (keys and values) written since the last call.
    pub(super) fn written(&self) -> usize {
        self.written.swap(0, Ordering::SeqCst)
    }
}

impl Store for Watched {
    fn load(&self, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(id)
    }
    fn append_chunk(&self, id: &str, chunk: &[u8], view: &[u8]) -> Result<usize, StoreError> {
        self.appended.fetch_add(1, Ordering::SeqCst);
        self.inner.append_chunk(id, chunk, view)
    }
    fn replace_with_snapshot(
        &self,
        id: &str,
        snapshot: &[u8],
        view: &[u8],
    ) -> Result<(), StoreError> {
        self.appended.fetch_add(1, Ordering::SeqCst);
        self.inner.replace_with_snapshot(id, snapshot, view)
    }
    fn views(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.views()
    }
    fn view(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.view(id)
    }
    fn put_views(&self, views: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        self.inner.put_views(views)
    }
    fn ids(&self) -> Result<Vec<String>, StoreError> {
        self.inner.ids()
    }
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get_meta(key)
    }
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        if key == STATE_KEY && self.refuse_state.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("gestopt".into()));
        }
        self.written
            .fetch_add(key.len() + value.len(), Ordering::SeqCst);
        self.inner.put_meta(key, value)
    }
    fn write_meta(&self, batch: &MetaBatch) -> Result<(), StoreError> {
        if self.refuse_state.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("gestopt".into()));
        }
        self.written.fetch_add(batch.byte_len(), Ordering::SeqCst);
        self.inner.write_meta(batch)
    }
    fn scan_meta(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.scan_meta(prefix)
    }
    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.inner.size_on_disk()
    }
    fn mark_local_edits(&self, ids: &[&str]) -> Result<(), StoreError> {
        self.inner.mark_local_edits(ids)
    }
    fn local_edits(&self) -> Result<Vec<String>, StoreError> {
        self.inner.local_edits()
    }
    fn clear_local_edits(&self, ids: &[&str]) -> Result<(), StoreError> {
        self.inner.clear_local_edits(ids)
    }
}

pub(super) fn title(value: &str) -> Vec<Assignment> {
    vec![Assignment::parse(&format!("titel={value}")).unwrap()]
}

pub(super) fn replica_with(docs: usize, seed: u8) -> (Replica<Watched>, Vec<DocId>) {
    let replica = crate::composition::init(
        Watched::default(),
        Identity::new("Gemeente A", OrgType::Gemeente, [seed; 32], [seed; 16]),
    )
    .unwrap();
    let ids = (0..docs)
        .map(|d| {
            let random = (d as u64).to_be_bytes();
            replica
                .create("ambitie", &title(&format!("ambitie {d}")), T0, random)
                .unwrap()
        })
        .collect();
    (replica, ids)
}

/// Opens `relay` for `machine` through a whole handshake with a relay whose key comes from seed
/// 9: connected, hello, a proved challenge, a welcome as a member on an empty log. Returns the
/// effects of the welcome.
pub(super) fn welcomed(
    machine: &mut super::Machine,
    replica: &Replica<Watched>,
    rng: &mut super::SimRng,
    relay: &str,
) -> Vec<super::Effect> {
    use crate::sync::membership::Role;
    use crate::sync::wire::{Access, Message, OrgKey, PROTOCOL_VERSION, sign_relay_proof};
    use ed25519_dalek::SigningKey;

    let mut feed = |machine: &mut super::Machine, event| machine.handle(replica, T0, rng, event);
    let connected = super::Event::Connected {
        relay: relay.to_string(),
    };
    let hello_nonce = feed(machine, connected)
        .unwrap()
        .iter()
        .find_map(|e| match e {
            super::Effect::Send { message, .. } => match &**message {
                Message::Hello { nonce, .. } => Some(*nonce),
                _ => None,
            },
            _ => None,
        })
        .expect("a hello was sent");
    let key = SigningKey::from_bytes(&[9; 32]);
    let received = |message| super::Event::Received {
        relay: relay.to_string(),
        message: Box::new(message),
    };
    let challenge = Message::Challenge {
        version: PROTOCOL_VERSION,
        relay: OrgKey::of(&key),
        nonce: [1; 32],
        proof: sign_relay_proof(&hello_nonce, &[1; 32], &key),
    };
    feed(machine, received(challenge)).unwrap();
    let welcome = Message::Welcome {
        access: Access::Member(Role::Coordinator),
        head: 0,
        membership_len: 0,
        epoch: 0,
    };
    feed(machine, received(welcome)).unwrap()
}

/// The reports among `effects`.
pub(super) fn reports(effects: &[super::Effect]) -> Vec<&super::Report> {
    effects
        .iter()
        .filter_map(|e| match e {
            super::Effect::Report(r) => Some(r),
            _ => None,
        })
        .collect()
}
