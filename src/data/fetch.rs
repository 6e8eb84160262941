//! Fetching a dataset's published files: where they are looked for, their
//! download from mirrors, and the check of each against its published digest.
//!
//! MNIST, Fashion-MNIST, KMNIST and CIFAR-10 are all "a few files on a
//! mirror, with a digest their authors (or torchvision) publish"; only the
//! names, digests, mirrors and the forms the files may take on disk differ.
//! Those differences are data, a [`FileSet`] per dataset (declared here, each
//! once, with where its digests are published); the steps are written once:
//!
//! 1. **Where** ([`candidates`]): the dataset's `path` when it has one, then
//!    `$ACTSWEEP_DATA/NAME`, then `data/NAME` in the current directory. The
//!    first directory holding every file, in a form [`Local`] accepts, wins.
//! 2. **Download** ([`locate`]): when none does, the missing files are fetched
//!    from the mirrors, in order, into the first of those directories that can
//!    be written. A body is checked *before* anything is written: complete
//!    (a connection that breaks off before `Content-Length` bytes is refused)
//!    and matching its digest ([`check_download`]). It is then written
//!    atomically ([`crate::atomic::write`]), so a refused or half-finished
//!    download never leaves a file behind.
//! 3. **Local files** ([`read_verified`], [`verify_file`]): the files found are
//!    checked against the same digests, where the digest applies: a digest of
//!    the download (what Fashion-MNIST, KMNIST and CIFAR-10 publish: MD5 of
//!    the `.gz` / `.tar.gz`) says nothing about a decompressed copy, which is
//!    then left to the format's own checks.
//!
//! When nothing works, [`NotFound`] lists every place looked, every download
//! tried and how to place the files by hand. Parsing is each format's own
//! ([`super::mnist`] for IDX, [`super::cifar10`]).

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::Md5;
use sha2::{Digest as _, Sha256};

use super::DataError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A published digest, lowercase hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// SHA-256.
    Sha256(&'static str),
    /// MD5: not a defence against tampering, but what the authors publish;
    /// it catches truncated and wrong files, which is what it is used for.
    Md5(&'static str),
}

impl Digest {
    /// `SHA-256` or `MD5`, as messages name it.
    pub fn algorithm(self) -> &'static str {
        match self {
            Digest::Sha256(_) => "SHA-256",
            Digest::Md5(_) => "MD5",
        }
    }

    /// The published value.
    pub fn expected(self) -> &'static str {
        match self {
            Digest::Sha256(hex) | Digest::Md5(hex) => hex,
        }
    }

    /// The same algorithm's digest of `bytes`, lowercase hex.
    pub fn of(self, bytes: &[u8]) -> String {
        match self {
            Digest::Sha256(_) => hex(&Sha256::digest(bytes)),
            Digest::Md5(_) => hex(&Md5::digest(bytes)),
        }
    }

    /// The same algorithm's digest of everything `reader` yields.
    pub fn of_reader(self, mut reader: impl Read) -> std::io::Result<String> {
        match self {
            Digest::Sha256(_) => {
                let mut h = Sha256::new();
                std::io::copy(&mut reader, &mut h)?;
                Ok(hex(&h.finalize()))
            }
            Digest::Md5(_) => {
                let mut h = Md5::new();
                std::io::copy(&mut reader, &mut h)?;
                Ok(hex(&h.finalize()))
            }
        }
    }

    /// Compares a computed digest with the published one; `what` (a file or
    /// URL) and `dataset` name them in the error.
    pub fn compare(
        self,
        actual: String,
        what: &str,
        dataset: &'static str,
    ) -> Result<(), DataError> {
        if actual == self.expected() {
            return Ok(());
        }
        Err(DataError::HashMismatch {
            what: what.to_string(),
            algorithm: self.algorithm(),
            dataset,
            expected: self.expected().to_string(),
            actual,
        })
    }

    /// Checks `bytes` against the published digest.
    pub fn check(self, bytes: &[u8], what: &str, dataset: &'static str) -> Result<(), DataError> {
        self.compare(self.of(bytes), what, dataset)
    }
}

/// Lowercase hex of a digest's bytes.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Digest::Sha256("").of(bytes)
}

/// Lowercase hex MD5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    Digest::Md5("").of(bytes)
}

/// Which bytes a published digest is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestOf {
    /// The file as downloaded (MD5 of the `.gz` or `.tar.gz`).
    Download,
    /// The file once decompressed (MNIST's SHA-256).
    Decompressed,
}

/// One file to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remote {
    /// Its name on the mirrors, and in the data directory once downloaded.
    pub name: &'static str,
    /// The published digest.
    pub digest: Digest,
    /// Whether the digest is of the download or of its decompressed bytes.
    pub of: DigestOf,
}

impl Remote {
    /// The name of a decompressed copy: `name` without `.gz`.
    pub fn unpacked_name(&self) -> &'static str {
        self.name.strip_suffix(".gz").unwrap_or(self.name)
    }
}

/// The forms a set's files may take in a data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// Each file gzipped as downloaded (`NAME.gz`) or decompressed (`NAME`);
    /// gzip is recognised by its magic bytes, whatever the name.
    GzOrPlain,
    /// The (single) archive as downloaded, or the folder it unpacks to.
    ArchiveOrFolder(&'static str),
}

/// A dataset's files: names, digests, mirrors, and how they may look on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSet {
    /// The directory name under `$ACTSWEEP_DATA` and `data/` (`mnist`, `cifar10`).
    pub name: &'static str,
    /// The name messages use (`MNIST`, `Fashion-MNIST`).
    pub title: &'static str,
    /// The files, in the order their loader reads them.
    pub files: &'static [Remote],
    /// The forms accepted on disk.
    pub local: Local,
    /// Where to download from by default, tried in order.
    pub mirrors: &'static [&'static str],
}

impl FileSet {
    /// The default mirrors, as a dataset config holds them.
    pub fn default_mirrors(&self) -> Vec<String> {
        self.mirrors.iter().map(|m| m.to_string()).collect()
    }

    /// Where `file` is in `dir`, in any accepted form (a folder for
    /// [`Local::ArchiveOrFolder`] is preferred: it is already unpacked).
    pub fn on_disk(&self, dir: &Path, file: &Remote) -> Option<PathBuf> {
        match self.local {
            Local::GzOrPlain => [dir.join(file.unpacked_name()), dir.join(file.name)]
                .into_iter()
                .find(|p| p.is_file()),
            Local::ArchiveOrFolder(folder) => {
                let unpacked = dir.join(folder);
                let archive = dir.join(file.name);
                (unpacked.is_dir().then_some(unpacked)).or(archive.is_file().then_some(archive))
            }
        }
    }

    /// The path of every file in `dir`, in [`FileSet::files`]' order, or
    /// what is wrong (for the "looked in" list).
    pub fn scan(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        if !dir.exists() {
            return Err("directory does not exist".into());
        }
        if !dir.is_dir() {
            return Err("not a directory".into());
        }
        let found: Vec<Option<PathBuf>> = self.files.iter().map(|f| self.on_disk(dir, f)).collect();
        let missing: Vec<String> = self
            .files
            .iter()
            .zip(&found)
            .filter(|(_, p)| p.is_none())
            .map(|(f, _)| self.missing_name(f))
            .collect();
        if !missing.is_empty() {
            return Err(format!("missing {}", missing.join(", ")));
        }
        Ok(found.into_iter().flatten().collect())
    }

    fn missing_name(&self, file: &Remote) -> String {
        match self.local {
            Local::GzOrPlain => file.unpacked_name().to_string(),
            Local::ArchiveOrFolder(folder) => format!("{} (or its folder {folder}/)", file.name),
        }
    }

    /// What was looked for, for the first line of [`NotFound`].
    fn looked_for(&self) -> String {
        let names: Vec<String> = match self.local {
            Local::GzOrPlain => self
                .files
                .iter()
                .map(|f| format!("{}[.gz]", f.unpacked_name()))
                .collect(),
            Local::ArchiveOrFolder(_) => self.files.iter().map(|f| self.missing_name(f)).collect(),
        };
        names.join(", ")
    }

    /// The "to fix" advice of [`NotFound`].
    fn how_to_fix(&self) -> String {
        let example = |name: &str| {
            self.mirrors
                .first()
                .map(|m| format!(" (for example from {m}{name})"))
                .unwrap_or_default()
        };
        let what = match self.local {
            Local::GzOrPlain => format!(
                "download the {} files{} and put them, gzipped or not,",
                count_word(self.files.len()),
                example("<name>.gz")
            ),
            Local::ArchiveOrFolder(folder) => {
                let names: Vec<&str> = self.files.iter().map(|f| f.name).collect();
                format!(
                    "download {}{} and put it, or the folder {folder}/ it unpacks to,",
                    names.join(", "),
                    example(names.first().copied().unwrap_or_default())
                )
            }
        };
        format!(
            "{what} in one of the directories above; or point `path` under [dataset] \
             (or ACTSWEEP_DATA, which holds {}/) at a directory that has them",
            self.name
        )
    }
}

fn count_word(n: usize) -> Cow<'static, str> {
    const WORDS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    WORDS
        .get(n)
        .map_or_else(|| n.to_string().into(), |w| (*w).into())
}

// ---------------------------------------------------------------------------
// The file sets.

/// MNIST: SHA-256 of each decompressed file. LeCun's page publishes no
/// digest; these are the ones actsweep has checked its MNIST files against
/// since its first loader (the decompressed files whose .gz have torchvision's
/// published MD5s, `torchvision/datasets/mnist.py`, `MNIST.resources`).
/// The mirrors are `config::resolve::default_mirrors` (a test keeps them equal).
pub const MNIST: FileSet = FileSet {
    name: "mnist",
    title: "MNIST",
    files: &[
        Remote {
            name: "train-images-idx3-ubyte.gz",
            digest: Digest::Sha256(
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
            of: DigestOf::Decompressed,
        },
        Remote {
            name: "train-labels-idx1-ubyte.gz",
            digest: Digest::Sha256(
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
            of: DigestOf::Decompressed,
        },
        Remote {
            name: "t10k-images-idx3-ubyte.gz",
            digest: Digest::Sha256(
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
            of: DigestOf::Decompressed,
        },
        Remote {
            name: "t10k-labels-idx1-ubyte.gz",
            digest: Digest::Sha256(
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
            of: DigestOf::Decompressed,
        },
    ],
    local: Local::GzOrPlain,
    mirrors: &[
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
};

/// Fashion-MNIST: MD5 of each `.gz` as Zalando publishes them in the "Get the
/// Data" table of the README of github.com/zalandoresearch/fashion-mnist
/// (torchvision's `FashionMNIST.resources` list the same four).
pub const FASHION_MNIST: FileSet = FileSet {
    name: "fashion_mnist",
    title: "Fashion-MNIST",
    files: &[
        Remote {
            name: "train-images-idx3-ubyte.gz",
            digest: Digest::Md5("8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            of: DigestOf::Download,
        },
        Remote {
            name: "train-labels-idx1-ubyte.gz",
            digest: Digest::Md5("25c81989df183df01b3e8a0aad5dffbe"),
            of: DigestOf::Download,
        },
        Remote {
            name: "t10k-images-idx3-ubyte.gz",
            digest: Digest::Md5("bef4ecab320f06d8554ea6380940ec79"),
            of: DigestOf::Download,
        },
        Remote {
            name: "t10k-labels-idx1-ubyte.gz",
            digest: Digest::Md5("bb300cfdad3c16e7a12a480ee83cd310"),
            of: DigestOf::Download,
        },
    ],
    local: Local::GzOrPlain,
    mirrors: &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
};

/// KMNIST (Kuzushiji-MNIST): MD5 of each `.gz`. The README of
/// github.com/rois-codh/kmnist publishes the files but no digest; these are
/// torchvision's (`torchvision/datasets/mnist.py`, `KMNIST.resources`), the
/// list other loaders copy.
pub const KMNIST: FileSet = FileSet {
    name: "kmnist",
    title: "KMNIST",
    files: &[
        Remote {
            name: "train-images-idx3-ubyte.gz",
            digest: Digest::Md5("bdb82020997e1d708af4cf47b453dcf7"),
            of: DigestOf::Download,
        },
        Remote {
            name: "train-labels-idx1-ubyte.gz",
            digest: Digest::Md5("e144d726b3acfaa3e44228e80efcd344"),
            of: DigestOf::Download,
        },
        Remote {
            name: "t10k-images-idx3-ubyte.gz",
            digest: Digest::Md5("5c965bf0a639b31b8f53240b1b52f4d7"),
            of: DigestOf::Download,
        },
        Remote {
            name: "t10k-labels-idx1-ubyte.gz",
            digest: Digest::Md5("7320c461ea6c1c855c0b718fb2a4b134"),
            of: DigestOf::Download,
        },
    ],
    local: Local::GzOrPlain,
    mirrors: &["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
};

/// CIFAR-10, binary version: MD5 of the archive as its authors publish it in
/// the download table of <https://www.cs.toronto.edu/~kriz/cifar.html>
/// ("CIFAR-10 binary version (suitable for C programs)").
pub const CIFAR10: FileSet = FileSet {
    name: "cifar10",
    title: "CIFAR-10",
    files: &[Remote {
        name: "cifar-10-binary.tar.gz",
        digest: Digest::Md5("c32a1d4ab5d03f1284b67883e8d87530"),
        of: DigestOf::Download,
    }],
    local: Local::ArchiveOrFolder("cifar-10-batches-bin"),
    mirrors: &["https://www.cs.toronto.edu/~kriz/"],
};

// ---------------------------------------------------------------------------
// Where.

/// A directory a set may be in, and why it is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Where it comes from: `dataset.path`, `$ACTSWEEP_DATA/mnist`...
    pub source: Cow<'static, str>,
    /// The directory.
    pub dir: PathBuf,
}

/// [`candidates`] for `set` and `path` with this process's `$ACTSWEEP_DATA`:
/// where a dataset kind looks when it loads.
pub fn places(set: &FileSet, path: Option<&str>) -> Vec<Candidate> {
    let env = std::env::var_os("ACTSWEEP_DATA");
    candidates(set, path, env.as_deref())
}

/// The directories to look in for `set`, in order: `path` (from the
/// dataset), then `$ACTSWEEP_DATA/NAME` (pass the variable's value), then
/// `data/NAME` relative to the current directory.
pub fn candidates(
    set: &FileSet,
    path: Option<&str>,
    actsweep_data: Option<&OsStr>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    if let Some(p) = path {
        out.push(Candidate {
            source: "dataset.path".into(),
            dir: PathBuf::from(p),
        });
    }
    if let Some(root) = actsweep_data.filter(|v| !v.is_empty()) {
        out.push(Candidate {
            source: env_source(set).into(),
            dir: Path::new(root).join(set.name),
        });
    }
    out.push(Candidate {
        source: format!("the project's data/{}", set.name).into(),
        dir: PathBuf::from("data").join(set.name),
    });
    out
}

fn env_source(set: &FileSet) -> String {
    format!("$ACTSWEEP_DATA/{}", set.name)
}

/// One place looked in, and what was (not) there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    /// Display form of the place (`dir (source)`).
    pub place: String,
    /// What was found there.
    pub status: String,
}

/// A set was not found anywhere and could not be downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    /// The set looked for.
    pub set: FileSet,
    /// Every place looked in, in order.
    pub looked: Vec<Looked>,
    /// Every download attempt (or why none was made).
    pub tried: Vec<String>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = &self.set;
        writeln!(
            f,
            "{} not found: looked for {} in:",
            set.title,
            set.looked_for()
        )?;
        for l in &self.looked {
            writeln!(f, "  - {}: {}", l.place, l.status)?;
        }
        writeln!(f, "and tried to download them:")?;
        for t in &self.tried {
            writeln!(f, "  - {t}")?;
        }
        write!(f, "to fix: {}", set.how_to_fix())
    }
}

/// Where a set was found: the directory, and the path of each file in
/// [`FileSet::files`]' order as it is on disk (plain or gzipped; for
/// [`Local::ArchiveOrFolder`], the folder when it is there, else the archive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The directory.
    pub dir: PathBuf,
    /// One path per file.
    pub paths: Vec<PathBuf>,
}

/// Finds `set` in the first candidate directory that has all its files,
/// downloading what is missing from `mirrors` (in order) into the first
/// writable candidate when none has. Reads nothing: parsing is the caller's.
pub fn locate(set: &FileSet, places: &[Candidate], mirrors: &[String]) -> Result<Found, DataError> {
    let mut looked = Vec::new();
    for c in places {
        match set.scan(&c.dir) {
            Ok(paths) => return Ok(found(&c.dir, paths)),
            Err(status) => looked.push(Looked {
                place: format!("{} ({})", c.dir.display(), c.source),
                status,
            }),
        }
    }
    let env = env_source(set);
    if !places.iter().any(|c| c.source == env) {
        looked.push(Looked {
            place: env,
            status: "ACTSWEEP_DATA is not set".into(),
        });
    }
    let mut tried = Vec::new();
    if mirrors.is_empty() {
        tried.push("no download: the dataset's `mirrors` list is empty".into());
    } else if let Some(dir) = first_writable(places, &mut tried) {
        if download_missing(set, &dir, mirrors, &mut tried) {
            if let Ok(paths) = set.scan(&dir) {
                return Ok(found(&dir, paths));
            }
        }
    }
    Err(DataError::NotFound(Box::new(NotFound {
        set: *set,
        looked,
        tried,
    })))
}

fn found(dir: &Path, paths: Vec<PathBuf>) -> Found {
    Found {
        dir: dir.to_path_buf(),
        paths,
    }
}

// ---------------------------------------------------------------------------
// Local files.

/// The contents of a file, decompressed when it starts with the gzip magic.
pub fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    gunzip_if_gzipped(read_bytes(path)?).map_err(|e| bad_gzip(path, &e))
}

/// The contents of `file` of `set` at `path` (as [`Found`] gives it),
/// decompressed when gzipped; with `verify`, checked against the published
/// digest where it applies (a digest of the download is checked only on the
/// file as downloaded, not on a decompressed copy).
pub fn read_verified(
    set: &FileSet,
    file: &Remote,
    path: &Path,
    verify: bool,
) -> Result<Vec<u8>, DataError> {
    let on_disk = read_bytes(path)?;
    let what = path.display().to_string();
    let as_downloaded = path.file_name() == Some(OsStr::new(file.name));
    if verify && file.of == DigestOf::Download && as_downloaded {
        file.digest.check(&on_disk, &what, set.title)?;
    }
    let bytes = gunzip_if_gzipped(on_disk).map_err(|e| bad_gzip(path, &e))?;
    if verify && file.of == DigestOf::Decompressed {
        file.digest.check(&bytes, &what, set.title)?;
    }
    Ok(bytes)
}

/// Checks a file as downloaded (an archive) against its digest, reading it
/// in pieces rather than whole; decompressed digests are checked on the
/// decompressed stream.
pub fn verify_file(set: &FileSet, file: &Remote, path: &Path) -> Result<(), DataError> {
    let open = std::fs::File::open(path).map_err(|source| io_error("read", path, source))?;
    let reader = std::io::BufReader::new(open);
    let actual = match file.of {
        DigestOf::Download => file.digest.of_reader(reader),
        DigestOf::Decompressed => file
            .digest
            .of_reader(flate2::bufread::GzDecoder::new(reader)),
    };
    let actual = actual.map_err(|source| io_error("read", path, source))?;
    file.digest
        .compare(actual, &path.display().to_string(), set.title)
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| io_error("read", path, source))
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> DataError {
    DataError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn bad_gzip(path: &Path, e: &std::io::Error) -> DataError {
    DataError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("bad gzip data ({e})"),
    }
}

/// `bytes` decompressed when they start with the gzip magic, else as they are.
pub(crate) fn gunzip_if_gzipped(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 5);
    flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out)?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Download.

/// Checks a downloaded body before it is written: it must match `file`'s
/// digest (for a digest of the decompressed bytes, it must decompress too).
pub fn check_download(
    set: &FileSet,
    file: &Remote,
    body: &[u8],
    url: &str,
) -> Result<(), DataError> {
    match file.of {
        DigestOf::Download => file.digest.check(body, url, set.title),
        DigestOf::Decompressed => {
            let bytes =
                gunzip_if_gzipped(body.to_vec()).map_err(|e| bad_gzip(Path::new(url), &e))?;
            file.digest.check(&bytes, url, set.title)
        }
    }
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

/// The HTTP runtime and client of one round of downloads.
struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    fn start() -> Result<Http, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("no download: cannot start the HTTP runtime: {e}"))?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("actsweep/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| format!("no download: cannot create the HTTP client: {e}"))?;
        Ok(Http { runtime, client })
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        self.runtime.block_on(get(&self.client, url))
    }
}

/// Downloads every file of `set` missing in `dir`, trying the mirrors in
/// order; true when all are there afterwards.
fn download_missing(
    set: &FileSet,
    dir: &Path,
    mirrors: &[String],
    tried: &mut Vec<String>,
) -> bool {
    let http = match Http::start() {
        Ok(h) => h,
        Err(e) => {
            tried.push(e);
            return false;
        }
    };
    set.files
        .iter()
        .filter(|f| set.on_disk(dir, f).is_none())
        .all(|file| download_one(&http, set, file, dir, mirrors, tried))
}

/// Fetches `file` from the first mirror that serves it whole and matching
/// its digest, and writes it atomically into `dir`; every failure goes into
/// `tried`. True when written.
fn download_one(
    http: &Http,
    set: &FileSet,
    file: &Remote,
    dir: &Path,
    mirrors: &[String],
    tried: &mut Vec<String>,
) -> bool {
    for mirror in mirrors {
        let url = format!("{}/{}", mirror.trim_end_matches('/'), file.name);
        let written = http.get(&url).and_then(|body| {
            check_download(set, file, &body, &url).map_err(|e| refusal(&e))?;
            let target = dir.join(file.name);
            crate::atomic::write(&target, &body)
                .map_err(|e| format!("downloaded, but cannot write {}: {e}", target.display()))
        });
        match written {
            Ok(()) => {
                tracing::info!(%url, dir = %dir.display(), "downloaded {}", file.name);
                return true;
            }
            Err(e) => tried.push(format!("{url}: {e}")),
        }
    }
    false
}

/// Why a downloaded body was refused, for the `tried` list (which names
/// the URL): the check's finding, and that nothing was written.
fn refusal(e: &DataError) -> String {
    match e {
        DataError::HashMismatch {
            algorithm,
            dataset,
            expected,
            actual,
            ..
        } => format!(
            "has {algorithm} {actual}, expected {expected}: corrupt, truncated or not the \
             original {dataset} file; refused, nothing was written"
        ),
        DataError::Corrupt { reason, .. } => format!("{reason}; refused, nothing was written"),
        other => format!("{other}; nothing was written"),
    }
}

/// The whole body of a successful GET of `url`; a body that ends before its
/// `Content-Length` is an error that says so.
async fn get(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let send = async { client.get(url).send().await?.error_for_status() };
    let mut resp = send.await.map_err(|e| e.to_string())?;
    let expected = resp.content_length();
    let mut body = Vec::with_capacity(expected.map_or(0, |n| n.min(1 << 28) as usize));
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return Err(truncated(body.len(), expected, &e.to_string())),
        }
    }
    match expected {
        Some(n) if n != body.len() as u64 => {
            Err(truncated(body.len(), expected, "body length differs"))
        }
        _ => Ok(body),
    }
}

fn truncated(got: usize, expected: Option<u64>, why: &str) -> String {
    let of = expected.map_or_else(String::new, |n| format!(" of {n}"));
    format!(
        "truncated download: the body broke off after {got}{of} bytes ({why}); nothing was written"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    #[test]
    fn digests_match_known_vectors() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        let md5 = Digest::Md5("");
        assert_eq!(md5.of_reader(&b"abc"[..]).unwrap(), md5.of(b"abc"));
        assert_eq!(
            (md5.algorithm(), Digest::Sha256("x").expected()),
            ("MD5", "x")
        );
    }

    #[test]
    fn a_download_digest_is_of_the_body_a_decompressed_one_of_its_contents() {
        let contents = b"contents".to_vec();
        let body = gzip(&contents);
        let of_body = Remote {
            name: "f.gz",
            digest: Digest::Md5(leak(md5_hex(&body))),
            of: DigestOf::Download,
        };
        let of_contents = Remote {
            digest: Digest::Sha256(leak(sha256_hex(&contents))),
            of: DigestOf::Decompressed,
            ..of_body
        };
        check_download(&KMNIST, &of_body, &body, "u").unwrap();
        check_download(&KMNIST, &of_contents, &body, "u").unwrap();
        // A truncated body fails either way: digest, or gzip.
        let cut = &body[..body.len() - 3];
        let e = check_download(&KMNIST, &of_body, cut, "http://m/f.gz").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!(
                "http://m/f.gz has MD5 {}, expected {}",
                md5_hex(cut),
                md5_hex(&body)
            )) && msg.contains("not the original KMNIST file"),
            "{msg}"
        );
        assert!(check_download(&KMNIST, &of_contents, cut, "u").is_err());
    }

    #[test]
    fn gzip_is_detected_by_magic_and_truncation_is_an_error() {
        let raw = b"\x00\x00\x08\x01plain".to_vec();
        assert_eq!(gunzip_if_gzipped(gzip(&raw)).unwrap(), raw);
        assert_eq!(gunzip_if_gzipped(raw.clone()).unwrap(), raw);
        let gz = gzip(&[7u8; 10_000]);
        assert!(gunzip_if_gzipped(gz[..gz.len() / 2].to_vec()).is_err());
    }

    #[test]
    fn candidates_are_path_then_env_then_project() {
        let c = candidates(&CIFAR10, Some("/d"), Some(OsStr::new("/shared")));
        let got: Vec<_> = c
            .iter()
            .map(|c| (c.source.as_ref(), c.dir.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("dataset.path", PathBuf::from("/d")),
                ("$ACTSWEEP_DATA/cifar10", PathBuf::from("/shared/cifar10")),
                ("the project's data/cifar10", PathBuf::from("data/cifar10")),
            ]
        );
        assert_eq!(candidates(&KMNIST, None, None).len(), 1);
        assert_eq!(candidates(&KMNIST, None, Some(OsStr::new(""))).len(), 1);
    }

    #[test]
    fn idx_sets_share_mnists_file_names_and_order() {
        for set in [MNIST, FASHION_MNIST, KMNIST] {
            let names: Vec<&str> = set.files.iter().map(Remote::unpacked_name).collect();
            let mnist: Vec<&str> = super::super::mnist::FILES.iter().map(|m| m.name).collect();
            assert_eq!(names, mnist, "{}", set.title);
            assert!(set.files.iter().all(|f| f.name.ends_with(".gz")));
        }
    }

    #[test]
    fn files_are_found_in_every_accepted_form() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        assert_eq!(
            KMNIST.scan(&d.join("nope")).unwrap_err(),
            "directory does not exist"
        );
        for (i, f) in KMNIST.files.iter().enumerate() {
            let name = if i % 2 == 0 {
                f.name
            } else {
                f.unpacked_name()
            };
            std::fs::write(d.join(name), b"x").unwrap();
        }
        let paths = KMNIST.scan(d).unwrap();
        assert_eq!(paths[0], d.join("train-images-idx3-ubyte.gz"));
        assert_eq!(paths[1], d.join("train-labels-idx1-ubyte"));

        let e = CIFAR10.scan(d).unwrap_err();
        assert_eq!(
            e,
            "missing cifar-10-binary.tar.gz (or its folder cifar-10-batches-bin/)"
        );
        std::fs::write(d.join("cifar-10-binary.tar.gz"), b"x").unwrap();
        assert_eq!(
            CIFAR10.scan(d).unwrap(),
            vec![d.join("cifar-10-binary.tar.gz")]
        );
        std::fs::create_dir(d.join("cifar-10-batches-bin")).unwrap();
        assert_eq!(
            CIFAR10.scan(d).unwrap(),
            vec![d.join("cifar-10-batches-bin")]
        );
    }

    #[test]
    fn local_files_are_checked_where_the_digest_applies() {
        let tmp = tempfile::tempdir().unwrap();
        let contents = b"idx".to_vec();
        let gz = gzip(&contents);
        let file = Remote {
            name: "a.gz",
            digest: Digest::Md5(leak(md5_hex(&gz))),
            of: DigestOf::Download,
        };
        let set = FileSet {
            files: Box::leak(Box::new([file])),
            ..FASHION_MNIST
        };
        let downloaded = tmp.path().join("a.gz");
        std::fs::write(&downloaded, &gz).unwrap();
        assert_eq!(
            read_verified(&set, &file, &downloaded, true).unwrap(),
            contents
        );
        verify_file(&set, &file, &downloaded).unwrap();
        // A decompressed copy cannot be checked against the .gz's digest.
        let plain = tmp.path().join("a");
        std::fs::write(&plain, b"anything").unwrap();
        assert_eq!(
            read_verified(&set, &file, &plain, true).unwrap(),
            b"anything"
        );
        // A changed download is caught, whole or streamed.
        std::fs::write(&downloaded, gzip(b"other")).unwrap();
        for e in [
            read_verified(&set, &file, &downloaded, true).unwrap_err(),
            verify_file(&set, &file, &downloaded).unwrap_err(),
        ] {
            assert!(
                matches!(
                    e,
                    DataError::HashMismatch {
                        algorithm: "MD5",
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        assert!(read_verified(&set, &file, &downloaded, false).is_ok());
    }

    #[test]
    fn not_found_for_an_archive_names_the_archive_and_its_folder() {
        let e = NotFound {
            set: CIFAR10,
            looked: vec![Looked {
                place: "$ACTSWEEP_DATA/cifar10".into(),
                status: "ACTSWEEP_DATA is not set".into(),
            }],
            tried: vec!["no download: the dataset's `mirrors` list is empty".into()],
        };
        assert_eq!(
            e.to_string(),
            "CIFAR-10 not found: looked for cifar-10-binary.tar.gz (or its folder cifar-10-batches-bin/) in:
  - $ACTSWEEP_DATA/cifar10: ACTSWEEP_DATA is not set
and tried to download them:
  - no download: the dataset's `mirrors` list is empty
to fix: download cifar-10-binary.tar.gz (for example from \
             https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz) and put it, or the folder \
             cifar-10-batches-bin/ it unpacks to, in one of the directories above; or point `path` \
             under [dataset] (or ACTSWEEP_DATA, which holds cifar10/) at a directory that has them"
        );
    }
}
