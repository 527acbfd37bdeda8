//! One replay per plan at a time: an exclusive OS lock on `PLAN/replay.lock`, released by the
//! kernel when the process ends however it ends (so a `kill -9` leaves no stale lock).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = "replay.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{path}: another `dirsnap replay` of this plan is running{holder}; wait for it to end (two replays of one plan at once are refused)"
    )]
    Held { path: PathBuf, holder: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held while the replay runs; dropping it releases the lock.
#[derive(Debug)]
pub struct PlanLock {
    _file: File,
}

pub fn acquire(plan_dir: &Path) -> Result<PlanLock, LockError> {
    let path = plan_dir.join(LOCK_FILE);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            return Err(LockError::Held { path, holder });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    writeln!(file, "pid {}", std::process::id()).map_err(io)?;
    Ok(PlanLock { _file: file })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        let e = acquire(dir.path()).unwrap_err();
        assert!(e.to_string().contains("another `dirsnap replay`"), "{e}");
        assert!(
            e.to_string()
                .contains(&format!("pid {}", std::process::id()))
        );
        drop(first);
        acquire(dir.path()).unwrap();
    }
}
