#!/usr/bin/env python3
"""How accurate actsweep's activation kernels are, next to PyTorch's float32.

Reads the table of `actsweep activations --values` (the values and
derivatives computed by the training kernels), evaluates PyTorch's float32
functions and their autograd derivatives at the same float32 inputs, and
measures both against float64 references written by hand here in forms that
do not cancel (the same forms as tests/activation_accuracy.rs, written
independently of actsweep's formula compiler).

The error of a result y is |y - f(x)| / ulp(f(x) rounded to float32), with
ulp = 2^-149 for zero and subnormal results. A point counts as "worse" where
actsweep's error is above twice PyTorch's plus 4 ulp.

Usage (needs numpy, pyarrow and torch):

    cargo run --release -- activations --values acc.parquet --range -20,20 --points 400000
    python3 scripts/activation_accuracy.py acc.parquet

Prints a Markdown table, one row per built-in that PyTorch has.
"""

import math
import sys

import numpy as np
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F

SHARE_ULP = 4.0


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def dsigmoid(x):
    return sigmoid(x) * sigmoid(-x)


def softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def sech2(x):
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


ERFC = np.vectorize(math.erfc)


def phi_cdf(x):
    return 0.5 * ERFC(-x / math.sqrt(2.0))


def phi_pdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def reference(name, x):
    """(f(x), f'(x)) in float64 for a built-in with default parameters."""
    sa, ss = 1.6732632423543772, 1.0507009873554805
    pos = x > 0
    if name == "linear":
        return x, np.ones_like(x)
    if name == "relu":
        return np.maximum(x, 0.0), pos * 1.0
    if name == "leaky_relu":
        return np.where(pos, x, 0.01 * x), np.where(pos, 1.0, 0.01)
    if name == "prelu":
        return np.where(pos, x, 0.25 * x), np.where(pos, 1.0, 0.25)
    if name == "elu":
        return np.where(pos, x, np.expm1(np.minimum(x, 0))), np.where(pos, 1.0, np.exp(np.minimum(x, 0)))
    if name == "selu":
        xn = np.minimum(x, 0)
        return ss * np.where(pos, x, sa * np.expm1(xn)), ss * np.where(pos, 1.0, sa * np.exp(xn))
    if name == "gelu":
        return x * phi_cdf(x), phi_cdf(x) + x * phi_pdf(x)
    if name == "gelu_tanh":
        k = math.sqrt(2.0 / math.pi)
        u = k * (x + 0.044715 * x**3)
        du = k * (1.0 + 3.0 * 0.044715 * x * x)
        one_plus = 2.0 * sigmoid(2.0 * u)
        return 0.5 * x * one_plus, 0.5 * one_plus + 0.5 * x * sech2(u) * du
    if name in ("silu", "swish"):
        return x * sigmoid(x), sigmoid(x) + x * dsigmoid(x)
    if name == "mish":
        sp = softplus(x)
        return x * np.tanh(sp), np.tanh(sp) + x * sech2(sp) * sigmoid(x)
    if name == "sigmoid":
        return sigmoid(x), dsigmoid(x)
    if name == "tanh":
        return np.tanh(x), sech2(x)
    if name == "hard_tanh":
        return np.clip(x, -1.0, 1.0), ((x > -1) & (x < 1)) * 1.0
    if name == "softsign":
        d = 1.0 + np.abs(x)
        return x / d, 1.0 / (d * d)
    if name == "arctan":
        return np.arctan(x), 1.0 / (1.0 + x * x)
    if name == "softplus":
        return softplus(x), sigmoid(x)
    if name == "relu6":
        return np.clip(x, 0.0, 6.0), ((x > 0) & (x < 6)) * 1.0
    raise KeyError(name)


TORCH = {
    "linear": lambda t: t * 1.0,
    "relu": F.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "prelu": lambda t: F.prelu(t, torch.tensor([0.25], dtype=t.dtype)),
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "silu": F.silu,
    "swish": F.silu,
    "mish": F.mish,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "hard_tanh": F.hardtanh,
    "softsign": F.softsign,
    "arctan": torch.atan,
    "softplus": F.softplus,
    "relu6": F.relu6,
}


def torch_f32(name, x32):
    """PyTorch's float32 value and autograd derivative at x32."""
    t = torch.from_numpy(x32.copy()).requires_grad_(True)
    y = TORCH[name](t)
    y.backward(torch.ones_like(y))
    return y.detach().numpy(), t.grad.numpy()


def ulp_error(y, r):
    y = y.astype(np.float64)
    rf = np.abs(r.astype(np.float32)).astype(np.float64)
    _, e = np.frexp(rf)
    ulp = np.where(rf < np.finfo(np.float32).tiny, 2.0**-149, np.ldexp(1.0, e - 24))
    err = np.abs(y - r) / ulp
    return np.where(np.isnan(y) | np.isnan(r), np.where(np.isnan(y) & np.isnan(r), 0.0, np.inf), err)


def stats(err, x):
    i = int(np.argmax(err))
    return f"{err[i]:.3g} ({x[i]:.7g}), {100 * np.mean(err > SHARE_ULP):.3f}%"


def main(path):
    table = pq.read_table(path)
    col = {c: table.column(c).to_numpy(zero_copy_only=False) for c in table.column_names}
    names = col["activation"]
    print(f"torch {torch.__version__}; 'worse': actsweep's error > 2 x PyTorch's + 4 ulp\n")
    print("| activation | points | value: ours max ulp (at x), share > 4 ulp | value: PyTorch | "
          "d/dx: ours | d/dx: PyTorch | worse than PyTorch: value, d/dx |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in sorted(set(names)):
        if name not in TORCH:
            continue
        rows = names == name
        x32 = col["x"][rows].astype(np.float32)
        x = x32.astype(np.float64)
        r, dr = reference(name, x)
        ours_v = ulp_error(col["value"][rows].astype(np.float32), r)
        ours_d = ulp_error(col["derivative"][rows].astype(np.float32), dr)
        tv, td = torch_f32(name, x32)
        th_v, th_d = ulp_error(tv, r), ulp_error(td, dr)
        worse_v = np.mean(ours_v > 2 * th_v + 4) * 100
        worse_d = np.mean(ours_d > 2 * th_d + 4) * 100
        print(f"| {name} | {len(x)} | {stats(ours_v, x)} | {stats(th_v, x)} | "
              f"{stats(ours_d, x)} | {stats(th_d, x)} | {worse_v:.3f}%, {worse_d:.3f}% |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
