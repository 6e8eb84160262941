//! Tests of the table reader, on small files each test writes into its own
//! temporary directory (Parquet and CSV with polars, `.npy`/`.npz` with npyz).

use std::fs::File;
use std::io::Write;

use polars::df;
use polars::prelude::{CsvWriter, NamedFrom, ParquetWriter, SerWriter, Series};
use tempfile::TempDir;
use zip::write::SimpleFileOptions;

use super::*;

// ----- Writers ----------------------------------------------------------------

fn write_parquet(dir: &TempDir, name: &str, df: &mut DataFrame) -> PathBuf {
    let path = dir.path().join(name);
    ParquetWriter::new(File::create(&path).unwrap())
        .finish(df)
        .unwrap();
    path
}

fn write_csv(dir: &TempDir, name: &str, df: &mut DataFrame) -> PathBuf {
    let path = dir.path().join(name);
    CsvWriter::new(File::create(&path).unwrap())
        .finish(df)
        .unwrap();
    path
}

fn write_text(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn write_npy<T: npyz::AutoSerialize + Copy>(
    dir: &TempDir,
    name: &str,
    shape: &[u64],
    data: &[T],
) -> PathBuf {
    use npyz::WriterBuilder;
    let path = dir.path().join(name);
    let mut w = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(File::create(&path).unwrap())
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
    path
}

/// One array of an archive being written.
fn npz_array<T: npyz::AutoSerialize + Copy>(
    zip: &mut zip::ZipWriter<File>,
    name: &str,
    shape: &[u64],
    data: &[T],
) {
    use npyz::WriterBuilder;
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(format!("{name}.npy"), options).unwrap();
    let mut w = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(&mut *zip)
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

// ----- One small table in every format ------------------------------------------

const N: usize = 10;

fn a() -> Vec<f64> {
    (0..N).map(|i| i as f64 * 0.5).collect()
}

fn b() -> Vec<i64> {
    (0..N).map(|i| 10 - i as i64).collect()
}

fn label() -> Vec<i64> {
    (0..N).map(|i| (i % 3) as i64).collect()
}

fn frame() -> DataFrame {
    df!("a" => a(), "b" => b(), "label" => label()).unwrap()
}

fn parquet(dir: &TempDir) -> PathBuf {
    write_parquet(dir, "t.parquet", &mut frame())
}

fn csv(dir: &TempDir) -> PathBuf {
    write_csv(dir, "t.csv", &mut frame())
}

fn npz(dir: &TempDir) -> PathBuf {
    let path = dir.path().join("t.npz");
    let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
    let x: Vec<f32> = a()
        .iter()
        .zip(b())
        .flat_map(|(&a, b)| [a as f32, b as f32])
        .collect();
    npz_array(&mut zip, "x", &[N as u64, 2], &x);
    npz_array(&mut zip, "y", &[N as u64], &label());
    zip.finish().unwrap();
    path
}

fn npy(dir: &TempDir) -> PathBuf {
    let m: Vec<f64> = (0..N)
        .flat_map(|i| [a()[i], b()[i] as f64, label()[i] as f64])
        .collect();
    write_npy(dir, "t.npy", &[N as u64, 3], &m)
}

fn options(path: &Path, target: &str) -> TableOptions {
    TableOptions {
        target: Some(target.to_string()),
        ..TableOptions::new(path)
    }
}

fn same_file(path: &Path, target: &str) -> TableOptions {
    TableOptions {
        test_path: Some(path.to_path_buf()),
        ..options(path, target)
    }
}

fn err(options: &TableOptions) -> TableError {
    load(options).expect_err("the load should fail")
}

// ----- Formats --------------------------------------------------------------------

#[test]
fn every_format_loads_the_same_numbers() {
    let dir = TempDir::new().unwrap();
    let reference = load(&options(&parquet(&dir), "label")).unwrap();
    assert_eq!(reference.train.len(), 8);
    assert_eq!(reference.test.len(), 2);
    assert_eq!(reference.train.input_dim, 2);
    assert_eq!(reference.task, Task::Classification(3));
    assert_eq!(reference.class_names, ["0", "1", "2"]);
    let others = [
        load(&options(&csv(&dir), "label")).unwrap(),
        load(&TableOptions::new(npz(&dir))).unwrap(),
        load(&TableOptions {
            task: Some(TableTask::Classification),
            ..options(&npy(&dir), "2")
        })
        .unwrap(),
    ];
    for t in others {
        assert_eq!(t.train, reference.train);
        assert_eq!(t.test, reference.test);
        assert_eq!(t.class_names, reference.class_names);
    }
    // Row i of the file is (0.5 i, 10 - i) with label i % 3.
    for s in [&reference.train, &reference.test] {
        for (row, &c) in s.features.chunks(2).zip(s.targets.classes().unwrap()) {
            let i = (row[0] * 2.0) as usize;
            assert_eq!(row[1], 10.0 - i as f32);
            assert_eq!(c as usize, i % 3);
        }
    }
}

#[test]
fn inspect_reads_columns_and_rows_from_headers() {
    let dir = TempDir::new().unwrap();
    for path in [parquet(&dir), csv(&dir)] {
        let s = inspect(&path).unwrap();
        assert_eq!(s.rows, N, "{path:?}");
        let kinds: Vec<_> = s
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a", ColumnKind::Float),
                ("b", ColumnKind::Integer),
                ("label", ColumnKind::Integer)
            ]
        );
    }
    let s = inspect(&npz(&dir)).unwrap();
    assert_eq!((s.format, s.rows), (Format::Npz, N));
    assert_eq!(s.column("x").unwrap().width, 2);
    assert_eq!(s.column("x").unwrap().kind, ColumnKind::Float);
    assert_eq!(s.column("y").unwrap().kind, ColumnKind::Integer);
    let s = inspect(&npy(&dir)).unwrap();
    assert_eq!(s.names().collect::<Vec<_>>(), ["0", "1", "2"]);
    assert_eq!(s.rows, N);
    let sel = select(&s, &options(&s.path, "2")).unwrap();
    assert_eq!(
        (sel.features, sel.input_dim),
        (vec!["0".into(), "1".into()], 2)
    );
    assert_eq!(sel.task, TableTask::Regression, "a float .npy target");
}

#[test]
fn csv_rows_count_records_not_lines() {
    let dir = TempDir::new().unwrap();
    let p = write_text(&dir, "q.csv", "name,v\n\"two\nlines\",1\nplain,2\n\nlast,3");
    assert_eq!(inspect(&p).unwrap().rows, 3);
}

#[test]
fn features_select_and_order_columns() {
    let dir = TempDir::new().unwrap();
    let p = parquet(&dir);
    let t = load(&TableOptions {
        features: Some(vec!["b".into(), "a".into()]),
        ..same_file(&p, "label")
    })
    .unwrap();
    assert_eq!(t.train.input_dim, 2);
    assert_eq!(t.train.row(3), &[7.0, 1.5]);
    assert_eq!(t.selection.features, ["b", "a"]);
    let only_a = load(&TableOptions {
        features: Some(vec!["a".into()]),
        ..same_file(&p, "label")
    })
    .unwrap();
    assert_eq!(
        only_a.train.features,
        a().iter().map(|&v| v as f32).collect::<Vec<_>>()
    );
}

#[test]
fn default_features_skip_text_columns_and_tasks_follow_the_target() {
    let dir = TempDir::new().unwrap();
    let mut df = df!(
        "id" => ["r1", "r2", "r3", "r4"],
        "x" => [1.0, 2.0, 3.0, 4.0],
        "flag" => [true, false, true, false],
        "y" => [0.5, 1.5, 2.5, 3.5]
    )
    .unwrap();
    let p = write_parquet(&dir, "r.parquet", &mut df);
    let t = load(&same_file(&p, "y")).unwrap();
    assert_eq!(t.selection.features, ["x", "flag"]);
    assert_eq!(t.task, Task::Regression);
    assert_eq!(t.train.targets, Targets::Values(vec![0.5, 1.5, 2.5, 3.5]));
    assert_eq!(t.train.row(0), &[1.0, 1.0]);
    let by_flag = load(&TableOptions {
        features: Some(vec!["x".into()]),
        ..same_file(&p, "flag")
    })
    .unwrap();
    assert_eq!(by_flag.class_names, ["false", "true"]);
    assert_eq!(by_flag.train.targets, Targets::Classes(vec![1, 0, 1, 0]));
    let as_classes = load(&TableOptions {
        task: Some(TableTask::Classification),
        ..same_file(&p, "y")
    })
    .unwrap();
    assert_eq!(as_classes.class_names, ["0.5", "1.5", "2.5", "3.5"]);
}

// ----- Classes, split, scaling ------------------------------------------------------

#[test]
fn classes_are_sorted_numbers_or_strings() {
    let dir = TempDir::new().unwrap();
    let mut df = df!(
        "x" => [1.0, 2.0, 3.0, 4.0, 5.0],
        "n" => [10i64, 2, 1, 2, 10],
        "s" => ["cat", "ant", "bee", "cat", "ant"]
    )
    .unwrap();
    let p = write_parquet(&dir, "c.parquet", &mut df);
    let just_x = |target: &str| TableOptions {
        features: Some(vec!["x".into()]),
        ..same_file(&p, target)
    };
    let n = load(&just_x("n")).unwrap();
    assert_eq!(n.class_names, ["1", "2", "10"]);
    assert_eq!(n.train.targets, Targets::Classes(vec![2, 1, 0, 1, 2]));
    let s = load(&just_x("s")).unwrap();
    assert_eq!(s.class_names, ["ant", "bee", "cat"]);
    assert_eq!(s.task, Task::Classification(3));
    assert_eq!(s.train.targets, Targets::Classes(vec![2, 0, 1, 2, 0]));
}

#[test]
fn the_split_is_deterministic_by_data_seed() {
    let dir = TempDir::new().unwrap();
    let p = parquet(&dir);
    let seeded = |seed, fraction| TableOptions {
        data_seed: seed,
        test_fraction: fraction,
        ..options(&p, "label")
    };
    assert_eq!(
        load(&seeded(3, 0.2)).unwrap(),
        load(&seeded(3, 0.2)).unwrap()
    );
    assert_ne!(
        load(&seeded(3, 0.2)).unwrap().train,
        load(&seeded(4, 0.2)).unwrap().train
    );
    let t = load(&seeded(3, 0.3)).unwrap();
    assert_eq!((t.train.len(), t.test.len()), split_sizes(N, 0.3));
    let mut seen: Vec<f32> = t
        .train
        .features
        .chunks(2)
        .chain(t.test.features.chunks(2))
        .map(|r| r[0])
        .collect();
    seen.sort_by(f32::total_cmp);
    assert_eq!(seen, a().iter().map(|&v| v as f32).collect::<Vec<_>>());
    assert!(matches!(err(&seeded(0, 1.5)), TableError::Invalid { .. }));
    assert!(matches!(err(&seeded(0, 1.0)), TableError::Invalid { .. }));
}

/// Training rows x = 0, 2, 4 and c = 5; test row x = 6, c = 7.
fn scaling_files(dir: &TempDir) -> TableOptions {
    let mut train =
        df!("x" => [0.0, 2.0, 4.0], "c" => [5.0, 5.0, 5.0], "y" => [0i64, 1, 0]).unwrap();
    let mut test = df!("x" => [6.0], "c" => [7.0], "y" => [1i64]).unwrap();
    TableOptions {
        test_path: Some(write_parquet(dir, "test.parquet", &mut test)),
        ..options(&write_parquet(dir, "train.parquet", &mut train), "y")
    }
}

#[test]
fn scaling_is_fitted_on_the_training_rows_only() {
    let dir = TempDir::new().unwrap();
    let base = scaling_files(&dir);
    let standard = load(&TableOptions {
        scale: Scale::Standard,
        ..base.clone()
    })
    .unwrap();
    let std = (8.0f32 / 3.0).sqrt();
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
    assert!(close(
        &standard.train.features,
        &[-2.0 / std, 0.0, 0.0, 0.0, 2.0 / std, 0.0]
    ));
    assert!(
        close(&standard.test.features, &[4.0 / std, 2.0]),
        "{:?}",
        standard.test
    );
    let unit = load(&TableOptions {
        scale: Scale::Unit,
        ..base.clone()
    })
    .unwrap();
    assert_eq!(unit.train.features, [0.0, 0.0, 0.5, 0.0, 1.0, 0.0]);
    assert_eq!(unit.test.features, [1.5, 2.0]);
    let none = load(&base).unwrap();
    assert_eq!(none.test.features, [6.0, 7.0]);
}

// ----- Errors -------------------------------------------------------------------

fn says(e: &TableError, parts: &[&str]) {
    let msg = e.to_string();
    for p in parts {
        assert!(msg.contains(p), "`{msg}` should mention `{p}`");
    }
}

#[test]
fn missing_files_and_unknown_formats_are_named() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope.parquet");
    let e = inspect(&missing).unwrap_err();
    assert!(matches!(e, TableError::NotFound { .. }));
    says(&e, &["nope.parquet", "does not exist"]);
    let e = inspect(&write_text(&dir, "t.xlsx", "x")).unwrap_err();
    assert!(matches!(e, TableError::UnknownFormat { .. }));
    says(&e, &["t.xlsx", "`.xlsx`", ".parquet, .csv, .npz or .npy"]);
    let e = inspect(&write_text(&dir, "noext", "x")).unwrap_err();
    says(&e, &["noext", "(no extension)"]);
    let e = inspect(&write_text(&dir, "bad.parquet", "not parquet")).unwrap_err();
    assert!(matches!(e, TableError::Unreadable { .. }));
    says(&e, &["bad.parquet"]);
    let e = err(&TableOptions {
        test_path: Some(dir.path().join("gone.csv")),
        ..options(&parquet(&dir), "label")
    });
    says(&e, &["gone.csv", "does not exist"]);
}

#[test]
fn empty_files_are_refused() {
    let dir = TempDir::new().unwrap();
    let e = err(&options(&write_text(&dir, "zero.csv", ""), "y"));
    assert!(matches!(e, TableError::Empty { .. }), "{e}");
    says(&e, &["zero.csv", "no data rows"]);
    let e = err(&options(&write_text(&dir, "header.csv", "x,y\n"), "y"));
    says(&e, &["header.csv", "no data rows"]);
    let mut empty = df!("x" => Vec::<f64>::new(), "y" => Vec::<i64>::new()).unwrap();
    let e = err(&options(
        &write_parquet(&dir, "none.parquet", &mut empty),
        "y",
    ));
    assert!(matches!(e, TableError::Empty { .. }), "{e}");
}

#[test]
fn unknown_columns_get_suggestions_from_the_file() {
    let dir = TempDir::new().unwrap();
    let p = parquet(&dir);
    let e = err(&options(&p, "lable"));
    assert!(matches!(
        e,
        TableError::UnknownColumn {
            role: Role::Target,
            ..
        }
    ));
    says(
        &e,
        &["t.parquet", "`lable`", "target", "did you mean `label`?"],
    );
    let e = err(&TableOptions {
        features: Some(vec!["a".into(), "zzzzzz".into()]),
        ..options(&p, "label")
    });
    says(
        &e,
        &[
            "t.parquet",
            "`zzzzzz`",
            "feature",
            "its columns: a, b, label",
        ],
    );
    let e = err(&TableOptions::new(&p));
    says(&e, &["t.parquet", "target = ", "a, b, label"]);
    let e = err(&options(&npz(&dir), "yy"));
    says(&e, &["t.npz", "did you mean `y`?"]);
    let e = err(&TableOptions {
        features: Some(vec!["label".into()]),
        ..options(&p, "label")
    });
    says(&e, &["t.parquet", "`label` is the target"]);
}

#[test]
fn non_numeric_features_are_named() {
    let dir = TempDir::new().unwrap();
    let mut df = df!("x" => [1.0, 2.0], "word" => ["a", "b"], "y" => [0i64, 1]).unwrap();
    let p = write_parquet(&dir, "w.parquet", &mut df);
    let e = err(&TableOptions {
        features: Some(vec!["x".into(), "word".into()]),
        ..options(&p, "y")
    });
    assert!(matches!(e, TableError::NonNumericFeature { .. }));
    says(&e, &["w.parquet", "`word`", "str"]);
    // A CSV column that turns out to be text after the first rows.
    let mut text = String::from("x,y\n");
    for i in 0..CSV_INFER_ROWS + 5 {
        text.push_str(&format!("{i},{}\n", i % 2));
    }
    text.push_str("oops,1\n");
    let p = write_text(&dir, "late.csv", &text);
    assert_eq!(
        inspect(&p).unwrap().column("x").unwrap().kind,
        ColumnKind::Integer
    );
    let e = err(&options(&p, "y"));
    says(&e, &["late.csv", "feature column `x`"]);
}

#[test]
fn nan_and_empty_cells_are_counted_with_the_first_row() {
    let dir = TempDir::new().unwrap();
    let a = Series::new("a".into(), [Some(1.0), Some(2.0), None, Some(f64::NAN)]);
    let b = Series::new(
        "b".into(),
        [Some(1.0), Some(f64::NAN), Some(3.0), Some(4.0)],
    );
    let y = Series::new("y".into(), [0i64, 1, 0, 1]);
    let mut df = DataFrame::new_infer_height(vec![a.into(), b.into(), y.into()]).unwrap();
    let e = err(&options(&write_parquet(&dir, "nan.parquet", &mut df), "y"));
    assert!(
        matches!(&e, TableError::MissingValues { count: 3, row: 2, column, .. } if column == "b"),
        "{e}"
    );
    says(
        &e,
        &[
            "nan.parquet",
            "3 empty or NaN cells",
            "column `b`",
            "data row 2",
        ],
    );
    let p = write_text(&dir, "gap.csv", "x,z,y\n1,2,0\n3,4,1\n5,,0\n7,8,\n");
    let e = err(&options(&p, "y"));
    assert!(
        matches!(
            e,
            TableError::MissingValues {
                count: 2,
                row: 3,
                ..
            }
        ),
        "{e}"
    );
    says(&e, &["gap.csv", "column `z`", "data row 3"]);
    let p = write_text(&dir, "target_gap.csv", "x,y\n1,0\n2,\n3,1\n");
    let e = err(&options(&p, "y"));
    says(
        &e,
        &[
            "target_gap.csv",
            "1 empty or NaN cell ",
            "column `y`",
            "data row 2",
        ],
    );
    let p = write_npy(&dir, "nan.npy", &[2, 2], &[1.0f32, 0.0, f32::NAN, 1.0]);
    let e = err(&options(&p, "1"));
    says(&e, &["nan.npy", "column `0`", "data row 2"]);
}

#[test]
fn train_and_test_files_need_the_same_columns() {
    let dir = TempDir::new().unwrap();
    let mut other = df!("a" => [1.0], "bee" => [2i64], "label" => [0i64]).unwrap();
    let e = err(&TableOptions {
        test_path: Some(write_parquet(&dir, "other.parquet", &mut other)),
        ..options(&parquet(&dir), "label")
    });
    assert!(matches!(e, TableError::ColumnMismatch { .. }));
    says(
        &e,
        &[
            "t.parquet",
            "other.parquet",
            "only the training file has `b`",
            "only the test file has `bee`",
        ],
    );
}

#[test]
fn classes_need_two_training_classes_and_cover_the_test_rows() {
    let dir = TempDir::new().unwrap();
    let mut one = df!("x" => [1.0, 2.0], "y" => ["k", "k"]).unwrap();
    let e = err(&same_file(
        &write_parquet(&dir, "one.parquet", &mut one),
        "y",
    ));
    assert!(matches!(e, TableError::TooFewClasses { .. }));
    says(&e, &["one.parquet", "at least two classes", "only `k`"]);
    let mut train = df!("x" => [1.0, 2.0], "y" => [0i64, 1]).unwrap();
    let mut test = df!("x" => [1.0, 2.0, 3.0], "y" => [1i64, 0, 7]).unwrap();
    let e = err(&TableOptions {
        test_path: Some(write_parquet(&dir, "test.parquet", &mut test)),
        ..options(&write_parquet(&dir, "train.parquet", &mut train), "y")
    });
    assert!(matches!(e, TableError::UnseenClass { row: 3, .. }), "{e}");
    says(
        &e,
        &[
            "test.parquet",
            "data row 3",
            "class `7`",
            "training classes: 0, 1",
        ],
    );
}

#[test]
fn npy_needs_a_target_index_and_regression_needs_numbers() {
    let dir = TempDir::new().unwrap();
    let e = err(&TableOptions::new(npy(&dir)));
    says(&e, &["t.npy", "target = \"2\"", ".npz"]);
    let mut df = df!("x" => [1.0, 2.0], "y" => ["a", "b"]).unwrap();
    let e = err(&TableOptions {
        task: Some(TableTask::Regression),
        ..same_file(&write_parquet(&dir, "s.parquet", &mut df), "y")
    });
    assert!(matches!(e, TableError::BadTarget { .. }));
    says(&e, &["s.parquet", "regression needs numbers"]);
}

// ----- Identity and the shipped example -----------------------------------------

#[test]
fn content_digest_is_the_files_sha256() {
    let dir = TempDir::new().unwrap();
    let p = write_text(&dir, "abc.csv", "abc");
    assert_eq!(
        content_sha256(&p).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let mut f = File::create(dir.path().join("big.csv")).unwrap();
    f.write_all(&vec![b'x'; 200_000]).unwrap();
    assert_eq!(
        content_sha256(&dir.path().join("big.csv")).unwrap().len(),
        64
    );
    assert!(matches!(
        content_sha256(&dir.path().join("none.csv")),
        Err(TableError::NotFound { .. })
    ));
}

#[test]
fn the_example_digits_table_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/digits.csv");
    let shape = inspect(&path).unwrap();
    assert_eq!((shape.rows, shape.columns.len()), (1797, 65));
    let t = load(&TableOptions {
        scale: Scale::Unit,
        ..options(&path, "label")
    })
    .unwrap();
    assert_eq!(t.task, Task::Classification(10));
    assert_eq!(t.train.input_dim, 64);
    assert_eq!((t.train.len(), t.test.len()), split_sizes(1797, 0.2));
    assert!(t.train.features.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn the_survey_agrees_with_the_load_without_reading_features() {
    let dir = TempDir::new().unwrap();
    let all = [
        options(&parquet(&dir), "label"),
        options(&csv(&dir), "label"),
        TableOptions::new(npz(&dir)),
    ];
    for o in all {
        let s = survey(&o).unwrap();
        let t = load(&o).unwrap();
        assert_eq!(s.selection, t.selection);
        assert_eq!((s.train_rows, s.test_rows), (t.train.len(), t.test.len()));
        assert_eq!(s.class_names, t.class_names);
    }
    // A missing feature value is the load's to find: the survey never reads one.
    let a = Series::new("a".into(), [Some(1.0), None, Some(3.0), Some(4.0)]);
    let y = Series::new("y".into(), [0i64, 1, 0, 1]);
    let mut df = DataFrame::new_infer_height(vec![a.into(), y.into()]).unwrap();
    let o = same_file(&write_parquet(&dir, "gap.parquet", &mut df), "y");
    assert_eq!(survey(&o).unwrap().class_names, ["0", "1"]);
    assert!(matches!(err(&o), TableError::MissingValues { .. }));
    // What the columns, the target or the split say is the survey's too.
    let mut one = df!("x" => [1.0, 2.0], "y" => ["k", "k"]).unwrap();
    let o = same_file(&write_parquet(&dir, "one.parquet", &mut one), "y");
    assert!(matches!(survey(&o), Err(TableError::TooFewClasses { .. })));
    let o = options(&parquet(&dir), "lable");
    assert!(matches!(survey(&o), Err(TableError::UnknownColumn { .. })));
    let p = write_text(&dir, "target_gap.csv", "x,y\n1,0\n2,\n3,1\n");
    assert!(matches!(
        survey(&options(&p, "y")),
        Err(TableError::MissingValues { .. })
    ));
}
