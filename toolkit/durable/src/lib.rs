//! Files and directories that survive a crash whole or not at all: what every artifact
//! dirsnap writes (snapshots, plans, audit reports, simulations) is built in a hidden staging
//! directory beside its target, each file synced, and published by one rename — so an
//! interrupted run leaves nothing a rerun would refuse, and a reader never sees half of one.
//!
//! The operating systems differ in what they promise, and this crate is the one place that
//! knows it (docs/decisions.md):
//!
//! * **Linux (and other Unix)**: files are `fsync`ed, then the staging directory, then — after
//!   the rename — its parent, so the new name itself is on disk when [`StagedDir::publish`]
//!   returns.
//! * **Windows (NTFS)**: files are flushed (`FlushFileBuffers`) before the rename, and the rename
//!   (`MoveFileExW`, which never replaces an existing directory) is an atomic, journaled metadata
//!   operation that fails if the target exists. Directories cannot be flushed through the
//!   standard library there, so [`sync_dir`] does nothing: after a power loss right after
//!   publishing, the directory is either under its staging name (removed by nobody, ignored by
//!   every reader: it is hidden and never has a manifest under the target's name) or complete
//!   under the target — never partial.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What went wrong, with the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    #[error("{path}: already exists")]
    Exists { path: PathBuf },
    #[error("{path}: cannot create it: {parent} is not a writable directory ({source})")]
    Unwritable {
        path: PathBuf,
        parent: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DurableError {
    /// The path the error is about (the target for [`DurableError::Exists`] and
    /// [`DurableError::Unwritable`]).
    pub fn path(&self) -> &Path {
        match self {
            DurableError::Exists { path }
            | DurableError::Unwritable { path, .. }
            | DurableError::Io { path, .. } => path,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DurableError + '_ {
    move |source| DurableError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a whole file and syncs it to disk.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), DurableError> {
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Syncs a directory's entries (new names, renames) to disk. On Windows a no-op: see the
/// crate documentation for what holds there instead.
pub fn sync_dir(dir: &Path) -> Result<(), DurableError> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The directory holding `target` (`.` for a bare name).
pub fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A directory under construction: a hidden sibling of its target
/// (`.NAME.tmp-PID-NANOS`), removed when dropped unless [`StagedDir::publish`]ed.
#[derive(Debug)]
pub struct StagedDir {
    target: PathBuf,
    staging: PathBuf,
    published: bool,
}

impl StagedDir {
    /// Creates the staging directory for `target` (and `target`'s parents). Refuses a
    /// `target` that exists: artifacts are immutable.
    pub fn create(target: &Path) -> Result<StagedDir, DurableError> {
        if target.exists() {
            return Err(DurableError::Exists {
                path: target.to_path_buf(),
            });
        }
        let parent = parent_of(target);
        let unwritable = |source| DurableError::Unwritable {
            path: target.to_path_buf(),
            parent: parent.clone(),
            source,
        };
        fs::create_dir_all(&parent).map_err(unwritable)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        for left in leftovers(&parent, &name) {
            // Not removed: a staging directory may belong to a run still going on (another
            // process, another host on a shared drive); only a person can tell.
            tracing::warn!(
                "{} was left beside {} by an earlier run that was interrupted (or is still running); it is not used, remove it when no dirsnap is writing there",
                left.display(),
                target.display()
            );
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let staging = parent.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
        fs::create_dir(&staging).map_err(unwritable)?;
        Ok(StagedDir {
            target: target.to_path_buf(),
            staging,
            published: false,
        })
    }

    /// Where to write the contents.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The name it will have.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Publishes the contents under the target's name in one rename, after syncing the
    /// staging directory; syncs the parent afterwards. The files inside must already be
    /// synced (see [`write_synced`]). Fails, leaving nothing, if the target appeared meanwhile.
    pub fn publish(mut self) -> Result<PathBuf, DurableError> {
        sync_dir(&self.staging)?;
        if self.target.exists() {
            return Err(DurableError::Exists {
                path: self.target.clone(),
            });
        }
        fs::rename(&self.staging, &self.target).map_err(io(&self.target))?;
        self.published = true;
        sync_dir(&parent_of(&self.target))?;
        Ok(self.target.clone())
    }
}

/// The staging directories of earlier runs for a target named `name` in `parent`: what a
/// process killed before it could publish or clean up (SIGKILL, a power loss) leaves.
pub fn leftovers(parent: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.strip_prefix(&prefix).is_some_and(|rest| {
                rest.split_once('-').is_some_and(|(pid, nanos)| {
                    pid.parse::<u32>().is_ok() && nanos.parse::<u32>().is_ok()
                })
            })
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.published {
            // Abandoned (an error, a panic): leave nothing behind.
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Reads at `offset` without moving any shared file position that other readers of the same
/// handle rely on: `pread` on Unix; on Windows `seek_read`, which moves the handle's cursor,
/// harmless because every read of a shared handle here is positional.
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}

/// [`read_at`] until `buf` is full; an early end of file is `UnexpectedEof`.
pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the file ends before byte {offset}"),
                ));
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn published_whole_or_not_at_all() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        let staged = StagedDir::create(&target).unwrap();
        write_synced(&staged.path().join("a.txt"), b"a").unwrap();
        // Before publishing only the hidden staging directory exists.
        assert!(!target.exists());
        assert!(names(tmp.path())[0].starts_with(".out.tmp-"));
        assert_eq!(staged.publish().unwrap(), target);
        assert_eq!(names(tmp.path()), ["out"]);
        assert_eq!(fs::read(target.join("a.txt")).unwrap(), b"a");
        // Immutable: a second one is refused before anything is written.
        assert!(matches!(
            StagedDir::create(&target),
            Err(DurableError::Exists { .. })
        ));
        // Abandoned: nothing is left.
        let other = tmp.path().join("other");
        let staged = StagedDir::create(&other).unwrap();
        write_synced(&staged.path().join("b.txt"), b"b").unwrap();
        drop(staged);
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[test]
    fn leftovers_of_killed_runs_are_found_not_used() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("sim");
        // What a run killed before publishing leaves; a similar name of another target.
        fs::create_dir(tmp.path().join(".sim.tmp-4242-123")).unwrap();
        fs::create_dir(tmp.path().join(".simx.tmp-4242-123")).unwrap();
        fs::create_dir(tmp.path().join(".sim.tmp-notes")).unwrap();
        assert_eq!(
            leftovers(tmp.path(), "sim"),
            [tmp.path().join(".sim.tmp-4242-123")]
        );
        let staged = StagedDir::create(&target).unwrap();
        assert_ne!(staged.path(), tmp.path().join(".sim.tmp-4242-123"));
        staged.publish().unwrap();
        assert!(target.is_dir());
    }

    #[test]
    fn a_target_that_appears_meanwhile_is_not_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out");
        let staged = StagedDir::create(&target).unwrap();
        fs::create_dir(&target).unwrap();
        assert!(matches!(staged.publish(), Err(DurableError::Exists { .. })));
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[cfg(unix)]
    #[test]
    fn an_unwritable_parent_names_the_target() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let locked = tmp.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o500)).unwrap();
        let target = locked.join("plan");
        let result = StagedDir::create(&target);
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o700)).unwrap();
        // root may write anywhere: then there is nothing to check.
        if let Err(e) = result {
            assert!(matches!(e, DurableError::Unwritable { .. }), "{e}");
            assert_eq!(e.path(), target);
            assert!(!e.to_string().contains(".tmp-"), "{e}");
        }
    }

    #[test]
    fn positional_reads_read_what_is_there() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        write_synced(&path, b"0123456789").unwrap();
        let f = File::open(&path).unwrap();
        let mut buf = [0u8; 4];
        read_exact_at(&f, &mut buf, 3).unwrap();
        assert_eq!(&buf, b"3456");
        read_exact_at(&f, &mut buf[..2], 0).unwrap();
        assert_eq!(&buf[..2], b"01");
        let e = read_exact_at(&f, &mut buf, 8).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
