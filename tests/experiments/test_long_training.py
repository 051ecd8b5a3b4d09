"""The long-training and equal-rate analyses on runs small enough to check by hand."""

import pytest

from bn.experiments import fig1_rates, long_training

from tests.experiments.records import as_record, experiment_result


@as_record
def _run(arm, seed, accs, steps=100, diverged=False, stalled=False, final=0.5):
    every = steps // (len(accs) - 1)
    return {"spec": {"arm": arm, "seed": seed, "label": arm, "tags": {}, "train": {"steps": steps}},
            "history": {"eval_step": [i * every for i in range(len(accs))], "val_acc": list(accs), "test_acc": [],
                        "diverged": diverged, "stalled": stalled, "final_test_acc": None if diverged else final,
                        "steps_done": steps, "train_seconds": [float(i) for i in range(len(accs))]}}


def test_sustaining_learning_needs_the_late_median_clear_of_chance():
    flat_at_chance = _run("s", 0, [0.1, 0.11, 0.1, 0.12, 0.11, 0.1])
    assert not long_training.sustains_learning(flat_at_chance)
    # one lucky evaluation late in the run is not enough: the median of the last fifth decides
    lucky = _run("s", 0, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1,
                          0.1, 0.1, 0.1, 0.1])
    assert not long_training.sustains_learning(lucky)
    learning = _run("s", 0, [0.1, 0.2, 0.3, 0.35, 0.4, 0.42])
    assert long_training.sustains_learning(learning)
    assert not long_training.sustains_learning(_run("s", 0, [0.1, 0.5, 0.6], diverged=True))
    # the margin is three binomial standard errors on 2,000 images at 10 %
    assert long_training.SUSTAIN_MARGIN == pytest.approx(3 * (0.1 * 0.9 / 2000) ** 0.5, abs=5e-4)


def test_sustain_table_lists_every_run():
    runs = [_run("s", 0, [0.1, 0.11, 0.1, 0.1, 0.1, 0.1]), _run("s", 1, [0.1, 0.2, 0.3, 0.35, 0.4, 0.42])]
    table = repr(long_training.sustain_table(runs))
    assert "no" in table and "yes" in table and "42.0 %" in table


def test_end_table_does_not_test_runs_still_rising():
    climbing = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    res = experiment_result({"runs": [_run(a, s, [x + 0.01 * s + (0.05 if a == "bn_x30" else 0) for x in climbing])
                                      for a in long_training.RELU_ARMS for s in range(3)]})
    table = repr(long_training.end_table(res))
    assert "not tested at this budget" in table and "reproduced" not in table
    assert "still rising" in repr(long_training.plateau_table(res))


@as_record
def _mlp_run(arm, seed, medians, widths):
    """A run whose every unit has the given median trajectory and 15-85 % width per evaluation."""
    measures = [{"sigmoid_input_units": [[m - w / 2] * 3, [m] * 3, [m + w / 2] * 3]} for m, w in zip(medians, widths)]
    return {"spec": {"arm": arm, "seed": seed, "tags": {}, "train": {"steps": 300}},
            "history": {"eval_step": [0, 100, 200, 300], "measures": measures, "diverged": False, "stalled": False,
                        "final_test_acc": 0.5}}


def test_unit_drift_in_absolute_units_and_in_widths():
    run = _mlp_run("a", 0, [0.0, 1.0, 1.5, 0.5], [1.0, 2.0, 2.0, 2.0])
    d = fig1_rates.unit_drifts(run, after_step=100)
    # after step 100 the median ranges over 1.0, 1.5, 0.5: a drift of 1.0, in a width of 2
    assert d["absolute"] == pytest.approx([1.0] * 3) and d["width"] == pytest.approx([0.5] * 3)
    assert fig1_rates.run_drift(run, 100) == {"absolute": pytest.approx(1.0), "width": pytest.approx(0.5)}
    with pytest.raises(ValueError, match="fewer than 2"):
        fig1_rates.unit_drifts(run, after_step=300)


def test_compare_at_pairs_seeds_and_divides_no_bn_by_bn():
    runs = []
    for s in range(3):
        runs.append(_mlp_run("no_bn_lr0.1", s, [0, 0, 2 + 0.1 * s, 0], [1, 1, 1, 1]))
        runs.append(_mlp_run("bn_lr0.1", s, [0, 0, 1, 0], [1, 1, 1, 1]))
    res = experiment_result({"runs": runs, "measures": {"rates": [0.1], "drift_after_step": 100}})
    (c,) = fig1_rates.comparisons(res)
    assert c.seeds == [0, 1, 2] and c.left_out == 0
    assert c.ratio["absolute"].estimate == pytest.approx((2.0 * 2.1 * 2.2) ** (1 / 3))
    assert c.ratio["absolute"].low > 1
