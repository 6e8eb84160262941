//! actsweep: declarative sweeps for activation-function studies.
//!
//! A study is one TOML file. The pipeline reads it in one direction, one
//! module per stage, each usable on its own:
//!
//! ```text
//! sweep file ──config──▶ Sweep ──plan──▶ jobs ──train/run──▶ results ──report──▶ charts, tables
//!                  ▲                 │                          │
//!              activation            └─ report::ReportSpecs ────┘
//!   (formula library, built-ins in TOML)   (tables, charts, filters resolved
//!                                            and checked before anything trains)
//! ```
//!
//! [`cli::load_plan`] is where a command gets its plan: it parses the file,
//! expands the plan and resolves the report's tables and charts against it
//! into typed specs that travel with the plan, so a typo in a table is
//! reported before any job trains and the report never reads TOML. While a command
//! runs, [`logfile`] copies every log line into the results folder's
//! `run.log`.
//!
//! - [`config`]: the TOML schema, two-step validation, error messages.
//! - [`plan`]: grid expansion, job ids and labels, selection, work estimates.
//! - [`activation`]: the activation library (formulas as data).
//! - [`data`]: datasets, loaded once per process and shared.
//! - [`train`]: the training engine on dfdx, with the diagnostics.
//! - [`run`]: the runner: parallel jobs, resume, shards, locks, progress.
//! - [`results`]: the results store: atomic per-job files, merged Parquet tables.
//! - [`report`]: aggregation over seeds, Markdown tables, charts, README block.
//! - [`logfile`]: the run log, every line at `info` and above in `run.log`.
//! - [`text`]: "did you mean" suggestions and number formatting, shared by all.
//! - [`atomic`]: atomic file writes (temporary file, then rename).
//! - `simd` (crate-private): the one run-time check for AVX2 and FMA that the
//!   fast paths of the dense layers, activations and optimizer share.
//! - [`cli`]: the command line; `main.rs` only calls [`cli::main`].

pub mod activation;
pub mod atomic;
pub mod cli;
pub mod config;
pub mod data;
pub mod logfile;
pub mod plan;
pub mod report;
pub mod results;
pub mod run;
mod simd;
pub mod text;
pub mod train;
