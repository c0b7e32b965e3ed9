//! How a node learns of the writes other nodes make to the same database: it listens on the
//! channel the write functions notify (`LISTEN kompas`), and once a second it reads every
//! workspace's heads, so a notification lost with a dropped connection, or dropped because the
//! node was busy, delays a push by at most that second and never loses it. A lost connection
//! to the database is made again, with a growing pause, until the node stops. The same sweep
//! reads the operator's marks, so a workspace frozen or a key banned through any node, or with
//! `kompas-relay freeze --store ...`, holds on every node within that second, and exchanges
//! what each node charged against the per-minute quotas ([`super::usage`]).

use std::collections::HashMap;
use std::time::Duration;

use kompas_engine::sync::wire::WorkspaceId;
use tokio::sync::{mpsc, watch};
use tokio_postgres::AsyncMessage;

use super::schema::CHANNEL;
use super::{Heads, PgError, PgStore};
use crate::protocol::Marks;
use crate::protocol::quota::MinuteUsage;

/// How often every workspace's heads are read, whatever was notified.
pub const SWEEP: Duration = Duration::from_secs(1);

/// Notifications waiting to be handled; beyond this they are dropped (the sweep finds them).
const BACKLOG: usize = 4096;

/// Reads a notification's payload: `<workspace hex> b <head>` or `<workspace hex> o <length>`.
pub fn parse(payload: &str) -> Option<Heads> {
    let mut parts = payload.split(' ');
    let id: WorkspaceId = parts.next()?.parse().ok()?;
    let kind = parts.next()?;
    let n: u64 = parts.next()?.parse().ok()?;
    match kind {
        "b" => Some(Heads {
            id,
            head: n,
            ops_len: 0,
        }),
        "o" => Some(Heads {
            id,
            head: 0,
            ops_len: n,
        }),
        _ => None,
    }
}

/// What the follower tells the node it follows for, and asks of it.
pub trait Follower: Send + Sync {
    /// Another node may have written to this workspace (a field that was not notified is 0);
    /// the node compares the heads with what it holds.
    fn moved(&self, heads: Heads);
    /// The operator's marks, at every sweep.
    fn marked(&self, marks: Marks);
    /// What this node charged against the per-minute quotas in the current minute.
    fn usage(&self) -> MinuteUsage;
    /// What the other nodes charged in that minute.
    fn others_used(&self, others: MinuteUsage);
}

/// Follows the database for `node` until `shutdown` turns true.
pub async fn follow(store: PgStore, mut shutdown: watch::Receiver<bool>, node: impl Follower) {
    let mut pause = Duration::from_millis(200);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let outcome = tokio::select! {
            outcome = listen(&store, &node) => outcome,
            _ = shutdown.changed() => return,
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "luisteren naar PostgreSQL onderbroken; opnieuw verbinden");
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// One connection's life: listens, handles notifications and sweeps until it fails.
async fn listen(store: &PgStore, node: &impl Follower) -> Result<(), PgError> {
    let (client, mut connection) = store.config().connect(store.tls()).await?;
    let (tx, mut rx) = mpsc::channel::<String>(BACKLOG);
    let mut driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(note))) => {
                    // A full backlog drops the notification: the next sweep reads the heads.
                    let _ = tx.try_send(note.payload().to_string());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return PgError::from(e),
                None => return PgError::Unreachable("de verbinding is gesloten".into()),
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    tracing::info!("luistert naar wijzigingen van andere relay-knooppunten");
    let mut sweep = tokio::time::interval(SWEEP);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ended = &mut driver => {
                return Err(match ended {
                    Ok(e) => e,
                    Err(e) => PgError::Unreachable(e.to_string()),
                });
            }
            _ = sweep.tick() => {
                for heads in store.heads().await? {
                    node.moved(heads);
                }
                node.marked(Marks::from_names(&store.marks().await?));
                let others = store.exchange_usage(store.node(), &node.usage()).await?;
                node.others_used(others);
                store.refresh_size().await?;
            }
            note = rx.recv() => {
                let Some(first) = note else { continue };
                // Handle everything that is waiting at once, each workspace once.
                let mut batch: HashMap<WorkspaceId, Heads> = HashMap::new();
                let mut add = |payload: &str| {
                    if let Some(h) = parse(payload) {
                        let e = batch.entry(h.id).or_insert(h);
                        e.head = e.head.max(h.head);
                        e.ops_len = e.ops_len.max(h.ops_len);
                    }
                };
                add(&first);
                while let Ok(more) = rx.try_recv() {
                    add(&more);
                }
                for heads in batch.into_values() {
                    node.moved(heads);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_a_workspace_and_one_head() {
        let id = WorkspaceId([7; 16]);
        assert_eq!(
            parse(&format!("{id} b 12")),
            Some(Heads {
                id,
                head: 12,
                ops_len: 0
            })
        );
        assert_eq!(
            parse(&format!("{id} o 3")),
            Some(Heads {
                id,
                head: 0,
                ops_len: 3
            })
        );
        assert_eq!(parse(&format!("{id} x 3")), None);
        assert_eq!(parse("zz b 1"), None);
        assert_eq!(parse(&format!("{id} b")), None);
    }
}
