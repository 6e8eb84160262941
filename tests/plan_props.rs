//! Property tests of grid expansion, and fuzz-style robustness of `plan`.
//!
//! - job count = product of axis sizes (zipped groups count once) x seeds,
//!   minus the excluded cells x seeds, checked against a brute-force count;
//! - zipped axes advance together;
//! - ids are unique, stable across runs, and independent of the order in
//!   which axes are written;
//! - the plan's training count is the number of distinct resolved configs,
//!   with an experiment repeated under another name or not;
//! - arbitrary text, and arbitrary TOML values in every field, never panic.

mod common;

use std::collections::BTreeSet;

use actsweep::config;
use actsweep::config::raw::{JOB_FIELDS, SECTION_FIELDS};
use actsweep::plan::Plan;
use proptest::prelude::*;

/// Integer-valued job fields that are cheap to sweep, with valid ranges.
const FIELDS: &[(&str, i64, i64)] = &[
    ("depth", 1, 6),
    ("width", 1, 64),
    ("epochs", 0, 5),
    ("batch_size", 1, 128),
    ("probe_samples", 1, 100),
    ("eval_every", 1, 5),
];

#[derive(Debug, Clone)]
struct Grid {
    axes: Vec<(&'static str, Vec<i64>)>,
    zip: Option<(usize, usize)>,
    excludes: Vec<Vec<(usize, usize)>>,
    seeds: i64,
}

fn grid() -> impl Strategy<Value = Grid> {
    (1usize..=FIELDS.len(), 1i64..=3, any::<bool>(), 0usize..4)
        .prop_flat_map(|(n_axes, seeds, zip, n_ex)| {
            let axes =
                proptest::sample::subsequence(FIELDS.to_vec(), n_axes).prop_flat_map(|fields| {
                    fields
                        .into_iter()
                        .map(|(name, lo, hi)| {
                            proptest::collection::btree_set(lo..=hi, 1..=4)
                                .prop_map(move |s| (name, s.into_iter().collect::<Vec<_>>()))
                        })
                        .collect::<Vec<_>>()
                });
            (axes, Just(seeds), Just(zip), Just(n_ex), any::<u64>())
        })
        .prop_map(|(mut axes, seeds, zip, n_ex, salt)| {
            // Zip the first two axes when asked, truncating them to one length.
            let zip = if zip && axes.len() >= 2 {
                let n = axes[0].1.len().min(axes[1].1.len());
                axes[0].1.truncate(n);
                axes[1].1.truncate(n);
                Some((0, 1))
            } else {
                None
            };
            let mut rng = salt;
            let mut next = |m: usize| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((rng >> 33) as usize) % m
            };
            let mut excludes = Vec::new();
            for _ in 0..n_ex {
                let mut cond = Vec::new();
                for (a, (_, vals)) in axes.iter().enumerate() {
                    if next(2) == 0 {
                        cond.push((a, next(vals.len())));
                    }
                }
                if !cond.is_empty() {
                    excludes.push(cond);
                }
            }
            Grid {
                axes,
                zip,
                excludes,
                seeds,
            }
        })
}

fn toml_of(g: &Grid, reverse: bool) -> String {
    let mut s = format!("[experiments.e]\nseeds = {}\n", g.seeds);
    let mut order: Vec<usize> = (0..g.axes.len()).collect();
    if reverse {
        order.reverse();
    }
    for &a in &order {
        let (name, vals) = &g.axes[a];
        let vs: Vec<String> = vals.iter().map(i64::to_string).collect();
        s.push_str(&format!("grid.{name} = [{}]\n", vs.join(", ")));
    }
    if let Some((a, b)) = g.zip {
        s.push_str(&format!(
            "zip = [[\"{}\", \"{}\"]]\n",
            g.axes[a].0, g.axes[b].0
        ));
    }
    if !g.excludes.is_empty() {
        let items: Vec<String> = g
            .excludes
            .iter()
            .map(|c| {
                let kv: Vec<String> = c
                    .iter()
                    .map(|&(a, v)| format!("{} = {}", g.axes[a].0, g.axes[a].1[v]))
                    .collect();
                format!("{{ {} }}", kv.join(", "))
            })
            .collect();
        s.push_str(&format!("exclude = [{}]\n", items.join(", ")));
    }
    // Widths only matter with hidden layers; keep the mnist input cheap to plan.
    s
}

/// Brute-force count of kept cells.
fn expected_cells(g: &Grid) -> usize {
    let sizes: Vec<usize> = g.axes.iter().map(|(_, v)| v.len()).collect();
    let total: usize = sizes.iter().product();
    let mut kept = 0;
    for cell in 0..total {
        let mut idx = vec![0; sizes.len()];
        let mut rem = cell;
        for i in (0..sizes.len()).rev() {
            idx[i] = rem % sizes[i];
            rem /= sizes[i];
        }
        if let Some((a, b)) = g.zip {
            if idx[a] != idx[b] {
                continue;
            }
        }
        if g.excludes
            .iter()
            .any(|c| c.iter().all(|&(a, v)| idx[a] == v))
        {
            continue;
        }
        kept += 1;
    }
    kept
}

fn plan_of(text: &str) -> Plan {
    common::plan_text(text).1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn job_count_zip_and_ids(g in grid()) {
        let text = toml_of(&g, false);
        let plan = plan_of(&text);
        prop_assert_eq!(plan.jobs.len(), expected_cells(&g) * g.seeds as usize, "{}", text);
        prop_assert_eq!(plan.experiments[0].jobs, plan.jobs.len());

        if let Some((a, b)) = g.zip {
            for j in &plan.jobs {
                let va = &j.axes.iter().find(|(k, _)| k == g.axes[a].0).unwrap().1;
                let vb = &j.axes.iter().find(|(k, _)| k == g.axes[b].0).unwrap().1;
                let ia = g.axes[a].1.iter().position(|v| &v.to_string() == va).unwrap();
                let ib = g.axes[b].1.iter().position(|v| &v.to_string() == vb).unwrap();
                prop_assert_eq!(ia, ib);
            }
        }

        let ids: BTreeSet<&str> = plan.jobs.iter().map(|j| j.id.as_str()).collect();
        prop_assert_eq!(ids.len(), plan.jobs.len(), "ids not unique");

        let again = plan_of(&text);
        let ids_again: Vec<&str> = again.jobs.iter().map(|j| j.id.as_str()).collect();
        let ids_first: Vec<&str> = plan.jobs.iter().map(|j| j.id.as_str()).collect();
        prop_assert_eq!(ids_first, ids_again, "ids not stable");

        let reordered = plan_of(&toml_of(&g, true));
        let ids_reordered: BTreeSet<&str> = reordered.jobs.iter().map(|j| j.id.as_str()).collect();
        prop_assert_eq!(ids, ids_reordered, "ids depend on axis order");
    }

    #[test]
    fn trainings_are_the_distinct_configs(g in grid(), repeat in any::<bool>()) {
        // A second experiment repeating the first one's grid duplicates every
        // config; depth 1 ignores width, so one grid can duplicate too.
        let mut text = toml_of(&g, false);
        if repeat {
            text.push_str(&toml_of(&g, true).replace("[experiments.e]", "[experiments.f]"));
        }
        let plan = plan_of(&text);
        let mut distinct: Vec<&actsweep::config::job::JobConfig> = Vec::new();
        for j in &plan.jobs {
            if !distinct.contains(&&j.config) {
                distinct.push(&j.config);
            }
        }
        let est = plan.estimate();
        prop_assert_eq!(est.jobs as usize, plan.jobs.len());
        prop_assert_eq!(est.trainings as usize, distinct.len(), "{}", text);
        let keys: BTreeSet<&str> = plan.jobs.iter().map(|j| j.training.as_str()).collect();
        prop_assert_eq!(keys.len(), distinct.len());
        if repeat {
            prop_assert_eq!(plan.jobs.len(), 2 * plan.experiments[0].jobs);
            prop_assert!(distinct.len() <= plan.experiments[0].jobs);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        if let Ok(sweep) = config::parse("fuzz.toml", "fuzz", &text) {
            let _ = Plan::new(&sweep);
        }
    }

    #[test]
    fn arbitrary_values_in_every_field_never_panic(
        field in proptest::sample::select(fuzz_keys()),
        place in 0usize..4,
        value in toml_value(),
    ) {
        let mut doc = toml::Table::new();
        let mut exp = toml::Table::new();
        let mut target = toml::Table::new();
        target.insert(field.to_string(), value.clone());
        match place {
            0 => { doc.insert("defaults".into(), toml::Value::Table(target)); }
            1 => { exp = target; }
            2 => { exp.insert("grid".into(), toml::Value::Table(target)); }
            _ => {
                let mut g = toml::Table::new();
                g.insert(field.to_string(), toml::Value::Array(vec![value.clone(), value]));
                exp.insert("grid".into(), toml::Value::Table(g));
            }
        }
        let mut exps = toml::Table::new();
        exps.insert("e".into(), toml::Value::Table(exp));
        doc.insert("experiments".into(), toml::Value::Table(exps));
        let text = toml::to_string(&doc).unwrap();
        if let Ok(sweep) = config::parse("fuzz.toml", "fuzz", &text) {
            let _ = Plan::new(&sweep);
        }
    }
}

/// Every key a section accepts (from the schema itself), plus keys it does not.
fn fuzz_keys() -> Vec<&'static str> {
    let jobs = JOB_FIELDS.iter().map(|f| f.name);
    let mut keys: Vec<&'static str> = jobs.chain(SECTION_FIELDS.iter().map(|k| k.name)).collect();
    keys.extend(["name", "unknown"]);
    keys
}

fn toml_value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        (-1e6f64..1e6).prop_map(toml::Value::Float),
        Just(toml::Value::Float(f64::NAN)),
        Just(toml::Value::Float(f64::INFINITY)),
        any::<bool>().prop_map(toml::Value::Boolean),
        "[a-z_()=.0-9 ]{0,16}".prop_map(toml::Value::String),
        proptest::sample::select(vec![
            "relu",
            "mnist",
            "sgd",
            "adam",
            "huber",
            "xor",
            "leaky_relu(alpha=2)",
            "name"
        ])
        .prop_map(|s| toml::Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            proptest::collection::btree_map(
                proptest::sample::select(vec![
                    "name", "lr", "samples", "noise", "alpha", "delta", "depth", "x"
                ]),
                inner,
                0..4,
            )
            .prop_map(|m| toml::Value::Table(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}
