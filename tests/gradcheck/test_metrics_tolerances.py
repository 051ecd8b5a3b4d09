"""The error metric and the tolerance model."""

import numpy as np
import pytest

from bn.gradcheck import (central_difference_error_bound, central_difference_tolerance,
                          complex_step_error_bound, complex_step_tolerance, machine_epsilon,
                          max_abs_error, optimal_central_step, relative_error)


def test_relative_error_basic_values():
    assert relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == 2.0
    assert relative_error([0.0, 3.0], [0.0, 4.0]) == pytest.approx(0.25)
    assert relative_error([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2))


def test_relative_error_is_symmetric_and_scale_free():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=10), rng.normal(size=10)
    assert relative_error(a, b) == relative_error(b, a)
    assert relative_error(1e9 * a, 1e9 * b) == pytest.approx(relative_error(a, b), rel=1e-14)


def test_metrics_reject_shape_mismatch():
    with pytest.raises(ValueError):
        relative_error(np.ones(3), np.ones(4))
    with pytest.raises(ValueError):
        max_abs_error(np.ones(3), np.ones((3, 1)))


def test_max_abs_error():
    assert max_abs_error([1.0, 2.0], [1.5, 1.0]) == 1.0


def test_machine_epsilon_per_dtype():
    assert machine_epsilon(np.float64) == 2.0 ** -52
    assert machine_epsilon(np.float32) == 2.0 ** -23
    assert machine_epsilon(np.float16) == 2.0 ** -10
    assert machine_epsilon(np.complex128) == 2.0 ** -52


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("order", [2, 4])
def test_optimal_step_minimizes_the_bound(dtype, order):
    h = optimal_central_step(dtype, order)
    best = central_difference_error_bound(dtype, h, order)
    for factor in (0.5, 0.9, 1.1, 2.0):
        assert central_difference_error_bound(dtype, h * factor, order) > best


def test_float64_optimum_is_the_textbook_value():
    eps = 2.0 ** -52
    assert optimal_central_step(np.float64) == pytest.approx((3 * eps) ** (1 / 3), rel=1e-12)
    best = central_difference_error_bound(np.float64, optimal_central_step(np.float64))
    assert best == pytest.approx(0.5 * (3 * eps) ** (2 / 3), rel=1e-12)


def test_condition_moves_the_optimum_and_raises_the_floor():
    assert optimal_central_step(np.float64, condition=1e3) == pytest.approx(
        10 * optimal_central_step(np.float64), rel=1e-12)  # cube root of 1e3
    low = central_difference_error_bound(np.float64, optimal_central_step(np.float64))
    high = central_difference_error_bound(np.float64, optimal_central_step(np.float64, condition=1e3),
                                          condition=1e3)
    assert high == pytest.approx(100 * low, rel=1e-12)  # (1e3) ** (2/3)


def test_tolerances_are_safety_times_bounds():
    assert central_difference_tolerance(np.float64, 1e-5) == 10 * central_difference_error_bound(np.float64, 1e-5)
    assert complex_step_tolerance(np.float64) == 10 * complex_step_error_bound(np.float64, 1e-20)
    assert complex_step_error_bound(np.float64, 1e-20) == pytest.approx(2.0 ** -52, rel=1e-20)


def test_invalid_order():
    with pytest.raises(ValueError):
        optimal_central_step(np.float64, order=3)


def test_max_relative_error_is_on_the_scale_of_the_reference():
    from bn.gradcheck.metrics import max_relative_error

    assert max_relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    # error 0.1 on a reference whose largest entry is 4: 0.025, not 0.1/1e-9.
    assert max_relative_error([1e-9 + 0.1, 4.0], [1e-9, 4.0]) == pytest.approx(0.025)
    assert max_relative_error([0.5], [0.0]) == 0.5  # all-zero reference: the absolute error
    assert max_relative_error([], []) == 0.0
    with pytest.raises(ValueError):
        max_relative_error([1.0], [1.0, 2.0])
