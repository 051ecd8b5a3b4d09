"""The gradient-checking chapter's summary, on the chapter's own computations."""

import math

import numpy as np
import pytest

from bn.functional import batch_norm_backward, batch_norm_forward
from bn.gradcheck import (batch_norm_condition, batch_norm_loss, check_batch_norm_gradients,
                          step_size_sweep)
from bn.gradcheck.accuracy import summarize_check_accuracy
from bn.gradcheck.batch_norm import channel_std

EPS64 = float(np.finfo(np.float64).eps)
METHODS = (("central2", dict(order=2)), ("central4", dict(order=4)), ("complex", dict(method="complex")))


def _worst(x, g, b, rng, kw):
    return max(c.relative_error for c in check_batch_norm_gradients(x, g, b, 1e-5, rng, **kw).values())


@pytest.fixture(scope="module")
def chapter():
    """The chapter's step-size sweep, condition grid, largest shape and large batch, as its cells
    compute them (same seeds, same order of draws)."""
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, size=(16, 4, 3, 3))
    gamma, beta = rng.normal(1.0, 0.3, 4), rng.normal(0.0, 0.3, 4)
    w = rng.standard_normal(x.shape)
    _, cache = batch_norm_forward(x, gamma, beta, 1e-5)
    dx = batch_norm_backward(w, cache)[0]
    loss = batch_norm_loss(x, gamma, beta, w, 1e-5, "x")
    v = rng.standard_normal(x.shape) * np.sqrt(channel_std(x) ** 2 + 1e-5)
    exact = np.vdot(dx, v)
    steps = np.logspace(-13, -0.5, 51)
    sweep = dict(steps=steps, err2=step_size_sweep(loss, x, v, exact, steps, "central", order=2),
                 err4=step_size_sweep(loss, x, v, exact, steps, "central", order=4),
                 errc_tiny=step_size_sweep(loss, x, v, exact, np.logspace(-300, -8, 30), "complex"),
                 err_at_1e8=float(step_size_sweep(loss, x, v, exact, [1e-8])[0]),
                 kappa=batch_norm_condition(x))
    grid = []
    for ratio in [0.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0]:
        for seed in range(4):
            rng = np.random.default_rng(seed)
            xg = rng.normal(ratio, 1.0, size=(32, 8, 2, 2))
            g, b = rng.normal(1.0, 0.3, 8), rng.normal(0.0, 0.3, 8)
            grid.append({"kappa": batch_norm_condition(xg), **{k: _worst(xg, g, b, rng, kw) for k, kw in METHODS}})
    big = {k: [] for k, _ in METHODS}
    for seed in range(4):
        rng = np.random.default_rng(seed)
        xb = rng.normal(1000.0, 1.0, size=(64, 32, 3))
        g, b = rng.normal(1.0, 0.3, 32), rng.normal(0.0, 0.3, 32)
        for k, kw in METHODS:
            big[k].append(_worst(xb, g, b, rng, kw))
    big_kappa = max(batch_norm_condition(np.random.default_rng(s).normal(1000.0, 1.0, size=(64, 32, 3)))
                    for s in range(4))
    rng = np.random.default_rng(7)
    xl = rng.normal(2.0, 3.0, size=(64, 32, 8, 8))
    g, b = rng.normal(1.0, 0.3, 32), rng.normal(0.0, 0.3, 32)
    checks = check_batch_norm_gradients(xl, g, b, 1e-5, rng, num_directions=3, method="complex")
    inputs = dict(**sweep, grid=grid, big=big, big_kappa=big_kappa, large_x=xl, large_checks=checks)
    return inputs, summarize_check_accuracy(**inputs)


def _bound(value, limit):
    # By hand: the limit rounded up to one significant digit, the value checked below it.
    assert value < limit
    e = math.floor(math.log10(limit))
    return math.ceil(round(limit / 10**e, 9)) * 10.0**e


def test_sweep_fields_match_a_recomputation_by_hand(chapter):
    inputs, s = chapter
    i = min(range(len(inputs["steps"])), key=lambda j: inputs["err2"][j])
    assert s.best2 == inputs["err2"][i] and s.best2_h == inputs["steps"][i]
    assert s.best4 == min(inputs["err4"])
    assert s.err_1e8_factor == pytest.approx(inputs["err_at_1e8"] / inputs["err2"][i], rel=1e-15)
    # The complex step's bound: 10 eps kappa_x at h = 1e-20 (derivative term negligible there).
    assert s.complex_max == pytest.approx(_bound(max(inputs["errc_tiny"]), 10 * EPS64 * s.kappa_demo), rel=1e-12)
    # h* = (3 eps kappa / M)^(1/3) with M = 1/3... recomputed from the error model's minimum:
    # the model M/6 h^2 + eps kappa / h is smallest where its derivative M/3 h - eps kappa / h^2 = 0.
    from bn.gradcheck import batch_norm_derivative_scale

    m2 = batch_norm_derivative_scale(2)
    assert s.hbn == pytest.approx((3 * EPS64 * s.kappa_demo / m2) ** (1 / 3), rel=1e-12)


def test_the_sweep_claims(chapter):
    _, s = chapter
    # "sits where the model puts it": the measured best step within a factor 3 of h*.
    assert s.hbn / 3 < s.best2_h < 3 * s.hbn
    # "h = 1e-8 is deep in the round-off arm ... times worse than at the optimum".
    assert s.err_1e8_factor > 100
    # "The five-point stencil reaches ... at twice the cost": better than the two-point minimum.
    assert s.best4 < s.best2 / 100


def test_grid_fields_match_a_recomputation_by_hand(chapter):
    inputs, s = chapter
    grid = inputs["grid"]
    assert s.grid_worst_c2 == max(r["central2"] for r in grid)
    assert s.grid_worst_c4 == max(r["central4"] for r in grid)
    low = [r for r in grid if r["kappa"] <= 45]
    assert s.grid_cs_low == pytest.approx(
        _bound(max(r["complex"] for r in low), 10 * EPS64 * max(r["kappa"] for r in low)), rel=1e-12)
    assert s.grid_c2_low == max(r["central2"] for r in grid if r["kappa"] <= 50)
    assert s.big_c2 == max(inputs["big"]["central2"])
    # "stays below ... for kappa_x <= 45 and below ... at kappa_x ~ 10^3": the low bound is the smaller.
    assert s.grid_cs_low < s.grid_worst_cs


def test_degenerate_and_large_batch(chapter):
    inputs, s = chapter
    # "At m = 2 the gradient is ... of its normal size ... off by ... instead of ... at m = 3".
    assert s.m2_ratio < 1e-3 < s.m3_ratio
    assert s.m2_central > 100 * s.m3_central
    assert s.big_size == 64 * 32 * 8 * 8 and s.evals_full == 2 * s.big_size
    worst = max(c.relative_error for c in inputs["large_checks"].values())
    assert s.big_err == pytest.approx(_bound(worst, 10 * EPS64 * batch_norm_condition(inputs["large_x"])),
                                      rel=1e-12)


def test_a_swapped_sweep_would_be_caught(chapter):
    # Fed the five-point errors as two-point ones (arms swapped), the summary's minimum moves far
    # from the model's h*: the sweep claim above would fail.
    inputs, _ = chapter
    wrong = summarize_check_accuracy(**{**inputs, "err2": inputs["err4"], "err4": inputs["err2"]})
    assert not (wrong.hbn / 3 < wrong.best2_h < 3 * wrong.hbn) or not (wrong.best4 < wrong.best2 / 100)


def test_a_bound_the_numbers_break_is_refused(chapter):
    # A complex-step error above its bound (a wrong gradient) must not be glued as a bound.
    inputs, _ = chapter
    with pytest.raises(ValueError, match="not below the bound"):
        summarize_check_accuracy(**{**inputs, "errc_tiny": np.array([1e-6])})
