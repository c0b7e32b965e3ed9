//! Sharing a data directory with a watching sync: `kompas sync --watch` holds the directory's
//! lock for as long as it runs, so other kompas commands ask it for a turn.
//!
//! Two small files next to the lock carry the conversation. `kompas.watching` says a watching
//! sync may be holding the lock; it exists while that process runs. `kompas.knock` says another
//! process is waiting for the lock: the watcher, which looks for it regularly, closes the store
//! and releases the lock, waits until the knock is gone (the waiting process removes it once it
//! holds the lock), and then takes the lock back as soon as it is free. Only the watcher reads
//! the knock, so an ordinary command that holds the lock is never interrupted.

use std::fs;
use std::path::{Path, PathBuf};

use super::data_dir::{DataDir, DataDirError};

const KNOCK: &str = "kompas.knock";
const WATCHING: &str = "kompas.watching";

/// Says, for as long as it lives, that a watching sync uses the data directory.
#[derive(Debug)]
pub struct WatchingMark {
    path: PathBuf,
}

impl Drop for WatchingMark {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl DataDir {
    /// Marks the directory as used by a watching sync until the mark is dropped.
    pub fn mark_watching(&self) -> Result<WatchingMark, DataDirError> {
        let path = self.root().join(WATCHING);
        fs::write(&path, std::process::id().to_string()).map_err(|source| DataDirError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(WatchingMark { path })
    }

    /// Whether another process has asked for the lock.
    pub fn knocked(&self) -> bool {
        self.root().join(KNOCK).exists()
    }

    /// Withdraws a request for the lock, once it is held.
    pub fn clear_knock(&self) {
        let _ = fs::remove_file(self.root().join(KNOCK));
    }
}

/// Whether a watching sync may be holding the lock of the data directory at `root`. A mark
/// left behind by a watcher that was killed is ignored where the system lists its processes
/// under `/proc`.
pub fn is_watched(root: &Path) -> bool {
    let Ok(pid) = fs::read_to_string(root.join(WATCHING)) else {
        return false;
    };
    let processes = Path::new("/proc");
    !processes.is_dir() || processes.join(pid.trim()).exists()
}

/// Asks the watching sync that holds the lock of `root` to give it up.
pub fn knock(root: &Path) -> Result<(), DataDirError> {
    let path = root.join(KNOCK);
    fs::write(&path, b"").map_err(|source| DataDirError::Io { path, source })
}

/// Whether a request for the lock of `root` is outstanding.
pub fn is_knocked(root: &Path) -> bool {
    root.join(KNOCK).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_knock_and_a_watching_mark_are_seen_and_withdrawn() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        let data = DataDir::create(&root).unwrap();
        assert!(!is_watched(&root));
        let mark = data.mark_watching().unwrap();
        assert!(is_watched(&root));
        assert!(!data.knocked());
        knock(&root).unwrap();
        assert!(data.knocked() && is_knocked(&root));
        data.clear_knock();
        assert!(!data.knocked());
        drop(mark);
        assert!(!is_watched(&root));
        // A mark naming a process that is gone does not count.
        fs::write(root.join(WATCHING), "4294967295").unwrap();
        assert_eq!(is_watched(&root), !Path::new("/proc").is_dir());
        // The lock itself is untouched by all this: a second opener is still refused.
        assert!(matches!(DataDir::open(&root), Err(DataDirError::InUse(_))));
    }
}
