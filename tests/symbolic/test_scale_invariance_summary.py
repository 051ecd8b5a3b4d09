"""summarize_scale_invariance: the scale-invariance chapter's numbers, against a recomputation by
other code (the toy run retrained with torch autograd for the gradient)."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from bn.scale_dynamics import ToyConfig, make_problem
from bn.symbolic.scale_invariance import (ScaleInvarianceSummary, ToyRunSummary, summarize_scale_invariance,
                                          summarize_toy_run)


def toy_by_autograd(weight_decay: float) -> dict:
    """The toy run of bn.scale_dynamics.run_toy with the same data and batches, its gradient from torch
    autograd through F.batch_norm (not bn.functional's backward); float64."""
    cfg = ToyConfig()
    u, teacher, w0 = make_problem(cfg)
    rng = np.random.default_rng(cfg.seed + 1)
    bn = lambda z: torch.nn.functional.batch_norm(z, None, None, training=True, eps=cfg.eps)  # noqa: E731
    w = torch.from_numpy(w0.copy())
    norms, resid, cos = [float(w.norm())], [], []
    for _ in range(cfg.steps):
        idx = rng.choice(cfg.n_examples, size=cfg.batch_size, replace=False)
        ub = torch.from_numpy(u[idx])
        target = bn(ub @ torch.from_numpy(teacher).T).numpy()
        target = torch.from_numpy(target + cfg.target_noise * rng.standard_normal(target.shape))
        wr = w.clone().requires_grad_(True)
        loss = 0.5 * ((bn(ub @ wr.T) - target) ** 2).sum() / cfg.batch_size
        (g,) = torch.autograd.grad(loss, wr)
        w_next = w - cfg.lr * (g + weight_decay * w)
        resid.append(abs(float((w_next ** 2).sum() - (w ** 2).sum() - cfg.lr ** 2 * (g ** 2).sum()))
                     / float(cfg.lr ** 2 * (g ** 2).sum()))
        cos.append(abs(float((w * g).sum() / (w.norm() * g.norm()))))
        w = w_next
        norms.append(float(w.norm()))
    return {"norms": norms, "resid": max(resid), "cos": max(cos)}


@pytest.fixture(scope="module")
def runs() -> dict:
    return {"plain": toy_by_autograd(0.0), "decayed": toy_by_autograd(0.01)}


@pytest.fixture(scope="module")
def summary() -> ScaleInvarianceSummary:
    return summarize_scale_invariance()  # about 10 s of SymPy


def check(s: ScaleInvarianceSummary, runs: dict) -> None:
    # one residual per output entry (m k = 3 * 2) and per Jacobian entry ((m k) x (m d) = 3 x 6)
    assert s.n_out == 3 * 2 and s.n_jac == 3 * 6 and s.eps_general_m == 0
    # rho = sqrt((1 + nu) / (1 + nu / a^2)) at a = 10, nu = 1e-3, by hand; 9 decimals as glued
    assert s.eps_example == round(math.sqrt((1 + 1e-3) / (1 + 1e-3 / 100)), 9)
    check_toy(s.toy, runs)


def check_toy(t: ToyRunSummary, runs: dict) -> None:
    cfg = ToyConfig()
    assert (t.k, t.d, t.lr, t.batch, t.steps, t.wd) == (4, 10, cfg.lr, 32, cfg.steps, 0.01)
    plain, decayed = runs["plain"], runs["decayed"]
    # Autograd and the NumPy backward agree to ~1e-13 per step; over 300 steps the norms drift
    # apart by far less than the glued 4 decimals (the chaos of SGD on this convex-ish toy is mild).
    assert t.norm0 == round(plain["norms"][0], 6) == 1.0
    assert t.norm_end == pytest.approx(plain["norms"][-1], abs=1e-4)
    assert t.norm_wd == pytest.approx(decayed["norms"][-1], abs=1e-4)
    # to the 2 significant digits glued: the relative discrepancy is an eps-effect (eps = 1e-5
    # against batch variances ~1), so both backward passes see the same value to many digits
    assert t.resid == pytest.approx(plain["resid"], rel=0.05)
    assert t.cos == pytest.approx(plain["cos"], rel=0.05)


@pytest.mark.slow
def test_summary_matches_an_independent_recomputation(summary, runs):
    # Protects "6 residuals", "18 residuals", the symbolic-m residual 0, the ratio 1.000495 at
    # a = 10, and the toy run's sizes, norms 1 -> 3.97 (2.45 with weight decay), increment
    # discrepancy and cosine.
    check(summary, runs)


@pytest.mark.parametrize("wrong", [
    {"norm_end": 2.4541, "norm_wd": 3.9733},        # the two runs swapped
    {"wd": 0.0},                                     # the plain run's decay
    {"resid": 1.5e-3},                               # off by a factor 10
])
def test_a_wrong_toy_summary_fails(wrong, runs):
    check_toy(summarize_toy_run(), runs)
    with pytest.raises(AssertionError):
        check_toy(dataclasses.replace(summarize_toy_run(), **wrong), runs)


@pytest.mark.slow
def test_a_wrong_ratio_fails(summary, runs):
    s = summary
    # the ratio with nu = eps / sigma^2 inverted (a = 1/10) is below 1
    with pytest.raises(AssertionError):
        check(dataclasses.replace(s, eps_example=round(math.sqrt((1 + 1e-3) / (1 + 1e-3 * 100)), 9)), runs)
