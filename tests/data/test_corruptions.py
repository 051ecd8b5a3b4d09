"""The generated corruptions: severity orders the damage, the noise is fixed by its seed, shapes and
dtypes survive, and bad input is a one-line error naming the valid choices."""

import numpy as np
import pytest

from bn.data.corruptions import (CORRUPTIONS, SEVERITIES, SEVERITY_PARAMETERS, check_corruption, corrupt,
                                 corruption_distance, gaussian_kernel)


@pytest.fixture(scope="module")
def images():
    """Smooth random colour images with edges (a blur and JPEG have something to remove), uint8 NCHW."""
    rng = np.random.default_rng(1)
    n, h, w = 16, 32, 32
    yy, xx = np.mgrid[0:h, 0:w] / h
    base = np.stack([np.sin(2 * np.pi * (rng.uniform(1, 3) * xx + rng.uniform(1, 3) * yy) + rng.uniform(0, 6))
                     for _ in range(n * 3)]).reshape(n, 3, h, w)
    squares = (rng.uniform(size=(n, 3, h // 4, w // 4)) > 0.5).repeat(4, axis=2).repeat(4, axis=3)
    x = 0.35 + 0.25 * base + 0.3 * squares
    return np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_a_higher_severity_moves_the_images_further(name, images):
    d = [corruption_distance(images, corrupt(images, name, s)) for s in SEVERITIES]
    assert all(b > a for a, b in zip(d, d[1:])), (name, d)
    assert d[0] > 0


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_shapes_dtypes_and_layouts_survive(name, images):
    out = corrupt(images, name, 3)
    assert out.shape == images.shape and out.dtype == np.uint8
    as_float = images.astype(np.float32) / 255
    f = corrupt(as_float, name, 3)
    assert f.dtype == np.float32 and f.min() >= 0 and f.max() <= 1
    # uint8 and float inputs give the same image up to the uint8 rounding of the result (half a level)
    # (JPEG encodes uint8 either way; float32 input carries 2**-24 relative error, far below a level)
    assert np.abs(f.astype(np.float64) * 255 - out).max() <= 0.5 + 1e-3
    nhwc = corrupt(np.transpose(images, (0, 2, 3, 1)), name, 3, layout="NHWC")
    assert np.array_equal(np.transpose(nhwc, (0, 3, 1, 2)), out)


def test_noise_is_fixed_by_its_seed_and_only_noise_is_random(images):
    a, b = corrupt(images, "gaussian_noise", 2, seed=7), corrupt(images, "gaussian_noise", 2, seed=7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, corrupt(images, "gaussian_noise", 2, seed=8))
    for name in CORRUPTIONS[1:]:
        assert np.array_equal(corrupt(images, name, 4, seed=1), corrupt(images, name, 4, seed=2))


def test_the_noise_has_the_documented_spread():
    grey = np.full((64, 3, 32, 32), 0.5)
    out = corrupt(grey, "gaussian_noise", 5)
    # 196,608 draws: the sample standard deviation is within 1 % of sigma (its relative sd is 1/sqrt(2n) = 0.16 %)
    assert abs((out - 0.5).std() - SEVERITY_PARAMETERS["gaussian_noise"][4]) < 0.01 * 0.10


def test_contrast_and_brightness_follow_their_formulas():
    x = np.random.default_rng(0).uniform(0.2, 0.6, size=(2, 3, 4, 4))
    c = SEVERITY_PARAMETERS["contrast"][1]
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(corrupt(x, "contrast", 2), (x - m) * c + m, rtol=0, atol=1e-15)
    # brightness raises max(R, G, B) by the parameter and keeps the ratios between channels (hue, saturation)
    y = corrupt(x, "brightness", 1)
    v, v2 = x.max(axis=1), y.max(axis=1)
    np.testing.assert_allclose(v2, v + SEVERITY_PARAMETERS["brightness"][0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(y / v2[:, None], x / v[:, None], rtol=1e-12)
    black = np.zeros((1, 3, 2, 2))
    assert np.allclose(corrupt(black, "brightness", 5), SEVERITY_PARAMETERS["brightness"][4])


def test_blur_kernel_is_normalized_and_keeps_a_constant_image():
    for s in SEVERITY_PARAMETERS["gaussian_blur"]:
        k = gaussian_kernel(s)
        assert abs(k.sum() - 1) < 1e-15 and np.allclose(k, k[::-1])
    flat = np.full((1, 3, 8, 8), 0.25)
    np.testing.assert_allclose(corrupt(flat, "gaussian_blur", 5), flat, rtol=0, atol=1e-15)


@pytest.mark.parametrize("name, severity, match", [
    ("fog", 1, "unknown corruption 'fog'; the corruptions are gaussian_noise, gaussian_blur, contrast, "
               "brightness, jpeg"),
    ("jpeg", 0, "severity must be one of 1, 2, 3, 4, 5, got 0"),
    ("jpeg", 6, "severity must be one of 1, 2, 3, 4, 5, got 6"),
    ("contrast", 2.5, "severity must be one of 1, 2, 3, 4, 5, got 2.5"),
    ("contrast", True, "severity must be one of"),
])
def test_bad_choices_are_one_line_errors_naming_the_valid_ones(name, severity, match, images):
    with pytest.raises(ValueError) as e:
        corrupt(images, name, severity)
    assert match in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError):
        check_corruption(name, severity)


def test_bad_images_are_clear_errors(images):
    with pytest.raises(ValueError, match="layout must be one of NCHW, NHWC"):
        corrupt(images, "jpeg", 1, layout="CHW")
    with pytest.raises(ValueError, match="4-d batch"):
        corrupt(images[0], "jpeg", 1)
    with pytest.raises(ValueError, match="uint8 .* or float"):
        corrupt(images.astype(np.int32), "jpeg", 1)
    with pytest.raises(ValueError, match="3 colour channels"):
        corrupt(images[:, :2], "contrast", 1)
