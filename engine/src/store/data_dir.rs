//! A kompas data directory: a marker file, an exclusive process lock, and one sled store per
//! samenwerking inside (`samenwerkingen/1`, `samenwerkingen/2`, ...), each holding the same
//! organisation identity. A document lives in exactly one of those stores, so nothing can mix
//! two samenwerkingen. A directory of the first layout (one `store`) is converted when opened.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{SledStore, StoreError};

const MARKER: &str = "kompas.json";
const LOCK: &str = "kompas.lock";
/// The one store of the first layout.
const OLD_STORE: &str = "store";
/// The folder of the stores, one per samenwerking.
const STORES: &str = "samenwerkingen";
/// Where a new store is filled before it appears under its number.
const NEW_STORE: &str = ".nieuw";
/// Where a store goes before it is removed.
const GONE_STORE: &str = ".weg";
/// The layout with one store per samenwerking.
const FORMAT: u32 = 2;
/// The first layout: one store, `store`, for the one samenwerking.
const OLD_FORMAT: u32 = 1;

/// Why a data directory could not be created or opened.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Nothing has been initialised at the path yet.
    #[error(
        "{} is nog geen kompas-map; maak er een met `kompas --data {} init --org NAAM --type SOORT` (de soorten staan in `kompas init --help`)",
        .0.display(),
        .0.display()
    )]
    Missing(PathBuf),
    /// The marker file is there but cannot be read as kompas's marker.
    #[error(
        "{} is beschadigd ({reason}); kompas gebruikt deze map niet zolang dat bestand niet klopt",
        .path.display()
    )]
    DamagedMarker { path: PathBuf, reason: String },
    /// The directory exists and holds files that kompas did not put there.
    #[error(
        "{0} is geen kompas-map (er staat geen {MARKER} in) en is niet leeg; kompas laat hem ongemoeid"
    )]
    NotOurs(PathBuf),
    /// `init` was asked for a directory that already is a kompas data directory.
    #[error("{0} is al een kompas-map; kies een andere map met --data")]
    AlreadyInitialised(PathBuf),
    /// Another process holds the lock.
    #[error("{0} is in gebruik door een ander kompas-proces; wacht tot dat klaar is of stop het")]
    InUse(PathBuf),
    /// The marker names a format this version does not know.
    #[error(
        "{path} heeft opslagformaat {found}; deze versie van kompas kent alleen formaat {FORMAT}"
    )]
    UnknownFormat { path: PathBuf, found: u32 },
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The store inside failed to open.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A tool asked for the one store of a directory that has none or several.
    #[error(
        "{} heeft {count} samenwerkingen; kies er een met --samenwerking NAAM",
        .path.display()
    )]
    NotSole { path: PathBuf, count: usize },
    /// No store has this number.
    #[error("{} heeft geen samenwerking nummer {number}", .path.display())]
    NoSuchStore { path: PathBuf, number: u32 },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Marker {
    kompas: String,
    format: u32,
}

/// An opened, exclusively locked data directory. The lock is released when this is dropped.
pub struct DataDir {
    root: PathBuf,
    _lock: File,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl DataDir {
    /// Creates a new data directory at `root` (which must not exist or be empty) and locks it.
    pub fn create(root: &Path) -> Result<Self, DataDirError> {
        if root.join(MARKER).exists() {
            return Err(DataDirError::AlreadyInitialised(root.to_path_buf()));
        }
        if root.exists() {
            let mut entries = fs::read_dir(root).map_err(io_err(root))?;
            if entries.next().is_some() {
                return Err(DataDirError::NotOurs(root.to_path_buf()));
            }
        }
        fs::create_dir_all(root).map_err(io_err(root))?;
        let lock = Self::lock(root)?;
        let stores = root.join(STORES);
        fs::create_dir_all(&stores).map_err(io_err(&stores))?;
        write_marker(root, FORMAT)?;
        Ok(DataDir {
            root: root.to_path_buf(),
            _lock: lock,
        })
    }

    /// Opens and locks an existing data directory.
    pub fn open(root: &Path) -> Result<Self, DataDirError> {
        let marker_path = root.join(MARKER);
        if !marker_path.exists() {
            let empty_or_absent = match fs::read_dir(root) {
                Ok(mut entries) => entries.next().is_none(),
                Err(_) => true,
            };
            return Err(if empty_or_absent {
                DataDirError::Missing(root.to_path_buf())
            } else {
                DataDirError::NotOurs(root.to_path_buf())
            });
        }
        let body = fs::read(&marker_path).map_err(io_err(&marker_path))?;
        let damaged = |reason: String| DataDirError::DamagedMarker {
            path: marker_path.clone(),
            reason,
        };
        let marker: Marker = serde_json::from_slice(&body)
            .map_err(|e| damaged(format!("geen geldige inhoud: {e}")))?;
        if marker.kompas != "data-dir" {
            return Err(damaged(format!(
                "\"kompas\" is {:?} in plaats van \"data-dir\"",
                marker.kompas
            )));
        }
        if marker.format != FORMAT && marker.format != OLD_FORMAT {
            return Err(DataDirError::UnknownFormat {
                path: root.to_path_buf(),
                found: marker.format,
            });
        }
        let lock = Self::lock(root)?;
        if marker.format == OLD_FORMAT {
            convert(root)?;
        }
        let data = DataDir {
            root: root.to_path_buf(),
            _lock: lock,
        };
        data.clear_leftovers()?;
        Ok(data)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The numbers of the stores in this directory, one per samenwerking, in order.
    pub fn stores(&self) -> Result<Vec<u32>, DataDirError> {
        let dir = self.root.join(STORES);
        let mut numbers = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            if let Some(n) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            {
                numbers.push(n);
            }
        }
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// Opens the store with number `number`.
    pub fn store(&self, number: u32) -> Result<SledStore, DataDirError> {
        let path = self.store_path(number);
        if !path.is_dir() {
            return Err(DataDirError::NoSuchStore {
                path: self.root.clone(),
                number,
            });
        }
        Ok(SledStore::open(&path)?)
    }

    /// Opens the store of a directory with one samenwerking (for tools and tests that know
    /// the directory has one).
    pub fn sole_store(&self) -> Result<SledStore, DataDirError> {
        match self.stores()?.as_slice() {
            [only] => self.store(*only),
            several => Err(DataDirError::NotSole {
                path: self.root.clone(),
                count: several.len(),
            }),
        }
    }

    /// Adds a store for one more samenwerking and returns its number. `fill` gets the new,
    /// empty store first (to write the organisation's identity into it) and must close it
    /// again; only then does the store appear under its number, so a crash half-way leaves no
    /// half-made store behind (the next open removes the unfinished one).
    pub fn add_store<E: From<DataDirError>>(
        &self,
        fill: impl FnOnce(SledStore) -> Result<(), E>,
    ) -> Result<u32, E> {
        let stores = self.root.join(STORES);
        let unfinished = stores.join(NEW_STORE);
        remove_if_there(&unfinished)?;
        fill(SledStore::open(&unfinished).map_err(DataDirError::from)?)?;
        let number = self.stores()?.last().map_or(1, |n| n + 1);
        let path = self.store_path(number);
        fs::rename(&unfinished, &path).map_err(io_err(&path))?;
        sync_dir(&stores)?;
        Ok(number)
    }

    /// Removes the store with number `number` and everything in it (a samenwerking this
    /// organisation did not get into). It disappears from the listing in one step.
    pub fn remove_store(&self, number: u32) -> Result<(), DataDirError> {
        let stores = self.root.join(STORES);
        let gone = stores.join(format!("{GONE_STORE}-{number}"));
        remove_if_there(&gone)?;
        let path = self.store_path(number);
        fs::rename(&path, &gone).map_err(io_err(&path))?;
        sync_dir(&stores)?;
        remove_if_there(&gone)
    }

    fn store_path(&self, number: u32) -> PathBuf {
        self.root.join(STORES).join(number.to_string())
    }

    /// Removes what an interrupted [`DataDir::add_store`] or [`DataDir::remove_store`] left.
    fn clear_leftovers(&self) -> Result<(), DataDirError> {
        let dir = self.root.join(STORES);
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name == NEW_STORE || name.starts_with(GONE_STORE) {
                remove_if_there(&entry.path())?;
            }
        }
        Ok(())
    }

    fn lock(root: &Path) -> Result<File, DataDirError> {
        let path = root.join(LOCK);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => Err(DataDirError::InUse(root.to_path_buf())),
            Err(fs::TryLockError::Error(source)) => Err(DataDirError::Io { path, source }),
        }
    }
}

/// Converts a directory of the first layout (one `store`) into one with that store as the first
/// samenwerking. Each step is durable before the next, and every state between them converts
/// on the next open: the store is moved in one rename (so it is either at its old place or at
/// its new one), and the marker says the new format only once the store is in place.
fn convert(root: &Path) -> Result<(), DataDirError> {
    let stores = root.join(STORES);
    fs::create_dir_all(&stores).map_err(io_err(&stores))?;
    let old = root.join(OLD_STORE);
    let first = stores.join("1");
    // A rename onto a store that is already there fails rather than replacing it.
    if old.exists() {
        fs::rename(&old, &first).map_err(io_err(&first))?;
        sync_dir(&stores)?;
        sync_dir(root)?;
    }
    write_marker(root, FORMAT)
}

fn write_marker(root: &Path, format: u32) -> Result<(), DataDirError> {
    let marker = Marker {
        kompas: "data-dir".into(),
        format,
    };
    let body = serde_json::to_vec_pretty(&marker).map_err(|e| DataDirError::Io {
        path: root.join(MARKER),
        source: e.into(),
    })?;
    write_durably(&root.join(MARKER), &body)
}

fn remove_if_there(path: &Path) -> Result<(), DataDirError> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DataDirError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Makes a rename inside `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), DataDirError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Writes a small file so that it is either wholly there or not at all.
fn write_durably(path: &Path, body: &[u8]) -> Result<(), DataDirError> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(body).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))?;
    if let Some(parent) = path.parent()
        && let Ok(dir) = File::open(parent)
    {
        dir.sync_all().map_err(io_err(parent))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A directory as the first layout left it: marker format 1 and one store with a document
    /// and a meta value.
    fn old_layout(root: &Path) {
        fs::create_dir_all(root).unwrap();
        let store = SledStore::open(&root.join(OLD_STORE)).unwrap();
        store.append_chunk("doc-1", b"stuk", b"").unwrap();
        store.put_meta("sync-cursors", b"{\"ws://a\":7}").unwrap();
        drop(store);
        write_marker(root, OLD_FORMAT).unwrap();
    }

    fn assert_converted(root: &Path) {
        let data = DataDir::open(root).unwrap();
        assert_eq!(data.stores().unwrap(), vec![1]);
        let store = data.sole_store().unwrap();
        assert_eq!(
            store.load("doc-1").unwrap().unwrap().chunks,
            vec![b"stuk".to_vec()]
        );
        assert_eq!(
            store.get_meta("sync-cursors").unwrap().unwrap(),
            b"{\"ws://a\":7}".to_vec()
        );
        drop(store);
        drop(data);
        let marker: Marker = serde_json::from_slice(&fs::read(root.join(MARKER)).unwrap()).unwrap();
        assert_eq!(marker.format, FORMAT);
        assert!(!root.join(OLD_STORE).exists());
    }

    #[test]
    fn the_first_layout_converts_with_everything_in_it() {
        let dir = tempfile::tempdir().unwrap();
        old_layout(dir.path());
        assert_converted(dir.path());
        // Opening again changes nothing.
        assert_converted(dir.path());
    }

    #[test]
    fn a_conversion_stopped_at_any_step_finishes_on_the_next_open() {
        // Stopped after making the folder, before moving the store.
        let dir = tempfile::tempdir().unwrap();
        old_layout(dir.path());
        fs::create_dir_all(dir.path().join(STORES)).unwrap();
        assert_converted(dir.path());

        // Stopped after moving the store, before the marker said so.
        let dir = tempfile::tempdir().unwrap();
        old_layout(dir.path());
        fs::create_dir_all(dir.path().join(STORES)).unwrap();
        fs::rename(
            dir.path().join(OLD_STORE),
            dir.path().join(STORES).join("1"),
        )
        .unwrap();
        assert_converted(dir.path());
    }

    #[test]
    fn stores_are_added_whole_and_removed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(dir.path()).unwrap();
        assert!(data.stores().unwrap().is_empty());
        let first = data
            .add_store(|store| {
                store
                    .put_meta("identity", b"org")
                    .map_err(DataDirError::from)
            })
            .unwrap();
        let second = data
            .add_store(|store| {
                store
                    .put_meta("identity", b"org")
                    .map_err(DataDirError::from)
            })
            .unwrap();
        assert_eq!((first, second), (1, 2));
        assert!(matches!(
            data.sole_store(),
            Err(DataDirError::NotSole { count: 2, .. })
        ));
        assert_eq!(
            data.store(2)
                .unwrap()
                .get_meta("identity")
                .unwrap()
                .unwrap(),
            b"org".to_vec()
        );
        // A fill that fails leaves nothing under a number.
        let failed = data.add_store(|_| Err(DataDirError::Missing(PathBuf::new())));
        assert!(failed.is_err());
        assert_eq!(data.stores().unwrap(), vec![1, 2]);
        data.remove_store(1).unwrap();
        assert_eq!(data.stores().unwrap(), vec![2]);
        drop(data);
        // What the failed fill left is cleared on the next open.
        let data = DataDir::open(dir.path()).unwrap();
        assert_eq!(fs::read_dir(dir.path().join(STORES)).unwrap().count(), 1);
        assert_eq!(data.add_store(|_| Ok::<_, DataDirError>(())).unwrap(), 3);
    }
}
