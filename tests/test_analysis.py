"""Analysis helpers against cases small enough to check by hand and against printed t tables."""

import math

import pytest

from bn.analysis import first_reaching, reached, seconds_to_target, steps_to_target
from bn.statistics import mean_ci, ratio_ci, t_cdf, t_quantile, welch_df

HISTORY = {"eval_step": [0, 50, 100, 150], "test_acc": [0.1, 0.45, 0.62, 0.61],
           "train_seconds": [0.0, 5.0, 10.5, 16.0]}


def test_steps_and_seconds_to_target():
    assert steps_to_target(HISTORY, 0.5) == 100
    assert steps_to_target(HISTORY, 0.45) == 50  # reaching means >=
    assert seconds_to_target(HISTORY, 0.6) == 10.5
    assert steps_to_target(HISTORY, 0.7) is None
    assert first_reaching([1, 2], [None, 0.9], 0.5) == 2


@pytest.mark.parametrize("p,df,table", [(0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 4, 2.776),
                                        (0.95, 10, 1.812), (0.975, 30, 2.042)])
def test_t_quantile_against_printed_tables(p, df, table):
    # printed tables give 3 decimals
    assert t_quantile(p, df) == pytest.approx(table, abs=5e-4)


def test_t_cdf_symmetry_and_cauchy_case():
    # df = 1 is the Cauchy distribution: F(x) = 1/2 + arctan(x)/pi
    for x in (-3.0, 0.5, 2.0):
        assert t_cdf(x, 1) == pytest.approx(0.5 + math.atan(x) / math.pi, abs=1e-9)
    assert t_cdf(0.0, 5) == pytest.approx(0.5)


def test_mean_ci_by_hand():
    # [1, 2, 3]: mean 2, s = 1, half-width t_{.975,2} / sqrt(3) = 4.3027 / 1.7321 = 2.4841
    iv = mean_ci([1, 2, 3])
    assert iv.estimate == 2
    assert iv.high - iv.estimate == pytest.approx(2.4841, abs=1e-4)
    assert iv.estimate - iv.low == pytest.approx(2.4841, abs=1e-4)
    single = mean_ci([5.0])
    assert single.low == -math.inf and single.high == math.inf
    assert iv.fmt(1) == "2.0 [-0.5, 4.5]"


def test_ratio_ci_by_hand():
    # both samples have CV 0.1 and n = 3: se(log r) = sqrt(2 * 0.01 / 3), df = 4 (equal variances)
    iv = ratio_ci([90, 100, 110], [45, 50, 55])
    assert iv.estimate == pytest.approx(2.0)
    half = 2.776445 * math.sqrt(2 * 0.01 / 3)
    assert iv.low == pytest.approx(2.0 * math.exp(-half), rel=1e-5)
    assert iv.high == pytest.approx(2.0 * math.exp(half), rel=1e-5)
    assert welch_df(0.1, 3, 0.1, 3) == pytest.approx(4.0)


def test_ratio_ci_without_spread_is_a_point():
    iv = ratio_ci([10, 10, 10], [5, 5, 5])
    assert (iv.low, iv.estimate, iv.high) == (2.0, 2.0, 2.0)


def test_reached_counts_missing():
    assert reached([3, None, 5]) == ([3.0, 5.0], 1)


def test_difference_ci_by_hand():
    # a = [1, 2, 3], b = [0, 1, 2]: difference 1, se = sqrt(1/3 + 1/3), df = 4
    from bn.statistics import difference_ci

    iv = difference_ci([1, 2, 3], [0, 1, 2])
    half = 2.776445 * math.sqrt(2 / 3)
    assert iv.estimate == pytest.approx(1.0)
    assert (iv.low, iv.high) == (pytest.approx(1 - half, rel=1e-6), pytest.approx(1 + half, rel=1e-6))


def test_paired_difference_removes_the_shared_seed_effect():
    from bn.statistics import difference_ci, paired_difference_ci
    seed_effect = [0.0, 10.0, -7.0, 3.0]
    a = [s + 1.0 + e for s, e in zip(seed_effect, [0.1, -0.1, 0.05, -0.05])]
    b = list(seed_effect)
    paired = paired_difference_ci(a, b)
    assert paired.estimate == pytest.approx(1.0)
    assert paired.low > 0.5 and paired.high < 1.5   # the shared effect cancels
    unpaired = difference_ci(a, b)
    assert unpaired.low < 0 < unpaired.high         # lost in the seed spread without pairing
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference_ci([1.0], [1.0, 2.0])


def test_paired_ratio_is_the_geometric_mean_with_a_log_scale_t_interval():
    from bn.statistics import paired_ratio_ci
    a, b = [2.0, 8.0, 4.0], [1.0, 2.0, 1.0]   # ratios 2, 4, 4
    iv = paired_ratio_ci(a, b)
    logs = [math.log(2), math.log(4), math.log(4)]
    m = sum(logs) / 3
    s = math.sqrt(sum((v - m) ** 2 for v in logs) / 2)
    half = 4.302653 * s / math.sqrt(3)        # t_{0.975, 2}
    assert iv.estimate == pytest.approx(math.exp(m), rel=1e-12)
    assert (iv.low, iv.high) == (pytest.approx(math.exp(m - half), rel=1e-6),
                                 pytest.approx(math.exp(m + half), rel=1e-6))
    with pytest.raises(ValueError, match="positive"):
        paired_ratio_ci([1.0, 0.0], [1.0, 1.0])
