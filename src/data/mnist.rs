//! MNIST and its drop-in replacements: the four IDX files, parsed and checked.
//!
//! This module owns everything between "the sweep says `mnist`" and a
//! [`Dataset`](super::Dataset) of scaled pixels, except where the files come
//! from. It is the `mnist` kind's file, and its settings and loading serve
//! the drop-in replacements too ([`super::fashion_mnist`], [`super::kmnist`]).
//!
//! 1. **Where and download** are [`super::fetch`]'s, shared by every
//!    downloadable dataset: `dataset.path`, `$ACTSWEEP_DATA/mnist`, then
//!    `data/mnist` ([`candidates`]), each file raw or gzipped; missing files
//!    downloaded from the mirrors, checked against the SHA-256 of their
//!    decompressed bytes *before* being written atomically ([`fetch::MNIST`]).
//!    [`locate_idx`] does the same for any IDX set (Fashion-MNIST and KMNIST
//!    have the same four files, with their own digests and mirrors).
//! 2. **Parsing**: IDX headers (magic `0x00000803` images, `0x00000801`
//!    labels), dimensions checked against the file length, counts and labels
//!    checked. A truncated or corrupt file is an error, never silent garbage;
//!    local files are also checked against the digests.
//! 3. **Shaping**: the deterministic subsets (`train_limit` / `test_limit`
//!    keep the *first* N images) and pixel scaling (to [0, 1], or
//!    standardised with the mean and std of all 60 000 training pixels).
//!
//! When nothing works, [`NotFound`] lists every place looked, every download
//! tried and how to place the files by hand.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fetch::{self, FileSet};
pub use super::fetch::{read_file, sha256_hex, Candidate, Looked, NotFound};
use super::kind::{DatasetKind, KeyCheck, Loaded, Shape, TableKey};
use super::{Counts, DataError, SplitData, Targets};
use crate::config::job::Task;
use crate::config::schema::table_key;

table_key! {
    /// The directory holding the files (MNIST family: the four IDX files,
    /// raw or `.gz`; cifar10: `cifar-10-binary.tar.gz` or its unpacked
    /// `cifar-10-batches-bin/`).
    /// Default: search `$ACTSWEEP_DATA/NAME`, then `data/NAME`, then download.
    pub PATH = "path", example "path = 'elsewhere'"
}

table_key! {
    /// Use only the first N training images. Default: all (60,000; cifar10: 50,000).
    pub TRAIN_LIMIT = "train_limit", example "train_limit = 500"
}

table_key! {
    /// Use only the first N test images. Default: all 10,000.
    pub TEST_LIMIT = "test_limit", example "test_limit = 500"
}

table_key! {
    /// Pixel scaling: `"unit"` (pixel / 255, in [0, 1]) or `"standard"`
    /// (zero mean, unit variance, with the training pixels' mean and std).
    /// Default: `"unit"`.
    pub SCALE = "scale", example "scale = 'standard'"
}

table_key! {
    /// Download mirrors, tried in order when the files are missing.
    /// Default: the built-in list.
    pub MIRRORS = "mirrors", example "mirrors = ['https://example.org/']"
}

/// The keys of the MNIST family (`mnist`, `fashion_mnist`, `kmnist`).
pub const IDX_KEYS: &[&TableKey] = &[&PATH, &TRAIN_LIMIT, &TEST_LIMIT, &SCALE, &MIRRORS];

/// `mnist`: its settings as resolved (the job id hashes them); the IDX
/// replacements (`fashion_mnist`, `kmnist`) take the same settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mnist {
    /// Directory given in the file, if any (not resolved, so ids are machine-independent).
    pub path: Option<String>,
    /// First N training images only.
    pub train_limit: Option<usize>,
    /// First N test images only.
    pub test_limit: Option<usize>,
    /// Pixel scaling.
    pub scale: PixelScale,
    /// Download mirrors, tried in order.
    pub mirrors: Vec<String>,
}

/// Pixel scaling of the image datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelScale {
    /// Pixels divided by 255, in [0, 1].
    Unit,
    /// Pixels standardised with the training set's mean and std.
    Standard,
}

impl Mnist {
    /// The settings of an IDX set (`set`: whose default mirrors), from the
    /// dataset table's keys.
    pub(super) fn resolve_for(check: &mut KeyCheck<'_, '_>, set: &FileSet) -> Mnist {
        let (train_limit, test_limit) = resolve_limits(check, COUNTS);
        Mnist {
            path: resolve_path(check),
            train_limit,
            test_limit,
            scale: resolve_scale(check),
            mirrors: resolve_mirrors(check, set),
        }
    }

    /// 784 inputs, 10 classes, the first `train_limit` / `test_limit` images.
    pub(super) fn idx_shape(&self) -> Shape {
        Shape {
            input_dim: SIDE * SIDE,
            task: Task::Classification(10),
            train: self.train_limit.unwrap_or(COUNTS.train).min(COUNTS.train),
            test: self.test_limit.unwrap_or(COUNTS.test).min(COUNTS.test),
        }
    }

    /// Finds (or downloads), verifies, parses, subsets and scales `set`.
    pub(super) fn load_set(&self, set: &FileSet) -> Result<Loaded, DataError> {
        let places = fetch::places(set, self.path.as_deref());
        let (dir, raw) = locate_idx(set, &places, &self.mirrors, true, COUNTS)?;
        let (train, test) = build(self, &raw);
        Ok(Loaded {
            train,
            test,
            origin: dir.display().to_string(),
        })
    }
}

/// The `train_limit` and `test_limit` keys of an image dataset whose files
/// hold `counts` images: each at least 1 and at most the file's count.
pub(super) fn resolve_limits(
    check: &mut KeyCheck<'_, '_>,
    counts: Counts,
) -> (Option<usize>, Option<usize>) {
    let mut limit = |key, all: usize| check.int_given(key, 1..=all as i64).map(|n| n as usize);
    let train = limit(&TRAIN_LIMIT, counts.train);
    (train, limit(&TEST_LIMIT, counts.test))
}

/// The `scale` key of the image datasets: `unit` (default) or `standard`.
pub(super) fn resolve_scale(check: &mut KeyCheck<'_, '_>) -> PixelScale {
    check.choice(
        &SCALE,
        &[
            ("unit", PixelScale::Unit),
            ("standard", PixelScale::Standard),
        ],
        PixelScale::Unit,
    )
}

/// The `path` key of the image datasets, as written.
pub(super) fn resolve_path(check: &mut KeyCheck<'_, '_>) -> Option<String> {
    check.value::<String>(&PATH).map(|p| p.into_inner())
}

/// The `mirrors` key of the image datasets, or `set`'s own mirrors.
pub(super) fn resolve_mirrors(check: &mut KeyCheck<'_, '_>, set: &FileSet) -> Vec<String> {
    let given = check.value::<Vec<String>>(&MIRRORS);
    given.map_or_else(|| set.default_mirrors(), |m| m.into_inner())
}

impl DatasetKind for Mnist {
    const NAME: &'static str = "mnist";
    const ABOUT: &'static str =
        "handwritten digits, 28x28 grey pixels, 10 classes, 60,000 training and 10,000 test images";

    const KEYS: &'static [&'static TableKey] = IDX_KEYS;

    fn resolve(check: &mut KeyCheck<'_, '_>) -> Mnist {
        Mnist::resolve_for(check, &fetch::MNIST)
    }

    fn shape(&self) -> Shape {
        self.idx_shape()
    }

    fn load(&self) -> Result<Loaded, DataError> {
        self.load_set(&fetch::MNIST)
    }
}

/// Public mirrors of the MNIST files, tried in order.
pub fn default_mirrors() -> Vec<String> {
    fetch::MNIST.default_mirrors()
}

/// Finds (or downloads) and reads the four files the way an `mnist` dataset
/// with this `path` and these `mirrors` does: the [`candidates`] for `path`
/// and `$ACTSWEEP_DATA`, relative ones against the current directory. The
/// one lookup, used by the kind's [`load`](DatasetKind::load) and by the
/// project's own tests (which therefore find MNIST exactly where `actsweep
/// run` does, and download it there when it is missing).
pub fn find(path: Option<&str>, mirrors: &[String]) -> Result<(PathBuf, RawMnist), DataError> {
    locate(&fetch::places(&fetch::MNIST, path), mirrors, true)
}

/// Images or labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `idx3-ubyte`: count × rows × cols pixels.
    Images,
    /// `idx1-ubyte`: one label per image.
    Labels,
}

/// One of the four MNIST files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MnistFile {
    /// Standard file name, without `.gz`.
    pub name: &'static str,
    /// Images or labels.
    pub kind: Kind,
    /// Number of items MNIST's file holds (Fashion-MNIST's and KMNIST's too).
    pub count: usize,
}

/// Training images.
pub const TRAIN_IMAGES: MnistFile = MnistFile {
    name: "train-images-idx3-ubyte",
    kind: Kind::Images,
    count: 60_000,
};
/// Training labels.
pub const TRAIN_LABELS: MnistFile = MnistFile {
    name: "train-labels-idx1-ubyte",
    kind: Kind::Labels,
    count: 60_000,
};
/// Test images.
pub const TEST_IMAGES: MnistFile = MnistFile {
    name: "t10k-images-idx3-ubyte",
    kind: Kind::Images,
    count: 10_000,
};
/// Test labels.
pub const TEST_LABELS: MnistFile = MnistFile {
    name: "t10k-labels-idx1-ubyte",
    kind: Kind::Labels,
    count: 10_000,
};

/// The four files, in the order train images, train labels, test images, test labels.
pub const FILES: [MnistFile; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// The samples of the training and test files.
pub const COUNTS: Counts = Counts {
    train: TRAIN_IMAGES.count,
    test: TEST_IMAGES.count,
};

/// Side of an MNIST image in pixels.
pub const SIDE: usize = 28;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// The directories to look in, in order: `path` (from the dataset), then
/// `$ACTSWEEP_DATA/mnist` (pass the variable's value), then `data/mnist`
/// relative to the current directory.
pub fn candidates(path: Option<&str>, actsweep_data: Option<&OsStr>) -> Vec<Candidate> {
    fetch::candidates(&fetch::MNIST, path, actsweep_data)
}

/// Parsed IDX images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count * rows * cols` pixels, row-major, 0 = background.
    pub pixels: Vec<u8>,
}

/// The four files, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMnist {
    /// 60 000 training images.
    pub train_images: Images,
    /// 60 000 training labels in 0..10.
    pub train_labels: Vec<u8>,
    /// 10 000 test images.
    pub test_images: Images,
    /// 10 000 test labels in 0..10.
    pub test_labels: Vec<u8>,
}

/// Finds the four MNIST files in the first candidate directory that has
/// them all, downloading what is missing from `mirrors` when none has;
/// reads, verifies (digests too when `verify_local`) and parses them.
pub fn locate(
    places: &[Candidate],
    mirrors: &[String],
    verify_local: bool,
) -> Result<(PathBuf, RawMnist), DataError> {
    locate_idx(&fetch::MNIST, places, mirrors, verify_local, COUNTS)
}

/// [`locate`] for any set of the four IDX files ([`fetch::MNIST`],
/// [`fetch::FASHION_MNIST`], [`fetch::KMNIST`]): each file must hold the
/// number of items `counts` says (use [`COUNTS`]; tests use small files).
pub fn locate_idx(
    set: &FileSet,
    places: &[Candidate],
    mirrors: &[String],
    verify_local: bool,
    counts: Counts,
) -> Result<(PathBuf, RawMnist), DataError> {
    let found = fetch::locate(set, places, mirrors)?;
    let raw = read_files(set, &found.paths, verify_local, counts)?;
    Ok((found.dir, raw))
}

/// Reads, verifies and parses the four files at `paths` (in [`FILES`]' order).
fn read_files(
    set: &FileSet,
    paths: &[PathBuf],
    verify: bool,
    counts: Counts,
) -> Result<RawMnist, DataError> {
    let [ti, tl, si, sl] = paths else {
        return Err(not_idx(set));
    };
    let [fi, fl, gi, gl] = set.files else {
        return Err(not_idx(set));
    };
    let read = |file: &fetch::Remote, path: &Path| fetch::read_verified(set, file, path, verify);
    let raw = RawMnist {
        train_images: parse_images(&read(fi, ti)?, ti)?,
        train_labels: parse_labels(&read(fl, tl)?, tl)?,
        test_images: parse_images(&read(gi, si)?, si)?,
        test_labels: parse_labels(&read(gl, sl)?, sl)?,
    };
    check_counts(set, &raw, paths, counts)?;
    check_sides(&raw, paths)?;
    Ok(raw)
}

fn not_idx(set: &FileSet) -> DataError {
    DataError::InvalidParameter {
        dataset: set.name,
        reason: format!("{} is not a set of the four IDX files", set.title),
    }
}

/// Each file holds the items `counts` says.
fn check_counts(
    set: &FileSet,
    raw: &RawMnist,
    paths: &[PathBuf],
    counts: Counts,
) -> Result<(), DataError> {
    let found = [
        raw.train_images.count,
        raw.train_labels.len(),
        raw.test_images.count,
        raw.test_labels.len(),
    ];
    let expected = [counts.train, counts.train, counts.test, counts.test];
    for (((m, p), n), e) in FILES.iter().zip(paths).zip(found).zip(expected) {
        if n != e {
            return Err(corrupt(
                p,
                format!("holds {n} items, {}'s {} has {e}", set.title, m.name),
            ));
        }
    }
    Ok(())
}

/// Images are 28x28.
fn check_sides(raw: &RawMnist, paths: &[PathBuf]) -> Result<(), DataError> {
    for (images, p) in [
        (&raw.train_images, &paths[0]),
        (&raw.test_images, &paths[2]),
    ] {
        if (images.rows, images.cols) != (SIDE, SIDE) {
            return Err(corrupt(
                p,
                format!("images are {}x{}, expected 28x28", images.rows, images.cols),
            ));
        }
    }
    Ok(())
}

fn corrupt(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_be_bytes(b)
}

/// Checks the magic number (when there are 4 bytes to read) and that the
/// header is complete.
fn check_header(
    bytes: &[u8],
    path: &Path,
    magic: u32,
    header: usize,
    kind: &str,
) -> Result<(), DataError> {
    if bytes.len() >= 4 && be_u32(bytes, 0) != magic {
        let found = be_u32(bytes, 0);
        return Err(corrupt(
            path,
            format!("magic number {found:#010x}, expected {magic:#010x} (IDX {kind})"),
        ));
    }
    if bytes.len() < header {
        return Err(corrupt(
            path,
            format!(
                "{} bytes is too short for an IDX {kind} header",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// Parses an IDX3 image file (already decompressed); `path` names it in errors.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<Images, DataError> {
    check_header(bytes, path, IMAGES_MAGIC, 16, "images")?;
    let [count, rows, cols] = [4, 8, 12].map(|at| be_u32(bytes, at) as usize);
    let expected = count
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .and_then(|v| v.checked_add(16));
    if expected != Some(bytes.len()) {
        return Err(corrupt(
            path,
            format!(
                "the header promises {count} images of {rows}x{cols} ({} bytes), the file has {} bytes \
                 (truncated or not an MNIST file)",
                expected.map_or_else(|| "too many".to_string(), |e| e.to_string()),
                bytes.len()
            ),
        ));
    }
    Ok(Images {
        count,
        rows,
        cols,
        pixels: bytes[16..].to_vec(),
    })
}

/// Parses an IDX1 label file (already decompressed); labels must be digits.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    check_header(bytes, path, LABELS_MAGIC, 8, "labels")?;
    let count = be_u32(bytes, 4) as usize;
    if count.checked_add(8) != Some(bytes.len()) {
        return Err(corrupt(
            path,
            format!(
                "the header promises {count} labels ({} bytes), the file has {} bytes (truncated or not an MNIST file)",
                count.saturating_add(8),
                bytes.len()
            ),
        ));
    }
    let labels = bytes[8..].to_vec();
    if let Some((i, l)) = labels.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(corrupt(path, format!("label {i} is {l}, not a digit 0-9")));
    }
    Ok(labels)
}

/// Subsets and scales parsed IDX images as `config` asks: the training and test splits.
pub fn build(config: &Mnist, raw: &RawMnist) -> (SplitData, SplitData) {
    // The shape is the contract: the first `train_limit` / `test_limit` images.
    let Shape {
        train: n_train,
        test: n_test,
        ..
    } = config.idx_shape();
    let (shift, div) = match config.scale {
        PixelScale::Unit => (0.0, 255.0),
        PixelScale::Standard => {
            let (mean, std) = pixel_mean_std(&raw.train_images.pixels);
            // mean and std of px/255; (px/255 - mean)/std = (px - 255 mean)/(255 std)
            (255.0 * mean, 255.0 * std.max(f64::MIN_POSITIVE))
        }
    };
    // One value per pixel level: exact, and fast even in debug builds.
    let lut: Vec<f32> = (0..=255u8)
        .map(|p| ((f64::from(p) - shift) / div) as f32)
        .collect();
    let split = |images: &Images, labels: &[u8], n: usize| -> SplitData {
        let d = images.rows * images.cols;
        let n = n.min(images.count).min(labels.len());
        SplitData {
            features: images.pixels[..n * d]
                .iter()
                .map(|&p| lut[usize::from(p)])
                .collect(),
            targets: Targets::Classes(labels[..n].iter().map(|&l| u32::from(l)).collect()),
            input_dim: d,
        }
    };
    let train = split(&raw.train_images, &raw.train_labels, n_train);
    let test = split(&raw.test_images, &raw.test_labels, n_test);
    (train, test)
}

/// Mean and standard deviation of the pixels scaled to [0, 1].
pub fn pixel_mean_std(pixels: &[u8]) -> (f64, f64) {
    let mut hist = [0u64; 256];
    for &p in pixels {
        hist[usize::from(p)] += 1;
    }
    let n = pixels.len().max(1) as f64;
    let mean = hist
        .iter()
        .enumerate()
        .map(|(v, &c)| v as f64 / 255.0 * c as f64)
        .sum::<f64>()
        / n;
    let var = hist
        .iter()
        .enumerate()
        .map(|(v, &c)| (v as f64 / 255.0 - mean).powi(2) * c as f64)
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut b = LABELS_MAGIC.to_be_bytes().to_vec();
        b.extend((labels.len() as u32).to_be_bytes());
        b.extend(labels);
        b
    }

    fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut b = IMAGES_MAGIC.to_be_bytes().to_vec();
        for v in [count, rows, cols] {
            b.extend(v.to_be_bytes());
        }
        b.extend(pixels);
        b
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn parses_small_idx_files() {
        let p = Path::new("x");
        assert_eq!(
            parse_labels(&idx_labels(&[3, 1, 4]), p).unwrap(),
            vec![3, 1, 4]
        );
        let img = parse_images(
            &idx_images(2, 2, 3, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
            p,
        )
        .unwrap();
        assert_eq!((img.count, img.rows, img.cols), (2, 2, 3));
        assert_eq!(img.pixels[11], 11);
    }

    #[test]
    fn rejects_bad_headers_lengths_and_labels() {
        let p = Path::new("f");
        let short = idx_images(2, 2, 2, &[0; 7]);
        let e = parse_images(&short, p).unwrap_err().to_string();
        assert!(
            e.contains("promises 2 images of 2x2 (24 bytes), the file has 23 bytes"),
            "{e}"
        );
        let long = idx_images(1, 2, 2, &[0; 5]);
        assert!(parse_images(&long, p).is_err());
        let e = parse_images(&idx_labels(&[1]), p).unwrap_err().to_string();
        assert!(
            e.contains("magic number 0x00000801, expected 0x00000803"),
            "{e}"
        );
        assert!(parse_images(&[0, 0, 8, 3], p).is_err());
        let mut truncated = idx_labels(&[1, 2, 3]);
        truncated.pop();
        assert!(parse_labels(&truncated, p).is_err());
        let e = parse_labels(&idx_labels(&[1, 12]), p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 1 is 12"), "{e}");
        let huge = idx_images(u32::MAX, u32::MAX, u32::MAX, &[]);
        assert!(parse_images(&huge, p).is_err());
    }

    #[test]
    fn downloads_with_a_wrong_hash_are_rejected_with_mnists_message() {
        let labels = fetch::MNIST.files[1];
        let body = gzip(&idx_labels(&[1, 2, 3]));
        let url = "https://mirror/x.gz";
        let e = fetch::check_download(&fetch::MNIST, &labels, &body, url).unwrap_err();
        assert!(matches!(e, DataError::HashMismatch { .. }));
        assert_eq!(
            e.to_string(),
            format!(
                "{url} has SHA-256 {}, expected {}: it is corrupt or not the original MNIST file; \
                 delete it (it will be downloaded again) or replace it",
                sha256_hex(&idx_labels(&[1, 2, 3])),
                labels.digest.expected()
            )
        );
        let cut = &body[..body.len() - 4];
        assert!(fetch::check_download(&fetch::MNIST, &labels, cut, "u").is_err());
        // The same bytes pass against their own digest.
        let own = fetch::Remote {
            digest: fetch::Digest::Sha256(Box::leak(
                sha256_hex(&idx_labels(&[1, 2, 3])).into_boxed_str(),
            )),
            ..labels
        };
        fetch::check_download(&fetch::MNIST, &own, &body, "u").unwrap();
    }

    #[test]
    fn candidates_are_path_then_env_then_project() {
        let c = candidates(Some("/d"), Some(OsStr::new("/shared")));
        let dirs: Vec<_> = c.iter().map(|c| c.dir.clone()).collect();
        assert_eq!(
            dirs,
            vec![
                PathBuf::from("/d"),
                PathBuf::from("/shared/mnist"),
                PathBuf::from("data/mnist")
            ]
        );
        assert_eq!(candidates(None, None).len(), 1);
        assert_eq!(candidates(None, Some(OsStr::new(""))).len(), 1);
    }

    #[test]
    fn not_found_message_reads_as_instructions() {
        let e = NotFound {
            set: fetch::MNIST,
            looked: vec![
                Looked {
                    place: "/d (dataset.path)".into(),
                    status: "directory does not exist".into(),
                },
                Looked {
                    place: "$ACTSWEEP_DATA/mnist".into(),
                    status: "ACTSWEEP_DATA is not set".into(),
                },
            ],
            tried: vec!["https://m/train-images-idx3-ubyte.gz: 404 Not Found".into()],
        };
        assert_eq!(
            e.to_string(),
            "MNIST not found: looked for train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], \
             t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz] in:
  - /d (dataset.path): directory does not exist
  - $ACTSWEEP_DATA/mnist: ACTSWEEP_DATA is not set
and tried to download them:
  - https://m/train-images-idx3-ubyte.gz: 404 Not Found
to fix: download the four files (for example from \
             https://ossci-datasets.s3.amazonaws.com/mnist/<name>.gz) and put them, gzipped or not, \
             in one of the directories above; or point `path` under [dataset] (or ACTSWEEP_DATA, \
             which holds mnist/) at a directory that has them"
        );
    }

    #[test]
    fn pixel_stats() {
        let (m, s) = pixel_mean_std(&[0, 255]);
        assert!((m - 0.5).abs() < 1e-12 && (s - 0.5).abs() < 1e-12);
    }
}
