//! How accurate the built-ins' kernels are: every built-in's value and d/dx,
//! computed by the kernels that train (`Compiled::forward_grad`), against
//! an `f64` reference written by hand here, independently of the formula
//! compiler, in forms that do not cancel (so the reference is good to far
//! better than an `f32` ulp everywhere on the grid).
//!
//! The grid is the one of `scripts/activation_accuracy.py`:
//! 400,000 points evenly spaced over [-20, 20] (computed in `f64`, rounded to
//! `f32`), plus a log-spaced set near 0 (|x| from 1e-30 to 1), where `exp(x) - 1`
//! and `ln(1 + x)` would cancel. The error of a result y is
//! |y - f(x)| / ulp(f(x) rounded to `f32`), with ulp = 2^-149 for zero and
//! subnormal results. Each built-in's bounds are asserted below; the test
//! prints its table with
//! `cargo nextest run --test activation_accuracy --no-capture` (or
//! `cargo test --test activation_accuracy -- --nocapture`). The table in
//! docs/activations.md has the same figures for our kernels, next to
//! PyTorch's, from `scripts/activation_accuracy.py`.

use actsweep::activation::{Compiled, Library};

/// Points of the even grid over [-20, 20].
const POINTS: usize = 400_000;

/// The error above which a point counts in the "share" columns, in ulp.
const SHARE_ULP: f64 = 4.0;

/// The even grid: `-20 + 40 i / (POINTS - 1)` in `f64`, rounded to `f32`.
fn grid() -> Vec<f32> {
    (0..POINTS)
        .map(|i| (-20.0 + 40.0 * i as f64 / (POINTS - 1) as f64) as f32)
        .collect()
}

/// |x| = 10^(-k/50) for k = 0..=1500, both signs: from 1 down to 1e-30.
fn near_zero() -> Vec<f32> {
    (0..=1500)
        .flat_map(|k| {
            let v = 10f64.powf(-(k as f64) / 50.0) as f32;
            [v, -v]
        })
        .collect()
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// sigmoid'(x) = sigmoid(x) sigmoid(-x), without `1 - sigmoid`.
fn dsigmoid(x: f64) -> f64 {
    sigmoid(x) * sigmoid(-x)
}

/// ln(1 + e^x), stably.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// tanh'(x) = sech^2(x) = 4 e / (1 + e)^2 with e = e^(-2|x|): no `1 - tanh^2`.
fn sech2(x: f64) -> f64 {
    let e = (-2.0 * x.abs()).exp();
    4.0 * e / ((1.0 + e) * (1.0 + e))
}

/// The standard normal CDF, through erfc so that the left tail keeps its digits.
fn phi_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal density.
fn phi_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// (f(x), f'(x)) of a built-in with its default parameters, by hand.
fn reference(name: &str, x: f64) -> (f64, f64) {
    let (sa, ss) = (1.6732632423543772, 1.0507009873554805);
    let step = |c: bool| if c { 1.0 } else { 0.0 };
    match name {
        "linear" => (x, 1.0),
        "relu" => (x.max(0.0), step(x > 0.0)),
        "leaky_relu" => (
            if x > 0.0 { x } else { 0.01 * x },
            if x > 0.0 { 1.0 } else { 0.01 },
        ),
        "prelu" => (
            if x > 0.0 { x } else { 0.25 * x },
            if x > 0.0 { 1.0 } else { 0.25 },
        ),
        "elu" => {
            if x > 0.0 {
                (x, 1.0)
            } else {
                (x.exp_m1(), x.exp())
            }
        }
        "selu" => {
            if x > 0.0 {
                (ss * x, ss)
            } else {
                (ss * sa * x.exp_m1(), ss * sa * x.exp())
            }
        }
        "gelu" => (x * phi_cdf(x), phi_cdf(x) + x * phi_pdf(x)),
        "gelu_tanh" => {
            let k = (2.0 / std::f64::consts::PI).sqrt();
            let u = k * (x + 0.044715 * x * x * x);
            let du = k * (1.0 + 3.0 * 0.044715 * x * x);
            // 1 + tanh(u) = 2 sigmoid(2u), which keeps the left tail.
            let one_plus = 2.0 * sigmoid(2.0 * u);
            (0.5 * x * one_plus, 0.5 * one_plus + 0.5 * x * sech2(u) * du)
        }
        "silu" | "swish" => (x * sigmoid(x), sigmoid(x) + x * dsigmoid(x)),
        "mish" => {
            let sp = softplus(x);
            (x * sp.tanh(), sp.tanh() + x * sech2(sp) * sigmoid(x))
        }
        "sigmoid" => (sigmoid(x), dsigmoid(x)),
        "tanh" => (x.tanh(), sech2(x)),
        "hard_tanh" => (x.clamp(-1.0, 1.0), step(x > -1.0 && x < 1.0)),
        "softsign" => {
            let d = 1.0 + x.abs();
            (x / d, 1.0 / (d * d))
        }
        "arctan" => (x.atan(), 1.0 / (1.0 + x * x)),
        "softplus" => (softplus(x), sigmoid(x)),
        "relu6" => (x.clamp(0.0, 6.0), step(x > 0.0 && x < 6.0)),
        other => panic!("no reference for {other}: add one here"),
    }
}

/// |y - r| in units of the `f32` spacing at r (2^-149 for zero and subnormal r).
fn ulp_error(y: f32, r: f64) -> f64 {
    if r.is_nan() || y.is_nan() {
        return if r.is_nan() && y.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let rf = (r as f32).abs();
    let ulp = if rf < f32::MIN_POSITIVE {
        2f64.powi(-149)
    } else {
        let e = (rf.to_bits() >> 23) as i32 - 127;
        2f64.powi(e - 23)
    };
    (y as f64 - r).abs() / ulp
}

/// The errors of one output (value or derivative) over a set of points.
#[derive(Debug, Clone, Copy, Default)]
struct Errors {
    max: f64,
    at: f32,
    above: usize,
    n: usize,
}

impl Errors {
    fn add(&mut self, x: f32, e: f64) {
        if e > self.max || self.n == 0 {
            self.max = e;
            self.at = x;
        }
        if e > SHARE_ULP {
            self.above += 1;
        }
        self.n += 1;
    }

    fn share(&self) -> f64 {
        self.above as f64 / self.n as f64
    }
}

/// The kernels' (value, d/dx) errors of built-in `name` at `xs`.
fn measure(name: &str, xs: &[f32]) -> (Errors, Errors) {
    let def = Library::builtin().get(name).unwrap().clone();
    let c = Compiled::new(&def.config()).unwrap();
    let mut f = vec![0.0; xs.len()];
    let mut df = vec![0.0; xs.len()];
    c.forward_grad(xs, &mut f, &mut df);
    let (mut ev, mut ed) = (Errors::default(), Errors::default());
    for ((&x, &y), &dy) in xs.iter().zip(&f).zip(&df) {
        let (r, dr) = reference(name, x as f64);
        ev.add(x, ulp_error(y, r));
        ed.add(x, ulp_error(dy, dr));
    }
    (ev, ed)
}

/// Per built-in: (max value error, share of points above 4 ulp in the value,
/// the same two for d/dx) on the even grid, then the max value and d/dx
/// errors near 0. The bounds are the measured figures (see the module docs
/// for the command) rounded up, so a change that makes a kernel less
/// accurate fails here.
#[rustfmt::skip]
const BOUNDS: &[(&str, f64, f64, f64, f64, f64, f64)] = &[
    // name        value: max  share   d/dx: max  share   near 0: value, d/dx
    ("arctan",     1.1,        0.0,    2.0,       0.0,    0.7,   1.5),
    ("elu",        1.1,        0.0,    0.7,       0.0,    0.85,  0.55),
    ("gelu",       200.0,      0.22,   70.0,      0.17,   1.3,   1.35),
    ("gelu_tanh",  190.0,      0.15,   240.0,     0.154,  1.8,   2.0),
    ("hard_tanh",  0.0,        0.0,    0.0,       0.0,    0.0,   0.0),
    ("leaky_relu", 0.85,       0.0,    0.25,      0.0,    0.85,  0.25),
    ("linear",     0.0,        0.0,    0.0,       0.0,    0.0,   0.0),
    ("mish",       3.6,        0.0,    5.1,       0.0001, 2.3,   3.9),
    ("prelu",      0.0,        0.0,    0.0,       0.0,    0.0,   0.0),
    ("relu",       0.0,        0.0,    0.0,       0.0,    0.0,   0.0),
    ("relu6",      0.0,        0.0,    0.0,       0.0,    0.0,   0.0),
    ("selu",       2.7,        0.0,    1.9,       0.0,    1.4,   1.4),
    ("sigmoid",    2.2,        0.0,    3.1,       0.0,    1.2,   1.6),
    ("silu",       3.1,        0.0,    3.2,       0.0,    1.5,   2.5),
    ("softplus",   1.5,        0.0,    2.2,       0.0,    0.95,  1.2),
    ("softsign",   1.5,        0.0,    3.0,       0.0,    1.5,   2.7),
    ("swish",      3.1,        0.0,    3.2,       0.0,    1.5,   2.5),
    ("tanh",       1.8,        0.0,    3.2,       0.0,    1.5,   1.3),
];

fn fmt_ulp(e: f64) -> String {
    if e >= 100.0 {
        format!("{:.0}", e)
    } else {
        format!("{e:.2}")
    }
}

#[test]
fn accuracy_of_every_builtin_against_an_f64_reference() {
    let lib = Library::builtin();
    let names: Vec<&str> = lib.names().collect();
    let mut listed: Vec<&str> = BOUNDS.iter().map(|b| b.0).collect();
    listed.sort_unstable();
    assert_eq!(names, listed, "every built-in has bounds here, once");
    let (xs, small) = (grid(), near_zero());
    println!(
        "| activation | value: max ulp (at x) | value: share > {SHARE_ULP} ulp | d/dx: max ulp (at x) \
         | d/dx: share > {SHARE_ULP} ulp | near 0: value, d/dx max ulp |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut failures = Vec::new();
    for &(name, vmax, vshare, dmax, dshare, zv, zd) in BOUNDS {
        let (v, d) = measure(name, &xs);
        let (sv, sd) = measure(name, &small);
        println!(
            "| {name} | {} ({}) | {:.3}% | {} ({}) | {:.3}% | {}, {} |",
            fmt_ulp(v.max),
            v.at,
            100.0 * v.share(),
            fmt_ulp(d.max),
            d.at,
            100.0 * d.share(),
            fmt_ulp(sv.max),
            fmt_ulp(sd.max),
        );
        let checks = [
            ("value max", v.max, vmax),
            ("value share", v.share(), vshare),
            ("d/dx max", d.max, dmax),
            ("d/dx share", d.share(), dshare),
            ("near 0 value max", sv.max, zv),
            ("near 0 d/dx max", sd.max, zd),
        ];
        for (what, got, bound) in checks {
            if got > bound {
                failures.push(format!("{name}: {what} {got} > {bound}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accuracy_ulp_error_measures_what_it_says() {
    assert_eq!(ulp_error(1.0, 1.0), 0.0);
    assert_eq!(ulp_error(1.0 + f32::EPSILON, 1.0), 1.0);
    assert_eq!(ulp_error(0.0, 2f64.powi(-149)), 1.0);
    // Units of the spacing at the reference: below 2 it is half of that above.
    let below_two = 2.0 - 2f64.powi(-23);
    assert_eq!(ulp_error(2.0, below_two), 1.0);
    assert_eq!(ulp_error(below_two as f32, 2.0), 0.5);
    assert!(ulp_error(f32::NAN, 1.0).is_infinite());
}

#[test]
fn accuracy_references_agree_with_plain_formulas_where_those_do_not_cancel() {
    // The stable reference forms against the textbook ones at moderate x.
    for x in [-2.5, -0.7, 0.3, 1.9] {
        let t = f64::tanh(x);
        assert!((sech2(x) - (1.0 - t * t)).abs() < 1e-15);
        let s = 1.0 / (1.0 + (-x).exp());
        assert!((dsigmoid(x) - s * (1.0 - s)).abs() < 1e-15);
        let (g, _) = reference("gelu", x);
        assert!((g - 0.5 * x * (1.0 + libm::erf(x / 2f64.sqrt()))).abs() < 1e-15);
        let (gt, _) = reference("gelu_tanh", x);
        let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
        assert!((gt - 0.5 * x * (1.0 + u.tanh())).abs() < 1e-15);
    }
    // Derivatives against central differences of the values.
    for name in ["gelu", "gelu_tanh", "mish", "silu", "softsign", "selu"] {
        for x in [-3.1, -0.4, 0.8, 2.6] {
            let h = 1e-6;
            let fd = (reference(name, x + h).0 - reference(name, x - h).0) / (2.0 * h);
            let d = reference(name, x).1;
            assert!(
                (fd - d).abs() < 1e-7,
                "{name}'({x}) = {d}, differences give {fd}"
            );
        }
    }
}
