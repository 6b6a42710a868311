//! One `promlab up` per project at a time: an exclusive lock on
//! `$PROMLAB_HOME/locks/<project>.lock`, held until the command ends. The operating system
//! releases it when the process dies, even by SIGKILL, so a lock is never stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held project lock; dropping it releases the lock.
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it.
    Busy {
        /// The lock file.
        path: PathBuf,
        /// The holder's process id, when it wrote one.
        pid: Option<u32>,
    },
    /// The lock file could not be opened.
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The lock file of a project under a promlab home.
pub fn lock_path(home: &Path, project: &str) -> PathBuf {
    home.join("locks").join(format!("{project}.lock"))
}

impl ProjectLock {
    /// Takes the lock at once or says who holds it; never waits.
    pub fn try_acquire(path: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {
                // The holder's pid, for the message another process shows.
                let _ = file.set_len(0);
                let _ = file.rewind();
                let _ = write!(file, "{}", std::process::id());
                let _ = file.flush();
                Ok(Self { _file: file })
            }
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                Err(LockError::Busy {
                    path: path.to_path_buf(),
                    pid: text.trim().parse().ok(),
                })
            }
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let home = tempfile::tempdir().unwrap();
        let path = lock_path(home.path(), "promlab-25-20");
        let first = ProjectLock::try_acquire(&path).unwrap();
        match ProjectLock::try_acquire(&path) {
            Err(LockError::Busy { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("a second lock was taken: {other:?}"),
        }
        drop(first);
        assert!(ProjectLock::try_acquire(&path).is_ok());
    }
}
