//! Atomic file writes, shared by every stage that writes to disk (the MNIST
//! download, the results store, the report and its charts).
//!
//! The new contents go to a temporary file in the same folder (so the rename
//! stays on one file system), which is flushed to disk and renamed over the
//! target. A reader, or a later run after a crash, sees the old file or the
//! new one, never a half-written one. The temporary name carries the pid, a
//! per-process counter and the host, so threads writing the same target do
//! not collide; it starts with a dot and contains `.tmp-`, so folder
//! listings can skip it. A writer killed with SIGKILL leaves its temporary
//! behind: [`remove_stale`] clears those of dead processes on this host (a
//! temporary from another host sharing the folder cannot be checked, and
//! stays).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `path` atomically: `write` fills a temporary file beside it, which
/// is synced and renamed over `path`. On failure the temporary is removed and
/// `path` is untouched.
pub fn write_with(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    replace(
        path,
        |tmp| {
            let mut f = File::create(tmp)?;
            write(&mut f)?;
            f.flush()?;
            f.sync_all()
        },
        |e| e,
    )
}

/// For writers that open the file themselves (plotters' backends, which also
/// pick the image format from the extension): `write` gets a temporary path
/// beside `path` with the same extension, which is then synced and renamed
/// over `path`. On failure the temporary is removed and `path` is untouched.
pub fn write_via(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    let io = |e: io::Error| format!("{}: {e}", path.display());
    replace(
        path,
        |tmp| {
            write(tmp)?;
            File::open(tmp).and_then(|f| f.sync_all()).map_err(io)
        },
        io,
    )
}

/// The one mechanism behind both writers: `fill` writes (and syncs) a
/// temporary `.{stem}.tmp-@{host}@{pid}-{n}.{ext}` beside `path` (the extension kept
/// for writers that go by it), which is renamed over `path`; on failure the
/// temporary is removed (best effort: the error that matters is returned).
fn replace<E>(
    path: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
    io: impl Fn(io::Error) -> E,
) -> Result<(), E> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let stem = path
        .file_stem()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy());
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{stem}.tmp-@{}@{}-{}{ext}",
        this_host(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = fill(&tmp).and_then(|()| fs::rename(&tmp, path).map_err(io));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` atomically (see [`write_with`]).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |f| f.write_all(bytes))
}

/// Removes the temporaries in `dir` (not below it) that a process of this
/// host which no longer runs left behind; returns how many. Errors reading
/// the folder or removing a file are ignored: a leftover temporary is
/// untidy, never wrong (readers skip it).
pub fn remove_stale(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let here = this_host();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((pid, host)) = writer_of(&name) else {
            continue;
        };
        if host == here && !alive(pid) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The pid and host in a temporary's name, `.{stem}.tmp-@{host}@{pid}-{n}{ext}`
/// (a host name has no `@`).
fn writer_of(name: &str) -> Option<(u32, String)> {
    let rest = &name[name.find(".tmp-@")? + 6..];
    let (host, ids) = rest.split_once('@')?;
    let digits = ids.find(|c: char| !c.is_ascii_digit()).unwrap_or(ids.len());
    Some((ids[..digits].parse().ok()?, host.to_string()))
}

/// This machine's name, read once.
fn this_host() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(host).clone()
}

/// This machine's name.
pub fn host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether a process with this pid exists (Linux: its `/proc` entry; other
/// systems: assumed alive, so what it left is kept).
pub fn alive(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_via_keeps_the_extension_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("chart.png");
        write(&p, b"old").unwrap();
        write_via(&p, |tmp| {
            assert_eq!(tmp.extension().unwrap(), "png");
            assert!(!p.exists() || fs::read(&p).unwrap() == b"old");
            fs::write(tmp, b"new").map_err(|e| e.to_string())
        })
        .unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        // A failing writer leaves the old file and no temporary behind.
        let err = write_via(&p, |tmp| {
            fs::write(tmp, b"half").unwrap();
            Err("drawing failed".to_string())
        });
        assert_eq!(err, Err("drawing failed".to_string()));
        assert_eq!(fs::read(&p).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["chart.png"]);
    }

    #[test]
    fn replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.gz");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write(&p, b"one").unwrap();
        let r = write_with(&p, |f| {
            f.write_all(b"half")?;
            Err(io::Error::other("killed"))
        });
        assert!(r.is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), "one");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temporaries_of_dead_processes_here_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let here = this_host();
        let me = std::process::id();
        // No process has pid 4_000_000_000 (above Linux's pid_max).
        let dead = format!(".metrics.tmp-@{here}@4000000000-3.parquet");
        let live = format!(".metrics.tmp-@{here}@{me}-4.parquet");
        let elsewhere = ".metrics.tmp-@some-other-host.example@4000000000-5.parquet";
        let keep = "metrics.parquet";
        for n in [dead.as_str(), live.as_str(), elsewhere, keep] {
            fs::write(dir.path().join(n), b"x").unwrap();
        }
        assert_eq!(remove_stale(dir.path()), 1);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want = vec![live, elsewhere.to_string(), keep.to_string()];
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn a_write_leaves_no_temporary_and_names_this_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_with(&path, |f| f.write_all(b"hello")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "hello");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let name = format!(".a.tmp-@{}@{}-0.txt", this_host(), std::process::id());
        assert_eq!(writer_of(&name), Some((std::process::id(), this_host())));
    }
}
