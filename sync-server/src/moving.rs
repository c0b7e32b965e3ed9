//! Moving a stopped relay's data from one store to another (`kompas-relay move --from SOURCE
//! --to TARGET`, each a sled directory or a `postgres://` URL), so that an operator can go from
//! a sled relay to nodes on PostgreSQL, and back, without replicas noticing: the relay key, every
//! workspace's membership log and bundle log at the same sequence numbers, the operator's marks
//! and the mirror cursors all arrive as they were.
//!
//! The copy goes through the core's own log seam ([`WorkspaceLog`]) in order, so the target's
//! rules (dense numbers, one creation per workspace) check it as it is written; a workspace the
//! target holds already is refused before anything is written, and every copied workspace is
//! compared with its source afterwards.

use std::io::Write;

use kompas_engine::sync::wire::{ErrorCode, OrgKey, WorkspaceId};

use crate::backend::Backend;
use crate::protocol::Refusal;
use crate::protocol::log::{Appended, OpWritten, WorkspaceLog};
use crate::store::StoreError;

/// Bundles read from the source at a time.
const PAGE: usize = 1000;
/// Bytes of bundles read from the source at a time.
const PAGE_BYTES: usize = 32 << 20;

/// What was moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moved {
    /// Workspaces copied.
    pub workspaces: usize,
    /// Membership operations copied.
    pub operations: u64,
    /// Bundles copied.
    pub bundles: u64,
}

/// Why a move stopped.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// Reading or writing a store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The core refused what was read (a damaged source).
    #[error("{0}")]
    Refused(String),
    /// The target holds a relay key other than the source's.
    #[error(
        "het doel heeft al een andere relaysleutel ({target}) dan de bron ({source}); \
         replica's zouden de relay niet meer herkennen",
        source = .from,
        target = .to
    )]
    OtherKey {
        /// The source's key.
        from: OrgKey,
        /// The target's key.
        to: OrgKey,
    },
    /// The target holds a workspace the source holds too.
    #[error("samenwerking {0} staat al in het doel; er is niets verplaatst")]
    AlreadyThere(WorkspaceId),
    /// The copy does not match its source.
    #[error("samenwerking {0} is in het doel anders dan in de bron")]
    Mismatch(WorkspaceId),
}

impl From<Refusal> for MoveError {
    fn from(r: Refusal) -> MoveError {
        MoveError::Refused(r.message)
    }
}

/// Copies everything from `source` to `target`, telling `progress` one line per workspace.
pub async fn copy(
    source: &Backend,
    target: &Backend,
    progress: &mut impl Write,
) -> Result<Moved, MoveError> {
    let ids = source.workspaces()?;
    let there = target.workspaces()?;
    if let Some(id) = ids.iter().find(|id| there.contains(id)) {
        return Err(MoveError::AlreadyThere(*id));
    }
    // The key first: replicas pin it, so the target must have the source's or none.
    let key = source.relay_key(crate::state::random())?;
    let placed = target.relay_key(key.to_bytes())?;
    if placed.to_bytes() != key.to_bytes() {
        return Err(MoveError::OtherKey {
            from: OrgKey::of(&key),
            to: OrgKey::of(&placed),
        });
    }
    if let Some(mirrored) = source.mirrored_key()? {
        target.pin_mirrored_key(&mirrored)?;
    }
    let marks = source.marks()?;
    let mut moved = Moved::default();
    for id in &ids {
        let (ops, bundles) = copy_workspace(source, target, id)?;
        for name in [format!("mirror-down/{id}"), format!("mirror-up/{id}")] {
            let cursor = source.cursor(&name)?;
            if cursor > 0 {
                target.set_cursor(&name, cursor)?;
            }
        }
        if marks.frozen.contains(id) {
            target.set_mark(&format!("frozen/{id}"), true)?;
        }
        moved.workspaces += 1;
        moved.operations += ops;
        moved.bundles += bundles;
        let _ = writeln!(
            progress,
            "samenwerking {id}: {ops} lidmaatschapsoperaties, {bundles} wijzigingen"
        );
    }
    for key in &marks.banned {
        target.set_mark(&format!("banned/{key}"), true)?;
    }
    target.flush().await?;
    Ok(moved)
}

/// Copies one workspace's logs in order and compares the copy with its source.
fn copy_workspace(
    source: &Backend,
    target: &Backend,
    id: &WorkspaceId,
) -> Result<(u64, u64), MoveError> {
    let from = source.log(id)?;
    let mut to = target.log(id)?;
    let ops = from.ops(0, from.ops_len()?, usize::MAX)?;
    for (index, op) in ops.iter().enumerate() {
        if to.append_op(index as u64, op)? == OpWritten::Stale {
            return Err(MoveError::AlreadyThere(*id));
        }
    }
    let members = ops.len() as u64;
    let head = from.head()?;
    let mut after = 0;
    while after < head {
        let page = from.bundles(after, head, PAGE, PAGE_BYTES)?;
        if page.is_empty() {
            return Err(MoveError::Refused(format!(
                "samenwerking {id}: wijziging {} ontbreekt in de bron",
                after + 1
            )));
        }
        for item in page {
            match to.append(&item.bundle.hash(), &item.bundle, item.seq - 1, members)? {
                Appended::New(seq) if seq == item.seq => {}
                _ => {
                    return Err(Refusal::new(
                        ErrorCode::Internal,
                        format!(
                            "samenwerking {id}: wijziging {} kreeg een ander nummer",
                            item.seq
                        ),
                    )
                    .into());
                }
            }
            after = item.seq;
        }
    }
    if to.head()? != head
        || to.ops_len()? != members
        || to.stored_bytes()? != from.stored_bytes()?
    {
        return Err(MoveError::Mismatch(*id));
    }
    Ok((members, head))
}
