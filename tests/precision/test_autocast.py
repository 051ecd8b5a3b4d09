"""BN under CPU bfloat16 autocast (``bn.precision.autocast``)."""

import pytest

from bn.precision.autocast import MODES, autocast_dtypes, batch_errors, running_drift
from bn.precision.errors import PrecisionCase

U32, U_BF16 = 2.0 ** -24, 2.0 ** -8  # unit roundoffs: 24 and 8 significant bits
CASE = PrecisionCase(n=64, channels=8, length=64, mean=3.0)


def test_autocast_gives_bn_a_bfloat16_input_and_keeps_its_statistics_float32():
    d = autocast_dtypes()
    assert d.conv_output == "bfloat16"            # conv is on autocast's lower-precision list
    assert d.bn_output_after_conv == "bfloat16"   # BN is on neither list: it runs in its input's dtype
    assert d.bn_output_float32_input == "float32"
    assert d.bn_running_stats == "float32" and d.bn_weight == "float32"


def test_autocast_statistics_are_float32_accurate_bfloat16_ones_are_not():
    # m = 4096 values per channel: a float32 mean or variance is within about m * u32 (worst case) of
    # exact, relative to the data's magnitude (1 + |mean| / std); a bfloat16 *stored* statistic is off
    # by up to u_bf16 of its own size, 16,000 times more.
    m, mag = CASE.m, 1 + abs(CASE.mean) / CASE.std
    auto, bf16 = batch_errors(CASE, "autocast"), batch_errors(CASE, "bfloat16")
    for stat in ("mean", "var"):
        assert auto[stat] <= m * U32 * mag ** 2
        assert m * U32 * mag ** 2 < bf16[stat] <= U_BF16 * mag
    # the output is bfloat16 in both: its error is a bfloat16 rounding (half a spacing, u_bf16, relative)
    assert auto["y"] <= U_BF16 and bf16["y"] <= 2 * U_BF16


def test_float32_is_float32_accurate():
    e = batch_errors(CASE, "float32")
    assert max(e.values()) <= CASE.m * U32 * (1 + abs(CASE.mean)) ** 2


def test_bfloat16_running_statistics_stall_float32_ones_do_not():
    f32 = running_drift("float32", updates=200, seed=0)
    auto = running_drift("autocast", updates=200, seed=0)
    bf16 = running_drift("bfloat16", updates=200, seed=0)
    assert len(f32.mean_error) == 200
    # float32 buffers: the EMA's sampling noise only. A batch variance of n = 8192 normal values has
    # standard deviation sqrt(2 / n); the EMA with momentum 0.1 shrinks it by sqrt(0.1 / 1.9); the max
    # over 8 channels stays within 3 of those.
    noise = 3 * (2 / 8192) ** 0.5 * (0.1 / 1.9) ** 0.5
    assert f32.late()[1] < noise and auto.late()[1] < noise
    # bfloat16 buffers: an update smaller than half a spacing is lost (2^-8 relative), so the buffer stalls
    # up to 2^-8 / momentum = 0.04 (variance near 1) away from the truth, and its mean near 3 further
    assert bf16.late()[1] > 2 * f32.late()[1]
    assert bf16.late()[0] > 10 * f32.late()[0]


def test_unknown_mode():
    with pytest.raises(ValueError, match="float32, autocast, bfloat16"):
        batch_errors(CASE, "float16")
    assert MODES == ("float32", "autocast", "bfloat16")
