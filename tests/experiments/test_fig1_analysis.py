"""Fig. 1 analysis on hand-made records: percentile drift after the transient, its summary, targets."""

import math

import pytest

from bn.experiments import fig1_mlp

from tests.experiments.records import as_record


@as_record
def _run(arm, seed, sig, xhat=None, steps=None, diverged=False, stalled=False):
    """A record whose evaluations carry the percentile triples ``sig`` (and ``xhat``)."""
    steps = steps or [100 * i for i in range(len(sig))]
    xs = xhat or [None] * len(sig)
    return {"spec": {"arm": arm, "seed": seed, "tags": {}, "train": {"steps": steps[-1], "peak_lr": 0.1}},
            "history": {"eval_step": steps, "diverged": diverged, "stalled": stalled,
                        "measures": [{"sigmoid_input": s, "xhat": x} for s, x in zip(sig, xs)]}}


def test_drift_is_max_minus_min_per_percentile_after_the_transient():
    # step 0 (a huge transient) is excluded; from step 100 on: 15th in [-2, -1], median in [0, 0.5]...
    run = _run("no_bn", 0, [[-9.0, 9.0, 9.0], [-1.0, 0.0, 1.0], [-2.0, 0.5, 1.5], [-1.5, 0.25, 3.0]])
    assert fig1_mlp.percentile_drift(run, "sigmoid_input", 100) == [1.0, 0.5, 2.0]
    # counting from step 0 brings the transient back in
    assert fig1_mlp.percentile_drift(run, "sigmoid_input", 0) == [8.0, 9.0, 8.0]
    # the first step counted is included (>=), a single evaluation drifts by 0
    assert fig1_mlp.percentile_drift(run, "sigmoid_input", 300) == [0.0, 0.0, 0.0]


def test_drift_needs_the_measure_after_the_step():
    run = _run("no_bn", 0, [[-1.0, 0.0, 1.0], [-2.0, 0.5, 1.5]])
    with pytest.raises(ValueError, match="xhat"):
        fig1_mlp.percentile_drift(run, "xhat", 0)  # no BN: xhat is None
    with pytest.raises(ValueError, match="steps >= 500"):
        fig1_mlp.percentile_drift(run, "sigmoid_input", 500)


def _pair(seed, scale_no, scale_bn):
    """No BN drifts by ``scale_no`` in every percentile, BN's input by ``scale_bn``, x-hat by 0.1."""
    base = [-1.0, 0.0, 1.0]
    no = _run("no_bn", seed, [[v + scale_no * k for v in base] for k in (5, 0, 1)])
    bn = _run("bn", seed, [[v + scale_bn * k for v in base] for k in (5, 0, 1)],
              xhat=[[v + 0.1 * k for v in base] for k in (5, 0, 1)])
    return no, bn


def test_summary_means_and_paired_ratio():
    pairs = [_pair(0, 2.0, 0.5), _pair(1, 4.0, 1.0), _pair(2, 6.0, 1.0)]
    no, bn = [p[0] for p in pairs], [p[1] for p in pairs]
    s = fig1_mlp.drift_summary(no, bn, after_step=100)
    assert s.after_step == 100 and s.left_out == 0
    for i in range(3):
        assert s.mean[("no_bn", "sigmoid_input")][i].estimate == pytest.approx(4.0)
        assert s.mean[("bn", "sigmoid_input")][i].estimate == pytest.approx(2.5 / 3)
        assert s.mean[("bn", "xhat")][i].estimate == pytest.approx(0.1)
        # geometric mean of the paired ratios 4, 4, 6
        assert s.ratio[i].estimate == pytest.approx(math.exp((2 * math.log(4) + math.log(6)) / 3))
        assert s.ratio[i].low > 1 and s.ratio[i].n == 3
    assert s.verdicts() == ["reproduced"] * 3
    table = repr(fig1_mlp.drift_table(s))
    assert "4.00" in table and "ratio" in table and "85th percentile" in table


def test_summary_leaves_out_failed_runs_and_their_pairs():
    pairs = [_pair(0, 2.0, 0.5), _pair(1, 4.0, 1.0), _pair(2, 6.0, 1.0)]
    no, bn = [p[0] for p in pairs], [p[1] for p in pairs]
    no[2].history.stalled = True
    s = fig1_mlp.drift_summary(no, bn, after_step=100)
    assert s.left_out == 1
    assert s.mean[("no_bn", "sigmoid_input")][0].n == 2 and s.mean[("bn", "sigmoid_input")][0].n == 3
    assert s.ratio[1].n == 2 and s.ratio[1].estimate == pytest.approx(4.0)


def test_equal_drift_is_not_resolved():
    pairs = [_pair(0, 1.0, 1.0), _pair(1, 2.0, 1.5), _pair(2, 1.0, 1.5)]
    s = fig1_mlp.drift_summary([p[0] for p in pairs], [p[1] for p in pairs], after_step=100)
    assert s.verdicts() == ["not resolved"] * 3


@pytest.mark.parametrize("plateau, step, n, expected", [
    (0.45, 0.1, 2, [0.3, 0.4]),
    (0.40, 0.1, 2, [0.2, 0.3]),  # strictly below: every run reaches it
    (0.21, 0.1, 2, [0.2]),
    (0.12, 0.1, 2, []),  # nothing between chance and the plateau
    (0.56, 0.05, 3, [0.45, 0.5, 0.55]),
])
def test_fixed_targets_lie_between_chance_and_the_plateau(plateau, step, n, expected):
    assert fig1_mlp.fixed_targets(plateau, step, n) == pytest.approx(expected)
