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


# --- the equilibrium under weight decay -----------------------------------------------------

from bn.scale_dynamics import angle_between, equilibrium_angular_update, window_update_identity  # noqa: E402


def test_angle_between_known_cases():
    e1, e2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 3.0, 0.0])
    assert angle_between(e1, e2) == pytest.approx(np.pi / 2, rel=1e-15)
    assert angle_between(e1, -5 * e1) == pytest.approx(np.pi, rel=1e-15)
    assert angle_between(2 * e1, 7 * e1) == 0.0
    tiny = 1e-7  # arccos of the cosine would give about 1.5e-8 here: cos(1e-7) rounds to 1 - 1.1e-16
    assert angle_between(e1, np.array([np.cos(tiny), np.sin(tiny), 0.0])) == pytest.approx(tiny, rel=1e-8)
    with pytest.raises(ValueError):
        angle_between(e1, np.zeros(3))


def test_equilibrium_prediction_values():
    assert equilibrium_angular_update(0.1, 5e-4, 0.9) == pytest.approx(np.sqrt(1e-4 / 1.9), rel=1e-15)
    assert equilibrium_angular_update(0.5, 0.01) == pytest.approx(0.1, rel=1e-15)
    assert equilibrium_angular_update(0.1, 0.0, 0.9) == 0.0
    with pytest.raises(ValueError):
        equilibrium_angular_update(0.1, 5e-4, 1.0)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_norm_balance_holds_exactly_along_a_toy_run(momentum):
    # eps = 1e-12 makes the gradient orthogonal to every row up to ~1e-11 relative,
    # so the summed balance holds to float64 rounding over 400 steps.
    cfg = ToyConfig(steps=400, weight_decay=0.01, momentum=momentum, eps=1e-12)
    h = run_toy(cfg).as_arrays()
    lhs, rhs = window_update_identity(h["weight_norm"] ** 2, h["update_sq"], cfg.lr, cfg.weight_decay, momentum)
    assert lhs == pytest.approx(rhs, rel=1e-9)


def test_norm_balance_fails_without_scale_invariance():
    # The same bookkeeping for W -> W - lr (grad + wd W) with a gradient along W (not
    # orthogonal) must not balance: the identity is a consequence of <W, grad> = 0.
    rng = np.random.default_rng(0)
    w, norms, updates = rng.standard_normal(20), [], []
    for _ in range(200):
        g = 0.1 * w + rng.standard_normal(20)
        w_next = w - 0.1 * (g + 0.01 * w)
        norms.append(w @ w)
        updates.append(float(np.sum((w_next - w) ** 2)))
        w = w_next
    norms.append(w @ w)
    lhs, rhs = window_update_identity(np.array(norms), np.array(updates), 0.1, 0.01, 0.0)
    assert abs(lhs - rhs) > 0.1 * lhs


def test_equilibrium_update_matches_the_prediction_with_momentum():
    # Time constant of ||W||^2: (1 - mu) / (4 eta lambda) = 5 steps, so the last 1000 of
    # 2000 steps are stationary; the window's boundary terms are O(A / 1000 A) = 0.1 %
    # and the step-to-step noise of the ratio of sums about 1 %.
    cfg = ToyConfig(steps=2000, weight_decay=0.01, momentum=0.9)
    h = run_toy(cfg).as_arrays()
    a, d = h["weight_norm"][:-1] ** 2, h["update_sq"]
    measured = np.sqrt(d[1000:].mean() / a[1000:].mean())
    predicted = equilibrium_angular_update(cfg.lr, cfg.weight_decay, cfg.momentum)
    assert measured == pytest.approx(predicted, rel=0.03)
    # The plain-SGD formula sqrt(2 eta lambda) misses the momentum factor 1/sqrt(1.9).
    assert measured < 0.8 * equilibrium_angular_update(cfg.lr, cfg.weight_decay)
    # The angle per step is the relative update up to O(angle^2) and Jensen's gap of the mean.
    assert h["angle"][1000:].mean() == pytest.approx(predicted, rel=0.03)
