//! The operator's commands on a relay's data directory: list the workspaces with their sizes,
//! freeze or thaw a workspace, delete one, ban or unban a key.
//!
//! They work on the store directly. A sled directory belongs to one process, so that relay must
//! be stopped (the store's lock refuses a second process) and reads the marks when it starts
//! again. On PostgreSQL the nodes keep running: each reads the marks again every second. A frozen workspace is served
//! for reading, and every write to it is refused with `Frozen`; a banned key is refused at
//! authentication with `Banned`.

use kompas_engine::sync::wire::{OrgKey, WorkspaceId};

use crate::backend::Backend;
pub use crate::protocol::Marks;
use crate::store::{RelayStore, StoreError};
use crate::workspace::Workspace;

/// The tree holding the operator's marks.
const ADMIN: &str = "admin";

/// One workspace as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRow {
    /// Its id.
    pub id: WorkspaceId,
    /// The key that created it.
    pub creator: Option<OrgKey>,
    /// Current members.
    pub members: usize,
    /// Operations in its membership log.
    pub operations: u64,
    /// Bundles stored.
    pub bundles: u64,
    /// Bytes of the stored bundles.
    pub bytes: u64,
    /// Whether it is frozen.
    pub frozen: bool,
}

impl Marks {
    /// The marks in `store`.
    pub fn load(store: &RelayStore) -> Result<Marks, StoreError> {
        let mut names = Vec::new();
        for entry in store.tree(ADMIN)?.iter() {
            let (key, _) = entry?;
            names.push(String::from_utf8_lossy(&key).into_owned());
        }
        Ok(Marks::from_names(&names))
    }

    /// The marks named `frozen/<workspace>` and `banned/<key>` (other names are skipped).
    pub fn from_names(names: &[String]) -> Marks {
        let mut marks = Marks::default();
        for name in names {
            if let Some(ws) = name.strip_prefix("frozen/").and_then(|h| h.parse().ok()) {
                marks.frozen.insert(ws);
            } else if let Some(k) = name.strip_prefix("banned/").and_then(|h| h.parse().ok()) {
                marks.banned.insert(k);
            }
        }
        marks
    }
}

/// Every workspace in `store`, with its size.
pub fn workspaces(store: &Backend) -> Result<Vec<WorkspaceRow>, StoreError> {
    let marks = store.marks()?;
    let mut rows = Vec::new();
    for id in store.workspaces()? {
        let ws = Workspace::load(id, store.log(&id)?)?;
        let Some(first) = ws.op_at(0).map_err(|r| StoreError::BadRecord(r.message))? else {
            continue;
        };
        rows.push(WorkspaceRow {
            id,
            creator: first.op.body.creates().then_some(first.op.author),
            members: ws.with_members(|m| m.members().count()),
            operations: ws.ops_len(),
            bundles: ws.head(),
            bytes: ws.stored_bytes(),
            frozen: marks.frozen.contains(&id),
        });
    }
    rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.id.cmp(&b.id)));
    Ok(rows)
}

/// Freezes (`true`) or thaws a workspace. Returns whether it exists (a thaw also lifts the
/// mark that a deletion on PostgreSQL leaves behind).
pub async fn freeze(store: &Backend, id: WorkspaceId, on: bool) -> Result<bool, StoreError> {
    let name = format!("frozen/{id}");
    let known = store.workspaces()?.contains(&id);
    let thawing_a_deleted = !on && store.marks()?.frozen.contains(&id);
    if !known && !thawing_a_deleted {
        return Ok(false);
    }
    mark(store, &name, on).await?;
    Ok(true)
}

/// Bans (`true`) or readmits a key.
pub async fn ban(store: &Backend, key: OrgKey, on: bool) -> Result<(), StoreError> {
    mark(store, &format!("banned/{key}"), on).await
}

/// Deletes a workspace: its bundles, its membership log and its mirror cursors. Returns whether
/// it existed. Replicas that still hold it can fill it again only by creating it anew, so this
/// is for workspaces nobody uses. On sled (a stopped relay) its frozen mark goes too; on
/// PostgreSQL, where other nodes may hold it in memory, it stays frozen until thawed.
pub async fn delete(store: &Backend, id: WorkspaceId) -> Result<bool, StoreError> {
    match store {
        Backend::Sled(sled) => {
            if !sled.workspaces()?.contains(&id) {
                return Ok(false);
            }
            for tree in [format!("m/{id}"), format!("b/{id}"), format!("h/{id}")] {
                sled.drop_tree(&tree)?;
            }
            let meta = sled.tree("meta")?;
            meta.remove(format!("mirror-down/{id}"))?;
            meta.remove(format!("mirror-up/{id}"))?;
            mark(store, &format!("frozen/{id}"), false).await?;
            Ok(true)
        }
        Backend::Postgres(pg) => Ok(pg.run(pg.delete_workspace(&id))?),
    }
}

async fn mark(store: &Backend, name: &str, on: bool) -> Result<(), StoreError> {
    store.set_mark(name, on)?;
    store.flush().await
}

/// Sets or clears a mark (durable at the next flush).
pub(crate) fn set_mark(store: &RelayStore, name: &str, on: bool) -> Result<(), StoreError> {
    let admin = store.tree(ADMIN)?;
    if on {
        admin.insert(name.as_bytes(), &[1])?;
    } else {
        admin.remove(name.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kompas_engine::sync::membership::OpBody;

    #[tokio::test]
    async fn marks_are_kept_and_a_deleted_workspace_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Backend::Sled(RelayStore::open(dir.path(), 1 << 20).unwrap());
        let (ws, key) = (WorkspaceId([4; 16]), OrgKey([5; 32]));
        assert!(
            !freeze(&store, ws, true).await.unwrap(),
            "unknown workspace"
        );
        ban(&store, key, true).await.unwrap();
        let trees = store.as_sled().unwrap().trees(&ws).unwrap();
        let signer = ed25519_dalek::SigningKey::from_bytes(&[6; 32]);
        let op = kompas_engine::sync::membership::SignedOp::sign(
            ws,
            None,
            kompas_engine::Timestamp(0),
            OpBody::Create {
                name: "Samen".into(),
                coordinator: kompas_engine::sync::membership::MemberProfile {
                    key: OrgKey::of(&signer),
                    name: "Gemeente".into(),
                    org_type: kompas_engine::identity::OrgType::Gemeente,
                    kx: kompas_engine::sync::wire::KxKey([7; 32]),
                },
            },
            &signer,
        );
        trees.append_op(0, &op).unwrap();
        trees
            .append(&kompas_engine::sync::wire::Hash32([1; 32]), &[0; 40], 0)
            .unwrap();
        assert!(freeze(&store, ws, true).await.unwrap());
        let marks = store.marks().unwrap();
        assert!(marks.frozen.contains(&ws) && marks.banned.contains(&key));
        let rows = workspaces(&store).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].members,
                rows[0].bundles,
                rows[0].bytes,
                rows[0].frozen
            ),
            (1, 1, 40, true)
        );
        assert_eq!(rows[0].creator, Some(OrgKey::of(&signer)));
        ban(&store, key, false).await.unwrap();
        assert!(delete(&store, ws).await.unwrap());
        assert!(workspaces(&store).unwrap().is_empty());
        assert_eq!(store.marks().unwrap(), Marks::default());
    }
}
