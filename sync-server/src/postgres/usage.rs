//! The per-minute quotas for all nodes together. Each node counts its own charges in memory, as
//! a single relay does, and once a second (at the follower's sweep) writes them to
//! `kompas.usage` and reads what the other nodes wrote for the same minute, which then counts
//! against its own next charges. A write per push would make every push wait for a second
//! round trip and serialise the pushes of one key across workspaces; this way a quota holds
//! for all nodes up to what the others charged since they last wrote, at most a second's worth
//! per node.

use std::collections::HashMap;

use kompas_engine::sync::wire::{OrgKey, WorkspaceId};

use super::{PgError, PgStore};
use crate::protocol::quota::{MinuteUsage, Usage};

/// How a subject of a quota is written in `kompas.usage`.
fn subjects(usage: &MinuteUsage) -> Vec<(Vec<u8>, Usage)> {
    let mut rows = Vec::new();
    for (key, used) in &usage.keys {
        rows.push(([b"k".as_slice(), &key.0].concat(), *used));
    }
    for (ws, used) in &usage.workspaces {
        rows.push(([b"w".as_slice(), &ws.0].concat(), *used));
    }
    if usage.creates > 0 {
        let creates = Usage {
            bundles: usage.creates,
            ..Usage::default()
        };
        rows.push((b"c".to_vec(), creates));
    }
    rows
}

/// Adds one row read back to `into`; a subject of another shape is skipped.
fn add(into: &mut MinuteUsage, subject: &[u8], used: Usage) {
    match subject.split_first() {
        Some((b'k', key)) => {
            if let Ok(key) = <[u8; 32]>::try_from(key) {
                into.keys.insert(OrgKey(key), used);
            }
        }
        Some((b'w', ws)) => {
            if let Ok(ws) = <[u8; 16]>::try_from(ws) {
                into.workspaces.insert(WorkspaceId(ws), used);
            }
        }
        Some((b'c', [])) => into.creates = used.bundles,
        _ => {}
    }
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl PgStore {
    /// Writes what this node (`node`) charged in `mine.minute` and answers what every other
    /// node charged in that minute, summed per subject. Rows of minutes before the previous one
    /// are removed on the way.
    pub async fn exchange_usage(
        &self,
        node: i64,
        mine: &MinuteUsage,
    ) -> Result<MinuteUsage, PgError> {
        let mut client = self.client().await?;
        let done = async {
            let tx = client.transaction().await?;
            tx.execute(
                "DELETE FROM kompas.usage WHERE minute < $1",
                &[&(mine.minute - 1)],
            )
            .await?;
            let rows = subjects(mine);
            let names: Vec<&[u8]> = rows.iter().map(|(s, _)| s.as_slice()).collect();
            let bundles: Vec<i64> = rows.iter().map(|(_, u)| signed(u.bundles)).collect();
            let bytes: Vec<i64> = rows.iter().map(|(_, u)| signed(u.bytes)).collect();
            let ops: Vec<i64> = rows.iter().map(|(_, u)| signed(u.ops)).collect();
            tx.execute(
                "INSERT INTO kompas.usage (node, minute, subject, bundles, bytes, ops) \
                 SELECT $1, $2, * FROM unnest($3::bytea[], $4::bigint[], $5::bigint[], $6::bigint[]) \
                 ON CONFLICT (minute, node, subject) DO UPDATE SET \
                 bundles = EXCLUDED.bundles, bytes = EXCLUDED.bytes, ops = EXCLUDED.ops",
                &[&node, &mine.minute, &names, &bundles, &bytes, &ops],
            )
            .await?;
            let theirs = tx
                .query(
                    "SELECT subject, sum(bundles)::bigint, sum(bytes)::bigint, sum(ops)::bigint \
                     FROM kompas.usage WHERE minute = $1 AND node <> $2 GROUP BY subject",
                    &[&mine.minute, &node],
                )
                .await?;
            tx.commit().await?;
            Ok::<_, tokio_postgres::Error>(theirs)
        }
        .await;
        let theirs = self.noted(done.map_err(PgError::from))?;
        let mut others = MinuteUsage {
            minute: mine.minute,
            keys: HashMap::new(),
            workspaces: HashMap::new(),
            creates: 0,
        };
        for row in theirs {
            let subject: Vec<u8> = row.get(0);
            let used = Usage {
                bundles: unsigned(row.get(1)),
                bytes: unsigned(row.get(2)),
                ops: unsigned(row.get(3)),
            };
            add(&mut others, &subject, used);
        }
        Ok(others)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_written_and_read_back_alike() {
        let mut usage = MinuteUsage {
            minute: 7,
            creates: 2,
            ..MinuteUsage::default()
        };
        let used = Usage {
            bundles: 3,
            bytes: 300,
            ops: 1,
        };
        usage.keys.insert(OrgKey([1; 32]), used);
        usage.workspaces.insert(WorkspaceId([2; 16]), used);
        let mut back = MinuteUsage {
            minute: 7,
            ..MinuteUsage::default()
        };
        for (subject, used) in subjects(&usage) {
            add(&mut back, &subject, used);
        }
        add(&mut back, b"x-unknown", used);
        add(&mut back, b"kshort", used);
        assert_eq!(back, usage);
    }
}
