//! The definitions in force: built-in ones, those published to the workspace and those from a
//! workflows folder, by name and version.

use std::collections::BTreeMap;

use super::model::{Definition, catalog_of};
use crate::catalog::Catalog;

/// Where a definition came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum Source {
    /// Built into kompas.
    Builtin,
    /// A file in the workflows folder.
    File {
        /// The file, as named to the user.
        path: String,
    },
    /// Published to the workspace by a coordinator.
    Published {
        /// The publishing organisation's name.
        by: String,
        /// Its organisation id.
        org_id: String,
    },
}

/// A checked definition with the exact text it was read from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The checked definition.
    pub definition: Definition,
    /// The file's text, as pinned by instances.
    pub body: String,
    /// BLAKE3 of `body`, hex.
    pub hash: String,
    /// Where it came from.
    pub source: Source,
}

/// All definitions in force. For one name and version, the one added last wins, so a file in the
/// workflows folder overrides a built-in definition of the same name and version.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_name: BTreeMap<String, BTreeMap<semver::Version, Loaded>>,
}

impl Registry {
    /// Adds a definition, replacing one with the same name and version.
    pub fn insert(&mut self, loaded: Loaded) {
        self.by_name
            .entry(loaded.definition.name.clone())
            .or_default()
            .insert(loaded.definition.version.clone(), loaded);
    }

    /// The highest version of `name`.
    pub fn latest(&self, name: &str) -> Option<&Loaded> {
        self.by_name.get(name)?.values().next_back()
    }

    /// One exact version of `name`.
    pub fn version(&self, name: &str, version: &semver::Version) -> Option<&Loaded> {
        self.by_name.get(name)?.get(version)
    }

    /// The highest version of every definition, sorted by name.
    pub fn latest_all(&self) -> impl Iterator<Item = &Loaded> {
        self.by_name.values().filter_map(|v| v.values().next_back())
    }

    /// The names of all definitions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The kinds of the latest version of every definition.
    pub fn catalog(&self) -> Catalog {
        catalog_of(self.latest_all().map(|l| &l.definition))
    }
}
