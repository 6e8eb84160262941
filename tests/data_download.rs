//! Downloads through `data::fetch`, against a loopback HTTP server serving
//! small generated files in the real formats (IDX .gz files with an MD5 of
//! the download, like Fashion-MNIST's and KMNIST's; a CIFAR-10 binary
//! .tar.gz): good files download and load; a truncated body, or a file whose
//! digest is wrong, is refused, leaves nothing behind, and the message says
//! which URL and, for a digest, both values.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actsweep::data::fetch::{self, md5_hex, Candidate, Digest, DigestOf, FileSet, Remote};
use actsweep::data::{cifar10, mnist, Counts, DataError};

// ---------------------------------------------------------------------------
// Generated files.

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx_images(count: usize, seed: u8) -> Vec<u8> {
    let mut b = 0x0803u32.to_be_bytes().to_vec();
    for v in [count as u32, 28, 28] {
        b.extend(v.to_be_bytes());
    }
    b.extend((0..count * 784).map(|i| (i as u8).wrapping_add(seed)));
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = 0x0801u32.to_be_bytes().to_vec();
    b.extend((labels.len() as u32).to_be_bytes());
    b.extend(labels);
    b
}

const IDX_COUNTS: Counts = Counts { train: 3, test: 2 };
const CIFAR_COUNTS: Counts = Counts { train: 10, test: 2 };

/// The four IDX files gzipped, in `mnist::FILES` order, with their names.
fn idx_files() -> Vec<(&'static str, Vec<u8>)> {
    let contents = [
        idx_images(3, 0),
        idx_labels(&[5, 0, 4]),
        idx_images(2, 7),
        idx_labels(&[7, 2]),
    ];
    fetch::FASHION_MNIST
        .files
        .iter()
        .zip(contents)
        .map(|(f, c)| (f.name, gzip(&c)))
        .collect()
}

/// A CIFAR-10 binary archive with two records in each batch.
fn cifar_archive() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let batches = cifar10::TRAIN_BATCHES
        .iter()
        .chain([&cifar10::TEST_BATCH])
        .enumerate();
    for (b, name) in batches {
        let bytes: Vec<u8> = (0..2u8)
            .flat_map(|i| {
                let mut r = vec![(b as u8 * 2 + i) % 10];
                r.extend(std::iter::repeat_n(b as u8 * 2 + i, cifar10::PIXELS));
                r
            })
            .collect();
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        let path = format!("{}/{name}", cifar10::FOLDER);
        tar.append_data(&mut header, path, &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// `base` with its files replaced by `files`, each with the MD5 of its bytes.
fn set_with_md5s(base: FileSet, files: &[(&'static str, Vec<u8>)]) -> FileSet {
    let remotes: Vec<Remote> = files
        .iter()
        .map(|&(name, ref bytes)| Remote {
            name,
            digest: Digest::Md5(Box::leak(md5_hex(bytes).into_boxed_str())),
            of: DigestOf::Download,
        })
        .collect();
    FileSet {
        files: leak(remotes).as_slice(),
        mirrors: &[],
        ..base
    }
}

// ---------------------------------------------------------------------------
// The loopback mirror.

/// Serves `files` by name under `/good/`; under `/cut/` the body breaks off
/// halfway (the `Content-Length` promises all of it); under `/short/` the
/// file itself is cut in half (length and body agree); under `/wrong/` other
/// bytes; anything else is a 404. Answers at most 64 requests, and stops
/// by itself after 60 s. Returns its base URL.
fn serve(files: Vec<(&'static str, Vec<u8>)>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let files: HashMap<String, Vec<u8>> =
        files.into_iter().map(|(n, b)| (n.to_string(), b)).collect();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut answered = 0;
        while answered < 64 && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    answered += 1;
                    answer(stream, &files);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    base
}

fn answer(mut stream: std::net::TcpStream, files: &HashMap<String, Vec<u8>>) {
    use std::io::{BufRead, BufReader};
    let _ = stream.set_nonblocking(false);
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let (route, name) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("", ""));
    let Some(bytes) = files.get(name) else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let half = &bytes[..bytes.len() / 2];
    let (length, body): (usize, &[u8]) = match route {
        "good" => (bytes.len(), bytes),
        "cut" => (bytes.len(), half),
        "short" => (half.len(), half),
        "wrong" => (14, b"not this file!"),
        _ => (0, b""),
    };
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

// ---------------------------------------------------------------------------
// Helpers.

fn only(dir: &Path) -> Vec<Candidate> {
    vec![Candidate {
        source: "test".into(),
        dir: dir.to_path_buf(),
    }]
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn target() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data").join("set");
    (tmp, dir)
}

// ---------------------------------------------------------------------------
// Tests.

#[test]
fn good_idx_files_download_and_load() {
    let files = idx_files();
    let set = set_with_md5s(fetch::FASHION_MNIST, &files);
    let base = serve(files);
    let (_tmp, dir) = target();
    // A 404 first: the next mirror is tried.
    let mirrors = vec![format!("{base}/missing/"), format!("{base}/good")];
    let (found, raw) = mnist::locate_idx(&set, &only(&dir), &mirrors, true, IDX_COUNTS).unwrap();
    assert_eq!(found, dir);
    assert_eq!(raw.train_labels, [5, 0, 4]);
    assert_eq!(raw.test_labels, [7, 2]);
    assert_eq!(raw.test_images.pixels[0], 7);
    assert_eq!(
        listing(&dir),
        [
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz"
        ]
    );
    // Found again without a mirror, and verified against the MD5s.
    let (_, again) = mnist::locate_idx(&set, &only(&dir), &[], true, IDX_COUNTS).unwrap();
    assert_eq!(again, raw);
}

#[test]
fn a_good_cifar_archive_downloads_and_loads() {
    let archive = cifar_archive();
    let set = set_with_md5s(
        fetch::CIFAR10,
        &[("cifar-10-binary.tar.gz", archive.clone())],
    );
    let base = serve(vec![("cifar-10-binary.tar.gz", archive)]);
    let (_tmp, dir) = target();
    let mirrors = vec![format!("{base}/good/")];
    let (found, raw) = cifar10::locate(&set, &only(&dir), &mirrors, true, CIFAR_COUNTS).unwrap();
    assert_eq!(found, dir);
    assert_eq!(raw.train.labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(raw.test.labels, [0, 1]);
    assert_eq!(raw.test.pixels[cifar10::PIXELS], 11);
    assert_eq!(listing(&dir), ["cifar-10-binary.tar.gz"]);
}

#[test]
fn a_truncated_download_is_refused_and_leaves_nothing_behind() {
    let archive = cifar_archive();
    let set = set_with_md5s(
        fetch::CIFAR10,
        &[("cifar-10-binary.tar.gz", archive.clone())],
    );
    let base = serve(vec![("cifar-10-binary.tar.gz", archive.clone())]);
    let (_tmp, dir) = target();

    // The connection breaks off before Content-Length bytes.
    let e = cifar10::locate(
        &set,
        &only(&dir),
        &[format!("{base}/cut")],
        true,
        CIFAR_COUNTS,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DataError::NotFound(_)), "{e:?}");
    assert!(
        msg.contains(&format!(
            "{base}/cut/cifar-10-binary.tar.gz: truncated download: the body broke off after"
        )) && msg.contains(&format!("of {} bytes", archive.len()))
            && msg.contains("nothing was written"),
        "{msg}"
    );
    assert_eq!(listing(&dir), Vec::<String>::new());

    // The mirror's file itself is cut short: its MD5 gives it away.
    let e = cifar10::locate(
        &set,
        &only(&dir),
        &[format!("{base}/short")],
        true,
        CIFAR_COUNTS,
    )
    .unwrap_err();
    let msg = e.to_string();
    let half = &archive[..archive.len() / 2];
    assert!(
        msg.contains(&format!(
            "{base}/short/cifar-10-binary.tar.gz: has MD5 {}, expected {}: corrupt, truncated or \
             not the original CIFAR-10 file; refused, nothing was written",
            md5_hex(half),
            md5_hex(&archive)
        )),
        "{msg}"
    );
    assert_eq!(listing(&dir), Vec::<String>::new());
}

#[test]
fn a_wrong_digest_is_refused_names_both_digests_and_leaves_nothing_behind() {
    let files = idx_files();
    let set = set_with_md5s(fetch::KMNIST, &files);
    let base = serve(files);
    let (_tmp, dir) = target();
    let e = mnist::locate_idx(
        &set,
        &only(&dir),
        &[format!("{base}/wrong/")],
        true,
        IDX_COUNTS,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("KMNIST not found: looked for train-images-idx3-ubyte[.gz]")
            && msg.contains(&format!(
                "{base}/wrong/train-images-idx3-ubyte.gz: has MD5 {}, expected {}: corrupt, truncated \
                 or not the original KMNIST file; refused, nothing was written",
                md5_hex(b"not this file!"),
                set.files[0].digest.expected()
            )),
        "{msg}"
    );
    assert_eq!(listing(&dir), Vec::<String>::new());

    // The real published digests refuse these generated files too.
    let e = mnist::locate_idx(
        &fetch::KMNIST,
        &only(&dir),
        &[format!("{base}/good/")],
        true,
        IDX_COUNTS,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("expected bdb82020997e1d708af4cf47b453dcf7"),
        "{e}"
    );
    assert_eq!(listing(&dir), Vec::<String>::new());
}
