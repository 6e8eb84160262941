//! The built-in activations against closed forms, finite differences and
//! known facts; gradients through a 2-layer dfdx network; the parser on
//! arbitrary input.

use std::collections::BTreeMap;

use actsweep::activation::{check_definition, Compiled, Definition, Library, Origin};
use actsweep::config::job::ActivationConfig;
use dfdx::prelude::*;
use proptest::prelude::*;

fn compiled(name: &str) -> Compiled {
    let def = Library::builtin().get(name).unwrap().clone();
    Compiled::new(&def.config()).unwrap()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Closed forms, written independently of builtins.toml.
fn reference(name: &str, x: f64) -> f64 {
    let (alpha, scale) = (1.6732632423543772, 1.0507009873554805);
    match name {
        "linear" => x,
        "relu" => x.max(0.0),
        "leaky_relu" => {
            if x > 0.0 {
                x
            } else {
                0.01 * x
            }
        }
        "prelu" => {
            if x > 0.0 {
                x
            } else {
                0.25 * x
            }
        }
        "elu" => {
            if x > 0.0 {
                x
            } else {
                x.exp() - 1.0
            }
        }
        "selu" => scale * if x > 0.0 { x } else { alpha * (x.exp() - 1.0) },
        "gelu" => 0.5 * x * (1.0 + libm::erf(x / 2f64.sqrt())),
        "gelu_tanh" => {
            0.5 * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
        }
        "silu" | "swish" => x * sigmoid(x),
        "mish" => x * x.exp().ln_1p().tanh(),
        "sigmoid" => sigmoid(x),
        "tanh" => x.tanh(),
        "hard_tanh" => x.clamp(-1.0, 1.0),
        "softsign" => x / (1.0 + x.abs()),
        "arctan" => x.atan(),
        "softplus" => x.exp().ln_1p(),
        "relu6" => x.clamp(0.0, 6.0),
        other => panic!("no reference for {other}"),
    }
}

fn kinks(name: &str) -> &'static [f64] {
    match name {
        "relu" | "leaky_relu" | "prelu" | "elu" | "selu" => &[0.0],
        "hard_tanh" => &[-1.0, 1.0],
        "relu6" => &[0.0, 6.0],
        "softsign" => &[0.0],
        _ => &[],
    }
}

const REQUIRED: &[&str] = &[
    "linear",
    "relu",
    "leaky_relu",
    "prelu",
    "elu",
    "selu",
    "gelu",
    "gelu_tanh",
    "silu",
    "swish",
    "mish",
    "sigmoid",
    "tanh",
    "hard_tanh",
    "softsign",
    "arctan",
    "softplus",
    "relu6",
];

#[test]
fn activation_builtins_match_closed_forms() {
    let xs: Vec<f32> = (0..=96).map(|i| -12.0 + 0.25 * i as f32).collect();
    for &name in REQUIRED {
        let c = compiled(name);
        let mut out = vec![0.0; xs.len()];
        c.forward(&xs, &mut out);
        for (x, y) in xs.iter().zip(&out) {
            let want = reference(name, *x as f64);
            assert!(
                (*y as f64 - want).abs() <= 2e-6 * (1.0 + want.abs()),
                "{name}({x}) = {y}, expected {want}"
            );
        }
    }
}

#[test]
fn activation_derivatives_match_central_differences() {
    for &name in REQUIRED {
        let c = compiled(name);
        let xs: Vec<f32> = (0..200)
            .map(|i| -8.0 + 16.0 * (i as f32 + 0.5) / 200.0)
            .filter(|x| kinks(name).iter().all(|k| (*x as f64 - k).abs() > 1e-3))
            .collect();
        assert!(xs.len() >= 100, "{name}: only {} points", xs.len());
        let mut out = vec![0.0; xs.len()];
        let mut dx = vec![0.0; xs.len()];
        c.forward_grad(&xs, &mut out, &mut dx);
        let h = 1e-5;
        for (x, d) in xs.iter().zip(&dx) {
            let x = *x as f64;
            let fd = (reference(name, x + h) - reference(name, x - h)) / (2.0 * h);
            assert!(
                (*d as f64 - fd).abs() <= 1e-4 * (1.0 + fd.abs()),
                "{name}'({x}) = {d}, finite differences give {fd}"
            );
        }
    }
}

#[test]
fn activation_known_facts() {
    // max of sigmoid' is 0.25, at 0.
    let c = compiled("sigmoid");
    let xs: Vec<f32> = (0..=2000).map(|i| -10.0 + 0.01 * i as f32).collect();
    let mut out = vec![0.0; xs.len()];
    let mut dx = vec![0.0; xs.len()];
    c.forward_grad(&xs, &mut out, &mut dx);
    let max = dx.iter().copied().fold(f32::MIN, f32::max);
    assert_eq!(max, 0.25);
    // relu'(0) = 0, and at the kinks of the other piecewise functions PyTorch's values.
    let at0 = |name: &str, x: f32| {
        let (mut o, mut d) = ([0.0], [0.0]);
        compiled(name).forward_grad(&[x], &mut o, &mut d);
        d[0]
    };
    assert_eq!(at0("relu", 0.0), 0.0);
    assert_eq!(at0("leaky_relu", 0.0), 0.01);
    assert_eq!(at0("relu6", 0.0), 0.0);
    assert_eq!(at0("relu6", 6.0), 0.0);
    assert_eq!(at0("hard_tanh", 1.0), 0.0);
    assert_eq!(at0("hard_tanh", -1.0), 0.0);
    assert_eq!(at0("softsign", 0.0), 1.0);
    // softsign(x) = x / (1 + |x|).
    let c = compiled("softsign");
    let xs = [-3.0f32, -0.5, 0.0, 0.25, 7.0];
    let mut out = [0.0; 5];
    c.forward(&xs, &mut out);
    for (x, y) in xs.iter().zip(out) {
        assert_eq!(y, x / (1.0 + x.abs()));
    }
}

#[test]
fn activation_every_builtin_passes_the_check() {
    for def in Library::builtin().iter() {
        check_definition(def).unwrap_or_else(|e| panic!("{}: {e}", def.name));
    }
}

/// A deterministic generator for test data.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

const B: usize = 6;
const I: usize = 3;
const H: usize = 5;
const O: usize = 2;

struct Net {
    dev: Cpu,
    x: Tensor<(usize, usize), f32, Cpu>,
    w1: Tensor<(usize, usize), f32, Cpu>,
    w2: Tensor<(usize, usize), f32, Cpu>,
}

impl Net {
    fn new(seed: u64) -> Net {
        let dev = Cpu::default();
        let mut r = Lcg(seed);
        let x = dev.tensor_from_vec(r.vec(B * I, 2.0), (B, I));
        let w1 = dev.tensor_from_vec(r.vec(I * H, 1.0), (I, H));
        let w2 = dev.tensor_from_vec(r.vec(H * O, 1.0), (H, O));
        Net { dev, x, w1, w2 }
    }

    fn loss(&self, c: &Compiled, w1: &[f32], p: Option<&[f32]>) -> f32 {
        let w1 = self.dev.tensor_from_vec(w1.to_vec(), (I, H));
        let h = self.x.clone().matmul(w1);
        let params: Vec<Tensor<(usize,), f32, Cpu>> = p
            .map(|p| self.dev.tensor_from_vec(p.to_vec(), (H,)))
            .into_iter()
            .collect();
        let a = c.apply_with(h, params);
        a.matmul(self.w2.clone()).square().sum::<Rank0, _>().array()
    }

    fn preacts(&self) -> Vec<f32> {
        self.x.clone().matmul(self.w1.clone()).as_vec()
    }
}

fn gradient_check(name: &str, c: &Compiled, learn: bool) {
    // The first seed whose pre-activations are all at least 0.05 away from
    // every kink (finite differences step 0.01 through w1, |x| <= 2).
    let net = (0..1000)
        .map(Net::new)
        .find(|n| {
            n.preacts().iter().all(|v| {
                [-1.0f32, 0.0, 1.0, 6.0]
                    .iter()
                    .all(|k| (v - k).abs() > 0.05)
            })
        })
        .expect("a kink-free seed");
    let p0: Vec<f32> = (0..H).map(|u| 0.1 + 0.1 * u as f32).collect();
    let p_tensor = net.dev.tensor_from_vec(p0.clone(), (H,));
    let grads = {
        let h = net.x.leaky_trace().matmul(net.w1.clone());
        let params = if learn {
            vec![p_tensor.clone()]
        } else {
            Vec::new()
        };
        let a = c.apply_with(h, params);
        a.matmul(net.w2.clone())
            .square()
            .sum::<Rank0, _>()
            .backward()
    };
    let w1 = net.w1.as_vec();
    let g_w1 = grads.get(&net.w1).as_vec();
    let p = learn.then_some(p0.as_slice());
    let h = 1e-2f32;
    for i in 0..w1.len() {
        let (mut up, mut down) = (w1.clone(), w1.clone());
        up[i] += h;
        down[i] -= h;
        let fd = (net.loss(c, &up, p) - net.loss(c, &down, p)) / (2.0 * h);
        assert!(
            (fd - g_w1[i]).abs() <= 1e-2 * (1.0 + fd.abs()),
            "{name}: dL/dw1[{i}] = {}, finite differences give {fd}",
            g_w1[i]
        );
    }
    if learn {
        let g_p = grads.get(&p_tensor).as_vec();
        assert!(
            g_p.iter().any(|g| g.abs() > 1e-3),
            "{name}: the parameter gradient is all zero"
        );
        for u in 0..H {
            let (mut up, mut down) = (p0.clone(), p0.clone());
            up[u] += h;
            down[u] -= h;
            let fd = (net.loss(c, &w1, Some(&up)) - net.loss(c, &w1, Some(&down))) / (2.0 * h);
            assert!(
                (fd - g_p[u]).abs() <= 1e-2 * (1.0 + fd.abs()),
                "{name}: dL/dp[{u}] = {}, finite differences give {fd}",
                g_p[u]
            );
        }
    }
}

#[test]
fn activation_gradients_through_a_two_layer_network() {
    for &name in REQUIRED {
        gradient_check(name, &compiled(name), false);
    }
}

#[test]
fn activation_learnable_parameter_gradients_through_a_two_layer_network() {
    gradient_check("prelu", &compiled("prelu"), true);
    // A smooth learnable parameter too: swish with a learned beta.
    let c = Compiled::new(&ActivationConfig {
        name: "swish_beta".into(),
        formula: "x * sigmoid(beta * x)".into(),
        params: [("beta".to_string(), 1.0)].into_iter().collect(),
        learnable: vec!["beta".into()],
        derivative: None,
    })
    .unwrap();
    gradient_check("swish_beta", &c, true);
}

#[test]
fn activation_fused_op_matches_the_slice_kernels_without_a_tape() {
    let dev = Cpu::default();
    let c = compiled("gelu");
    let xs: Vec<f32> = (0..4 * 70).map(|i| i as f32 * 0.03 - 4.0).collect();
    let t = dev.tensor_from_vec(xs.clone(), (4, 70));
    let got = c.apply(t).as_vec();
    let mut want = vec![0.0; xs.len()];
    c.forward(&xs, &mut want);
    assert_eq!(got, want);
}

fn def(formula: &str) -> Definition {
    Definition {
        name: "fuzz".into(),
        formula: formula.into(),
        params: BTreeMap::from([("alpha".to_string(), 0.5)]),
        learnable: vec!["alpha".into()],
        derivative: None,
        description: String::new(),
        reference: String::new(),
        allow_nonfinite: false,
        origin: Origin::User,
    }
}

const PIECES: &[&str] = &[
    "x", "alpha", "pi", "e", "1", "0", "2.5", "1e-3", "1e", ".5", "(", ")", ",", "+", "-", "*",
    "/", "^", "<", "<=", ">", "==", "!=", "max", "min", "clamp", "where", "exp", "ln", "sqrt",
    "abs", "sign", "sigmoid", "softplus", "erf", "step", "foo", "$", "é",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn activation_parser_never_panics_on_arbitrary_text(s in "\\PC{0,80}") {
        let _ = check_definition(&def(&s));
    }

    #[test]
    fn activation_parser_never_panics_on_token_soup(
        toks in prop::collection::vec(prop::sample::select(PIECES), 0..60)
    ) {
        let src = toks.join(" ");
        if let Err(e) = check_definition(&def(&src)) {
            prop_assert!(e.span.start <= e.span.end && e.span.end <= src.len(), "{e:?} for {src}");
            prop_assert!(src.is_char_boundary(e.span.start) && src.is_char_boundary(e.span.end));
        }
    }
}

#[test]
fn activation_fused_op_accepts_non_contiguous_input() {
    let dev = Cpu::default();
    let c = compiled("softsign");
    let xs: Vec<f32> = (0..12).map(|i| i as f32 - 5.5).collect();
    let t = dev.tensor_from_vec(xs, (3, 4));
    let transposed = t.permute::<_, Axes2<1, 0>>();
    let logical = transposed.as_vec();
    let got = c.apply(transposed).as_vec();
    let want: Vec<f32> = logical.iter().map(|x| x / (1.0 + x.abs())).collect();
    assert_eq!(got, want);
}
