//! CIFAR-10, binary version: the six batches read from the archive as
//! published (`cifar-10-binary.tar.gz`) or from the folder it unpacks to
//! (`cifar-10-batches-bin/`), checked, as raw pixels and labels.
//!
//! The binary version is the one read here because it is a fixed record
//! format (no pickle, no image codec): each record is one label byte (0-9)
//! and 3,072 pixel bytes, the 1,024 red values, then green, then blue, each
//! plane row-major 32x32. `data_batch_1.bin` to `data_batch_5.bin` are the
//! training split in that order, `test_batch.bin` the test split.
//!
//! Checks, so that a wrong or truncated file is an error and never silent
//! garbage: every batch is a whole number of records, every label is a class
//! 0-9, the splits hold the expected counts ([`COUNTS`]: 50,000 and 10,000;
//! a parameter, so tests can use small files). The archive is read as a
//! stream and nothing is unpacked to disk: only the six batch members are
//! kept, found by their exact path, so no member can write anywhere.
//!
//! Finding and downloading are [`super::fetch`]'s ([`fetch::CIFAR10`]:
//! `$ACTSWEEP_DATA/cifar10`, `data/cifar10`, then the download); [`flatten`]
//! gives the features in pixel units, channel-major as stored or averaged to
//! grayscale. This is also the `cifar10` kind's file ([`Cifar10`]): its
//! settings, the subsets (`train_limit` / `test_limit` keep the *first* N
//! images) and the scaling (`unit`: pixel / 255; `standard`: with the mean
//! and std of every training value, as MNIST's `standard`).

use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fetch::{self, Candidate, FileSet};
use super::kind::{DatasetKind, KeyCheck, Loaded, Shape, TableKey};
use super::mnist::{
    self, resolve_limits, resolve_mirrors, resolve_path, resolve_scale, PixelScale,
};
use super::{Counts, DataError, SplitData, Targets};
use crate::config::job::Task;
use crate::config::schema::table_key;

table_key! {
    /// Average the three colour channels: 1,024 inputs instead of 3,072. Default: false.
    pub GRAYSCALE = "grayscale", example "grayscale = true"
}

/// `cifar10`: its settings as resolved (the job id hashes them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cifar10 {
    /// Directory given in the file, if any (not resolved, so ids are machine-independent).
    pub path: Option<String>,
    /// First N training images only.
    pub train_limit: Option<usize>,
    /// First N test images only.
    pub test_limit: Option<usize>,
    /// Pixel scaling.
    pub scale: PixelScale,
    /// The mean of the three channels (1,024 inputs) instead of all three (3,072).
    pub grayscale: bool,
    /// Download mirrors, tried in order.
    pub mirrors: Vec<String>,
}

impl DatasetKind for Cifar10 {
    const NAME: &'static str = "cifar10";
    const ABOUT: &'static str = "32x32 colour images in 10 classes (airplane ... truck), 50,000 \
                                 training and 10,000 test images; 3,072 inputs, or 1,024 grayscale";

    const KEYS: &'static [&'static TableKey] = &[
        &mnist::PATH,
        &mnist::TRAIN_LIMIT,
        &mnist::TEST_LIMIT,
        &mnist::SCALE,
        &GRAYSCALE,
        &mnist::MIRRORS,
    ];

    fn resolve(check: &mut KeyCheck<'_, '_>) -> Cifar10 {
        let (train_limit, test_limit) = resolve_limits(check, COUNTS);
        Cifar10 {
            path: resolve_path(check),
            train_limit,
            test_limit,
            scale: resolve_scale(check),
            grayscale: check
                .value::<bool>(&GRAYSCALE)
                .is_some_and(|g| *g.get_ref()),
            mirrors: resolve_mirrors(check, &fetch::CIFAR10),
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            input_dim: input_dim(self.grayscale),
            task: Task::Classification(CLASSES.len()),
            train: self.train_limit.unwrap_or(COUNTS.train).min(COUNTS.train),
            test: self.test_limit.unwrap_or(COUNTS.test).min(COUNTS.test),
        }
    }

    fn load(&self) -> Result<Loaded, DataError> {
        let set = &fetch::CIFAR10;
        let places = fetch::places(set, self.path.as_deref());
        let (dir, raw) = locate(set, &places, &self.mirrors, true, COUNTS)?;
        let (train, test) = self.build(&raw);
        Ok(Loaded {
            train,
            test,
            origin: dir.display().to_string(),
        })
    }
}

impl Cifar10 {
    /// The first `train_limit` / `test_limit` images of each split, flattened
    /// and scaled (with the statistics of every training value read).
    pub fn build(&self, raw: &RawCifar10) -> (SplitData, SplitData) {
        let shape = self.shape();
        let train = flatten(&raw.train, self.grayscale);
        let (shift, div) = match self.scale {
            PixelScale::Unit => (0.0, 255.0),
            PixelScale::Standard => mean_std(&train),
        };
        let split = |mut features: Vec<f32>, labels: &[u8], n: usize| {
            let d = shape.input_dim;
            let n = n.min(labels.len()).min(features.len() / d);
            features.truncate(n * d);
            for v in &mut features {
                *v = ((f64::from(*v) - shift) / div) as f32;
            }
            SplitData {
                features,
                targets: Targets::Classes(labels[..n].iter().map(|&l| u32::from(l)).collect()),
                input_dim: d,
            }
        };
        let test = flatten(&raw.test, self.grayscale);
        (
            split(train, &raw.train.labels, shape.train),
            split(test, &raw.test.labels, shape.test),
        )
    }
}

/// The mean and standard deviation (never 0) of `values`.
fn mean_std(values: &[f32]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt().max(f64::MIN_POSITIVE))
}

/// The class names, index = label.
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Side of an image in pixels.
pub const SIDE: usize = 32;
/// Colour channels (red, green, blue).
pub const CHANNELS: usize = 3;
/// Pixel bytes of one image: 3,072.
pub const PIXELS: usize = CHANNELS * SIDE * SIDE;
/// Bytes of one record: the label, then the pixels.
pub const RECORD: usize = 1 + PIXELS;

/// The folder the archive unpacks to.
pub const FOLDER: &str = "cifar-10-batches-bin";
/// The training batches, in order.
pub const TRAIN_BATCHES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch.
pub const TEST_BATCH: &str = "test_batch.bin";

/// The published sizes of the splits.
pub const COUNTS: Counts = Counts {
    train: 50_000,
    test: 10_000,
};

/// One split as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Split {
    /// [`PIXELS`] bytes per image, channel-major (R, G, B planes, row-major).
    pub pixels: Vec<u8>,
    /// One label per image, in `0..10`.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Both splits, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCifar10 {
    /// The five training batches, in order.
    pub train: Split,
    /// The test batch.
    pub test: Split,
}

/// Finds (or downloads) `set` ([`fetch::CIFAR10`]) among `places`, checks
/// the archive's digest when `verify_local` (an unpacked folder has none),
/// and reads it; the splits must hold `counts` images (use [`COUNTS`]).
pub fn locate(
    set: &FileSet,
    places: &[Candidate],
    mirrors: &[String],
    verify_local: bool,
    counts: Counts,
) -> Result<(PathBuf, RawCifar10), DataError> {
    let found = fetch::locate(set, places, mirrors)?;
    let (Some(path), [file]) = (found.paths.first(), set.files) else {
        return Err(DataError::InvalidParameter {
            dataset: set.name,
            reason: format!("{} is not a single CIFAR-10 archive", set.title),
        });
    };
    if verify_local && path.is_file() {
        fetch::verify_file(set, file, path)?;
    }
    Ok((found.dir.clone(), read(path, counts)?))
}

/// Reads the archive, or the unpacked folder when `path` is a directory.
pub fn read(path: &Path, counts: Counts) -> Result<RawCifar10, DataError> {
    if path.is_dir() {
        read_folder(path, counts)
    } else {
        read_archive(path, counts)
    }
}

/// Reads the six batches from an unpacked `cifar-10-batches-bin/` folder.
pub fn read_folder(dir: &Path, counts: Counts) -> Result<RawCifar10, DataError> {
    let read = |name: &str| -> Result<Batch, DataError> {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        Ok(Batch {
            name: name.to_string(),
            bytes,
            corrupt: Box::new(move |reason: String| corrupt(&path, reason)),
        })
    };
    let train = TRAIN_BATCHES
        .iter()
        .map(|n| read(n))
        .collect::<Result<_, _>>()?;
    assemble(train, read(TEST_BATCH)?, dir, counts)
}

/// Reads the six batches from the gzipped tar archive, as a stream.
pub fn read_archive(path: &Path, counts: Counts) -> Result<RawCifar10, DataError> {
    let mut members = unpack_members(path)?;
    let mut take = |i: usize| -> Result<Batch, DataError> {
        let name = MEMBERS[i];
        let member = format!("{FOLDER}/{name}");
        let bytes = members[i]
            .take()
            .ok_or_else(|| corrupt(path, format!("the archive has no {member}")))?;
        let archive = path.to_path_buf();
        Ok(Batch {
            name: name.to_string(),
            bytes,
            corrupt: Box::new(move |reason: String| {
                corrupt(&archive, format!("{member}: {reason}"))
            }),
        })
    };
    let train = (0..TRAIN_BATCHES.len())
        .map(&mut take)
        .collect::<Result<_, _>>()?;
    let test = take(TRAIN_BATCHES.len())?;
    assemble(train, test, path, counts)
}

/// The six batch files, in [`TRAIN_BATCHES`] then [`TEST_BATCH`] order.
const MEMBERS: [&str; 6] = [
    TRAIN_BATCHES[0],
    TRAIN_BATCHES[1],
    TRAIN_BATCHES[2],
    TRAIN_BATCHES[3],
    TRAIN_BATCHES[4],
    TEST_BATCH,
];

/// The bytes of each batch member of the archive (`None` where absent);
/// every other member is skipped unread.
fn unpack_members(path: &Path) -> Result<[Option<Vec<u8>>; 6], DataError> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |e: std::io::Error| corrupt(path, format!("not a readable .tar.gz archive ({e})"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
    let mut members: [Option<Vec<u8>>; 6] = Default::default();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let Some(i) = batch_member(&entry.path().map_err(bad)?) else {
            continue;
        };
        let mut bytes = Vec::with_capacity(entry.size().min(1 << 27) as usize);
        entry.read_to_end(&mut bytes).map_err(bad)?;
        members[i] = Some(bytes);
    }
    Ok(members)
}

/// The index in [`MEMBERS`] of an archive member at exactly
/// `cifar-10-batches-bin/NAME` (a leading `./` allowed).
fn batch_member(path: &Path) -> Option<usize> {
    let parts: Vec<&std::ffi::OsStr> = path
        .components()
        .filter(|c| *c != Component::CurDir)
        .map(|c| match c {
            Component::Normal(p) => p,
            _ => std::ffi::OsStr::new("/"),
        })
        .collect();
    let [folder, name] = parts[..] else {
        return None;
    };
    if folder != FOLDER {
        return None;
    }
    MEMBERS.iter().position(|m| name == *m)
}

/// One batch file's bytes, and how to report it corrupt.
struct Batch {
    name: String,
    bytes: Vec<u8>,
    corrupt: Box<dyn Fn(String) -> DataError>,
}

/// Checks every batch and joins the training ones, in order; `origin` (the
/// folder or archive) names count errors.
fn assemble(
    train_batches: Vec<Batch>,
    test_batch: Batch,
    origin: &Path,
    counts: Counts,
) -> Result<RawCifar10, DataError> {
    let mut train = Split::default();
    for b in &train_batches {
        append_records(&b.bytes, &mut train).map_err(&b.corrupt)?;
    }
    let mut test = Split::default();
    append_records(&test_batch.bytes, &mut test).map_err(&test_batch.corrupt)?;
    if train.len() != counts.train {
        let names: Vec<&str> = train_batches.iter().map(|b| b.name.as_str()).collect();
        return Err(corrupt(
            origin,
            format!(
                "the training batches ({}) hold {} images, CIFAR-10's hold {}",
                names.join(", "),
                train.len(),
                counts.train
            ),
        ));
    }
    if test.len() != counts.test {
        return Err((test_batch.corrupt)(format!(
            "holds {} images, CIFAR-10's {} holds {}",
            test.len(),
            test_batch.name,
            counts.test
        )));
    }
    Ok(RawCifar10 { train, test })
}

/// Checks one batch file's records and appends them to `split`; the error
/// is the reason, for the caller to attach to the file.
fn append_records(bytes: &[u8], split: &mut Split) -> Result<(), String> {
    if bytes.len() % RECORD != 0 {
        return Err(format!(
            "{} bytes is not a whole number of {RECORD}-byte records (truncated or not a \
             CIFAR-10 batch)",
            bytes.len()
        ));
    }
    let first = split.len();
    for (i, record) in bytes.chunks_exact(RECORD).enumerate() {
        let label = record[0];
        if usize::from(label) >= CLASSES.len() {
            split.labels.truncate(first);
            split.pixels.truncate(first * PIXELS);
            return Err(format!("record {i} has label {label}, not a class 0-9"));
        }
        split.labels.push(label);
        split.pixels.extend_from_slice(&record[1..]);
    }
    Ok(())
}

/// Parses one batch file's bytes; `path` names it in errors.
pub fn parse_batch(bytes: &[u8], path: &Path) -> Result<Split, DataError> {
    let mut split = Split::default();
    append_records(bytes, &mut split).map_err(|reason| corrupt(path, reason))?;
    Ok(split)
}

fn corrupt(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Features per image: 3,072, or 1,024 in `grayscale`.
pub fn input_dim(grayscale: bool) -> usize {
    if grayscale {
        SIDE * SIDE
    } else {
        PIXELS
    }
}

/// The images of `split` as rows of features in pixel units (0 to 255),
/// [`input_dim`] per image: the 3,072 bytes channel-major as stored, or with
/// `grayscale` the mean of the three channels of each pixel (1,024, row-major).
/// Scaling is the caller's.
pub fn flatten(split: &Split, grayscale: bool) -> Vec<f32> {
    if !grayscale {
        return split.pixels.iter().map(|&p| f32::from(p)).collect();
    }
    let plane = SIDE * SIDE;
    let mut out = Vec::with_capacity(split.len() * plane);
    for image in split.pixels.chunks_exact(PIXELS) {
        let (r, gb) = image.split_at(plane);
        let (g, b) = gb.split_at(plane);
        out.extend(
            r.iter()
                .zip(g)
                .zip(b)
                .map(|((&r, &g), &b)| f32::from(u16::from(r) + u16::from(g) + u16::from(b)) / 3.0),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(train_limit: Option<usize>, scale: PixelScale, grayscale: bool) -> Cifar10 {
        Cifar10 {
            path: None,
            train_limit,
            test_limit: None,
            scale,
            grayscale,
            mirrors: Vec::new(),
        }
    }

    fn raw_of(train: &[(u8, u8)], test: &[(u8, u8)]) -> RawCifar10 {
        let split = |records: &[(u8, u8)]| {
            let bytes: Vec<u8> = records.iter().flat_map(|&(l, s)| record(l, s)).collect();
            parse_batch(&bytes, Path::new("batch.bin")).unwrap()
        };
        RawCifar10 {
            train: split(train),
            test: split(test),
        }
    }

    #[test]
    fn the_kind_keeps_the_first_images_and_scales_them() {
        let raw = raw_of(&[(3, 10), (7, 40), (1, 250)], &[(0, 0), (9, 100)]);
        let (train, test) = kind(Some(2), PixelScale::Unit, true).build(&raw);
        assert_eq!((train.input_dim, train.len(), test.len()), (1024, 2, 2));
        assert_eq!(train.targets.classes(), Some(&[3, 7][..]));
        // Grayscale: the mean of seed, seed + 1, seed + 2, over 255.
        assert_eq!(train.row(1)[0], 41.0 / 255.0);
        assert_eq!(test.row(0)[5], 1.0 / 255.0);
        let (colour, _) = kind(None, PixelScale::Unit, false).build(&raw);
        assert_eq!((colour.input_dim, colour.len()), (3072, 3));
        assert_eq!(colour.row(0)[1024], 11.0 / 255.0);
        // Standard: fitted on the training images read, applied to both.
        let (train, test) = kind(None, PixelScale::Standard, false).build(&raw);
        let mean =
            train.features.iter().map(|&v| f64::from(v)).sum::<f64>() / train.features.len() as f64;
        assert!(mean.abs() < 1e-6, "{mean}");
        assert!(test.features.iter().all(|v| v.is_finite()));
    }

    /// A record of class `label` whose red, green and blue planes are
    /// `seed`, `seed + 1` and `seed + 2` everywhere.
    fn record(label: u8, seed: u8) -> Vec<u8> {
        let mut r = vec![label];
        for c in 0..3u8 {
            r.extend(std::iter::repeat_n(seed.wrapping_add(c), SIDE * SIDE));
        }
        r
    }

    /// Batch files of `per_batch` records each, labels cycling through the
    /// classes; (name, bytes) for the five training batches and the test one.
    fn batches(per_batch: usize) -> Vec<(&'static str, Vec<u8>)> {
        MEMBERS
            .iter()
            .enumerate()
            .map(|(b, name)| {
                let bytes = (0..per_batch)
                    .flat_map(|i| record(((b * per_batch + i) % 10) as u8, (b * 10 + i) as u8))
                    .collect();
                (*name, bytes)
            })
            .collect()
    }

    /// A gzipped tar of `files` (paths inside the archive, bytes).
    fn tar_gz(files: &[(String, Vec<u8>)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, &bytes[..]).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn archive_of(batches: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut files = vec![(format!("{FOLDER}/batches.meta.txt"), b"airplane\n".to_vec())];
        files.extend(
            batches
                .iter()
                .map(|(n, b)| (format!("{FOLDER}/{n}"), b.clone())),
        );
        tar_gz(&files)
    }

    const SMALL: Counts = Counts { train: 10, test: 2 };

    #[test]
    fn archive_and_folder_read_alike() {
        let tmp = tempfile::tempdir().unwrap();
        let batches = batches(2);
        let archive = tmp.path().join("cifar-10-binary.tar.gz");
        std::fs::write(&archive, archive_of(&batches)).unwrap();
        let folder = tmp.path().join(FOLDER);
        std::fs::create_dir(&folder).unwrap();
        for (n, b) in &batches {
            std::fs::write(folder.join(n), b).unwrap();
        }
        let from_archive = read(&archive, SMALL).unwrap();
        let from_folder = read(&folder, SMALL).unwrap();
        assert_eq!(from_archive, from_folder);
        let train = &from_archive.train;
        assert_eq!(train.labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(train.pixels.len(), 10 * PIXELS);
        // Batches in order: the third image is batch 2's first (seed 10).
        assert_eq!(train.pixels[2 * PIXELS], 10);
        assert_eq!(from_archive.test.labels, [0, 1]);
    }

    #[test]
    fn bad_batches_are_corrupt_with_the_reason() {
        let p = Path::new("b.bin");
        let mut short = record(3, 0);
        short.pop();
        let e = parse_batch(&short, p).unwrap_err().to_string();
        assert!(
            e.contains("3072 bytes is not a whole number of 3073-byte records"),
            "{e}"
        );
        let mut two = record(1, 0);
        two.extend(record(10, 0));
        let e = parse_batch(&two, p).unwrap_err().to_string();
        assert!(
            e.starts_with("b.bin is corrupt: record 1 has label 10"),
            "{e}"
        );
        assert_eq!(parse_batch(&record(9, 4), p).unwrap().labels, [9]);
    }

    #[test]
    fn counts_and_missing_members_are_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("a.tar.gz");
        std::fs::write(&archive, archive_of(&batches(2))).unwrap();
        let e = read(&archive, COUNTS).unwrap_err().to_string();
        assert!(e.contains("hold 10 images, CIFAR-10's hold 50000"), "{e}");
        let e = read(&archive, Counts { train: 10, test: 3 }).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, DataError::Corrupt { path, .. } if path == &archive)
                && msg.contains("cifar-10-batches-bin/test_batch.bin: holds 2 images"),
            "{msg}"
        );

        let mut four = batches(2);
        four.remove(3);
        std::fs::write(&archive, archive_of(&four)).unwrap();
        let e = read(&archive, SMALL).unwrap_err().to_string();
        assert!(
            e.contains("the archive has no cifar-10-batches-bin/data_batch_4.bin"),
            "{e}"
        );

        // Members elsewhere do not count, and a truncated archive is an error.
        let stray = tar_gz(&[("data_batch_1.bin".to_string(), record(0, 0))]);
        std::fs::write(&archive, &stray).unwrap();
        assert!(read(&archive, SMALL)
            .unwrap_err()
            .to_string()
            .contains("has no"));
        let whole = archive_of(&batches(2));
        std::fs::write(&archive, &whole[..whole.len() / 2]).unwrap();
        let e = read(&archive, SMALL).unwrap_err();
        assert!(matches!(e, DataError::Corrupt { .. }), "{e:?}");
    }

    #[test]
    fn batch_members_are_matched_by_exact_path() {
        assert_eq!(
            batch_member(Path::new("cifar-10-batches-bin/test_batch.bin")),
            Some(5)
        );
        assert_eq!(
            batch_member(Path::new("./cifar-10-batches-bin/data_batch_2.bin")),
            Some(1)
        );
        assert_eq!(
            batch_member(Path::new("x/cifar-10-batches-bin/data_batch_2.bin")),
            None
        );
        assert_eq!(
            batch_member(Path::new("cifar-10-batches-bin/readme.html")),
            None
        );
    }

    #[test]
    fn flatten_keeps_channel_planes_or_averages_them() {
        let split = parse_batch(&[record(0, 10), record(1, 30)].concat(), Path::new("x")).unwrap();
        let rgb = flatten(&split, false);
        assert_eq!((rgb.len(), input_dim(false)), (2 * 3072, 3072));
        assert_eq!(
            (rgb[0], rgb[1024], rgb[2048], rgb[3072]),
            (10.0, 11.0, 12.0, 30.0)
        );
        let gray = flatten(&split, true);
        assert_eq!((gray.len(), input_dim(true)), (2 * 1024, 1024));
        assert_eq!((gray[0], gray[1023], gray[1024]), (11.0, 11.0, 31.0));
        assert_eq!(CLASSES[9], "truck");
    }
}
