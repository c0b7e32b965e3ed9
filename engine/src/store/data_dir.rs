//! A kompas data directory: a marker file, an exclusive process lock, and the sled store inside.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{SledStore, StoreError};

const MARKER: &str = "kompas.json";
const LOCK: &str = "kompas.lock";
const STORE: &str = "store";
const FORMAT: u32 = 1;

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
        let marker = Marker {
            kompas: "data-dir".into(),
            format: FORMAT,
        };
        let body = serde_json::to_vec_pretty(&marker).map_err(|e| DataDirError::Io {
            path: root.join(MARKER),
            source: e.into(),
        })?;
        write_durably(&root.join(MARKER), &body)?;
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
        if marker.format != FORMAT {
            return Err(DataDirError::UnknownFormat {
                path: root.to_path_buf(),
                found: marker.format,
            });
        }
        let lock = Self::lock(root)?;
        Ok(DataDir {
            root: root.to_path_buf(),
            _lock: lock,
        })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens the sled store inside this directory.
    pub fn store(&self) -> Result<SledStore, DataDirError> {
        Ok(SledStore::open(&self.root.join(STORE))?)
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
