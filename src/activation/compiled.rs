//! A resolved activation compiled for evaluation: slice kernels and exact derivatives.
//!
//! [`Compiled::new`] parses the formula of an [`ActivationConfig`], folds its
//! fixed parameters in as constants, differentiates it with respect to `x` and
//! every learnable parameter, and compiles three register programs: value
//! only, value and d/dx, and value with every derivative. The slice kernels
//! run them; [`crate::activation::op`] puts them on dfdx's tape.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::formula::compile::{Math, Params, Program};
use super::formula::diff::{derivative, Wrt};
use super::formula::parse::{parse, Binding};
use super::formula::{FormulaError, Graph, Id};
use super::ActivationConfig;

/// An activation ready to run: see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Compiled {
    name: String,
    learnable: Vec<String>,
    initial: Vec<f32>,
    graph: Graph,
    /// Value, d/dx, then d/dp for each learnable parameter.
    roots: Vec<Id>,
    value: Program,
    value_dx: Program,
    all: Program,
    /// Buffers for derivatives kept between forward and backward, reused
    /// across calls so that a training step does not fault in fresh pages.
    pub(crate) pool: Arc<BufferPool>,
}

/// A few reusable `f32` buffers (see [`Compiled`]'s `pool`).
#[derive(Debug, Default)]
pub(crate) struct BufferPool(Mutex<Vec<Vec<f32>>>);

impl BufferPool {
    const KEEP: usize = 8;

    /// A buffer of length `n` (contents unspecified, the kernels overwrite
    /// it), reusing a returned one when possible.
    pub(crate) fn take(&self, n: usize) -> Vec<f32> {
        let reused = match self.0.lock() {
            Ok(mut v) => v
                .iter()
                .position(|b| b.len() == n)
                .map(|i| v.swap_remove(i)),
            Err(_) => None,
        };
        reused.unwrap_or_else(|| vec![0.0; n])
    }

    /// Returns a buffer for reuse.
    pub(crate) fn give(&self, b: Vec<f32>) {
        if let Ok(mut v) = self.0.lock() {
            if v.len() < Self::KEEP {
                v.push(b);
            }
        }
    }
}

impl Compiled {
    /// Compiles a resolved activation.
    pub fn new(cfg: &ActivationConfig) -> Result<Compiled, FormulaError> {
        let mut names = BTreeMap::new();
        for (k, v) in &cfg.params {
            names.insert(k.clone(), Binding::Value(*v));
        }
        let mut initial = Vec::new();
        for (i, l) in cfg.learnable.iter().enumerate() {
            let Some(v) = cfg.params.get(l) else {
                return Err(FormulaError::new(
                    format!("learnable `{l}` is not a parameter"),
                    0..cfg.formula.len(),
                )
                .help(Some(format!("declare it with params = {{ {l} = 0.25 }}"))));
            };
            initial.push(*v as f32);
            names.insert(l.clone(), Binding::Learnable(i as u32));
        }
        let mut graph = Graph::new();
        let f = parse(&cfg.formula, &names, &mut graph)?;
        let dx = match &cfg.derivative {
            Some(d) => parse(d, &names, &mut graph).map_err(FormulaError::in_derivative)?,
            None => derivative(&mut graph, f, Wrt::X),
        };
        let mut roots = vec![f, dx];
        for k in 0..cfg.learnable.len() {
            roots.push(derivative(&mut graph, f, Wrt::Param(k as u32)));
        }
        let np = cfg.learnable.len();
        Ok(Compiled {
            name: cfg.name.clone(),
            learnable: cfg.learnable.clone(),
            initial,
            value: Program::new(&graph, &roots[..1], np),
            value_dx: Program::new(&graph, &roots[..2], np),
            all: Program::new(&graph, &roots, np),
            pool: Arc::default(),
            graph,
            roots,
        })
    }

    /// The same activation evaluated with per-element libm calls instead of
    /// the vectorised kernels: the reference for tests and benchmarks.
    pub fn with_reference_math(mut self) -> Compiled {
        for p in [&mut self.value, &mut self.value_dx, &mut self.all] {
            *p = p.clone().with_math(Math::Libm);
        }
        self
    }

    /// The activation's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Names of the learnable parameters, in the order kernels take them.
    pub fn learnable(&self) -> &[String] {
        &self.learnable
    }

    /// Initial values of the learnable parameters (their configured values).
    pub fn initial_params(&self) -> &[f32] {
        &self.initial
    }

    /// Operations per chunk of the value+d/dx program (a cost measure).
    pub fn ops(&self) -> usize {
        self.value_dx.len()
    }

    /// `out = f(x)`; learnable parameters take their initial values.
    ///
    /// # Panics
    /// If the slices' lengths differ.
    pub fn forward(&self, x: &[f32], out: &mut [f32]) {
        self.value
            .eval(Some(x), Params::Scalar(&self.initial), &mut [out]);
    }

    /// `out = f(x)`, `dx = f'(x)` in one pass; learnable parameters take their initial values.
    ///
    /// # Panics
    /// If the slices' lengths differ.
    pub fn forward_grad(&self, x: &[f32], out: &mut [f32], dx: &mut [f32]) {
        self.value_dx
            .eval(Some(x), Params::Scalar(&self.initial), &mut [out, dx]);
    }

    /// `out = f(x)` for a row-major `(batch, units)` matrix `x`, with one value
    /// per unit for each learnable parameter (`params[k].len() == units`).
    ///
    /// # Panics
    /// If the lengths do not fit together.
    pub fn forward_units(&self, x: &[f32], params: &[&[f32]], out: &mut [f32]) {
        self.value.eval(Some(x), self.per_unit(params), &mut [out]);
    }

    /// Like [`Compiled::forward_units`], also writing `dx = df/dx` and, per
    /// element, `dparams[k] = df/dp_k` (each as long as `x`).
    ///
    /// # Panics
    /// If the lengths do not fit together.
    pub fn forward_grad_units(
        &self,
        x: &[f32],
        params: &[&[f32]],
        out: &mut [f32],
        dx: &mut [f32],
        dparams: &mut [&mut [f32]],
    ) {
        assert_eq!(
            dparams.len(),
            self.learnable.len(),
            "one dparams slice per learnable parameter"
        );
        let mut outs: Vec<&mut [f32]> = vec![out, dx];
        outs.extend(dparams.iter_mut().map(|d| &mut **d));
        self.all.eval(Some(x), self.per_unit(params), &mut outs);
    }

    /// In place: `io` holds `x` and receives `f(x)`; derivatives as in
    /// [`Compiled::forward_grad_units`]; `None` computes the value only, and
    /// an empty `dparams` skips the parameter derivatives.
    pub(crate) fn run_in_place(
        &self,
        io: &mut [f32],
        params: &[&[f32]],
        derivs: Option<(&mut [f32], &mut [&mut [f32]])>,
    ) {
        let p = self.per_unit(params);
        match derivs {
            None => self.value.eval(None, p, &mut [io]),
            Some((dx, dps)) => {
                let value_dx_only = dps.is_empty();
                let mut outs: Vec<&mut [f32]> = vec![io, dx];
                outs.extend(dps.iter_mut().map(|d| &mut **d));
                if value_dx_only {
                    self.value_dx.eval(None, p, &mut outs);
                } else {
                    self.all.eval(None, p, &mut outs);
                }
            }
        }
    }

    fn per_unit<'a>(&'a self, params: &'a [&'a [f32]]) -> Params<'a> {
        if self.learnable.is_empty() {
            Params::Scalar(&[])
        } else if params.is_empty() {
            Params::Scalar(&self.initial)
        } else {
            Params::PerUnit(params)
        }
    }

    /// The expression DAG and its roots (value, d/dx, d/dp for each
    /// learnable parameter), for code generators such as [`super::cuda`].
    pub(crate) fn graph_roots(&self) -> (&Graph, &[Id]) {
        (&self.graph, &self.roots)
    }

    /// Reference evaluation in `f64` through the interpreter (slow; for checks,
    /// tests and plots): `[f, df/dx, df/dp_0, ...]` at `x` with learnable values `params`.
    pub fn eval_f64(&self, x: f64, params: &[f64]) -> Vec<f64> {
        self.graph.eval(&self.roots, x, params)
    }

    /// [`Compiled::eval_f64`] with the initial parameter values.
    pub fn eval_f64_default(&self, x: f64) -> Vec<f64> {
        let p: Vec<f64> = self.initial.iter().map(|&v| v as f64).collect();
        self.eval_f64(x, &p)
    }
}

/// An activation named `t` from a formula, fixed parameters and the names
/// of the learnable ones (for unit tests here and in the engine).
#[cfg(test)]
pub(crate) fn test_config(
    formula: &str,
    params: &[(&str, f64)],
    learnable: &[&str],
) -> ActivationConfig {
    ActivationConfig {
        name: "t".into(),
        formula: formula.into(),
        params: params.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        learnable: learnable.iter().map(|s| s.to_string()).collect(),
        derivative: None,
    }
}

#[cfg(test)]
mod tests {
    use super::test_config as cfg;
    use super::*;

    #[test]
    fn per_unit_parameters_follow_columns() {
        let c = Compiled::new(&cfg("where(x > 0, x, a * x)", &[("a", 0.25)], &["a"])).unwrap();
        let x = [-1.0, -2.0, 3.0, -4.0, -1.0, -1.0];
        let a = [0.1, 0.2, 0.3];
        let mut out = [0.0; 6];
        let mut dx = [0.0; 6];
        let mut da = [0.0; 6];
        c.forward_grad_units(&x, &[&a], &mut out, &mut dx, &mut [&mut da]);
        assert_eq!(out, [-0.1, -0.4, 3.0, -0.4, -0.2, -0.3]);
        assert_eq!(dx, [0.1, 0.2, 1.0, 0.1, 0.2, 0.3]);
        assert_eq!(da, [-1.0, -2.0, 0.0, -4.0, -1.0, -1.0]);
        let mut plain = [0.0; 6];
        c.forward(&x, &mut plain);
        assert_eq!(plain[0], -0.25);
    }

    #[test]
    fn fixed_parameters_fold_into_constants() {
        let c = Compiled::new(&cfg(
            "scale * alpha * x",
            &[("alpha", 2.0), ("scale", 3.0)],
            &[],
        ))
        .unwrap();
        assert_eq!(c.ops(), 1, "6 * x is one multiplication");
        let mut out = [0.0];
        c.forward(&[1.5], &mut out);
        assert_eq!(out, [9.0]);
    }
}
