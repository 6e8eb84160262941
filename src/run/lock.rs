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
//! write into one shared folder at once. Under Slurm the lock also names the
//! Slurm job (`SLURM_JOB_ID`): a task cancelled on one node and resubmitted
//! to another cannot check the pid, but `actsweep slurm` asks Slurm whether
//! that job still runs and clears the locks of those that do not
//! ([`holders`], [`Holder::slurm_job`]).

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
        let mut me = format!("pid={}\nhost={}\n", std::process::id(), host());
        if let Ok(job) = std::env::var("SLURM_JOB_ID") {
            me.push_str(&format!("slurm_job={}\n", job.trim()));
        }
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
                    let holder = Holder::parse(&path, &text);
                    match (holder.pid, holder.alive) {
                        // On this host, and that process is gone.
                        (Some(pid), Some(false)) => {
                            tracing::warn!(
                                "taking over the stale lock {} of pid {pid}, which is gone",
                                path.display()
                            );
                            let _ = fs::remove_file(&path);
                        }
                        // Half-written by a run killed while locking.
                        (None, _) if text.is_empty() || !text.contains('\n') => {
                            let _ = fs::remove_file(&path);
                        }
                        _ => {
                            return Err(LockError::Held {
                                dir: dir.to_path_buf(),
                                lock: path.clone(),
                                pid: holder.pid.unwrap_or(0),
                                host: holder.host.unwrap_or_else(|| "an unknown host".into()),
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

/// A lock found in a results folder: who holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    /// The lock file's path.
    pub lock: PathBuf,
    /// The holder's pid.
    pub pid: Option<u32>,
    /// The holder's host.
    pub host: Option<String>,
    /// The Slurm job the holder ran in, if any.
    pub slurm_job: Option<String>,
    /// Whether the holder still runs: `None` when it runs on another host
    /// (a pid there cannot be checked).
    pub alive: Option<bool>,
}

impl Holder {
    fn parse(lock: impl Into<PathBuf>, text: &str) -> Holder {
        let mut h = Holder {
            lock: lock.into(),
            pid: None,
            host: None,
            slurm_job: None,
            alive: None,
        };
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("pid=") {
                h.pid = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("host=") {
                h.host = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("slurm_job=") {
                h.slurm_job = Some(v.trim().to_string()).filter(|v| !v.is_empty());
            }
        }
        if h.host.as_deref() == Some(host().as_str()) {
            h.alive = h.pid.map(alive);
        }
        h
    }
}

/// The run locks (`*.lock`) in a results folder and their holders; none when
/// the folder does not exist.
pub fn holders(dir: &Path) -> Vec<Holder> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Holder> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "lock"))
        .filter_map(|p| fs::read_to_string(&p).ok().map(|t| Holder::parse(p, &t)))
        .collect();
    out.sort_by(|a, b| a.lock.cmp(&b.lock));
    out
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
    fn holders_name_pid_host_and_slurm_job() {
        let dir = tempfile::tempdir().unwrap();
        let _mine = Lock::acquire(dir.path(), "run.lock").unwrap();
        fs::write(
            dir.path().join("run.shard-2-of-4.lock"),
            "pid=7\nhost=node-9\nslurm_job=1234\n",
        )
        .unwrap();
        fs::write(dir.path().join("notes.txt"), "pid=1\n").unwrap();
        let h = holders(dir.path());
        assert_eq!(h.len(), 2, "{h:?}");
        assert_eq!(h[0].pid, Some(std::process::id()));
        assert_eq!(h[0].alive, Some(true));
        assert_eq!(h[1].host.as_deref(), Some("node-9"));
        assert_eq!(h[1].slurm_job.as_deref(), Some("1234"));
        assert_eq!(h[1].alive, None);
        assert!(holders(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn lock_from_another_host_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("run.lock"), "pid=1\nhost=elsewhere-42\n").unwrap();
        let e = Lock::acquire(dir.path(), "run.lock").unwrap_err();
        assert!(e.to_string().contains("pid 1 on elsewhere-42"), "{e}");
    }
}
