"""The toy model of chapter 5: the norm grows under SGD, and the growth is exactly eta^2 ||g||^2."""

import numpy as np
import pytest

from bn.scale_dynamics import ToyConfig, effective_learning_rate, loss_and_gradient, make_problem, run_toy

SHORT = ToyConfig(steps=40)  # a shortened run for the tests only; the chapter runs the full config


@pytest.fixture(scope="module")
def history():
    return run_toy(SHORT).as_arrays()


def test_records_have_expected_lengths(history):
    assert len(history["weight_norm"]) == SHORT.steps + 1
    for key in ("loss", "grad_norm", "cosine", "norm_increment_residual"):
        assert len(history[key]) == SHORT.steps


def test_norm_never_decreases_without_weight_decay(history):
    assert np.all(np.diff(history["weight_norm"]) > 0)


def test_gradient_is_nearly_orthogonal_to_w(history):
    # At eps > 0 the orthogonality is broken by O(eps / var(Wu)); with ||W|| >= 1 and unit
    # inputs that is about 1e-5 / 0.1, so the cosine stays below 1e-3.
    assert np.max(np.abs(history["cosine"])) < 1e-3


def test_norm_increment_is_eta_squared_grad_squared(history):
    growth = SHORT.lr**2 * history["grad_norm"] ** 2
    assert np.all(np.abs(history["norm_increment_residual"]) <= 1e-3 * growth)


def test_weight_decay_stops_the_growth():
    decayed = run_toy(ToyConfig(steps=300, weight_decay=0.01)).as_arrays()["weight_norm"]
    plain = run_toy(ToyConfig(steps=300)).as_arrays()["weight_norm"]
    assert decayed[-1] < plain[-1]
    assert decayed[-1] < decayed[100]  # past the initial jump, decay wins and the norm shrinks


def test_loss_is_scale_invariant_and_gradient_scales_inversely():
    cfg = ToyConfig()
    u, teacher, w = make_problem(cfg)
    rng = np.random.default_rng(1)
    target = rng.standard_normal((32, cfg.out_features))
    loss1, g1 = loss_and_gradient(u[:32], w * 10, target, eps=1e-12)
    loss0, g0 = loss_and_gradient(u[:32], w, target, eps=1e-12)
    # eps = 1e-12 against variances ~0.1: relative effects ~1e-11, plus float64 rounding.
    assert loss1 == pytest.approx(loss0, rel=1e-9)
    np.testing.assert_allclose(g1 * 10, g0, rtol=1e-7, atol=1e-12)


def test_effective_learning_rate():
    assert effective_learning_rate(0.5, np.array([1.0, 2.0])) == pytest.approx([0.5, 0.125])


def test_seeded(history):
    again = run_toy(SHORT).as_arrays()
    assert np.array_equal(again["weight_norm"], history["weight_norm"])
