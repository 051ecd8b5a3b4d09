"""BN for convolutional layers (paper, Section 3.2), with SymPy.

A convolutional feature map has shape (N, C, H, W). The paper normalizes each
channel with one mean and one variance taken over the N*H*W values of that
channel ("effective mini-batch of size ``m' = |B| = m*p*q``"), and learns one gamma
and one beta per channel. What is proven here, for explicit small shapes with
fully symbolic entries:

* the per-channel statistics use m' = N*H*W values;
* BN over (N, C, H, W) equals fully-connected BN over the reshaped (N*H*W, C);
* the input gradient is the fully-connected formula with m replaced by m';
* per-channel BN commutes with any rearrangement of spatial positions, the
  property the paper asks for ("different elements of the same feature map, at
  different locations, are normalized in the same way"), while per-location
  normalization does not;
* batch size 1 is degenerate for fully-connected BN (the output is beta whatever
  the input) but not for convolutional BN when H*W >= 2.

Arrays are NumPy object arrays of SymPy expressions, so reshapes and transposes
are exactly the ones a NumPy or PyTorch implementation performs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from bn.symbolic.backward import compact_dx
from bn.symbolic.batch import SymbolicBatch, batch_mean, batch_norm_expr, batch_of, biased_batch_variance


def symbolic_feature_map(n: int, c: int, h: int, w: int, name: str = "x") -> np.ndarray:
    """An (n, c, h, w) object array of distinct real symbols x_{n,c,h,w} (indices from 0)."""
    arr = np.empty((n, c, h, w), dtype=object)
    for idx in np.ndindex(n, c, h, w):
        arr[idx] = sp.Symbol(f"{name}_{','.join(map(str, idx))}", real=True)
    return arr


def channel_values(x: np.ndarray, channel: int) -> list[sp.Expr]:
    """The N*H*W values that the paper's per-channel statistics run over."""
    return list(x[:, channel].flat)


def conv_batch_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: sp.Expr) -> np.ndarray:
    """Per-channel BN of an (N, C, H, W) array, written with explicit index loops.

    On purpose not :func:`bn.symbolic.batch.batch_of`: the chapter checks the
    rows formulation against this independent loop over every index.
    """
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        vals = channel_values(x, c)
        mu = batch_mean(vals)
        sigma = sp.sqrt(biased_batch_variance(vals) + eps)
        for n, i, j in np.ndindex(x.shape[0], x.shape[2], x.shape[3]):
            out[n, c, i, j] = gamma[c] * (x[n, c, i, j] - mu) / sigma + beta[c]
    return out


def to_rows(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N*H*W, C): each spatial position of each example becomes a row."""
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(n * h * w, c)


def from_rows(rows: np.ndarray, shape: tuple[int, int, int, int]) -> np.ndarray:
    """Inverse of :func:`to_rows`."""
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def fc_batch_norm(rows: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: sp.Expr) -> np.ndarray:
    """Fully-connected BN of an (m, C) array: each column is one feature over the batch."""
    out = np.empty_like(rows)
    for c in range(rows.shape[1]):
        out[:, c] = batch_norm_expr(list(rows[:, c]), gamma[c], beta[c], eps)
    return out


def channel_params(c: int) -> tuple[np.ndarray, np.ndarray, sp.Symbol]:
    """Per-channel gamma_c, beta_c (real) and a positive epsilon."""
    gamma = np.array(sp.symbols(f"gamma_0:{c}", real=True), dtype=object)
    beta = np.array(sp.symbols(f"beta_0:{c}", real=True), dtype=object)
    return gamma, beta, sp.Symbol("epsilon", positive=True)


def prove_effective_batch_size(n: int, c: int, h: int, w: int) -> sp.Expr:
    """Residual (number of values behind one channel's statistics) - n*h*w, as a SymPy integer (0)."""
    x = symbolic_feature_map(n, c, h, w)
    counts = {len(set(channel_values(x, ch))) for ch in range(c)}
    assert len(counts) == 1, "every channel must see the same number of values"
    return sp.Integer(counts.pop()) - sp.Integer(n * h * w)


def prove_conv_equals_reshaped_fc(n: int, c: int, h: int, w: int) -> list[sp.Expr]:
    """Elementwise residuals conv BN(x) - from_rows(FC BN(to_rows(x))), all exactly 0."""
    x = symbolic_feature_map(n, c, h, w)
    gamma, beta, eps = channel_params(c)
    direct = conv_batch_norm(x, gamma, beta, eps)
    via_rows = from_rows(fc_batch_norm(to_rows(x), gamma, beta, eps), x.shape)
    return [sp.simplify(a - b) for a, b in zip(direct.flat, via_rows.flat)]


def channel_batch(x: np.ndarray, g: np.ndarray, channel: int, gamma: sp.Expr, beta: sp.Expr,
                  eps: sp.Expr) -> SymbolicBatch:
    """One channel's m' = N*H*W values (and upstream gradients) as a fully connected batch."""
    return batch_of(tuple(channel_values(x, channel)), tuple(channel_values(g, channel)), gamma, beta, eps)


def prove_conv_gradient_uses_effective_batch(n: int, h: int, w: int) -> list[sp.Expr]:
    """Residuals between autodiff of a one-channel conv BN loss and the compact formula with m' = n*h*w.

    The loss is l = sum over positions of g * y; SymPy differentiates it with
    respect to every input, and each derivative is compared with
    the compact formula of the backpropagation chapter (:func:`bn.symbolic.backward.compact_dx`)
    applied to the channel's m' values as one batch.
    """
    x = symbolic_feature_map(n, 1, h, w)
    g = symbolic_feature_map(n, 1, h, w, name="g")
    gamma, beta, eps = channel_params(1)
    y = conv_batch_norm(x, gamma, beta, eps)
    loss = sp.Add(*[gi * yi for gi, yi in zip(g.flat, y.flat)])
    channel = channel_batch(x, g, 0, gamma[0], beta[0], eps)
    expected = compact_dx(channel)
    return [sp.simplify(sp.diff(loss, xi) - e) for xi, e in zip(x.flat, expected)]


# --- the convolution itself (used to fold BN into it, bn.symbolic.inference) --------------------

def conv2d_expr(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Cross-correlation as in PyTorch's Conv2d (stride 1, no padding) of one image.

    ``x`` has shape (C_in, H, W), ``weight`` (C_out, C_in, k, k), ``bias`` (C_out,);
    returns (C_out, H-k+1, W-k+1). Entries may be any SymPy expressions.
    """
    c_out, c_in, kh, kw = weight.shape
    h_out, w_out = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.empty((c_out, h_out, w_out), dtype=object)
    for o, i, j in np.ndindex(c_out, h_out, w_out):
        patch = x[:, i:i + kh, j:j + kw]
        out[o, i, j] = sp.Add(*(weight[o] * patch).flat) + bias[o]
    return out


# --- spatial equivariance ----------------------------------------------------------------------

def roll_spatial(x: np.ndarray, shift: int = 1) -> np.ndarray:
    """Circularly shift every feature map by ``shift`` positions along the width axis."""
    return np.roll(x, shift, axis=3)


def per_location_batch_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: sp.Expr) -> np.ndarray:
    """The alternative the paper rejects: each (c, h, w) location its own statistics and gamma, beta.

    ``gamma`` and ``beta`` have shape (C, H, W).
    """
    out = np.empty_like(x)
    for c, i, j in np.ndindex(*x.shape[1:]):
        out[:, c, i, j] = batch_norm_expr(list(x[:, c, i, j]), gamma[c, i, j], beta[c, i, j], eps)
    return out


def location_params(c: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-location gamma_{c,h,w}, beta_{c,h,w}."""
    def make(name: str) -> np.ndarray:
        arr = np.empty((c, h, w), dtype=object)
        for idx in np.ndindex(c, h, w):
            arr[idx] = sp.Symbol(f"{name}_{','.join(map(str, idx))}", real=True)
        return arr
    return make("gamma"), make("beta")


def equivariance_residuals(bn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> list[sp.Expr]:
    """bn(shift(x)) - shift(bn(x)), elementwise and simplified."""
    return [sp.simplify(a - b) for a, b in zip(bn(roll_spatial(x)).flat, roll_spatial(bn(x)).flat)]


def prove_per_channel_equivariance(n: int, c: int, h: int, w: int) -> list[sp.Expr]:
    """Residuals of 'per-channel BN commutes with a spatial shift' (all 0)."""
    x = symbolic_feature_map(n, c, h, w)
    gamma, beta, eps = channel_params(c)
    return equivariance_residuals(lambda t: conv_batch_norm(t, gamma, beta, eps), x)


def per_location_equivariance_residuals(n: int, c: int, h: int, w: int) -> list[sp.Expr]:
    """The same residuals for per-location BN: nonzero, the shift breaks the weight sharing."""
    x = symbolic_feature_map(n, c, h, w)
    gamma, beta = location_params(c, h, w)
    eps = sp.Symbol("epsilon", positive=True)
    return equivariance_residuals(lambda t: per_location_batch_norm(t, gamma, beta, eps), x)


# --- batch size one ------------------------------------------------------------------------------

def fc_batch_of_one() -> tuple[sp.Expr, sp.Expr, sp.Symbol]:
    """(y, dy/dx, x) for fully-connected BN with m = 1: x - mu_B is identically 0."""
    x = sp.Symbol("x_1", real=True)
    gamma, beta, eps = sp.Symbol("gamma", real=True), sp.Symbol("beta", real=True), sp.Symbol("epsilon", positive=True)
    (y,) = batch_norm_expr([x], gamma, beta, eps)
    return y, sp.diff(y, x), x


def prove_fc_batch_of_one_is_constant() -> dict[str, sp.Expr]:
    """Residuals y - beta and dy/dx for m = 1 (both 0: the layer forgets its input)."""
    y, dy, _ = fc_batch_of_one()
    beta = sp.Symbol("beta", real=True)
    return {"output": sp.simplify(y - beta), "gradient": sp.simplify(dy)}


def conv_batch_of_one_moments(h: int, w: int) -> dict[str, sp.Expr]:
    """For N = 1, one channel of h*w values: the output mean and variance and one input derivative.

    Output mean beta and variance gamma^2 s^2/(s^2 + eps), with s^2 the spatial
    variance of the single image, which is not identically zero when h*w >= 2.
    """
    x = symbolic_feature_map(1, 1, h, w)
    gamma, beta, eps = channel_params(1)
    y = list(conv_batch_norm(x, gamma, beta, eps).flat)
    vals = channel_values(x, 0)
    s2 = biased_batch_variance(vals)
    return {
        "mean_residual": sp.simplify(batch_mean(y) - beta[0]),
        "variance_residual": sp.simplify(biased_batch_variance(y) - gamma[0] ** 2 * s2 / (s2 + eps)),
        "spatial_variance": s2,
        "dy0_dx0": sp.diff(y[0], vals[0]),
        "x": vals,
    }


# --- the numbers the chapter states ------------------------------------------------------------

@dataclass(frozen=True)
class ConvolutionSummary:
    """Every number the convolution chapter glues (``conv-`` + field, hyphens for underscores).

    ``mprime``: the values per channel statistic of a symbolic (2, 2, 2, 2) feature map;
    ``n_resid``: the residuals of "BN over (N, C, H, W) = fully connected BN over the reshaped
    rows" at that shape, all exactly 0. ``one_mean``, ``one_std``, ``one_mprime``: mean and standard
    deviation (rounded to 6 decimals, the mean's sign dropped) of the NumPy BN output
    (gamma = 1, beta = 0, eps = 1e-5) of one 8 x 8 image, and the values it normalizes over.
    ``ex_n``, ``ex_p``, ``ex_mprime``: the exercise's batch, map side and ``m' = N p^2``.
    """

    mprime: int
    n_resid: int
    one_mean: float
    one_std: float
    one_mprime: int
    ex_n: int
    ex_p: int
    ex_mprime: int


def batch_of_one_image(seed: int = 0) -> np.ndarray:
    """The chapter's batch of one: a (1, 1, 8, 8) image of mean 5 and standard deviation 2.

    Drawn from NumPy generator ``seed`` after the chapter's earlier draws from the same generator
    (a (4, 3, 5, 6) map and two sets of 3 channel parameters), so it is the image the chapter shows.
    """
    rng = np.random.default_rng(seed)
    rng.standard_normal((4, 3, 5, 6))
    rng.standard_normal(3)
    rng.standard_normal(3)
    return 5 + 2 * rng.standard_normal((1, 1, 8, 8))


def summarize_convolution(ex_n: int = 32, ex_p: int = 14) -> ConvolutionSummary:
    """The :class:`ConvolutionSummary`: the proofs at shape (2, 2, 2, 2), the batch of one through
    :func:`bn.functional.batch_norm_forward`, and the exercise's ``m'`` for ``ex_n`` maps of
    ``ex_p`` x ``ex_p``."""
    from bn.functional import batch_norm_forward

    residuals = prove_conv_equals_reshaped_fc(2, 2, 2, 2)
    if not all(r == 0 for r in residuals):
        raise ValueError("conv BN and reshaped fully connected BN differ: no residual count to state")
    out, _ = batch_norm_forward(batch_of_one_image(), np.ones(1), np.zeros(1))
    return ConvolutionSummary(
        mprime=len(channel_values(symbolic_feature_map(2, 2, 2, 2), 0)), n_resid=len(residuals),
        one_mean=abs(round(float(out.mean()), 6)), one_std=round(float(out.std()), 6),
        one_mprime=int(out.size), ex_n=ex_n, ex_p=ex_p, ex_mprime=ex_n * ex_p * ex_p)
