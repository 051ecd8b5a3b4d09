"""Inference with BN (paper, Section 3.1 and Algorithm 2), derived with SymPy.

What is proven here:

* the expected biased batch variance of ``m`` i.i.d. samples is
  ``(m - 1)/m * sigma^2`` -- for explicit ``m`` by expanding the polynomial and
  applying linearity of expectation monomial by monomial, and for a symbolic
  ``m`` with ``Sum``/``KroneckerDelta`` -- so the paper's population estimate
  multiplies by ``m/(m - 1)``;
* the exponential moving average used by frameworks unrolls to a weighted sum
  whose weights add up to one, and its expectation approaches the expectation
  of what it averages;
* the inference transform is one affine map ``y = s*x + t``;
* that map folds into a preceding linear or convolution layer, with ``W'`` and
  ``b'`` *derived* by reading off coefficients, then compared to closed forms.

Nothing here assumes a distribution beyond independence and equal first and
second moments (no normality).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from bn.population import moving_average as cv
from bn.symbolic.batch import BATCH_SIZE, batch_mean, biased_batch_variance
from bn.symbolic.convolution import conv2d_expr

MU = sp.Symbol("mu", real=True)
SIGMA2 = sp.Symbol("sigma^2", positive=True)


# --- E[sigma^2_B] -------------------------------------------------------------------------------

def iid_moment(k: int, mu: sp.Expr = MU, sigma2: sp.Expr = SIGMA2) -> sp.Expr:
    """E[x^k] for one sample: 1, mu, mu^2 + sigma^2; higher raw moments stay symbolic (m_k)."""
    if k == 0:
        return sp.Integer(1)
    if k == 1:
        return mu
    if k == 2:
        return mu**2 + sigma2
    return sp.Symbol(f"m_{k}", real=True)


def iid_expectation(expr: sp.Expr, xs: Sequence[sp.Symbol],
                    moment: Callable[[int], sp.Expr] = iid_moment) -> sp.Expr:
    """E[expr] for a polynomial ``expr`` in i.i.d. samples ``xs``.

    Linearity turns E of a sum into a sum of E of monomials; independence turns
    E[x_1^a x_2^b ...] into E[x^a] E[x^b] ...; identical distribution makes every
    factor the same function ``moment`` of the exponent.
    """
    poly = sp.Poly(sp.expand(expr), *xs)
    total = sp.Integer(0)
    for exponents, coeff in poly.terms():
        term = coeff
        for k in exponents:
            term *= moment(k)
        total += term
    return sp.expand(total)


def expected_batch_variance(m: int) -> sp.Expr:
    """E[sigma^2_B] for a batch of ``m`` i.i.d. samples with mean mu and variance sigma^2."""
    xs = sp.symbols(f"x_1:{m + 1}", real=True)
    return sp.factor(iid_expectation(biased_batch_variance(xs), xs))


def prove_expected_batch_variance(m: int) -> sp.Expr:
    """Residual E[sigma^2_B] - (m-1)/m sigma^2 for explicit ``m`` (simplifies to 0)."""
    return sp.simplify(expected_batch_variance(m) - sp.Rational(m - 1, m) * SIGMA2)


def prove_bessel_correction(m: int) -> sp.Expr:
    """Residual E[m/(m-1) sigma^2_B] - sigma^2 (0: the paper's population variance is unbiased)."""
    return sp.simplify(sp.Rational(m, m - 1) * expected_batch_variance(m) - SIGMA2)


def expected_batch_variance_general() -> tuple[sp.Expr, sp.Symbol]:
    """E[sigma^2_B] for a *symbolic* batch size m, returned with the symbol m.

    Uses sigma^2_B = (1/m) sum_i x_i^2 - (1/m^2) sum_i sum_j x_i x_j and
    E[x_i x_j] = mu^2 + sigma^2 delta_ij (independence for i != j). SymPy sums the
    Kronecker delta to a Piecewise that depends on whether 1 <= i <= m; we refine it
    under exactly that assumption, which holds because i is a summation index over 1..m.
    """
    m = BATCH_SIZE
    i, j = sp.symbols("i j", integer=True)
    e_xixj = MU**2 + SIGMA2 * sp.KroneckerDelta(i, j)
    inner = sp.refine(sp.Sum(e_xixj, (j, 1, m)).doit(), sp.Q.ge(i, 1) & sp.Q.le(i, m))
    e_square_of_sum = sp.Sum(inner, (i, 1, m)).doit()
    e_sum_of_squares = sp.Sum(MU**2 + SIGMA2, (i, 1, m)).doit()
    return sp.factor(sp.simplify(e_sum_of_squares / m - e_square_of_sum / m**2)), m


def prove_expected_batch_variance_general() -> sp.Expr:
    """Residual of E[sigma^2_B] = (m-1)/m sigma^2 for symbolic m (simplifies to 0)."""
    expectation, m = expected_batch_variance_general()
    return sp.simplify(expectation - (m - 1) / m * SIGMA2)


def prove_expected_batch_mean(m: int) -> sp.Expr:
    """Residual E[mu_B] - mu (0: the average of batch means estimates E[x])."""
    xs = sp.symbols(f"x_1:{m + 1}", real=True)
    return sp.simplify(iid_expectation(batch_mean(xs), xs) - MU)


# --- moving averages ------------------------------------------------------------------------------

def ema_recursive(initial: sp.Expr, values: Sequence[sp.Expr], new_weight: sp.Expr) -> sp.Expr:
    """vhat_t = (1 - alpha) vhat_{t-1} + alpha v_t applied to ``values`` in order (alpha = ``new_weight``)."""
    r = initial
    for v in values:
        r = (1 - new_weight) * r + new_weight * v
    return r


def ema_unrolled(initial: sp.Expr, values: Sequence[sp.Expr], new_weight: sp.Expr) -> sp.Expr:
    """The same average written out: (1-alpha)^T vhat_0 + sum_t alpha (1-alpha)^(T-t) v_t, t = 1..T."""
    T = len(values)
    keep = 1 - new_weight
    return keep**T * initial + sum(new_weight * keep ** (T - t) * v for t, v in enumerate(values, 1))


def prove_ema_unrolled(T: int) -> sp.Expr:
    """Residual between the recursion and its unrolled form after ``T`` updates (0)."""
    alpha, v0 = sp.symbols("alpha vhat_0", real=True)
    vs = sp.symbols(f"v_1:{T + 1}", real=True)
    return sp.expand(ema_recursive(v0, vs, alpha) - ema_unrolled(v0, vs, alpha))


def ema_weight_sum() -> tuple[sp.Expr, sp.Symbol, sp.Symbol]:
    """(1-alpha)^T + sum_{t=1}^T alpha (1-alpha)^(T-t) for symbolic T, with (alpha, T).

    alpha is taken in (0, 1) through ``keep = 1 - alpha`` positive and != 1, so that
    SymPy sums the geometric series without a special case.
    """
    alpha = sp.Symbol("alpha", positive=True)
    T = sp.Symbol("T", integer=True, positive=True)
    t = sp.Symbol("t", integer=True)
    weights = (1 - alpha) ** T + sp.Sum(alpha * (1 - alpha) ** (T - t), (t, 1, T)).doit()
    return weights, alpha, T


def prove_ema_weights_sum_to_one() -> sp.Expr:
    """Residual of 'the unrolled weights add up to 1' for symbolic T and alpha (0)."""
    weights, _, _ = ema_weight_sum()
    # doit() may return a Piecewise on the ratio being 1; piecewise_fold lets simplify see every branch.
    return sp.simplify(sp.piecewise_fold(weights) - 1)


def expected_ema(initial: sp.Expr, mean: sp.Expr) -> tuple[sp.Expr, sp.Symbol, sp.Symbol]:
    """E[vhat_T] when every v_t has expectation ``mean``: (1-alpha)^T vhat_0 + (1 - (1-alpha)^T) mean."""
    alpha = sp.Symbol("alpha", positive=True)
    T = sp.Symbol("T", integer=True, positive=True)
    t = sp.Symbol("t", integer=True)
    e = (1 - alpha) ** T * initial + sp.Sum(alpha * (1 - alpha) ** (T - t) * mean, (t, 1, T)).doit()
    return sp.piecewise_fold(e), alpha, T


def prove_expected_ema() -> sp.Expr:
    """Residual of E[vhat_T] = mean + (1-alpha)^T (vhat_0 - mean): the bias decays geometrically (0)."""
    v0, mean = sp.symbols("vhat_0 v_bar", real=True)
    e, alpha, T = expected_ema(v0, mean)
    return sp.simplify(e - (mean + (1 - alpha) ** T * (v0 - mean)))


# --- the inference transform as one affine map ------------------------------------------------------

def inference_symbols() -> dict[str, sp.Symbol]:
    """x, gamma, beta, the population mean E[x] and variance Var[x], epsilon."""
    return {
        "x": sp.Symbol("x", real=True),
        "gamma": sp.Symbol("gamma", real=True),
        "beta": sp.Symbol("beta", real=True),
        "mean": sp.Symbol("E[x]", real=True),
        "var": sp.Symbol("Var[x]", positive=True),
        "eps": sp.Symbol("epsilon", positive=True),
    }


def inference_transform(x: sp.Expr, gamma: sp.Expr, beta: sp.Expr, mean: sp.Expr, var: sp.Expr,
                        eps: sp.Expr) -> sp.Expr:
    """y = gamma (x - E[x]) / sqrt(Var[x] + eps) + beta, as the paper writes it (Section 3.1)."""
    return gamma * (x - mean) / sp.sqrt(var + eps) + beta


def inference_affine_coefficients(gamma: sp.Expr, beta: sp.Expr, mean: sp.Expr, var: sp.Expr,
                                  eps: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(scale, shift) of the inference map, read off from the transform itself.

    The scale is dy/dx and the shift is y at x = 0; both are derived from
    :func:`inference_transform`, not typed in, so they always match it.
    """
    x = sp.Dummy("x")
    y = inference_transform(x, gamma, beta, mean, var, eps)
    return sp.simplify(sp.diff(y, x)), sp.simplify(y.subs(x, 0))


def prove_inference_is_affine() -> dict[str, sp.Expr]:
    """Residuals: y - (scale x + shift), and each coefficient minus Algorithm 2's closed form."""
    s = inference_symbols()
    y = inference_transform(s["x"], s["gamma"], s["beta"], s["mean"], s["var"], s["eps"])
    scale, shift = inference_affine_coefficients(s["gamma"], s["beta"], s["mean"], s["var"], s["eps"])
    denom = sp.sqrt(s["var"] + s["eps"])
    return {
        "affine": sp.simplify(y - (scale * s["x"] + shift)),
        "scale": sp.simplify(scale - s["gamma"] / denom),
        "shift": sp.simplify(shift - (s["beta"] - s["gamma"] * s["mean"] / denom)),
        "second_derivative": sp.diff(y, s["x"], 2),
    }


# --- folding into a linear layer -----------------------------------------------------------------

def _column(name: str, n: int, **assumptions: bool) -> sp.Matrix:
    return sp.Matrix(sp.symbols(f"{name}_1:{n + 1}", **assumptions))


def fold_symbols(out_features: int, in_features: int) -> dict[str, sp.Matrix]:
    """W (k x d), b, u and per-output BN parameters gamma, beta, running mean and variance."""
    k, d = out_features, in_features
    return {
        "W": sp.Matrix(k, d, lambda i, j: sp.Symbol(f"W_{i + 1}{j + 1}", real=True)),
        "b": _column("b", k, real=True),
        "u": _column("u", d, real=True),
        "gamma": _column("gamma", k, real=True),
        "beta": _column("beta", k, real=True),
        "mean": _column("mu", k, real=True),
        "var": _column("v", k, positive=True),
        "eps": sp.Matrix([sp.Symbol("epsilon", positive=True)]),
    }


def linear_then_bn(s: dict[str, sp.Matrix]) -> sp.Matrix:
    """y = BN_inference(W u + b), one output per row."""
    z = s["W"] * s["u"] + s["b"]
    eps = s["eps"][0]
    return sp.Matrix([inference_transform(z[i], s["gamma"][i], s["beta"][i], s["mean"][i], s["var"][i], eps)
                      for i in range(z.rows)])


def derive_folded_linear(s: dict[str, sp.Matrix]) -> tuple[sp.Matrix, sp.Matrix]:
    """(W', b') read off from y(u): W' is the Jacobian dy/du, b' is y at u = 0.

    Because y is affine in u, these two coefficients reproduce y exactly.
    """
    y = linear_then_bn(s)
    w_folded = y.jacobian(s["u"]).applyfunc(sp.simplify)
    b_folded = y.subs({ui: 0 for ui in s["u"]}).applyfunc(sp.simplify)
    return w_folded, b_folded


def folded_linear_closed_form(s: dict[str, sp.Matrix]) -> tuple[sp.Matrix, sp.Matrix]:
    """W' = diag(gamma/sqrt(var+eps)) W,  b' = gamma (b - mean)/sqrt(var+eps) + beta."""
    eps = s["eps"][0]
    scale = sp.Matrix([g / sp.sqrt(v + eps) for g, v in zip(s["gamma"], s["var"])])
    w_folded = sp.diag(*scale) * s["W"]
    b_folded = sp.Matrix([scale[i] * (s["b"][i] - s["mean"][i]) + s["beta"][i] for i in range(len(scale))])
    return w_folded, b_folded


def prove_fold_linear(out_features: int = 2, in_features: int = 3) -> dict[str, sp.Matrix]:
    """Residual matrices (all zero): derived W', b' vs closed form, and the folded layer vs the original."""
    s = fold_symbols(out_features, in_features)
    w_derived, b_derived = derive_folded_linear(s)
    w_closed, b_closed = folded_linear_closed_form(s)
    folded_output = w_closed * s["u"] + b_closed
    return {
        "W": (w_derived - w_closed).applyfunc(sp.simplify),
        "b": (b_derived - b_closed).applyfunc(sp.simplify),
        "output": (folded_output - linear_then_bn(s)).applyfunc(sp.simplify),
    }


# --- folding into a convolution --------------------------------------------------------------------

def _symbol_array(name: str, shape: tuple[int, ...], **assumptions: bool) -> np.ndarray:
    arr = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        arr[idx] = sp.Symbol(f"{name}_{','.join(map(str, idx))}", **assumptions)
    return arr


def conv_fold_symbols(c_in: int = 2, c_out: int = 2, kernel: int = 2, size: int = 3) -> dict[str, np.ndarray]:
    """Symbolic input (c_in, size, size), kernel (c_out, c_in, k, k), bias and per-channel BN parameters."""
    return {
        "x": _symbol_array("x", (c_in, size, size), real=True),
        "W": _symbol_array("W", (c_out, c_in, kernel, kernel), real=True),
        "b": _symbol_array("b", (c_out,), real=True),
        "gamma": _symbol_array("gamma", (c_out,), real=True),
        "beta": _symbol_array("beta", (c_out,), real=True),
        "mean": _symbol_array("mu", (c_out,), real=True),
        "var": _symbol_array("v", (c_out,), positive=True),
        "eps": np.array([sp.Symbol("epsilon", positive=True)], dtype=object),
    }


def conv_then_bn(s: dict[str, np.ndarray]) -> np.ndarray:
    """BN_inference(conv(x, W) + b), channel by channel (object array (c_out, h', w'))."""
    z = conv2d_expr(s["x"], s["W"], s["b"])
    eps = s["eps"][0]
    out = np.empty_like(z)
    for c, i, j in np.ndindex(*z.shape):
        out[c, i, j] = inference_transform(z[c, i, j], s["gamma"][c], s["beta"][c], s["mean"][c], s["var"][c], eps)
    return out


def derive_folded_conv(s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(W', b') read off from the output at position (0, 0) of each channel.

    The kernel entry W'[o, c, p, q] is the coefficient of input x[c, p, q] in
    output (o, 0, 0); b' is that output with every input set to 0. Position (0, 0)
    suffices because a convolution applies one kernel at every position;
    :func:`prove_fold_conv` checks every position anyway.
    """
    y = conv_then_bn(s)
    c_out, c_in, k, _ = s["W"].shape
    zero = {xi: 0 for xi in s["x"].flat}
    w_folded = np.empty(s["W"].shape, dtype=object)
    for o, c, p, q in np.ndindex(c_out, c_in, k, k):
        w_folded[o, c, p, q] = sp.simplify(sp.diff(y[o, 0, 0], s["x"][c, p, q]))
    b_folded = np.array([sp.simplify(y[o, 0, 0].subs(zero)) for o in range(c_out)], dtype=object)
    return w_folded, b_folded


def folded_conv_closed_form(s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """W'[o] = gamma_o/sqrt(v_o+eps) W[o],  b'_o = gamma_o (b_o - mu_o)/sqrt(v_o+eps) + beta_o."""
    eps = s["eps"][0]
    scale = np.array([g / sp.sqrt(v + eps) for g, v in zip(s["gamma"], s["var"])], dtype=object)
    w_folded = s["W"] * scale[:, None, None, None]
    b_folded = scale * (s["b"] - s["mean"]) + s["beta"]
    return w_folded, b_folded


def prove_fold_conv(**sizes: int) -> dict[str, list[sp.Expr]]:
    """Residuals (all zero): derived vs closed-form W', b', and folded conv vs conv + BN at every position."""
    s = conv_fold_symbols(**sizes)
    w_derived, b_derived = derive_folded_conv(s)
    w_closed, b_closed = folded_conv_closed_form(s)
    folded = conv2d_expr(s["x"], w_closed, b_closed)
    original = conv_then_bn(s)
    return {
        "W": [sp.simplify(d - c) for d, c in zip(w_derived.flat, w_closed.flat)],
        "b": [sp.simplify(d - c) for d, c in zip(b_derived.flat, b_closed.flat)],
        "output": [sp.simplify(f - o) for f, o in zip(folded.flat, original.flat)],
    }


# --- the numbers the chapter states ------------------------------------------------------------

@dataclass(frozen=True)
class BatchVarianceMonteCarlo:
    """The mean of the biased variance of ``batches`` batches of ``m`` = 4 draws of an exponential
    of variance 1 (NumPy generator 0), to 4 decimals, its Monte Carlo standard error to 5, and the
    exact expectation ``(m - 1)/m``."""

    batches: int
    mean: float
    se: float
    exact: float


@dataclass(frozen=True)
class EmaForgetting:
    """What remains of the initial running value after ``steps`` updates, with Keras's (0.01) and
    PyTorch's (0.1) weight on the new value."""

    steps: int
    left_keras: float
    left_pt: float


@dataclass(frozen=True)
class EmaWindow:
    """The effective window ``1 / alpha`` of the two frameworks' default moving averages
    (Keras's to 6 decimals)."""

    pt: float
    keras: float


@dataclass(frozen=True)
class InferenceExercises:
    """The exercises' numbers: batches until the initial value weighs below 1 % (PyTorch's and
    Keras's default), ``m'`` of a 32 x 14 x 14 convolutional batch and the Bessel factors
    ``m'/(m' - 1)`` and ``4/3`` (8 decimals)."""

    forget_pt: int
    forget_keras: int
    mprime: int
    bessel_conv: float
    bessel_4: float


@dataclass(frozen=True)
class InferenceSummary:
    """Every number the inference chapter glues: ``inf-`` + group + ``-`` + field, hyphens for
    underscores (``inf-mc-mean``, ``inf-ema-left-pt``, ``inf-window-keras``, ``inf-ex-mprime``)."""

    mc: BatchVarianceMonteCarlo
    ema: EmaForgetting
    window: EmaWindow
    ex: InferenceExercises


def batch_variance_monte_carlo(batches: int = 200_000, m: int = 4, seed: int = 0) -> BatchVarianceMonteCarlo:
    """The :class:`BatchVarianceMonteCarlo`: ``batches`` batches of ``m`` exponential draws of
    mean and variance 1, their biased variances (``np.var`` divides by ``m``) averaged."""
    samples = np.random.default_rng(seed).exponential(1.0, size=(batches, m))
    batch_vars = samples.var(axis=1)
    return BatchVarianceMonteCarlo(
        batches=batches, mean=round(float(batch_vars.mean()), 4),
        se=round(float(batch_vars.std() / math.sqrt(batches)), 5), exact=(m - 1) / m)


def summarize_inference(steps: int = 300, target: float = 0.01, n: int = 32, p: int = 14) -> InferenceSummary:
    """The :class:`InferenceSummary`: the Monte Carlo check of ``E[sigma^2_B]``, the moving averages'
    memory after ``steps`` batches (:mod:`bn.population.moving_average`), and the exercises
    (weight of the initial value below ``target``; ``n`` maps of ``p`` x ``p``)."""
    mprime = n * p * p
    return InferenceSummary(
        mc=batch_variance_monte_carlo(),
        ema=EmaForgetting(steps=steps, left_keras=cv.weight_of_initial_value(0.01, steps),
                          left_pt=cv.weight_of_initial_value(0.1, steps)),
        window=EmaWindow(pt=cv.effective_window(cv.PYTORCH.new_value_weight()),
                         keras=round(cv.effective_window(cv.KERAS.new_value_weight()), 6)),
        ex=InferenceExercises(
            forget_pt=math.ceil(math.log(target) / math.log(1 - 0.1)),
            forget_keras=math.ceil(math.log(target) / math.log(1 - 0.01)),
            mprime=mprime, bessel_conv=round(mprime / (mprime - 1), 8), bessel_4=round(4 / 3, 8)))
