//! The durable record of reminder mail, in the replica's local metadata (never synced).
//!
//! A digest is first recorded as an intent, whole (the exact bytes of the message, with its
//! Message-ID), before it is handed to the SMTP server. Once the server has accepted it, one
//! atomic write marks each of its reminders as done for that recipient and drops the intent.
//! After a crash an intent still there is sent again byte for byte, with the same Message-ID;
//! reminders already marked done are never put in a digest again.

use std::collections::BTreeSet;

use kompas_engine::store::MetaBatch;
use kompas_engine::{Store, StoreError, Timestamp};

/// Intents: digests recorded before sending and not yet accepted.
const PENDING: &str = "herinnering/wacht/";
/// Reminders done per recipient: accepted by the server, or refused by it for good.
const DONE: &str = "herinnering/klaar/";

/// A digest on its way: everything needed to send it again exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub message_id: String,
    /// The sender's address.
    pub from: String,
    /// The recipient's address.
    pub to: String,
    /// The reminder keys it holds.
    pub keys: Vec<String>,
    pub subject: String,
    /// The formatted message (headers and body) as handed to the server.
    pub raw: Vec<u8>,
}

/// What became of one reminder for one recipient.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Done {
    pub message_id: String,
    pub at: Timestamp,
    /// Why the server refused it for good, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// A record in the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("het verzendlog van de herinneringen: {0}")]
    Store(#[from] StoreError),
    #[error("het verzendlog van de herinneringen heeft een onleesbare regel {key}: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
}

/// The record, over a replica's store.
pub struct Ledger<'a, S: Store> {
    store: &'a S,
}

impl<'a, S: Store> Ledger<'a, S> {
    pub fn new(store: &'a S) -> Self {
        Ledger { store }
    }

    /// The intents not yet accepted, oldest key first.
    pub fn pending(&self) -> Result<Vec<Pending>, LedgerError> {
        self.store
            .scan_meta(PENDING)?
            .into_iter()
            .map(|(key, value)| {
                serde_json::from_slice(&value)
                    .map_err(|source| LedgerError::Corrupt { key, source })
            })
            .collect()
    }

    /// Every (recipient, reminder) pair that is done or pending, for leaving out of new digests.
    pub fn taken(&self) -> Result<BTreeSet<(String, String)>, LedgerError> {
        let mut out = BTreeSet::new();
        for (key, _) in self.store.scan_meta(DONE)? {
            if let Some((to, item)) = key[DONE.len()..].split_once('/') {
                out.insert((to.to_string(), item.to_string()));
            }
        }
        for p in self.pending()? {
            for k in &p.keys {
                out.insert((recipient_key(&p.to), k.clone()));
            }
        }
        Ok(out)
    }

    /// Records `intents` durably, all or none, before any of them is sent.
    pub fn intend(&self, intents: &[Pending]) -> Result<(), LedgerError> {
        let mut batch = MetaBatch::default();
        for p in intents {
            batch.put(pending_key(&p.message_id), json(p));
        }
        self.store.write_meta(&batch)?;
        Ok(())
    }

    /// Marks the reminders of `sent` done and drops its intent, in one atomic write.
    pub fn finish(
        &self,
        sent: &Pending,
        at: Timestamp,
        refused: Option<String>,
    ) -> Result<(), LedgerError> {
        let done = Done {
            message_id: sent.message_id.clone(),
            at,
            refused,
        };
        let mut batch = MetaBatch::default();
        for k in &sent.keys {
            batch.put(
                format!("{DONE}{}/{k}", recipient_key(&sent.to)),
                json(&done),
            );
        }
        batch.delete(pending_key(&sent.message_id));
        self.store.write_meta(&batch)?;
        Ok(())
    }
}

/// The short stable name of a recipient inside storage keys (addresses hold characters keys
/// may not).
pub fn recipient_key(to: &str) -> String {
    blake3::hash(to.to_lowercase().as_bytes()).to_hex()[..16].to_string()
}

fn pending_key(message_id: &str) -> String {
    let hash = blake3::hash(message_id.as_bytes());
    format!("{PENDING}{}", &hash.to_hex()[..32])
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kompas_engine::MemoryStore;

    fn pending(id: &str, keys: &[&str]) -> Pending {
        Pending {
            message_id: id.into(),
            from: "kompas@gemeente.nl".into(),
            to: "jeugd@gemeente.nl".into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            subject: "kompas: 1 herinnering".into(),
            raw: b"Subject: x\r\n\r\nHallo\r\n".to_vec(),
        }
    }

    #[test]
    fn an_intent_stays_until_finished_and_then_its_reminders_are_done() {
        let store = MemoryStore::default();
        let ledger = Ledger::new(&store);
        let p = pending("<a@gemeente.nl>", &["binnenkort-1", "te-laat-2"]);
        ledger
            .intend(std::slice::from_ref(&p))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ledger.pending().unwrap_or_default(), vec![p.clone()]);
        let to = recipient_key(&p.to);
        let taken = ledger.taken().unwrap_or_default();
        assert!(
            taken.contains(&(to.clone(), "te-laat-2".into())),
            "{taken:?}"
        );

        ledger
            .finish(&p, Timestamp(5), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(ledger.pending().unwrap_or_default().is_empty());
        let taken = ledger.taken().unwrap_or_default();
        assert_eq!(taken.len(), 2);
        assert!(taken.contains(&(to, "binnenkort-1".into())));
    }
}
