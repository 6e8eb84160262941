//! Exact symbolic derivatives on the expression DAG.
//!
//! [`derivative`] differentiates with respect to `x` or one learnable
//! parameter. It walks the node ids in increasing order (a topological order),
//! so it needs no recursion and every shared sub-expression is differentiated
//! once. The [`Graph`] constructors simplify as nodes are built, so the
//! derivative of `max(x, 0)` is simply `where(x > 0, 1, 0)`.
//!
//! `where` differentiates the branch it picks, which fixes every kink
//! convention (see the [module docs](super)); `abs' = sign`, `sign' = step' = 0`.

use super::{Cmp, Fn1, Fn2, Graph, Id, Node};

/// What to differentiate with respect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrt {
    /// The input `x`.
    X,
    /// The k-th learnable parameter.
    Param(u32),
}

/// The derivative of `root` with respect to `wrt`, as a node of `g`.
pub fn derivative(g: &mut Graph, root: Id, wrt: Wrt) -> Id {
    let n = root as usize + 1;
    let mut d: Vec<Id> = Vec::with_capacity(n);
    for i in 0..n {
        let id = i as Id;
        let di = match g.node(id) {
            Node::Const(_) => g.num(0.0),
            Node::X => g.num(if wrt == Wrt::X { 1.0 } else { 0.0 }),
            Node::Param(k) => g.num(if wrt == Wrt::Param(k) { 1.0 } else { 0.0 }),
            Node::Un(f, a) => {
                let da = d[a as usize];
                if g.as_const(da) == Some(0.0) {
                    g.num(0.0)
                } else {
                    let inner = un_derivative(g, f, a, id);
                    g.bin(Fn2::Mul, da, inner)
                }
            }
            Node::Bin(f, a, b) => {
                let (da, db) = (d[a as usize], d[b as usize]);
                match f {
                    Fn2::Add => g.bin(Fn2::Add, da, db),
                    Fn2::Sub => g.bin(Fn2::Sub, da, db),
                    Fn2::Mul => {
                        let l = g.bin(Fn2::Mul, da, b);
                        let r = g.bin(Fn2::Mul, a, db);
                        g.bin(Fn2::Add, l, r)
                    }
                    Fn2::Div if g.as_const(db) == Some(0.0) => g.bin(Fn2::Div, da, b),
                    Fn2::Div => {
                        // (a/b)' = ((a' b - a b') / b) / b: one numerator, so
                        // terms that cancel exactly do so symbolically (for
                        // softsign, (1 + |x|) - x sign(x) = 1) instead of in
                        // f32, as in a'/b - (a/b) b'/b; dividing twice keeps
                        // b^2 from overflowing.
                        let l = g.bin(Fn2::Mul, da, b);
                        let r = g.bin(Fn2::Mul, a, db);
                        let n = g.bin(Fn2::Sub, l, r);
                        let q = g.bin(Fn2::Div, n, b);
                        g.bin(Fn2::Div, q, b)
                    }
                    Fn2::Pow => {
                        if let Some(c) = g.as_const(b) {
                            // (a^c)' = c * a^(c-1) * a'
                            let cm1 = g.num(c - 1.0);
                            let p = g.bin(Fn2::Pow, a, cm1);
                            let cc = g.num(c);
                            let k = g.bin(Fn2::Mul, cc, p);
                            g.bin(Fn2::Mul, k, da)
                        } else {
                            // (a^b)' = a^b * (b' ln a + b a'/a)
                            let ln = g.un(Fn1::Ln, a);
                            let l = g.bin(Fn2::Mul, db, ln);
                            let q = g.bin(Fn2::Div, da, a);
                            let r = g.bin(Fn2::Mul, b, q);
                            let s = g.bin(Fn2::Add, l, r);
                            g.bin(Fn2::Mul, id, s)
                        }
                    }
                }
            }
            Node::Where(c, l, r, t, f) => {
                let (dt, df) = (d[t as usize], d[f as usize]);
                g.where_(c, l, r, dt, df)
            }
        };
        d.push(di);
    }
    d[root as usize]
}

/// f'(a) for `node = f(a)`, without the chain-rule factor.
fn un_derivative(g: &mut Graph, f: Fn1, a: Id, node: Id) -> Id {
    match f {
        Fn1::Neg => g.num(-1.0),
        Fn1::Exp => node,
        // Not expm1(a) + 1, which loses e^a where it is small.
        Fn1::Expm1 => g.un(Fn1::Exp, a),
        Fn1::Ln => {
            let one = g.num(1.0);
            g.bin(Fn2::Div, one, a)
        }
        Fn1::Log1p => {
            let one = g.num(1.0);
            let s = g.bin(Fn2::Add, one, a);
            g.bin(Fn2::Div, one, s)
        }
        Fn1::Sqrt => {
            let half = g.num(0.5);
            g.bin(Fn2::Div, half, node)
        }
        Fn1::Abs => g.un(Fn1::Sign, a),
        Fn1::Sign | Fn1::Step => g.num(0.0),
        Fn1::Sin => g.un(Fn1::Cos, a),
        Fn1::Cos => {
            let s = g.un(Fn1::Sin, a);
            g.un(Fn1::Neg, s)
        }
        // tanh'(a) = 1 - tanh(a)^2 = 4 sigmoid'(2a). 1 - tanh(a)^2 is the
        // more accurate for |a| < 1/2 (tanh(a)^2 < 0.22: no cancellation),
        // but tanh(a)'s rounding near ±1 leaves it few correct digits
        // beyond; there the logistic form.
        Fn1::Tanh => {
            let one = g.num(1.0);
            let sq = g.bin(Fn2::Mul, node, node);
            let near = g.bin(Fn2::Sub, one, sq);
            let two_a = g.times(2.0, a);
            let d = logistic_density(g, two_a);
            let four = g.num(4.0);
            let far = g.bin(Fn2::Mul, four, d);
            let aa = g.un(Fn1::Abs, a);
            let half = g.num(0.5);
            g.where_(Cmp::Lt, aa, half, near, far)
        }
        // sigmoid(a) (1 - sigmoid(a)), without the cancellation in 1 - sigmoid(a).
        Fn1::Sigmoid => logistic_density(g, a),
        Fn1::Softplus => g.un(Fn1::Sigmoid, a),
        Fn1::Erf | Fn1::Erfc => {
            let k = 2.0 / std::f64::consts::PI.sqrt();
            let k = g.num(if f == Fn1::Erf { k } else { -k });
            let sq = g.bin(Fn2::Mul, a, a);
            let n = g.un(Fn1::Neg, sq);
            let e = g.un(Fn1::Exp, n);
            g.bin(Fn2::Mul, k, e)
        }
        Fn1::Atan => {
            let one = g.num(1.0);
            let sq = g.bin(Fn2::Mul, a, a);
            let s = g.bin(Fn2::Add, one, sq);
            g.bin(Fn2::Div, one, s)
        }
    }
}

/// The logistic density sigmoid'(v) = s (1 - s) with s = sigmoid(-|v|)
/// (the density is even): s is at most 1/2, so 1 - s does not cancel, and
/// the form is accurate for every v.
fn logistic_density(g: &mut Graph, v: Id) -> Id {
    let av = g.un(Fn1::Abs, v);
    let n = g.un(Fn1::Neg, av);
    let s = g.un(Fn1::Sigmoid, n);
    let one = g.num(1.0);
    let c = g.bin(Fn2::Sub, one, s);
    g.bin(Fn2::Mul, s, c)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::parse::{parse, Binding};
    use super::*;

    fn d_at(src: &str, x: f64) -> f64 {
        let mut g = Graph::new();
        let r = parse(src, &BTreeMap::<String, Binding>::new(), &mut g).unwrap();
        let d = derivative(&mut g, r, Wrt::X);
        g.eval(&[d], x, &[])[0]
    }

    #[test]
    fn kinks_follow_pytorch() {
        assert_eq!(d_at("max(x, 0)", 0.0), 0.0);
        assert_eq!(d_at("max(x, 0)", 1.0), 1.0);
        assert_eq!(d_at("clamp(x, 0, 6)", 0.0), 0.0);
        assert_eq!(d_at("clamp(x, 0, 6)", 6.0), 0.0);
        assert_eq!(d_at("clamp(x, 0, 6)", 3.0), 1.0);
        assert_eq!(d_at("abs(x)", 0.0), 0.0);
        assert_eq!(d_at("where(x > 0, x, 0.1 * x)", 0.0), 0.1);
        assert_eq!(d_at("step(x) + sign(x)", 0.0), 0.0);
    }

    #[test]
    fn derivatives_of_smooth_functions() {
        assert!((d_at("x^3", 2.0) - 12.0).abs() < 1e-12);
        assert!((d_at("2^x", 1.0) - 2.0 * 2f64.ln()).abs() < 1e-12);
        assert!((d_at("1 / x", 2.0) + 0.25).abs() < 1e-12);
        assert!((d_at("sigmoid(x)", 0.0) - 0.25).abs() < 1e-12);
        assert!((d_at("ln(x)", 4.0) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn derivatives_that_would_cancel_take_stable_forms() {
        // softsign' = ((1 + |x|) - x sign(x)) / b / b: the numerator is 1.
        let mut g = Graph::new();
        let r = parse(
            "x / (1 + abs(x))",
            &BTreeMap::<String, Binding>::new(),
            &mut g,
        )
        .unwrap();
        let d = derivative(&mut g, r, Wrt::X);
        let Node::Bin(Fn2::Div, q, _) = g.node(d) else {
            panic!("{:?}", g.node(d));
        };
        let Node::Bin(Fn2::Div, n, _) = g.node(q) else {
            panic!("{:?}", g.node(q));
        };
        assert_eq!(g.as_const(n), Some(1.0));
        // tanh' and sigmoid' far out in the tails, where 1 - tanh^2 and
        // s (1 - s) round to 0 in f64.
        let sech2 = |x: f64| 1.0 / x.cosh().powi(2);
        assert!((d_at("tanh(x)", 25.0) / sech2(25.0) - 1.0).abs() < 1e-12);
        assert!((d_at("sigmoid(x)", 40.0) / (-40f64).exp() - 1.0).abs() < 1e-12);
        assert!(
            (d_at("1 - erf(x)", 3.0) + 2.0 / std::f64::consts::PI.sqrt() * (-9f64).exp()).abs()
                < 1e-15
        );
        assert_eq!(d_at("exp(x) - 1", 0.5), 0.5f64.exp());
    }

    #[test]
    fn long_chains_do_not_recurse() {
        let src = vec!["x"; 20_000].join(" * 1.0001 + ");
        assert!(d_at(&src, 0.5).is_finite());
    }
}
