//! MNIST loader against the real files: label counts, raw and gzipped copies
//! read alike, truncated files rejected, subsets and scaling, and the
//! "not found" message.
//!
//! The files are found where `actsweep run` finds them (`$ACTSWEEP_DATA/mnist`,
//! then the project's `data/mnist`, else downloaded there): see
//! `common::mnist_root`.

mod common;

use std::path::{Path, PathBuf};

use actsweep::data::mnist::{self, Candidate, FILES};
use actsweep::data::mnist::{Mnist, PixelScale};
use actsweep::data::{self, DataError};
use actsweep::data::{DatasetConfig, DatasetKindConfig};

/// The folder holding the real files, found (or downloaded) by the tool's
/// own lookup.
fn mnist_dir() -> PathBuf {
    common::mnist_root().join("mnist")
}

fn only(dir: &Path) -> Vec<Candidate> {
    vec![Candidate {
        source: "test".into(),
        dir: dir.to_path_buf(),
    }]
}

fn config(
    path: &Path,
    train_limit: Option<usize>,
    test_limit: Option<usize>,
    scale: PixelScale,
) -> DatasetConfig {
    DatasetKindConfig::Mnist(Mnist {
        path: Some(path.display().to_string()),
        train_limit,
        test_limit,
        scale,
        mirrors: vec![],
    })
    .into()
}

/// A directory holding decompressed copies of the four files.
fn raw_copy() -> tempfile::TempDir {
    let src = mnist_dir();
    let tmp = tempfile::tempdir().unwrap();
    for m in FILES {
        let gz = src.join(format!("{}.gz", m.name));
        let from = if gz.is_file() { gz } else { src.join(m.name) };
        let bytes = mnist::read_file(&from).unwrap();
        std::fs::write(tmp.path().join(m.name), bytes).unwrap();
    }
    tmp
}

fn counts(labels: &[u8]) -> [usize; 10] {
    let mut c = [0; 10];
    for &l in labels {
        c[usize::from(l)] += 1;
    }
    c
}

#[test]
fn real_files_have_the_known_label_counts() {
    let (_, raw) = mnist::locate(&only(&mnist_dir()), &[], true).unwrap();
    assert_eq!(
        counts(&raw.train_labels),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        counts(&raw.test_labels),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(raw.train_images.count, 60_000);
    assert_eq!((raw.test_images.rows, raw.test_images.cols), (28, 28));
}

#[test]
fn gzipped_and_raw_copies_read_alike() {
    let raw_dir = raw_copy();
    // The copies really are raw: no gzip magic.
    for m in FILES {
        let head = std::fs::read(raw_dir.path().join(m.name)).unwrap();
        assert_ne!(&head[..2], &[0x1f, 0x8b]);
    }
    let (_, from_gz) = mnist::locate(&only(&mnist_dir()), &[], true).unwrap();
    let (dir, from_raw) = mnist::locate(&only(raw_dir.path()), &[], true).unwrap();
    assert_eq!(dir, raw_dir.path());
    assert!(from_gz == from_raw);
}

#[test]
fn truncated_files_are_rejected() {
    let dir = raw_copy();
    let labels = dir.path().join(FILES[1].name);
    let bytes = std::fs::read(&labels).unwrap();
    std::fs::write(&labels, &bytes[..bytes.len() - 100]).unwrap();
    let e = mnist::locate(&only(dir.path()), &[], false).unwrap_err();
    match &e {
        DataError::Corrupt { path, reason } => {
            assert_eq!(path, &labels);
            assert!(reason.contains("truncated"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(e.to_string().contains("delete it"), "{e}");
    // With verification on, the digest catches it first.
    let e = mnist::locate(&only(dir.path()), &[], true).unwrap_err();
    assert!(matches!(e, DataError::HashMismatch { .. }), "{e:?}");

    // A truncated gzip file.
    let gz_dir = tempfile::tempdir().unwrap();
    for m in FILES {
        std::fs::copy(
            mnist_dir().join(format!("{}.gz", m.name)),
            gz_dir.path().join(format!("{}.gz", m.name)),
        )
        .unwrap();
    }
    let images = gz_dir.path().join(format!("{}.gz", FILES[2].name));
    let gz = std::fs::read(&images).unwrap();
    std::fs::write(&images, &gz[..gz.len() / 2]).unwrap();
    let e = mnist::locate(&only(gz_dir.path()), &[], false).unwrap_err();
    assert!(
        matches!(&e, DataError::Corrupt { path, .. } if path == &images),
        "{e:?}"
    );
}

#[test]
fn subsets_are_the_first_images_and_sizes_match_the_config() {
    let dir = mnist_dir();
    let full = data::load(&config(&dir, None, None, PixelScale::Unit)).unwrap();
    let small_cfg = config(&dir, Some(100), Some(30), PixelScale::Unit);
    let small = data::load(&small_cfg).unwrap();
    for (d, c) in [(&full, &full.config), (&small, &small_cfg)] {
        assert_eq!((d.train.len(), d.test.len()), c.sizes());
        assert_eq!(d.train.features.len(), d.train.len() * 784);
        assert_eq!(d.input_dim, c.input_dim());
    }
    assert_eq!(small.train.features[..], full.train.features[..100 * 784]);
    assert_eq!(
        small.test.targets.classes().unwrap(),
        &full.test.targets.classes().unwrap()[..30]
    );
    assert!(full
        .train
        .features
        .iter()
        .all(|&v| (0.0..=1.0).contains(&v)));
    assert_eq!(full.train.features.iter().cloned().fold(0.0, f32::max), 1.0);
    assert_eq!(full.class_names.len(), 10);
    assert!(full.bounds.is_none());
    // The cache hands out the same Arc.
    let again = data::load(&config(&dir, None, None, PixelScale::Unit)).unwrap();
    assert!(std::sync::Arc::ptr_eq(&full, &again));
}

#[test]
fn standardised_pixels_use_the_training_statistics() {
    let d = data::load(&config(&mnist_dir(), None, Some(10), PixelScale::Standard)).unwrap();
    let n = d.train.features.len() as f64;
    let mean = d.train.features.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = d
        .train
        .features
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!(mean.abs() < 1e-4, "{mean}");
    assert!((var.sqrt() - 1.0).abs() < 1e-4, "{}", var.sqrt());
    // Background pixels: (0 - 0.1307) / 0.3081.
    let min = d
        .train
        .features
        .iter()
        .cloned()
        .fold(f32::INFINITY, f32::min);
    assert!((min + 0.4242).abs() < 1e-3, "{min}");
}

#[test]
fn not_found_lists_every_place_looked_and_every_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let absent = tmp.path().join("absent");
    let partial = tmp.path().join("partial");
    std::fs::create_dir(&partial).unwrap();
    std::fs::copy(
        mnist_dir().join("t10k-labels-idx1-ubyte.gz"),
        partial.join("t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let places = vec![
        Candidate {
            source: "dataset.path".into(),
            dir: absent.clone(),
        },
        Candidate {
            source: "the project's data/mnist".into(),
            dir: partial.clone(),
        },
    ];
    let e = mnist::locate(&places, &[], true).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("MNIST not found: looked for train-images-idx3-ubyte[.gz]"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "{} (dataset.path): directory does not exist",
            absent.display()
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "{} (the project's data/mnist): missing train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte\n",
            partial.display()
        )),
        "{msg}"
    );
    assert!(
        msg.contains("$ACTSWEEP_DATA/mnist: ACTSWEEP_DATA is not set"),
        "{msg}"
    );
    assert!(
        msg.contains("no download: the dataset's `mirrors` list is empty"),
        "{msg}"
    );
    assert!(msg.contains("to fix: download the four files"), "{msg}");

    // A mirror that refuses connections (loopback only, no network): the
    // attempt is listed, and the download went to the first writable place.
    let mirrors = vec!["http://127.0.0.1:1/mnist/".to_string()];
    let e = mnist::locate(&places, &mirrors, true).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("http://127.0.0.1:1/mnist/train-images-idx3-ubyte.gz: "),
        "{msg}"
    );
    assert!(
        absent.is_dir(),
        "the first candidate was writable, so it was created"
    );
}

/// A loopback HTTP server: `/good/<name>` serves the real file, `/bad/<name>`
/// serves garbage, anything else is a 404. Returns its base URL.
fn serve_mirror() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let dir = mnist_dir();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, body) = if let Some(name) = path.strip_prefix("/good/") {
                match std::fs::read(dir.join(name)) {
                    Ok(b) => ("200 OK", b),
                    Err(_) => ("404 Not Found", Vec::new()),
                }
            } else if path.starts_with("/bad/") {
                ("200 OK", b"not the file you want".to_vec())
            } else {
                ("404 Not Found", Vec::new())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    base
}

#[test]
fn downloads_are_verified_and_written_atomically() {
    let base = serve_mirror();
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("nested").join("mnist");
    let places = only(&target);

    // Only a mirror serving garbage: rejected by the digest, nothing written.
    let e = mnist::locate(&places, &[format!("{base}/bad/")], true).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("{base}/bad/train-images-idx3-ubyte.gz: "))
            && msg.contains(
                "expected ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
            ),
        "{msg}"
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);

    // A 404, then garbage, then the real files: the third mirror wins.
    let mirrors = vec![
        format!("{base}/missing"),
        format!("{base}/bad/"),
        format!("{base}/good"),
    ];
    let (dir, raw) = mnist::locate(&places, &mirrors, true).unwrap();
    assert_eq!(dir, target);
    let mut written: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz"
        ]
    );
    let (_, original) = mnist::locate(&only(&mnist_dir()), &[], true).unwrap();
    assert!(raw == original);
}
