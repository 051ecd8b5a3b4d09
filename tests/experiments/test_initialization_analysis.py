"""The initialization chapter's analysis: the x1 reference's specs, and each scale against x1."""

import pytest

from bn.experiments import convergence, initialization

from tests.experiments.records import as_record, experiment_result, run_record


@pytest.mark.parametrize("profile", ["smoke", "cpu", "gpu"])
@pytest.mark.parametrize("bn", [False, True])
def test_the_x1_reference_is_the_run_this_experiment_would_make_at_scale_1(profile, bn):
    lr = 0.02
    ref_spec = convergence.spec(convergence.PROFILES[profile], bn, lr, seed=1)
    ref = ref_spec.to_dict()
    cfg = initialization.PROFILES[profile]
    assert initialization.spec_differences(ref_spec, cfg, lr) == []
    mine = initialization.spec(cfg, lr, bn, 1.0, 1).to_dict()
    assert {k: v for k, v in mine.items() if k not in ("arm", "label", "tags")} == \
        {k: v for k, v in ref.items() if k not in ("arm", "label", "tags")}
    assert mine["arm"] == ref["arm"] == initialization.arm_name(bn, 1.0)


def test_spec_differences_names_what_differs():
    ref = convergence.spec(convergence.PROFILES["cpu"], True, 0.02, seed=0)
    ref.model["widths"] = [8, 16, 32, 64]
    assert initialization.spec_differences(ref, initialization.PROFILES["cpu"], 0.03) == \
        ["model.widths", "train.peak_lr"]


@as_record
def _run(arm, seed, final=None, diverged=False):
    return {"spec": {"arm": arm, "seed": seed, "tags": {}, "train": {"steps": 24}},
            "history": {"eval_step": [0, 12], "val_acc": [0.1, 0.2], "test_acc": [], "diverged": diverged,
                        "stalled": False, "final_test_acc": None if diverged else final}}


def _results():
    ref = experiment_result({"runs": [_run(arm, s, final=base + s / 100) for s in range(4)
                                      for arm, base in (("no_bn", 0.6), ("bn", 0.7))]})
    runs = []
    for s in range(3):
        runs += [_run("no_bn_init10", s, diverged=True), _run("bn_init10", s, final=0.68 + s / 100),
                 _run("no_bn_init0.1", s, final=0.4 + s / 50), _run("bn_init0.1", s, final=0.69 + s / 100)]
    return experiment_result({"runs": runs, "measures": {"init_scales": [0.1, 10.0]}}), ref


def test_a_scale_where_no_bn_never_trains_is_shown_on_outcomes():
    res, ref = _results()
    c = initialization.compare_scale(res, ref, 10.0, [0, 1, 2])
    # 3 of 3 against 0 of 3: one-sided exact p = 1/20, above 2.5 % -- too few seeds to settle it
    assert c.verdict == "not resolved" and c.basis == "outcomes" and c.gap is None
    assert c.outcomes[False]["diverged"] == 3 and c.change[False] == (None, 3)
    assert c.change[True][0].estimate == pytest.approx(-0.02)


def test_a_scale_where_both_train_rests_on_the_difference_of_changes():
    res, ref = _results()
    c = initialization.compare_scale(res, ref, 0.1, [0, 1, 2])
    # no BN: 0.40, 0.42, 0.44 against 0.60, 0.61, 0.62 -> changes -0.20, -0.19, -0.18
    # BN: 0.69, 0.70, 0.71 against 0.70, 0.71, 0.72 -> -0.01 each; the gap is 0.19, 0.18, 0.17
    assert c.basis == "accuracy" and c.gap.estimate == pytest.approx(0.18) and c.verdict == "reproduced"
    assert c.gap.n == 3  # the reference's seed 3 has no partner and is left out


def test_scale_table_lists_every_scale_and_arm():
    res, ref = _results()
    text = repr(initialization.scale_table(res, ref, [0, 1, 2]))
    assert sum(line.startswith("×1 ") for line in text.splitlines()) == 2 and "(reference)" in text and "3 diverged (of 3)" in text


def test_first_conv_at_takes_medians_and_skips_runs_without_a_gradient():
    def run(w, g, n=3):
        health = [{"weight_norm": [w, 1.0], "grad_norm": [None, None], "saturated": [0.5]}]
        health += [{"weight_norm": [w * (k + 1), 1.0], "grad_norm": [g, 1.0], "saturated": [0.5]}
                   for k in range(1, n)]
        return run_record({"history": {"health": health}})
    runs = [run(1.0, 0.1), run(2.0, 0.4), run(3.0, 0.3), run(5.0, 1.0, n=1)]
    w, rel = initialization.first_conv_at(runs, 1)  # norms 2, 4, 6; relative 0.05, 0.1, 0.05
    assert w == 4.0 and rel == pytest.approx(0.05)
    assert initialization.first_conv_at(runs, -1)[0] == 6.0  # the last record: 3, 6, 9 (and 5 has none)
    assert initialization.first_conv_at(runs, 0) is None  # no gradient before the first step
