//! The lock on a results folder: one `run` writes a folder at a time.
//!
//! The lock is a file created with `create_new` (atomic on every local file
//! system) holding the owner's pid and host name, and removed when the run
//! ends. A second run finds it and is refused with the holder's pid. A run
//! killed with SIGKILL cannot remove its lock; the next run on the same host
//! sees that the pid is gone and takes the lock over. A lock from another
//! host cannot be checked, so it is reported, never broken.
//!
//! Shards (`--shard I/N`) lock per shard, so the N parts of one sweep can
//! write into one shared folder at once.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::atomic::{alive, host};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live run holds it.
    #[error(
        "{dir} is in use by another actsweep run (pid {pid} on {host}); \
         wait for it to finish, or remove {lock} if that process is gone"
    )]
    Held {
        /// The results folder.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The holder's pid.
        pid: u32,
        /// The holder's host.
        host: String,
    },
    /// The lock file could not be created or read.
    #[error("cannot lock {path}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock `name` in `dir`, taking over a stale one.
    pub fn acquire(dir: &Path, name: &str) -> Result<Lock, LockError> {
        let path = dir.join(name);
        let me = format!("pid={}\nhost={}\n", std::process::id(), host());
        for _attempt in 0..3 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(me.as_bytes())
                        .and_then(|_| f.sync_all())
                        .map_err(|source| LockError::Io {
                            path: path.clone(),
                            source,
                        })?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    let (pid, host_name) = parse(&text);
                    let same_host = host_name.as_deref() == Some(host().as_str());
                    match pid {
                        Some(pid) if same_host && !alive(pid) => {
                            tracing::warn!(
                                "taking over the stale lock {} of pid {pid}, which is gone",
                                path.display()
                            );
                            let _ = fs::remove_file(&path);
                        }
                        // Half-written by a run killed while locking.
                        None if text.is_empty() || !text.contains('\n') => {
                            let _ = fs::remove_file(&path);
                        }
                        _ => {
                            return Err(LockError::Held {
                                dir: dir.to_path_buf(),
                                lock: path.clone(),
                                pid: pid.unwrap_or(0),
                                host: host_name.unwrap_or_else(|| "an unknown host".into()),
                            })
                        }
                    }
                }
                Err(source) => return Err(LockError::Io { path, source }),
            }
        }
        Err(LockError::Io {
            path,
            source: io::Error::other("the lock kept changing hands"),
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn parse(text: &str) -> (Option<u32>, Option<String>) {
    let mut pid = None;
    let mut host = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("pid=") {
            pid = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("host=") {
            host = Some(v.trim().to_string());
        }
    }
    (pid, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let a = Lock::acquire(dir.path(), "run.lock").unwrap();
        let e = Lock::acquire(dir.path(), "run.lock").unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("pid {}", std::process::id())),
            "{e}"
        );
        drop(a);
        Lock::acquire(dir.path(), "run.lock").unwrap();
    }

    #[test]
    fn stale_lock_of_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // pid_max on Linux is at most 2^22: this pid cannot exist.
        let stale = format!("pid={}\nhost={}\n", 4_194_304 + 17, host());
        fs::write(dir.path().join("run.lock"), stale).unwrap();
        let _l = Lock::acquire(dir.path(), "run.lock").unwrap();
        let text = fs::read_to_string(dir.path().join("run.lock")).unwrap();
        assert!(text.contains(&format!("pid={}", std::process::id())));
    }

    #[test]
    fn lock_from_another_host_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("run.lock"), "pid=1\nhost=elsewhere-42\n").unwrap();
        let e = Lock::acquire(dir.path(), "run.lock").unwrap_err();
        assert!(e.to_string().contains("pid 1 on elsewhere-42"), "{e}");
    }
}
