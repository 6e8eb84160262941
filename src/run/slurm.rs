//! `actsweep slurm`: a sweep as a Slurm job array, with the merge and the
//! report as a job that runs after it.
//!
//! Nothing here trains or merges: the array's tasks are `actsweep run FILE
//! --shard i/N` into one shared results folder (the shard locks and atomic
//! writes of [`super::run_jobs`] make that safe), and the follow-up job is
//! `collect` then `report`. So a cluster run gives the very files a local run
//! gives, and re-submitting after failures or a cancel trains only what is
//! missing (done jobs are skipped, as on a laptop).
//!
//! Both scripts are written to `results/<name>/slurm/` with absolute paths
//! (this binary, the sweep file, the results root, the working directory,
//! `ACTSWEEP_DATA` when set) so they can be read, kept, and submitted again by
//! hand. Submission is `sbatch --parsable`; the follow-up job depends on the
//! array with `afterany`, so it runs even when some tasks fail.
//!
//! A task cancelled on one node leaves its shard lock behind, and a
//! resubmitted task on another node cannot check that pid; before
//! submitting, locks whose Slurm job is no longer in `squeue` are removed.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::lock;

/// Tasks in the array when `--tasks` is not given: one per distinct
/// training still to do, at most this many.
pub const DEFAULT_MAX_TASKS: usize = 32;

/// Why the scripts could not be written or submitted.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// A script or folder could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `sbatch` could not be started.
    #[error(
        "cannot run sbatch ({source}); is this a Slurm login node with sbatch on PATH? \
         (--dry-run writes the scripts without submitting)"
    )]
    NoSbatch {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `sbatch` refused a script.
    #[error("sbatch refused {script} (exit status {status}): {stderr}")]
    Refused {
        /// The script.
        script: PathBuf,
        /// sbatch's exit status.
        status: String,
        /// What sbatch printed on stderr.
        stderr: String,
    },
}

/// What the array runs and asks Slurm for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The sweep file, absolute.
    pub file: PathBuf,
    /// The results root (`results`), absolute.
    pub out: PathBuf,
    /// The sweep's results folder, absolute.
    pub dir: PathBuf,
    /// Folder the tasks run in (for relative data paths), absolute.
    pub workdir: PathBuf,
    /// The actsweep binary, absolute.
    pub binary: PathBuf,
    /// Array tasks (shards).
    pub tasks: usize,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time`.
    pub time: Option<String>,
    /// CPUs per task (and jobs at once in each task).
    pub cpus_per_task: usize,
    /// `--mem`.
    pub mem: Option<String>,
    /// Further `#SBATCH` arguments, verbatim.
    pub sbatch_args: Vec<String>,
    /// `--only` selections passed to every task.
    pub only: Vec<String>,
    /// `ACTSWEEP_DATA`, carried into the scripts when set.
    pub data: Option<String>,
    /// The sweep's name (for job names).
    pub name: String,
}

/// The written scripts.
#[derive(Debug, Clone)]
pub struct Scripts {
    /// `results/<name>/slurm/`.
    pub dir: PathBuf,
    /// The array script.
    pub array: PathBuf,
    /// The collect-and-report script.
    pub collect: PathBuf,
    /// Task logs.
    pub logs: PathBuf,
}

/// Job ids of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The array job.
    pub array: String,
    /// The collect-and-report job.
    pub collect: String,
}

/// Writes `array.sbatch` and `collect.sbatch` into `<dir>/slurm/`.
pub fn write_scripts(req: &Request) -> Result<Scripts, SlurmError> {
    let dir = crate::results::ResultsDir::new(&req.dir).slurm_dir();
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|source| SlurmError::Io {
        path: logs.clone(),
        source,
    })?;
    let scripts = Scripts {
        array: dir.join("array.sbatch"),
        collect: dir.join("collect.sbatch"),
        dir,
        logs,
    };
    for (path, text) in [
        (&scripts.array, array_script(req, &scripts.logs)),
        (&scripts.collect, collect_script(req, &scripts.logs)),
    ] {
        crate::atomic::write_with(path, |f| std::io::Write::write_all(f, text.as_bytes()))
            .map_err(|source| SlurmError::Io {
                path: path.clone(),
                source,
            })?;
    }
    Ok(scripts)
}

/// The array script: task `i` runs shard `i/N` of the sweep.
pub fn array_script(req: &Request, logs: &Path) -> String {
    let mut s = header(req, &format!("actsweep-{}", req.name));
    s.push_str(&format!("#SBATCH --array=1-{}\n", req.tasks));
    s.push_str("#SBATCH --ntasks=1\n");
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", req.cpus_per_task));
    if let Some(m) = &req.mem {
        s.push_str(&format!("#SBATCH --mem={m}\n"));
    }
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        logs.join("array-%A_%a.out").display()
    ));
    sbatch_extras(req, &mut s);
    s.push_str(&body_start(req));
    let mut run = vec![
        quote(&req.binary.to_string_lossy()),
        "run".into(),
        quote(&req.file.to_string_lossy()),
        "--out".into(),
        quote(&req.out.to_string_lossy()),
        "--shard".into(),
        format!("\"${{SLURM_ARRAY_TASK_ID}}/{}\"", req.tasks),
        "--jobs".into(),
        req.cpus_per_task.to_string(),
        "--no-bar".into(),
    ];
    for o in &req.only {
        run.push("--only".into());
        run.push(quote(o));
    }
    s.push_str(&format!("exec {}\n", run.join(" ")));
    s
}

/// The follow-up script: merge every shard's jobs, then write the report
/// (even when jobs failed: it lists them) and print the status.
pub fn collect_script(req: &Request, logs: &Path) -> String {
    let mut s = header(req, &format!("actsweep-{}-collect", req.name));
    s.push_str("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n");
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        logs.join("collect-%j.out").display()
    ));
    sbatch_extras(req, &mut s);
    s.push_str(&body_start(req));
    let bin = quote(&req.binary.to_string_lossy());
    let file = quote(&req.file.to_string_lossy());
    let out = quote(&req.out.to_string_lossy());
    s.push_str(&format!(
        "{bin} collect {} --sweep {file}\n",
        quote(&req.dir.to_string_lossy())
    ));
    s.push_str(&format!("{bin} report {file} --out {out}\n"));
    s.push_str(&format!("{bin} status {file} --out {out}\n"));
    s
}

fn header(req: &Request, job_name: &str) -> String {
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!(
        "# Written by actsweep {} for {}; `actsweep slurm` submits it.\n",
        env!("CARGO_PKG_VERSION"),
        req.file.display()
    ));
    s.push_str(&format!("#SBATCH --job-name={job_name}\n"));
    if let Some(p) = &req.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &req.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    s
}

fn sbatch_extras(req: &Request, s: &mut String) {
    for a in &req.sbatch_args {
        s.push_str(&format!("#SBATCH {a}\n"));
    }
}

fn body_start(req: &Request) -> String {
    let mut s = String::from("set -euo pipefail\n");
    s.push_str(&format!("cd {}\n", quote(&req.workdir.to_string_lossy())));
    if let Some(d) = &req.data {
        s.push_str(&format!("export ACTSWEEP_DATA={}\n", quote(d)));
    }
    s
}

/// `s` as one shell word.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=+:,@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Submits the array, then the follow-up job after it (`afterany`).
pub fn submit(scripts: &Scripts) -> Result<Submitted, SlurmError> {
    let array = sbatch(&scripts.array, &[])?;
    let collect = sbatch(
        &scripts.collect,
        &[format!("--dependency=afterany:{array}")],
    )?;
    Ok(Submitted { array, collect })
}

fn sbatch(script: &Path, args: &[String]) -> Result<String, SlurmError> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .output()
        .map_err(|source| SlurmError::NoSbatch { source })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    match parse_job_id(&stdout) {
        Some(id) if out.status.success() => Ok(id),
        _ => Err(SlurmError::Refused {
            script: script.to_path_buf(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }),
    }
}

/// The job id in `sbatch --parsable`'s output: `123` or `123;cluster`.
pub fn parse_job_id(stdout: &str) -> Option<String> {
    let line = stdout.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let id = line.split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit() || c == '_')).then(|| id.to_string())
}

/// Removes the locks in `dir` left by Slurm jobs that are no longer queued
/// or running (cancelled, timed out, node lost); returns the locks removed,
/// and the Slurm jobs still holding a lock.
pub fn clear_stale_locks(dir: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut removed = Vec::new();
    let mut active = Vec::new();
    for h in lock::holders(dir) {
        let Some(job) = &h.slurm_job else { continue };
        if h.alive == Some(true) || queued(job) {
            active.push(job.clone());
        } else if std::fs::remove_file(&h.lock).is_ok() {
            removed.push(h.lock.clone());
        }
    }
    (removed, active)
}

/// Whether Slurm still lists the job (pending or running). When `squeue`
/// cannot answer, the job is assumed alive, so its lock is kept.
fn queued(job: &str) -> bool {
    match Command::new("squeue")
        .args(["-h", "-o", "%i", "-j", job])
        .output()
    {
        Ok(out) if out.status.success() => !String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        // squeue exits non-zero for a job id it no longer knows.
        Ok(out) => !String::from_utf8_lossy(&out.stderr).contains("Invalid job id"),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            file: "/home/r/study/sweep.toml".into(),
            out: "/home/r/study/results".into(),
            dir: "/home/r/study/results/tiny".into(),
            workdir: "/home/r/study".into(),
            binary: "/opt/actsweep bin/actsweep".into(),
            tasks: 4,
            partition: Some("short".into()),
            time: None,
            cpus_per_task: 2,
            mem: Some("4G".into()),
            sbatch_args: vec!["--qos=low".into()],
            only: vec!["activation=relu".into()],
            data: Some("/data/sets".into()),
            name: "tiny".into(),
        }
    }

    #[test]
    fn array_script_runs_one_shard_per_task_with_absolute_paths() {
        let s = array_script(
            &request(),
            Path::new("/home/r/study/results/tiny/slurm/logs"),
        );
        for line in [
            "#SBATCH --array=1-4",
            "#SBATCH --partition=short",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --mem=4G",
            "#SBATCH --qos=low",
            "#SBATCH --output=/home/r/study/results/tiny/slurm/logs/array-%A_%a.out",
            "cd /home/r/study",
            "export ACTSWEEP_DATA=/data/sets",
            "exec '/opt/actsweep bin/actsweep' run /home/r/study/sweep.toml --out \
             /home/r/study/results --shard \"${SLURM_ARRAY_TASK_ID}/4\" --jobs 2 --no-bar \
             --only activation=relu",
        ] {
            assert!(s.lines().any(|l| l == line), "no line {line:?} in\n{s}");
        }
        assert!(s.starts_with("#!/bin/bash\n"));
        assert!(!s.contains("--time"), "{s}");
        // Every #SBATCH line comes before the first command.
        let first_cmd = s.lines().position(|l| l.starts_with("set ")).unwrap();
        assert!(s.lines().skip(first_cmd).all(|l| !l.starts_with("#SBATCH")));
    }

    #[test]
    fn collect_script_merges_then_reports() {
        let s = collect_script(&request(), Path::new("/logs"));
        let collect = s
            .find("collect /home/r/study/results/tiny --sweep /home/r/study/sweep.toml")
            .unwrap();
        let report = s.find("report /home/r/study/sweep.toml --out").unwrap();
        assert!(collect < report, "{s}");
        assert!(s.contains("#SBATCH --output=/logs/collect-%j.out"));
        assert!(!s.contains("--array"));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(quote("/a/b-c_d.toml"), "/a/b-c_d.toml");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn job_ids_are_read_from_parsable_output() {
        assert_eq!(parse_job_id("123\n").as_deref(), Some("123"));
        assert_eq!(parse_job_id("456;cluster\n").as_deref(), Some("456"));
        assert_eq!(parse_job_id("warning: x\n789\n").as_deref(), Some("789"));
        assert_eq!(parse_job_id("").as_deref(), None);
        assert_eq!(parse_job_id("error\n").as_deref(), None);
    }
}
