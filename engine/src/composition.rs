//! The one place where the kinds in force are put together: the kinds of the workflow
//! definitions in force and the kinds the engine owns, each with its owner's rules (`runtime`,
//! `published`, `figures`). Every replica is opened here, so it holds the definitions in force
//! from its first operation on; the built-in definitions are parsed once per process.

use std::sync::OnceLock;

use crate::definition::{Registry, builtin_registry};
use crate::identity::Identity;
use crate::kinds::{Kinds, Owned};
use crate::replica::{Replica, ReplicaError};
use crate::store::{DataDir, DataDirError, SledStore, Store};
use crate::{figures, published, runtime};

/// What every owner of engine kinds gives.
pub fn owners() -> [Owned; 3] {
    [runtime::owned(), published::owned(), figures::owned()]
}

/// The built-in definitions, parsed on first use.
pub fn builtin() -> &'static Registry {
    static BUILTIN: OnceLock<Registry> = OnceLock::new();
    BUILTIN.get_or_init(builtin_registry)
}

/// The kinds in force with the definitions of `registry`.
pub fn kinds_of(registry: &Registry) -> Kinds {
    Kinds::new(registry.catalog(), owners())
}

/// The kinds in force with the built-in definitions alone, put together on first use.
fn builtin_kinds() -> &'static Kinds {
    static KINDS: OnceLock<Kinds> = OnceLock::new();
    KINDS.get_or_init(|| kinds_of(builtin()))
}

/// Sets up a fresh store for `identity`, with the built-in definitions in force.
pub fn init<S: Store>(store: S, identity: Identity) -> Result<Replica<S>, ReplicaError> {
    Replica::init(store, identity, builtin_kinds().clone())
}

/// Sets up a fresh store for `identity`, with the definitions of `registry` in force.
pub fn init_with<S: Store>(
    store: S,
    identity: Identity,
    registry: &Registry,
) -> Result<Replica<S>, ReplicaError> {
    Replica::init(store, identity, kinds_of(registry))
}

/// Why a store for one more samenwerking could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The data directory could not add the store.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The replica refused the identity.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
}

/// Adds a store for one more samenwerking to the data directory, set up for `identity` (the
/// organisation's one identity), and opens it with the built-in definitions in force. Returns
/// the store's number and its replica.
pub fn init_in(data: &DataDir, identity: Identity) -> Result<(u32, Replica<SledStore>), InitError> {
    let number = data.add_store(|store| -> Result<(), InitError> {
        init(store, identity)?;
        Ok(())
    })?;
    Ok((number, open(data.store(number)?)?))
}

/// Opens a store that [`init`] set up, with the built-in definitions in force.
pub fn open<S: Store>(store: S) -> Result<Replica<S>, ReplicaError> {
    Replica::open(store, builtin_kinds().clone())
}

/// Opens a store with the definitions in force that `in_force` decides. It reads the replica as
/// opened with the built-in definitions (the published definitions are documents of it) and
/// returns the registry in force and whatever else it found; the replica comes back with that
/// registry's kinds.
pub fn open_with<S: Store, T, E: From<ReplicaError>>(
    store: S,
    in_force: impl FnOnce(&Replica<S>) -> Result<(Registry, T), E>,
) -> Result<(Replica<S>, Registry, T), E> {
    let mut replica = open(store)?;
    let (registry, found) = in_force(&replica)?;
    replica.set_kinds(kinds_of(&registry));
    Ok((replica, registry, found))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_owners_own_exactly_the_engine_kinds() {
        let owned: Vec<&str> = owners()
            .iter()
            .flat_map(|o| o.kinds.iter().map(|k| k.name))
            .collect();
        let unique: BTreeSet<&str> = owned.iter().copied().collect();
        assert_eq!(
            unique.len(),
            owned.len(),
            "a kind has two owners: {owned:?}"
        );
        let listed: BTreeSet<&str> = crate::kinds::ENGINE_OWNED.into_iter().collect();
        assert_eq!(unique, listed);
    }

    #[test]
    fn engine_kinds_with_fields_replace_a_definitions_kind() {
        let kinds = kinds_of(builtin());
        for owned in owners() {
            for rules in owned.kinds {
                match (&rules.fields, rules.content) {
                    (Some(fields), crate::kinds::Content::Catalog) => {
                        assert_eq!(fields.name, rules.name);
                        assert_eq!(kinds.catalog().kind(rules.name), Some(fields));
                    }
                    (None, crate::kinds::Content::Own(_)) => {
                        assert!(kinds.catalog().kind(rules.name).is_none());
                    }
                    (fields, _) => panic!("{}: fields {fields:?} and content disagree", rules.name),
                }
                assert!(kinds.knows(rules.name));
            }
        }
    }

    #[test]
    fn the_builtin_definitions_are_parsed_once() {
        assert!(std::ptr::eq(builtin(), builtin()));
        assert!(builtin().catalog().kind("ambitie").is_some());
    }
}
