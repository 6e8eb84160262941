#!/usr/bin/env python3
"""The hand-written derivatives of silu, swish, mish, gelu and gelu_tanh in
src/activation/builtins.toml: prints their `derivative = ...` lines.

Each of these derivatives has a zero (silu' at x = -1.2785, mish' at -1.1924,
gelu' at -0.7518, gelu_tanh' at -0.7525) where it is the difference of two
terms of about the same size, so any float32 evaluation of the textbook form
loses its digits near there (thousands of ulp, PyTorch's included). Within
WINDOW of the zero r the derivative is instead computed as its Taylor
polynomial in t = x - r, with r split into a float32 part and a remainder so
that t is exact to float32 rounding; its coefficients are computed here with
mpmath at 50 digits, and the degree is the lowest whose truncation error on
the window is below 2^-27 of the derivative. Outside the window a form that
does not cancel (or cancels less) than the symbolic derivative is used.

Usage (needs mpmath): python3 scripts/derivative_patches.py
"""

import mpmath as mp

mp.mp.dps = 50
WINDOW = mp.mpf("0.5")
TRUNCATION = mp.mpf(2) ** -27


def sigmoid(u):
    return 1 / (1 + mp.exp(-u))


A = mp.sqrt(2 / mp.pi)
B = mp.mpf("0.044715")

# name: (f'(u) at default parameters, a guess of its zero, the variable u
# as the formula language writes it, the derivative outside the window)
FUNCTIONS = {
    "silu": (
        lambda u: sigmoid(u) * (1 + u * sigmoid(-u)),
        -1.28,
        "beta * x",
        "sigmoid(beta * x) * where(beta * x < 0, (1 + beta * x) - beta * x * sigmoid(beta * x), "
        "1 + beta * x * sigmoid(-beta * x))",
    ),
    "mish": (
        lambda x: mp.tanh(mp.log1p(mp.exp(x)))
        + x * sigmoid(x) * (1 - mp.tanh(mp.log1p(mp.exp(x))) ** 2),
        -1.19,
        "x",
        # x < 0: with e = exp(x), tanh(softplus(x)) = e (e + 2) / (e (e + 2) + 2),
        # and the derivative's numerator gathers into 4 (1 + x) + e (...),
        # whose terms cancel less than tanh(softplus(x)) + x sigmoid(x) sech^2.
        # x >= 0: the same in exp(-x), every term positive.
        "where(x < 0, exp(x) * (4 * (1 + x) + exp(x) * (6 + 4 * x + exp(x) * (4 + exp(x)))) "
        "/ (exp(x) * (exp(x) + 2) + 2)^2, (1 + 2 * exp(-x)) / (1 + 2 * exp(-x) + 2 * exp(-x)^2) "
        "+ 4 * x * exp(-x)^2 * (1 + exp(-x)) / (1 + 2 * exp(-x) + 2 * exp(-x)^2)^2)",
    ),
    "gelu": (
        lambda x: mp.ncdf(x) + x * mp.npdf(x),
        -0.75,
        "x",
        # -(x / sqrt(2)), as the compiler rewrites the formula's 1 + erf(x / sqrt(2)),
        # so that the value and the derivative share one erfc.
        "0.5 * erfc(-(x / sqrt(2))) + x * exp(-0.5 * x^2) / sqrt(2 * pi)",
    ),
    "gelu_tanh": (
        lambda x: sigmoid(2 * A * (x + B * x**3))
        * (1 + 2 * x * A * (1 + 3 * B * x**2) * sigmoid(-2 * A * (x + B * x**3))),
        -0.75,
        "x",
        # f = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3); with v = 2 x u',
        # f' = sigmoid(2u) (1 + v sigmoid(-2u)), and for x < 0
        # 1 + v sigmoid(-2u) = (1 + v) - v sigmoid(2u).
        "sigmoid(2 * sqrt(2 / pi) * (x + 0.044715 * x^3)) * where(x < 0, "
        "(1 + 2 * x * sqrt(2 / pi) * (1 + 0.134145 * x^2)) "
        "- 2 * x * sqrt(2 / pi) * (1 + 0.134145 * x^2) * sigmoid(2 * sqrt(2 / pi) * (x + 0.044715 * x^3)), "
        "1 + 2 * x * sqrt(2 / pi) * (1 + 0.134145 * x^2) * sigmoid(-2 * sqrt(2 / pi) * (x + 0.044715 * x^3)))",
    ),
}


def f32(v):
    """v rounded to float32, as an mpf."""
    import struct

    return mp.mpf(struct.unpack("f", struct.pack("f", float(v)))[0])


def taylor(h, r):
    """Coefficients c_1..c_K of h around r, K the lowest degree that meets TRUNCATION."""
    c = mp.taylor(h, r, 30)
    for k in range(1, 30):
        poly = list(reversed(c[1 : k + 1])) + [0]
        worst = max(
            abs(h(r + s * WINDOW * f) - mp.polyval(poly, s * WINDOW * f)) / abs(h(r + s * WINDOW * f))
            for s in (-1, 1)
            for f in (mp.mpf(1) / 4, mp.mpf(1) / 2, 1)
        )
        if worst < TRUNCATION:
            return c[1 : k + 1]
    raise SystemExit("no degree up to 29 is accurate enough")


def derivative(name):
    h, guess, u, outside = FUNCTIONS[name]
    r = mp.findroot(h, guess)
    hi = f32(r)
    lo = r - hi
    t = f"(({u} {signed(-hi, 17)}) {signed(-lo, 9)})"
    coefficients = taylor(h, r)
    poly = f"{mp.nstr(coefficients[-1], 9)}"
    for c in reversed(coefficients[:-1]):
        poly = f"{mp.nstr(c, 9)} + {t} * ({poly})"
    return (
        f"where(abs({t}) < {mp.nstr(WINDOW, 3)},\n"
        f"    {t} * ({poly}),\n"
        f"    {outside})"
    )


def signed(v, digits):
    """`+ v` or `- |v|`, to `digits` significant digits."""
    return f"+ {mp.nstr(v, digits)}" if v >= 0 else f"- {mp.nstr(-v, digits)}"


def main():
    for name in FUNCTIONS:
        print(f"[{name}]")
        print(f'derivative = """{derivative(name)}"""')


if __name__ == "__main__":
    main()
