"""BN, LN, IN, GN as choices of axes: parity with torch.nn.functional in float64, input checks."""

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn.normalization import (batch_norm, family_axes, group_norm, instance_norm, layer_norm,
                             normalize_over_axes)
from bn.functional import batch_norm_forward

SHAPES = [(4, 6, 5), (3, 4, 5, 6), (2, 6, 3, 2, 4), (5, 2, 7)]
EPS64 = np.finfo(np.float64).eps


def parity_tolerance(set_size: int, y: np.ndarray) -> float:
    """Absolute tolerance for two float64 normalizations of the same sets.

    The two implementations sum in different orders (NumPy pairwise, PyTorch
    its own kernels), so each of mean and variance may differ by up to about
    ``set_size * eps`` relatively (the worst-case bound of recursive summation);
    that relative error carries over to every output, whose size is at most
    ``max|y|``. A factor 4 covers mean, variance, square root and division.
    """
    return 4 * set_size * EPS64 * max(1.0, float(np.abs(y).max()))


def sample(shape, seed=0):
    rng = np.random.default_rng(seed)
    # A non-zero mean and a scale unlike 1, so that centring and scaling both matter.
    x = rng.normal(2.0, 3.0, shape)
    gamma = rng.normal(1.0, 0.5, shape[1])
    beta = rng.normal(0.0, 0.5, shape[1])
    return x, gamma, beta


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_matches_torch_and_bn_functional(shape):
    x, gamma, beta = sample(shape)
    ours = batch_norm(x, gamma, beta, eps=1e-5)
    theirs = F.batch_norm(torch.from_numpy(x), None, None, torch.from_numpy(gamma),
                          torch.from_numpy(beta), training=True, eps=1e-5).numpy()
    tol = parity_tolerance(x.size // shape[1], theirs)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=tol)
    np.testing.assert_allclose(ours, batch_norm_forward(x, gamma, beta, 1e-5)[0], rtol=0, atol=tol)


@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_matches_torch(shape):
    x, _, _ = sample(shape)
    rng = np.random.default_rng(1)
    weight, bias = rng.normal(1.0, 0.5, shape[1:]), rng.normal(0.0, 0.5, shape[1:])
    ours = layer_norm(x, weight, bias, eps=1e-5)
    theirs = F.layer_norm(torch.from_numpy(x), shape[1:], torch.from_numpy(weight),
                          torch.from_numpy(bias), eps=1e-5).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=parity_tolerance(x[0].size, theirs))


@pytest.mark.parametrize("shape", SHAPES)
def test_instance_norm_matches_torch(shape):
    x, gamma, beta = sample(shape)
    ours = instance_norm(x, gamma, beta, eps=1e-5)
    theirs = F.instance_norm(torch.from_numpy(x), weight=torch.from_numpy(gamma),
                             bias=torch.from_numpy(beta), eps=1e-5).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0,
                               atol=parity_tolerance(x[0, 0].size, theirs))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("groups_kind", ["one", "two", "all"])
def test_group_norm_matches_torch(shape, groups_kind):
    x, gamma, beta = sample(shape)
    groups = {"one": 1, "two": 2, "all": shape[1]}[groups_kind]
    ours = group_norm(x, groups, gamma, beta, eps=1e-5)
    theirs = F.group_norm(torch.from_numpy(x), groups, torch.from_numpy(gamma),
                          torch.from_numpy(beta), eps=1e-5).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0,
                               atol=parity_tolerance(x[0].size // groups, theirs))


def test_group_norm_extremes_are_layer_and_instance_norm():
    x, gamma, beta = sample((3, 4, 5, 5))
    tol = parity_tolerance(x[0].size, x)  # same formulas, same sums: only rounding of the reshape path
    np.testing.assert_allclose(group_norm(x, 1), layer_norm(x), rtol=0, atol=tol)
    np.testing.assert_allclose(group_norm(x, 4, gamma, beta), instance_norm(x, gamma, beta),
                               rtol=0, atol=tol)


def test_normalized_sets_have_zero_mean_and_unit_variance():
    x, _, _ = sample((4, 3, 6, 5))
    for member in ("batch", "layer", "instance"):
        axes = family_axes(member, x.ndim)
        x_hat = normalize_over_axes(x, axes, eps=1e-12)
        # eps = 1e-12 moves the variance by ~1e-13 relative at sigma = 3: invisible at 1e-10.
        np.testing.assert_allclose(x_hat.mean(axis=axes), 0, atol=1e-12)
        np.testing.assert_allclose(x_hat.var(axis=axes), 1, atol=1e-10)


def test_family_axes():
    assert family_axes("batch", 4) == (0, 2, 3)
    assert family_axes("layer", 4) == (1, 2, 3)
    assert family_axes("instance", 4) == (2, 3)
    assert family_axes("batch", 2) == (0,)
    with pytest.raises(ValueError, match="spatial"):
        family_axes("instance", 2)
    with pytest.raises(ValueError, match="unknown member"):
        family_axes("group", 4)


@pytest.mark.parametrize("axes, error, match", [
    ((), ValueError, "at least one axis"),
    ((0, 0), ValueError, "repeat"),
    ((5,), ValueError, "out of range"),
    ((1.0,), TypeError, "integers"),
])
def test_normalize_over_axes_rejects_bad_axes(axes, error, match):
    with pytest.raises(error, match=match):
        normalize_over_axes(np.ones((2, 3, 4)), axes)


def test_input_checks():
    with pytest.raises(TypeError, match="floating"):
        normalize_over_axes(np.ones((2, 3), dtype=int), (0,))
    with pytest.raises(ValueError, match="NaN"):
        normalize_over_axes(np.array([[1.0, np.nan]]), (1,))
    with pytest.raises(ValueError, match="at least 2"):
        instance_norm(np.ones((2, 3, 1, 1)))
    with pytest.raises(ValueError, match="divisor"):
        group_norm(np.ones((2, 6, 3)), 4)
    with pytest.raises(TypeError, match="integer"):
        group_norm(np.ones((2, 6, 3)), 2.0)
    with pytest.raises(ValueError, match="shape"):
        layer_norm(np.ones((2, 3, 4)), weight=np.ones(3))
    with pytest.raises(ValueError, match="eps"):
        batch_norm(np.ones((2, 3)), eps=0.0)


def test_negative_axes_count_from_the_end():
    x, _, _ = sample((3, 4, 5))
    np.testing.assert_array_equal(normalize_over_axes(x, (-1,)), normalize_over_axes(x, (2,)))


def test_importing_bn_normalization_does_not_import_torch():
    code = "import sys, bn.normalization; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
