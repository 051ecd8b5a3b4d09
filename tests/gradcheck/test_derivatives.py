"""Central differences, complex step, sweep and directional checks on functions with known derivatives."""

import numpy as np
import pytest

from bn.gradcheck import (central_difference, central_difference_tolerance, complex_step_derivative,
                          complex_step_gradient, complex_step_tolerance, directional_check,
                          numerical_gradient, optimal_central_step, random_directions,
                          relative_error, step_size_sweep)

X0 = np.array([0.3, -1.2, 2.0])


def f_vec(x):
    """A smooth vector function with derivatives of size ~1 near X0."""
    return np.sin(x) * np.exp(x / 4)


def f_vec_prime(x):
    return np.exp(x / 4) * (np.cos(x) + np.sin(x) / 4)


def f_scalar(x):
    return np.sum(x ** 3) / 3 + np.prod(x)


def f_scalar_grad(x):
    return x ** 2 + np.prod(x) / x


@pytest.mark.parametrize("order", [2, 4])
def test_central_difference_meets_its_modelled_bound(order):
    h = optimal_central_step(np.float64, order)
    v = np.ones(3)
    err = relative_error(central_difference(f_vec, X0, v, h, order), f_vec_prime(X0))
    # The model's bound with derivative/condition factors ~1 (true here), times 10.
    assert err <= central_difference_tolerance(np.float64, h, order)


def test_order_four_beats_order_two_at_their_optimal_steps():
    v = np.ones(3)
    e2 = relative_error(central_difference(f_vec, X0, v, optimal_central_step(np.float64, 2)), f_vec_prime(X0))
    e4 = relative_error(central_difference(f_vec, X0, v, optimal_central_step(np.float64, 4), 4),
                        f_vec_prime(X0))
    assert e4 < e2 / 10


def test_central_difference_is_exact_for_quadratics_up_to_roundoff():
    # The O(h^2) truncation term involves f''' = 0: only round-off remains,
    # eps * |f| / h with h = 1e-3 gives ~1e-13.
    f = lambda x: x ** 2
    assert relative_error(central_difference(f, X0, np.ones(3), 1e-3), 2 * X0) <= 1e-12


def test_numerical_gradient_of_a_scalar_function():
    h = optimal_central_step(np.float64)
    assert relative_error(numerical_gradient(f_scalar, X0, h), f_scalar_grad(X0)) <= \
        central_difference_tolerance(np.float64, h)


def test_complex_step_reaches_machine_precision():
    d = complex_step_derivative(f_vec, X0, np.ones(3))
    # No subtraction: only the rounding of sin/exp/cos themselves, a few eps.
    assert relative_error(d, f_vec_prime(X0)) <= complex_step_tolerance(np.float64)
    g = complex_step_gradient(f_scalar, X0)
    assert relative_error(g, f_scalar_grad(X0)) <= complex_step_tolerance(np.float64)


def test_complex_step_rejects_complex_points():
    with pytest.raises(TypeError):
        complex_step_derivative(f_vec, X0.astype(complex), np.ones(3))


def test_complex_step_fails_for_non_analytic_code():
    # abs(x)**2 equals x**2 on the reals but is not analytic: the complex
    # step then returns 0 instead of 2x. The check is only as good as the code.
    d = complex_step_derivative(lambda x: np.abs(x) ** 2, X0, np.ones(3))
    assert relative_error(d, 2 * X0) == 1.0


def test_sweep_traces_the_u_curve():
    steps = np.logspace(-14, -1, 27)
    errs = step_size_sweep(f_vec, X0, np.ones(3), f_vec_prime(X0), steps)
    best = steps[np.argmin(errs)]
    h_opt = optimal_central_step(np.float64)
    # The minimum lies within a factor 30 of the model's optimum (the model
    # ignores O(1) constants; the grid itself has factor-3 spacing).
    assert h_opt / 30 <= best <= h_opt * 30
    assert errs[0] > 1e3 * errs.min() and errs[-1] > 1e3 * errs.min()  # both arms rise
    # The complex step stays at machine precision for every small step.
    cerrs = step_size_sweep(f_vec, X0, np.ones(3), f_vec_prime(X0), np.logspace(-300, -8, 8), "complex")
    assert np.all(cerrs <= complex_step_tolerance(np.float64))


def test_directional_check_accepts_right_and_rejects_wrong_gradients():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 5))
    f = lambda z: np.sum(z ** 3) / 3
    grad = x ** 2
    dirs = random_directions(x.shape, 4, rng)
    h = optimal_central_step(np.float64)
    assert directional_check(f, x, grad, dirs, "central", h).relative_error <= \
        central_difference_tolerance(np.float64, h, condition=10.0)
    assert directional_check(f, x, grad, dirs, "complex").relative_error <= complex_step_tolerance(np.float64)
    wrong = grad.copy()
    wrong[3, 2] += 1.0  # one wrong entry out of 100
    assert directional_check(f, x, wrong, dirs, "complex").relative_error > 1e-3


def test_directional_check_argument_errors():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="needs a step"):
        directional_check(np.sum, x, x, [x], "central")
    with pytest.raises(ValueError, match="method"):
        directional_check(np.sum, x, x, [x], "forward")
    with pytest.raises(ValueError, match="grad shape"):
        directional_check(np.sum, x, np.zeros(4), [x], "complex")


def test_degenerate_batch_of_two_cancels_and_larger_batches_do_not():
    from bn.gradcheck.batch_norm import degenerate_batch

    # With m = 2 and eps -> 0 each channel's x-hat is +-1 and dx is exactly 0; eps = 1e-5 leaves
    # a remainder of order eps / var, so only round-off is left once eps is tiny.
    two, two_exact, eight = degenerate_batch(2), degenerate_batch(2, eps=1e-12), degenerate_batch(8)
    assert 1e-5 < two.ratio < 1e-3 and two.zeros_pass
    assert two_exact.ratio < 1e-9 and two_exact.central_error > 0.1  # the check measures only noise
    assert eight.ratio > 0.1 and not eight.zeros_pass and eight.central_error < 1e-8
