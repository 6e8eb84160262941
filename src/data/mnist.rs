//! MNIST: finding, downloading, verifying and parsing the four IDX files.
//!
//! This module owns everything between "the sweep says `mnist`" and a
//! [`Dataset`](super::Dataset) of scaled pixels:
//!
//! 1. **Where**: the directories looked in, in order ([`candidates`]): the
//!    dataset's `path`, `$ACTSWEEP_DATA/mnist`, then `data/mnist` in the
//!    current directory (the project). The first one holding all four files
//!    wins; each file may be raw or gzipped (detected by its magic bytes
//!    `1f 8b`, whatever its name).
//! 2. **Download**: when no directory has them, the missing files are fetched
//!    from the configured mirrors, in order, into the first candidate
//!    directory that can be written. Each download is decompressed and its
//!    SHA-256 checked against the known digest *before* it is written, and it
//!    is written atomically (temporary file in the same directory, then
//!    rename), so a half-finished download never looks like a file.
//! 3. **Parsing**: IDX headers (magic `0x00000803` images, `0x00000801`
//!    labels), dimensions checked against the file length, counts and labels
//!    checked. A truncated or corrupt file is an error, never silent garbage;
//!    local files are also checked against the SHA-256 digests.
//! 4. **Shaping**: the deterministic subsets (`train_limit` / `test_limit`
//!    keep the *first* N images) and pixel scaling (to [0, 1], or
//!    standardised with the mean and std of all 60 000 training pixels).
//!
//! When nothing works, [`NotFound`] lists every place looked, every download
//! tried and how to place the files by hand.

use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use serde::{Deserialize, Serialize};

use super::kind::{DatasetKind, KeyCheck, Loaded, Shape};
use super::{DataError, SplitData, Targets};
use crate::config::job::Task;
use crate::config::raw::DatasetFields;

/// `mnist`: its settings as resolved (the job id hashes them).
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

/// MNIST pixel scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelScale {
    /// Pixels divided by 255, in [0, 1].
    Unit,
    /// Pixels standardised with the training set's mean and std.
    Standard,
}

/// Images in the training file.
const TRAIN_COUNT: usize = 60_000;
/// Images in the test file.
const TEST_COUNT: usize = 10_000;

impl DatasetKind for Mnist {
    const NAME: &'static str = "mnist";
    const ABOUT: &'static str =
        "handwritten digits, 28x28 grey pixels, 10 classes, 60,000 training and 10,000 test images";

    fn resolve(check: &mut KeyCheck<'_, '_>, v: &DatasetFields) -> Mnist {
        let mut limit = |key, n: &Option<toml::Spanned<i64>>, all: usize| {
            let all = all as i64;
            n.as_ref()
                .map(|s| check.int(key, Some(s), all, 1..=all) as usize)
        };
        let train_limit = limit("train_limit", &v.train_limit, TRAIN_COUNT);
        let test_limit = limit("test_limit", &v.test_limit, TEST_COUNT);
        Mnist {
            path: v.path.as_ref().map(|p| p.get_ref().clone()),
            train_limit,
            test_limit,
            scale: check.choice(
                "scale",
                v.scale.as_ref(),
                &[
                    ("unit", PixelScale::Unit),
                    ("standard", PixelScale::Standard),
                ],
                PixelScale::Unit,
            ),
            mirrors: v
                .mirrors
                .as_ref()
                .map_or_else(default_mirrors, |m| m.get_ref().clone()),
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            input_dim: SIDE * SIDE,
            task: Task::Classification(10),
            train: self.train_limit.unwrap_or(TRAIN_COUNT).min(TRAIN_COUNT),
            test: self.test_limit.unwrap_or(TEST_COUNT).min(TEST_COUNT),
        }
    }

    fn load(&self) -> Result<Loaded, DataError> {
        let (dir, raw) = find(self.path.as_deref(), &self.mirrors)?;
        let (train, test) = build(self, &raw);
        Ok(Loaded {
            train,
            test,
            origin: dir.display().to_string(),
        })
    }
}

/// Public mirrors of the MNIST files, tried in order.
pub fn default_mirrors() -> Vec<String> {
    vec![
        "https://ossci-datasets.s3.amazonaws.com/mnist/".to_string(),
        "https://storage.googleapis.com/cvdf-datasets/mnist/".to_string(),
    ]
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
    /// Number of items the file must hold.
    pub count: usize,
    /// SHA-256 of the decompressed file, lowercase hex.
    pub sha256: &'static str,
}

/// Training images.
pub const TRAIN_IMAGES: MnistFile = MnistFile {
    name: "train-images-idx3-ubyte",
    kind: Kind::Images,
    count: TRAIN_COUNT,
    sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
};
/// Training labels.
pub const TRAIN_LABELS: MnistFile = MnistFile {
    name: "train-labels-idx1-ubyte",
    kind: Kind::Labels,
    count: TRAIN_COUNT,
    sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
};
/// Test images.
pub const TEST_IMAGES: MnistFile = MnistFile {
    name: "t10k-images-idx3-ubyte",
    kind: Kind::Images,
    count: TEST_COUNT,
    sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
};
/// Test labels.
pub const TEST_LABELS: MnistFile = MnistFile {
    name: "t10k-labels-idx1-ubyte",
    kind: Kind::Labels,
    count: TEST_COUNT,
    sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
};

/// The four files, in the order train images, train labels, test images, test labels.
pub const FILES: [MnistFile; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// Side of an MNIST image in pixels.
pub const SIDE: usize = 28;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A directory MNIST may be in, and why it is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Where it comes from: `dataset.path`, `$ACTSWEEP_DATA/mnist`...
    pub source: &'static str,
    /// The directory.
    pub dir: PathBuf,
}

/// The directories to look in, in order: `path` (from the dataset), then
/// `$ACTSWEEP_DATA/mnist` (pass the variable's value), then `data/mnist`
/// relative to the current directory.
pub fn candidates(path: Option<&str>, actsweep_data: Option<&OsStr>) -> Vec<Candidate> {
    let mut out = Vec::new();
    if let Some(p) = path {
        out.push(Candidate {
            source: "dataset.path",
            dir: PathBuf::from(p),
        });
    }
    if let Some(root) = actsweep_data.filter(|v| !v.is_empty()) {
        out.push(Candidate {
            source: "$ACTSWEEP_DATA/mnist",
            dir: Path::new(root).join("mnist"),
        });
    }
    out.push(Candidate {
        source: "the project's data/mnist",
        dir: PathBuf::from("data").join("mnist"),
    });
    out
}

/// One place looked in, and what was (not) there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    /// Display form of the place (`dir (source)`).
    pub place: String,
    /// What was found there.
    pub status: String,
}

/// MNIST was not found anywhere and could not be downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    /// Every place looked in, in order.
    pub looked: Vec<Looked>,
    /// Every download attempt (or why none was made).
    pub tried: Vec<String>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = FILES.iter().map(|m| format!("{}[.gz]", m.name)).collect();
        writeln!(f, "MNIST not found: looked for {} in:", names.join(", "))?;
        for l in &self.looked {
            writeln!(f, "  - {}: {}", l.place, l.status)?;
        }
        writeln!(f, "and tried to download them:")?;
        for t in &self.tried {
            writeln!(f, "  - {t}")?;
        }
        write!(
            f,
            "to fix: download the four files (for example from {}<name>.gz) and put them, \
             gzipped or not, in one of the directories above; or point `path` under [dataset] \
             (or ACTSWEEP_DATA, which holds mnist/) at a directory that has them",
            default_mirrors()
                .first()
                .map_or("a public MNIST mirror ", String::as_str),
        )
    }
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

/// Finds (or downloads) and reads the four files the way an `mnist` dataset
/// with this `path` and these `mirrors` does: the [`candidates`] for `path`
/// and `$ACTSWEEP_DATA`, relative ones against the current directory. The
/// one lookup, used by [`load`] and by the project's own tests (which
/// therefore find MNIST exactly where `actsweep run` does, and download it
/// there when it is missing).
///
/// [`load`]: DatasetKind::load
pub fn find(path: Option<&str>, mirrors: &[String]) -> Result<(PathBuf, RawMnist), DataError> {
    let env = std::env::var_os("ACTSWEEP_DATA");
    locate(&candidates(path, env.as_deref()), mirrors, true)
}

/// Finds the four files in the first candidate directory that has them all,
/// downloading what is missing from `mirrors` when none has; reads, verifies
/// (SHA-256 too when `verify_local`) and parses them.
pub fn locate(
    places: &[Candidate],
    mirrors: &[String],
    verify_local: bool,
) -> Result<(PathBuf, RawMnist), DataError> {
    let mut looked = Vec::new();
    for c in places {
        let status = match scan(&c.dir) {
            Ok(paths) => return Ok((c.dir.clone(), read_files(&paths, verify_local)?)),
            Err(status) => status,
        };
        looked.push(Looked {
            place: format!("{} ({})", c.dir.display(), c.source),
            status,
        });
    }
    if !places.iter().any(|c| c.source == "$ACTSWEEP_DATA/mnist") {
        looked.push(Looked {
            place: "$ACTSWEEP_DATA/mnist".into(),
            status: "ACTSWEEP_DATA is not set".into(),
        });
    }
    let mut tried = Vec::new();
    if mirrors.is_empty() {
        tried.push("no download: the dataset's `mirrors` list is empty".into());
    } else if let Some(dir) = first_writable(places, &mut tried) {
        if download_missing(&dir, mirrors, &mut tried) {
            if let Ok(paths) = scan(&dir) {
                return Ok((dir, read_files(&paths, verify_local)?));
            }
        }
    }
    Err(DataError::NotFound(NotFound { looked, tried }))
}

/// The path of each file in `dir` (raw name first, then `.gz`), or what is missing.
fn scan(dir: &Path) -> Result<[PathBuf; 4], String> {
    if !dir.exists() {
        return Err("directory does not exist".into());
    }
    if !dir.is_dir() {
        return Err("not a directory".into());
    }
    let found = FILES.map(|m| find_file(dir, m));
    let missing: Vec<&str> = FILES
        .iter()
        .zip(&found)
        .filter(|(_, p)| p.is_none())
        .map(|(m, _)| m.name)
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing {}", missing.join(", ")));
    }
    Ok(found.map(|p| p.unwrap_or_default()))
}

fn find_file(dir: &Path, m: MnistFile) -> Option<PathBuf> {
    [dir.join(m.name), dir.join(format!("{}.gz", m.name))]
        .into_iter()
        .find(|p| p.is_file())
}

fn read_files(paths: &[PathBuf; 4], verify: bool) -> Result<RawMnist, DataError> {
    let mut bytes = Vec::with_capacity(4);
    for (m, p) in FILES.iter().zip(paths) {
        let b = read_file(p)?;
        if verify {
            verify_sha256(m, &b, &p.display().to_string())?;
        }
        bytes.push(b);
    }
    let [train_images, train_labels, test_images, test_labels] = [0, 1, 2, 3].map(|i| &bytes[i]);
    let raw = RawMnist {
        train_images: parse_images(train_images, &paths[0])?,
        train_labels: parse_labels(train_labels, &paths[1])?,
        test_images: parse_images(test_images, &paths[2])?,
        test_labels: parse_labels(test_labels, &paths[3])?,
    };
    let counts = [
        raw.train_images.count,
        raw.train_labels.len(),
        raw.test_images.count,
        raw.test_labels.len(),
    ];
    for ((m, p), n) in FILES.iter().zip(paths).zip(counts) {
        if n != m.count {
            return Err(corrupt(
                p,
                format!("holds {n} items, MNIST's {} has {}", m.name, m.count),
            ));
        }
    }
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
    Ok(raw)
}

fn corrupt(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The contents of a file, decompressed when it starts with the gzip magic.
pub fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    gunzip_if_gzipped(bytes).map_err(|e| corrupt(path, format!("bad gzip data ({e})")))
}

fn gunzip_if_gzipped(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 5);
    flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out)?;
    Ok(out)
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

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks decompressed `bytes` against `file`'s known digest; `what` names
/// the file or URL in the error.
pub fn verify_sha256(file: &MnistFile, bytes: &[u8], what: &str) -> Result<(), DataError> {
    let actual = sha256_hex(bytes);
    if actual == file.sha256 {
        Ok(())
    } else {
        Err(DataError::HashMismatch {
            what: what.to_string(),
            expected: file.sha256.to_string(),
            actual,
        })
    }
}

/// Checks a downloaded body (gzipped or raw): it must decompress and match
/// the digest. Nothing is written unless this passes.
pub fn check_download(file: &MnistFile, body: &[u8], url: &str) -> Result<(), DataError> {
    let bytes = gunzip_if_gzipped(body.to_vec()).map_err(|e| DataError::Corrupt {
        path: PathBuf::from(url),
        reason: format!("bad gzip data ({e})"),
    })?;
    verify_sha256(file, &bytes, url)
}

/// The first candidate directory that exists or can be created, and can be
/// written; why each one before it could not goes into `tried`.
fn first_writable(places: &[Candidate], tried: &mut Vec<String>) -> Option<PathBuf> {
    for c in places {
        let probe = std::fs::create_dir_all(&c.dir).and_then(|()| {
            let p = c
                .dir
                .join(format!(".actsweep-write-test-{}", std::process::id()));
            std::fs::write(&p, b"")?;
            std::fs::remove_file(&p)
        });
        match probe {
            Ok(()) => return Some(c.dir.clone()),
            Err(e) => tried.push(format!(
                "cannot download into {} ({}): {e}",
                c.dir.display(),
                c.source
            )),
        }
    }
    None
}

/// Downloads every file missing in `dir`, trying the mirrors in order;
/// true when all four are there afterwards.
fn download_missing(dir: &Path, mirrors: &[String], tried: &mut Vec<String>) -> bool {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tried.push(format!("no download: cannot start the HTTP runtime: {e}"));
            return false;
        }
    };
    let client = match reqwest::Client::builder()
        .user_agent(concat!("actsweep/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(20))
        .timeout(Duration::from_secs(300))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tried.push(format!("no download: cannot create the HTTP client: {e}"));
            return false;
        }
    };
    for m in FILES {
        if find_file(dir, m).is_some() {
            continue;
        }
        let mut done = false;
        for mirror in mirrors {
            let url = format!("{}/{}.gz", mirror.trim_end_matches('/'), m.name);
            let body = runtime.block_on(fetch(&client, &url));
            let result = match body {
                Err(e) => Err(e.to_string()),
                Ok(body) => check_download(&m, &body, &url)
                    .map_err(|e| e.to_string())
                    .and_then(|()| {
                        let target = dir.join(format!("{}.gz", m.name));
                        crate::atomic::write(&target, &body).map_err(|e| {
                            format!("downloaded, but cannot write {}: {e}", target.display())
                        })
                    }),
            };
            match result {
                Ok(()) => {
                    tracing::info!(%url, dir = %dir.display(), "downloaded {}", m.name);
                    done = true;
                    break;
                }
                Err(e) => tried.push(format!("{url}: {e}")),
            }
        }
        if !done {
            return false;
        }
    }
    true
}

/// The body of a successful GET of `url`.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, reqwest::Error> {
    let resp = client.get(url).send().await?.error_for_status()?;
    Ok(resp.bytes().await?.to_vec())
}

/// Subsets and scales parsed MNIST as `config` asks: the training and test splits.
pub fn build(config: &Mnist, raw: &RawMnist) -> (SplitData, SplitData) {
    // The shape is the contract: the first `train_limit` / `test_limit` images.
    let Shape {
        train: n_train,
        test: n_test,
        ..
    } = config.shape();
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
    fn gzip_is_detected_by_magic_and_truncation_is_an_error() {
        let raw = idx_labels(&[0, 1, 2]);
        assert_eq!(gunzip_if_gzipped(gzip(&raw)).unwrap(), raw);
        assert_eq!(gunzip_if_gzipped(raw.clone()).unwrap(), raw);
        let gz = gzip(&[7u8; 10_000]);
        assert!(gunzip_if_gzipped(gz[..gz.len() / 2].to_vec()).is_err());
    }

    #[test]
    fn downloads_with_a_wrong_hash_are_rejected() {
        let body = gzip(&idx_labels(&[1, 2, 3]));
        let e = check_download(&TRAIN_LABELS, &body, "https://mirror/x.gz").unwrap_err();
        assert!(matches!(e, DataError::HashMismatch { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("https://mirror/x.gz") && msg.contains(TRAIN_LABELS.sha256),
            "{msg}"
        );
        assert!(check_download(&TRAIN_LABELS, &body[..body.len() - 4], "u").is_err());
        // The same bytes pass against their own digest.
        let own = MnistFile {
            sha256: Box::leak(sha256_hex(&idx_labels(&[1, 2, 3])).into_boxed_str()),
            ..TRAIN_LABELS
        };
        check_download(&own, &body, "u").unwrap();
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
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
