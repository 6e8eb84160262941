//! The formula language: expressions in `x` and named parameters.
//!
//! A formula goes through three stages, one file each:
//!
//! 1. [`parse`]: a lexer and Pratt parser that resolves names (the input `x`,
//!    the constants `pi` and `e`, parameters, functions and their arity) and
//!    reports problems as [`FormulaError`]s with byte spans into the formula.
//! 2. [`diff`]: exact symbolic derivatives with respect to `x` and to every
//!    learnable parameter, simplified as they are built.
//! 3. [`compile`]: a flat register program of `f32` operations evaluated over
//!    fixed-size chunks of a slice, with no allocation or recursion per element;
//!    its functions are the vectorised approximations of [`vecmath`].
//!
//! All stages share one expression DAG, [`Graph`]: every node is interned, so
//! common sub-expressions (the `max(x, lo)` inside a `clamp`, the `sigmoid(x)`
//! of a function and of its derivative) are computed once. Node constructors
//! fold constants and apply the usual identities (`0 * a = 0`, `1 * a = a`,
//! `a + 0 = a`, ...), which keeps derivatives short.
//!
//! Kink conventions (chosen to match PyTorch): `max(a, b)` is
//! `where(a > b, a, b)`, `min(a, b)` is `where(a < b, a, b)` and
//! `clamp(v, lo, hi)` is `min(max(v, lo), hi)`; `where` differentiates the
//! branch it picks, so at a tie the derivative is the second argument's:
//! relu'(0) = d/dx max(x, 0) = 0, clamp' is 0 at both boundaries, and
//! leaky_relu'(0) = alpha. `abs'(0) = 0` (its derivative is `sign`), and
//! `sign' = step' = 0` everywhere. `step(0) = 0`, `sign(0) = 0`.

pub mod compile;
pub mod diff;
pub mod parse;
pub mod vecmath;

use std::collections::HashMap;
use std::ops::Range;

/// A problem with a formula, located in the formula's text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct FormulaError {
    /// What is wrong, in one sentence.
    pub message: String,
    /// Byte range within the formula string.
    pub span: Range<usize>,
    /// What to do about it (`did you mean ...`).
    pub help: Option<String>,
    /// The span is in the definition's `derivative`, not its `formula`.
    pub in_derivative: bool,
}

impl FormulaError {
    pub(crate) fn new(message: impl Into<String>, span: Range<usize>) -> Self {
        FormulaError {
            message: message.into(),
            span,
            help: None,
            in_derivative: false,
        }
    }

    /// Marks the error as one in the definition's `derivative`.
    pub(crate) fn in_derivative(mut self) -> Self {
        self.in_derivative = true;
        self
    }

    pub(crate) fn help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

/// Index of a node in a [`Graph`]; operands always have smaller ids than the
/// nodes using them, so increasing id order is a topological order.
pub type Id = u32;

/// Functions of one argument (unary minus included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Fn1 {
    Neg,
    Exp,
    /// `e^a - 1`, accurate near 0.
    Expm1,
    Ln,
    Log1p,
    Sqrt,
    Abs,
    Sign,
    Step,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Softplus,
    Erf,
    /// `1 - erf(a)`, accurate where `erf` is near ±1.
    Erfc,
    Atan,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Fn2 {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// Comparisons, allowed as the condition of `where`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    /// Evaluates the comparison.
    #[inline(always)]
    pub fn test<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }
}

/// One node of the expression DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// A number (the bits of an `f64`, so nodes can be hashed).
    Const(u64),
    /// The input.
    X,
    /// The k-th learnable parameter (per unit at run time).
    Param(u32),
    /// `f(a)`.
    Un(Fn1, Id),
    /// `a op b`.
    Bin(Fn2, Id, Id),
    /// `where(l cmp r, t, f)`.
    Where(Cmp, Id, Id, Id, Id),
}

/// An interned, simplifying expression DAG.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<Node, Id>,
}

/// `f(a)` in `f64`, shared by constant folding and the reference interpreter.
pub fn apply1(f: Fn1, a: f64) -> f64 {
    match f {
        Fn1::Neg => -a,
        Fn1::Exp => a.exp(),
        Fn1::Expm1 => a.exp_m1(),
        Fn1::Ln => a.ln(),
        Fn1::Log1p => a.ln_1p(),
        Fn1::Sqrt => a.sqrt(),
        Fn1::Abs => a.abs(),
        Fn1::Sign => {
            if a > 0.0 {
                1.0
            } else if a < 0.0 {
                -1.0
            } else {
                a * 0.0
            }
        }
        Fn1::Step => {
            if a > 0.0 {
                1.0
            } else {
                a * 0.0
            }
        }
        Fn1::Sin => a.sin(),
        Fn1::Cos => a.cos(),
        Fn1::Tanh => a.tanh(),
        Fn1::Sigmoid => 1.0 / (1.0 + (-a).exp()),
        Fn1::Softplus => a.max(0.0) + (-a.abs()).exp().ln_1p(),
        Fn1::Erf => libm::erf(a),
        Fn1::Erfc => libm::erfc(a),
        Fn1::Atan => a.atan(),
    }
}

/// `a op b` in `f64`.
pub fn apply2(f: Fn2, a: f64, b: f64) -> f64 {
    match f {
        Fn2::Add => a + b,
        Fn2::Sub => a - b,
        Fn2::Mul => a * b,
        Fn2::Div => a / b,
        Fn2::Pow => a.powf(b),
    }
}

impl Graph {
    /// Which nodes `outputs` need, by id (up to the largest output): the
    /// outputs and, transitively, their operands.
    pub fn live(&self, outputs: &[Id]) -> Vec<bool> {
        let top = outputs.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut live = vec![false; top];
        for &o in outputs {
            live[o as usize] = true;
        }
        // Children have smaller ids: one backward sweep marks everything needed.
        for i in (0..top).rev() {
            if !live[i] {
                continue;
            }
            match self.node(i as Id) {
                Node::Un(_, a) => live[a as usize] = true,
                Node::Bin(_, a, b) => {
                    live[a as usize] = true;
                    live[b as usize] = true;
                }
                Node::Where(_, l, r, t, f) => {
                    for k in [l, r, t, f] {
                        live[k as usize] = true;
                    }
                }
                Node::Const(_) | Node::X | Node::Param(_) => {}
            }
        }
        live
    }

    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The node behind an id.
    pub fn node(&self, id: Id) -> Node {
        self.nodes[id as usize]
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn intern(&mut self, n: Node) -> Id {
        if let Some(&id) = self.index.get(&n) {
            return id;
        }
        let id = self.nodes.len() as Id;
        self.nodes.push(n);
        self.index.insert(n, id);
        id
    }

    /// The constant's value, if `id` is a constant.
    pub fn as_const(&self, id: Id) -> Option<f64> {
        match self.node(id) {
            Node::Const(b) => Some(f64::from_bits(b)),
            _ => None,
        }
    }

    /// A number.
    pub fn num(&mut self, v: f64) -> Id {
        // One zero: -0.0 and 0.0 fold to the same node.
        let v = if v == 0.0 { 0.0 } else { v };
        self.intern(Node::Const(v.to_bits()))
    }

    /// The input `x`.
    pub fn x(&mut self) -> Id {
        self.intern(Node::X)
    }

    /// The k-th learnable parameter.
    pub fn param(&mut self, k: u32) -> Id {
        self.intern(Node::Param(k))
    }

    /// `f(a)`, simplified.
    pub fn un(&mut self, f: Fn1, a: Id) -> Id {
        if let Some(c) = self.as_const(a) {
            return self.num(apply1(f, c));
        }
        match (f, self.node(a)) {
            (Fn1::Neg, Node::Un(Fn1::Neg, inner)) => inner,
            (Fn1::Ln, Node::Bin(Fn2::Add, p, q)) if self.as_const(p) == Some(1.0) => {
                self.un(Fn1::Log1p, q)
            }
            (Fn1::Ln, Node::Bin(Fn2::Add, p, q)) if self.as_const(q) == Some(1.0) => {
                self.un(Fn1::Log1p, p)
            }
            (Fn1::Ln, Node::Bin(Fn2::Sub, p, q)) if self.as_const(p) == Some(1.0) => {
                let nq = self.un(Fn1::Neg, q);
                self.un(Fn1::Log1p, nq)
            }
            _ => self.intern(Node::Un(f, a)),
        }
    }

    /// `k * u` for k = ±2, folded into `u`'s constant factor when it has one
    /// (exact: scaling by a power of two).
    fn times(&mut self, k: f64, u: Id) -> Id {
        if let Node::Bin(Fn2::Mul, p, q) = self.node(u) {
            if let Some(c) = self.as_const(p) {
                let kc = self.num(k * c);
                return self.bin(Fn2::Mul, kc, q);
            }
            if let Some(c) = self.as_const(q) {
                let kc = self.num(k * c);
                return self.bin(Fn2::Mul, p, kc);
            }
        }
        let kn = self.num(k);
        self.bin(Fn2::Mul, kn, u)
    }

    /// `c + s * g` with c, s = ±1, rewritten when `g` is a function whose
    /// sum with ±1 cancels in `f32` (see the module docs): `exp(u) - 1` to
    /// `expm1(u)`, `1 ± tanh(u)` to `2 sigmoid(±2u)`, `1 ± erf(u)` to
    /// `erfc(∓u)`. `None` when no rewrite applies.
    fn accurate_sum(&mut self, c: f64, s: f64, g: Id) -> Option<Id> {
        let Node::Un(fg, u) = self.node(g) else {
            return None;
        };
        if c.abs() != 1.0 || s.abs() != 1.0 {
            return None;
        }
        // c + s g = c (1 + (s/c) g): the sign outside, then 1 ± g.
        let plus = s * c > 0.0;
        let inner = match fg {
            // 1 - exp(u) = -expm1(u); 1 + exp(u) does not cancel.
            Fn1::Exp if !plus => {
                let m = self.un(Fn1::Expm1, u);
                self.un(Fn1::Neg, m)
            }
            // 1 + tanh(u) = 2 sigmoid(2u), 1 - tanh(u) = 2 sigmoid(-2u).
            Fn1::Tanh => {
                let v = self.times(if plus { 2.0 } else { -2.0 }, u);
                let sg = self.un(Fn1::Sigmoid, v);
                let two = self.num(2.0);
                self.bin(Fn2::Mul, two, sg)
            }
            // 1 + erf(u) = erfc(-u), 1 - erf(u) = erfc(u).
            Fn1::Erf => {
                let v = if plus { self.un(Fn1::Neg, u) } else { u };
                self.un(Fn1::Erfc, v)
            }
            _ => return None,
        };
        Some(if c > 0.0 {
            inner
        } else {
            self.un(Fn1::Neg, inner)
        })
    }

    /// The rewrites of [`Graph::accurate_sum`] for `a op b`, and those that
    /// cancel terms exactly: `a * sign(a) = abs(a)`, `(p + q) - q = p`,
    /// `a - a = 0`.
    fn rewrite(&mut self, f: Fn2, a: Id, b: Id) -> Option<Id> {
        let (ca, cb) = (self.as_const(a), self.as_const(b));
        match f {
            Fn2::Add => match (ca, cb) {
                (Some(c), None) => self.accurate_sum(c, 1.0, b),
                (None, Some(c)) => self.accurate_sum(c, 1.0, a),
                _ => None,
            },
            Fn2::Sub => {
                if a == b {
                    return Some(self.num(0.0));
                }
                if let Node::Bin(Fn2::Add, p, q) = self.node(a) {
                    if q == b {
                        return Some(p);
                    }
                    if p == b {
                        return Some(q);
                    }
                }
                match (ca, cb) {
                    (Some(c), None) => self.accurate_sum(c, -1.0, b),
                    (None, Some(c)) => self.accurate_sum(-c, 1.0, a),
                    _ => None,
                }
            }
            Fn2::Mul => match (self.node(a), self.node(b)) {
                (_, Node::Un(Fn1::Sign, s)) if s == a => Some(self.un(Fn1::Abs, a)),
                (Node::Un(Fn1::Sign, s), _) if s == b => Some(self.un(Fn1::Abs, b)),
                _ => None,
            },
            _ => None,
        }
    }

    /// `a op b`, simplified.
    pub fn bin(&mut self, f: Fn2, a: Id, b: Id) -> Id {
        let (ca, cb) = (self.as_const(a), self.as_const(b));
        if let (Some(x), Some(y)) = (ca, cb) {
            return self.num(apply2(f, x, y));
        }
        if let Some(r) = self.rewrite(f, a, b) {
            return r;
        }
        match f {
            Fn2::Add => {
                if ca == Some(0.0) {
                    return b;
                }
                if cb == Some(0.0) {
                    return a;
                }
                if let Node::Un(Fn1::Neg, nb) = self.node(b) {
                    return self.bin(Fn2::Sub, a, nb);
                }
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                self.intern(Node::Bin(f, a, b))
            }
            Fn2::Sub => {
                if cb == Some(0.0) {
                    return a;
                }
                if ca == Some(0.0) {
                    return self.un(Fn1::Neg, b);
                }
                if let Node::Un(Fn1::Neg, nb) = self.node(b) {
                    return self.bin(Fn2::Add, a, nb);
                }
                self.intern(Node::Bin(f, a, b))
            }
            Fn2::Mul => {
                if ca == Some(0.0) || cb == Some(0.0) {
                    return self.num(0.0);
                }
                if ca == Some(1.0) {
                    return b;
                }
                if cb == Some(1.0) {
                    return a;
                }
                if ca == Some(-1.0) {
                    return self.un(Fn1::Neg, b);
                }
                if cb == Some(-1.0) {
                    return self.un(Fn1::Neg, a);
                }
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                self.intern(Node::Bin(f, a, b))
            }
            Fn2::Div => {
                if cb == Some(1.0) {
                    return a;
                }
                if ca == Some(0.0) {
                    return self.num(0.0);
                }
                self.intern(Node::Bin(f, a, b))
            }
            Fn2::Pow => match cb {
                Some(0.0) => self.num(1.0),
                Some(1.0) => a,
                Some(2.0) => self.bin(Fn2::Mul, a, a),
                Some(3.0) => {
                    let sq = self.bin(Fn2::Mul, a, a);
                    self.bin(Fn2::Mul, sq, a)
                }
                Some(-1.0) => {
                    let one = self.num(1.0);
                    self.bin(Fn2::Div, one, a)
                }
                Some(0.5) => self.un(Fn1::Sqrt, a),
                _ => self.intern(Node::Bin(f, a, b)),
            },
        }
    }

    /// `where(l cmp r, t, f)`, simplified.
    pub fn where_(&mut self, c: Cmp, l: Id, r: Id, t: Id, f: Id) -> Id {
        if t == f {
            return t;
        }
        if let (Some(a), Some(b)) = (self.as_const(l), self.as_const(r)) {
            return if c.test(a, b) { t } else { f };
        }
        self.intern(Node::Where(c, l, r, t, f))
    }

    /// Evaluates `root` in `f64` at `x` with learnable values `params`
    /// (the reference interpreter; slow, for checks and tests).
    pub fn eval(&self, roots: &[Id], x: f64, params: &[f64]) -> Vec<f64> {
        let top = roots.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut v = vec![0.0; top];
        for i in 0..top {
            v[i] = match self.nodes[i] {
                Node::Const(b) => f64::from_bits(b),
                Node::X => x,
                Node::Param(k) => params.get(k as usize).copied().unwrap_or(f64::NAN),
                Node::Un(f, a) => apply1(f, v[a as usize]),
                Node::Bin(f, a, b) => apply2(f, v[a as usize], v[b as usize]),
                Node::Where(c, l, r, t, f) => {
                    if c.test(v[l as usize], v[r as usize]) {
                        v[t as usize]
                    } else {
                        v[f as usize]
                    }
                }
            };
        }
        roots.iter().map(|&r| v[r as usize]).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::parse::{parse, Binding};
    use super::*;

    /// The root node of a parsed formula.
    fn root(src: &str) -> (Graph, Node) {
        let mut g = Graph::new();
        let r = parse(src, &BTreeMap::<String, Binding>::new(), &mut g).unwrap();
        let n = g.node(r);
        (g, n)
    }

    /// The function at the root, looking through a constant factor and a minus.
    fn outer_fn(src: &str) -> Fn1 {
        let (g, mut n) = root(src);
        loop {
            match n {
                Node::Un(Fn1::Neg, a) => n = g.node(a),
                Node::Un(f, _) => return f,
                Node::Bin(Fn2::Mul, a, b) if g.as_const(a).is_some() => n = g.node(b),
                Node::Bin(Fn2::Mul, a, b) if g.as_const(b).is_some() => n = g.node(a),
                other => panic!("{src}: {other:?}"),
            }
        }
    }

    #[test]
    fn sums_that_cancel_are_rewritten_to_accurate_functions() {
        for src in ["exp(x) - 1", "-1 + exp(x)", "1 - exp(2 * x)"] {
            assert_eq!(outer_fn(src), Fn1::Expm1, "{src}");
        }
        assert!(matches!(root("exp(x) + 1").1, Node::Bin(Fn2::Add, ..)));
        for src in ["ln(1 + x)", "log(x + 1)", "ln(1 - x)"] {
            assert_eq!(outer_fn(src), Fn1::Log1p, "{src}");
        }
        for src in ["1 + tanh(x)", "1 - tanh(x)", "tanh(x) - 1", "-1 - tanh(x)"] {
            assert_eq!(outer_fn(src), Fn1::Sigmoid, "{src}");
        }
        for src in ["1 + erf(x)", "1 - erf(x)", "erf(x) - 1"] {
            assert_eq!(outer_fn(src), Fn1::Erfc, "{src}");
        }
        // The rewrites are identities: same values as the plain forms.
        type Plain = fn(f64) -> f64;
        let cases: [(&str, Plain); 5] = [
            ("1 - exp(x)", |x: f64| 1.0 - x.exp()),
            ("tanh(x) - 1", |x: f64| x.tanh() - 1.0),
            ("-1 - tanh(3 * x)", |x: f64| -1.0 - (3.0 * x).tanh()),
            ("1 + erf(x)", |x: f64| 1.0 + libm::erf(x)),
            ("ln(1 - x)", |x: f64| (1.0 - x).ln()),
        ];
        for (src, plain) in cases {
            let mut g = Graph::new();
            let r = parse(src, &BTreeMap::<String, Binding>::new(), &mut g).unwrap();
            for x in [-0.7, -0.1, 0.3, 0.6] {
                let got = g.eval(&[r], x, &[])[0];
                assert!((got - plain(x)).abs() < 1e-12, "{src} at {x}: {got}");
            }
        }
    }

    #[test]
    fn exact_cancellations_are_symbolic() {
        let mut g = Graph::new();
        let x = g.x();
        let s = g.un(Fn1::Sign, x);
        let abs = g.un(Fn1::Abs, x);
        assert_eq!(g.bin(Fn2::Mul, x, s), abs);
        let one = g.num(1.0);
        let b = g.bin(Fn2::Add, one, abs);
        assert_eq!(g.bin(Fn2::Sub, b, abs), one);
        let zero = g.bin(Fn2::Sub, b, b);
        assert_eq!(g.as_const(zero), Some(0.0));
    }

    #[test]
    fn identities_simplify_and_nodes_are_shared() {
        let mut g = Graph::new();
        let x = g.x();
        let zero = g.num(0.0);
        let one = g.num(1.0);
        assert_eq!(g.bin(Fn2::Mul, one, x), x);
        assert_eq!(g.bin(Fn2::Add, x, zero), x);
        assert_eq!(g.bin(Fn2::Mul, zero, x), zero);
        let a = g.un(Fn1::Exp, x);
        let b = g.un(Fn1::Exp, x);
        assert_eq!(a, b);
        let two = g.num(2.0);
        let three = g.num(3.0);
        let five = g.bin(Fn2::Add, two, three);
        assert_eq!(g.as_const(five), Some(5.0));
        let n = g.un(Fn1::Neg, x);
        assert_eq!(g.un(Fn1::Neg, n), x);
    }
}
