//! Loading MNIST written as a Parquet table vs loading it from its IDX files.
//!
//! Run with `cargo bench --bench table_load` (`just bench --bench
//! table_load`). Issue 24's target: the `table` kind loads MNIST's training
//! set, written as a 60,000 x 785 Parquet file, in at most twice the time the
//! `mnist` kind's IDX loader takes.
//!
//! The benchmark reads the real IDX files (from `$ACTSWEEP_DATA/mnist`,
//! `data/mnist` or the team's `../shared/data/mnist`; without them it says
//! so and stops), then writes the training set into a temporary directory the way a
//! user would: a `label` column and 784 pixel columns `px0` ... `px783`, all
//! `UInt8` as in the IDX files, through polars' default Parquet writer (zstd
//! compression, what `polars.DataFrame.write_parquet` writes too) and once
//! with snappy (what pandas and pyarrow write by default).
//!
//! Both sides go through the public loading path a sweep uses
//! ([`actsweep::data::load_uncached`], the uncached half of `data::load`),
//! with the dataset configs planned from sweep-file text:
//! `{ name = "table", path = ..., target = "label" }` (which checks the
//! file's SHA-256, reads it, shuffles and splits it 48,000 / 12,000) and
//! `{ name = "mnist", path = ... }` (which reads, gunzips and verifies the
//! four IDX files: 60,000 training and 10,000 test images, scaled to
//! [0, 1]). The variants are interleaved (A B A B ...), so load on the
//! machine hits all alike, and the median of the samples is reported with
//! the ratio against the 2x target. A benchmark reports; it asserts nothing.

use std::fs::File;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use actsweep::config::job::JobConfig;
use actsweep::data::{self, mnist, DatasetConfig};
use polars::prelude::{
    Column, DataFrame, IntoColumn, NamedFrom, ParquetCompression, ParquetWriter, Series,
};

#[path = "../tests/common/mod.rs"]
mod common;
use common::plan_text as plan_of;

/// Samples per variant.
const SAMPLES: usize = 9;

/// The target: table load time / IDX load time.
const TARGET: f64 = 2.0;

fn main() {
    // Test runners (`cargo test --benches`, nextest's `--list`) start bench
    // binaries too; this harness has no tests, and measures only under
    // `cargo bench` (which passes `--bench`).
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let (idx_dir, raw) = match find_mnist() {
        Ok(found) => found,
        Err(why) => {
            println!("MNIST IDX files not found, nothing measured: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let zstd = write_table(&raw, &tmp.path().join("mnist-zstd.parquet"), Codec::Zstd);
    let snappy = write_table(
        &raw,
        &tmp.path().join("mnist-snappy.parquet"),
        Codec::Snappy,
    );
    let variants = [
        ("mnist kind, IDX files (gzipped)", mnist_config(&idx_dir)),
        ("table kind, Parquet zstd", table_config(&zstd)),
        ("table kind, Parquet snappy", table_config(&snappy)),
    ];
    println!(
        "loading MNIST: IDX loader vs a 60,000 x 785 UInt8 Parquet table \
         (median of {SAMPLES} interleaved samples)"
    );
    for (name, path) in [("zstd", &zstd), ("snappy", &snappy)] {
        let mb = std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6);
        println!("  {name} file: {mb:.1} MB");
    }
    let medians = time_interleaved(&variants);
    for ((name, _), m) in variants.iter().zip(&medians) {
        println!("  {name:<34} {:>8.1} ms", m * 1e3);
    }
    for (k, (name, _)) in variants.iter().enumerate().skip(1) {
        let r = medians[k] / medians[0];
        let verdict = if r <= TARGET { "met" } else { "NOT met" };
        println!("  {name} / IDX: {r:.2}x (target <= {TARGET:.0}x: {verdict})");
    }
}

/// The IDX files' directory and their parsed contents, from the places a
/// sweep looks (`$ACTSWEEP_DATA/mnist`, `data/mnist`) and the team's shared
/// copy; nothing is downloaded.
fn find_mnist() -> Result<(PathBuf, mnist::RawMnist), String> {
    let shared = common::root().join("../shared/data/mnist");
    let data_dir = std::env::var_os("ACTSWEEP_DATA");
    let shared_text = shared.display().to_string();
    let mut places = mnist::candidates(None, data_dir.as_deref());
    places.extend(mnist::candidates(Some(&shared_text), None));
    mnist::locate(&places, &[], true).map_err(|e| e.to_string())
}

/// Parquet compression codecs a user's writer is likely to use.
#[derive(Debug, Clone, Copy)]
enum Codec {
    /// polars' default.
    Zstd,
    /// pandas' and pyarrow's default.
    Snappy,
}

/// Writes MNIST's training set to `path`: `label`, then `px0` ... `px783`,
/// all `UInt8`.
fn write_table(raw: &mnist::RawMnist, path: &Path, codec: Codec) -> PathBuf {
    let images = &raw.train_images;
    let dim = images.rows * images.cols;
    let mut columns: Vec<Column> = Vec::with_capacity(dim + 1);
    columns.push(Series::new("label".into(), raw.train_labels.clone()).into_column());
    for p in 0..dim {
        let pixel: Vec<u8> = images.pixels.iter().skip(p).step_by(dim).copied().collect();
        columns.push(Series::new(format!("px{p}").into(), pixel).into_column());
    }
    let mut df = DataFrame::new(images.count, columns).expect("equal-length columns");
    let compression = match codec {
        Codec::Zstd => ParquetCompression::Zstd(None),
        Codec::Snappy => ParquetCompression::Snappy,
    };
    let file = File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetWriter::new(file)
        .with_compression(compression)
        .finish(&mut df)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path.to_path_buf()
}

/// The dataset of a one-job sweep whose `dataset` is `dataset` (TOML).
fn dataset_of(dataset: &str) -> DatasetConfig {
    let job: JobConfig = plan_of(&format!(
        r#"
name = "bench"
[defaults]
dataset = {dataset}
depth = 2
width = 8
activation = "relu"
epochs = 1
seeds = [0]
record = []
[experiments.load]
"#
    ))
    .1
    .jobs
    .remove(0)
    .config;
    job.dataset
}

fn table_config(path: &Path) -> DatasetConfig {
    dataset_of(&format!(
        r#"{{ name = "table", path = {:?}, target = "label" }}"#,
        path.display().to_string()
    ))
}

fn mnist_config(dir: &Path) -> DatasetConfig {
    dataset_of(&format!(
        r#"{{ name = "mnist", path = {:?} }}"#,
        dir.display().to_string()
    ))
}

/// Median seconds of each variant's load, the variants interleaved sample
/// by sample after one warm-up load each (which also fills the page cache).
fn time_interleaved(variants: &[(&str, DatasetConfig)]) -> Vec<f64> {
    for (name, config) in variants {
        let d = data::load_uncached(config).unwrap_or_else(|e| panic!("{name}: {e}"));
        println!(
            "  {name}: {} training + {} test rows of {} features",
            d.train.len(),
            d.test.len(),
            d.input_dim
        );
    }
    let mut times = vec![Vec::with_capacity(SAMPLES); variants.len()];
    for _ in 0..SAMPLES {
        for ((_, config), t) in variants.iter().zip(&mut times) {
            let start = Instant::now();
            black_box(data::load_uncached(config).expect("loaded once already"));
            t.push(start.elapsed().as_secs_f64());
        }
    }
    times.into_iter().map(median).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
