"""The verdict rule, Holm's correction, Fisher's exact test, censored ratios, the plateau rule and pairing,
each against cases small enough to settle by hand."""

import math

import pytest

from bn.statistics import (CensoredRatio, Evidence, Interval, Outcomes, censored_ratio, decide, fisher_one_sided,
                           holm, late_rise, mean_ci, pair_by, paired_ratio_ci, plateau, t_test_p)


def iv(low: float, high: float, est: float | None = None, p: float | None = 0.01) -> Interval:
    return Interval((low + high) / 2 if est is None else est, low, high, 5, p=p)


def test_t_test_p_matches_the_printed_t_table():
    # t_{0.975, 4} = 2.776 and t_{0.995, 10} = 3.169 (printed tables): two-sided p of 0.05 and 0.01
    assert t_test_p(2.776, 1.0, 4) == pytest.approx(0.05, abs=2e-4)
    assert t_test_p(-3.169, 1.0, 10) == pytest.approx(0.01, abs=2e-4)
    assert t_test_p(0.0, 0.0, 3) == 1.0 and t_test_p(1.0, 0.0, 3) == 0.0


def test_mean_ci_p_agrees_with_its_interval():
    # The interval excludes 0 exactly when the p-value is below 5 %: the same test, two readings.
    for values in ([1.0, 2.0, 3.0], [0.1, -0.2, 0.4, 0.3], [-1.0, -1.1, -0.9, -1.3, -0.2]):
        ci = mean_ci(values)
        assert (ci.low > 0 or ci.high < 0) == (ci.p < 0.05)
    ratio = paired_ratio_ci([2.0, 4.0, 3.0], [1.0, 2.1, 1.4])
    assert ratio.p == mean_ci([math.log(2 / 1), math.log(4 / 2.1), math.log(3 / 1.4)]).p


def test_decide_reads_the_side_of_the_interval():
    assert decide(Evidence(iv(1.5, 2.5), 1.0)).word == "reproduced"
    assert decide(Evidence(iv(0.4, 0.8), 1.0)).word == "reversed"
    assert decide(Evidence(iv(0.8, 1.4), 1.0)).word == "not resolved"
    assert decide(Evidence(iv(-3.0, -1.0), 0.0, claimed="below")).word == "reproduced"
    assert decide(Evidence(None, 1.0)).word == "not resolved"


def test_a_censored_bound_settles_only_its_own_side():
    # a lower bound below 1 says nothing: the true ratio may be far above it
    assert decide(Evidence(iv(0.5, 0.9), 1.0, bound="at least")).word == "not resolved"
    assert decide(Evidence(iv(1.2, 1.9), 1.0, bound="at least")).word == "reproduced"
    assert decide(Evidence(iv(1.2, 1.9), 1.0, bound="at most")).word == "not resolved"
    assert decide(Evidence(iv(0.5, 0.9), 1.0, bound="at most")).word == "reversed"
    assert decide(Evidence(iv(1.2, 1.9), 1.0, bound="unresolved")).word == "not resolved"


def test_larger_or_smaller_than_the_paper_only_where_the_interval_excludes_it():
    assert decide(Evidence(iv(2.34, 3.75), 1.0, paper=2.3)).text() == "reproduced, larger than the paper"
    assert decide(Evidence(iv(2.25, 3.75), 1.0, paper=2.3)).text() == "reproduced"
    assert decide(Evidence(iv(3.6, 6.0), 1.0, paper=14.8)).text() == "reproduced, smaller than the paper"
    # a lower bound can exceed the paper's number but never fall short of it, and conversely
    assert decide(Evidence(iv(3.6, 6.0), 1.0, bound="at least", paper=14.8)).text() == "reproduced"
    assert decide(Evidence(iv(0.3, 0.6), 1.0, claimed="below", bound="at most", paper=0.2)).text() == "reproduced"
    assert (decide(Evidence(iv(0.3, 0.6), 1.0, claimed="below", bound="at most", paper=0.8)).text()
            == "reproduced, smaller than the paper")
    # a target set where the budget ran out makes the size meaningless, not the direction
    v = decide(Evidence(iv(2.34, 3.75), 1.0, paper=2.3, target_from_budget=True))
    assert v.text() == "reproduced"


def test_a_claim_about_the_end_of_training_needs_a_plateau():
    still = Evidence(iv(-30.0, -10.0), 0.0, about_end=True, plateaued=False)
    assert decide(still).word == "not tested at this budget" and decide(still).p is None
    assert decide(Evidence(iv(-30.0, -10.0), 0.0, about_end=True, plateaued=True)).word == "reversed"
    with pytest.raises(ValueError, match="plateaued"):
        Evidence(iv(1.0, 2.0), 0.0, about_end=True)
    with pytest.raises(ValueError, match="claimed"):
        Evidence(iv(1.0, 2.0), 0.0, claimed="up")


def test_fisher_exact_test_by_counting_tables():
    # 5 of 5 against 0 of 5: the one most extreme table of C(10, 5) = 252 equally likely ones
    assert fisher_one_sided(5, 5, 0, 5) == pytest.approx(1 / 252)
    assert fisher_one_sided(3, 3, 0, 3) == pytest.approx(1 / 20)
    # P(k >= 4) with margins 5/5 and 5 successes: (C(5,4)C(5,1) + 1) / 252
    assert fisher_one_sided(4, 5, 1, 5) == pytest.approx(26 / 252)
    assert fisher_one_sided(0, 5, 5, 5) == pytest.approx(1.0)


def test_outcome_claims():
    assert decide(Outcomes(trains=(5, 5), fails=(0, 5))).word == "reproduced"
    assert decide(Outcomes(trains=(0, 5), fails=(5, 5))).word == "reversed"
    # 3 against 3, perfectly separated: p = 1/20 = 0.05 > 0.025, too few runs at 95 %
    three = decide(Outcomes(trains=(3, 3), fails=(0, 3)))
    assert three.word == "not resolved" and "too few runs" in three.reason
    assert decide(Outcomes(trains=(5, 5), fails=(5, 5))).word == "not resolved"
    with pytest.raises(ValueError):
        Outcomes(trains=(6, 5), fails=(0, 5))


def test_holm_steps_down_and_stops_at_the_first_failure():
    # sorted: 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2: stop there, 0.04 fails too
    assert holm([0.01, 0.04, 0.03, 0.005]) == [True, False, False, True]
    assert holm([0.01, None, 0.2]) == [True, None, False]
    # Bonferroni would drop 0.02 (> 0.05/2); Holm keeps it once 0.001 is rejected
    assert holm([0.001, 0.02]) == [True, True]


def test_censored_ratio_bounds():
    exact = censored_ratio([200, 300, 250], [100, 100, 100], [500] * 3, [500] * 3)
    assert exact.bound == "exact" and exact.ratio.estimate == pytest.approx((2 * 3 * 2.5) ** (1 / 3))
    low = censored_ratio([None, 300, 250], [100, 100, 100], [500] * 3, [500] * 3)
    assert low.bound == "at least" and low.per_pair[0] == 5.0 and low.censored == (True, False, False)
    assert low.text().startswith("≥ ")
    high = censored_ratio([200, 300, 250], [None, 100, 100], [500] * 3, [500] * 3)
    assert high.bound == "at most" and high.text().startswith("≤ ")
    assert censored_ratio([None, 300], [100, None], [500] * 2, [500] * 2).ratio is None
    assert censored_ratio([None, 300], [None, 100], [500] * 2, [500] * 2).bound == "unresolved"
    assert censored_ratio([0, 300], [100, 100], [500] * 2, [500] * 2).bound == "unresolved"
    assert isinstance(censored_ratio([], [], [], []), CensoredRatio)
    with pytest.raises(ValueError, match="one entry per pair"):
        censored_ratio([1], [1, 2], [1], [1])


def test_plateau_rule():
    steps = list(range(0, 1001, 100))
    flat = [0.1, 0.4, 0.5, 0.55, 0.58, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    climbing = [0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65]
    assert late_rise(steps, flat, 1000) == pytest.approx(0.0)
    assert late_rise(steps, climbing, 1000) == pytest.approx(0.65 - 0.55)
    shifted = [a + 0.02 for a in flat]
    p = plateau([(steps, flat), (steps, shifted)], 1000)
    assert p.plateaued and p.best_steps == (500, 500)
    q = plateau([(steps, climbing), (steps, [a + 0.01 for a in climbing])], 1000)
    assert not q.plateaued and q.mean_rise == pytest.approx(0.1) and q.best_steps == (1000, 1000)
    assert "still rising" in q.text()
    assert not plateau([(steps, flat)], 1000).plateaued  # one run: no spread to weigh the rise against
    with pytest.raises(ValueError, match="both sides"):
        late_rise([0, 900, 1000], [0.1, 0.5, 0.6], 1000)


def test_pair_by_seed():
    a = [{"seed": 2, "v": "a2"}, {"seed": 0, "v": "a0"}, {"seed": 5, "v": "a5"}]
    b = [{"seed": 0, "v": "b0"}, {"seed": 2, "v": "b2"}]
    assert [(x["v"], y["v"]) for x, y in pair_by(a, b, lambda r: r["seed"])] == [("a0", "b0"), ("a2", "b2")]
    with pytest.raises(ValueError, match="twice"):
        pair_by(a + [{"seed": 0}], b, lambda r: r["seed"])


def test_outcome_p_is_two_sided():
    # the same scale as a t test's two-sided p, so that Holm's correction mixes them fairly
    assert decide(Outcomes(trains=(5, 5), fails=(0, 5))).p == pytest.approx(2 / 252)
    assert decide(Outcomes(trains=(3, 3), fails=(0, 3))).p == pytest.approx(0.1)


def test_a_run_too_short_to_judge_has_not_plateaued():
    p = plateau([([0, 10, 20], [0.1, 0.5, 0.6]), ([0, 10, 20], [0.1, 0.5, 0.6])], 100)
    assert not p.plateaued and p.rises == () and math.isnan(p.mean_rise)


def test_all_of_needs_every_part_to_agree():
    from bn.statistics import Verdict, all_of

    yes, no = Verdict("reproduced", None, "", 0.01), Verdict("reversed", None, "", 0.001)
    assert all_of([yes, Verdict("reproduced", None, "", 0.03)]).p == 0.03  # "all of them" is as weak as the weakest
    assert all_of([yes, no]).word == "not resolved" and all_of([yes, no]).p is None
    untested = Verdict("not tested at this budget", None, "", None)
    assert all_of([yes, untested]).word == "not tested at this budget"
    assert all_of([Verdict("not resolved", None, "", 0.4)] * 2).word == "not resolved"
