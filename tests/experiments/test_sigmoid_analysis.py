"""The sigmoid chapter's analysis on a hand-made result: sweep summary, contrasts, layer health, tables."""

import math

import pytest

from bn.experiments import sigmoid

from tests.experiments.records import as_record, experiment_result


@as_record
def _run(arm, seed, final=None, stalled=False, lr=0.1, sweep=False, chosen=False, grads=(1e-3, 1.0),
         sat=0.1, accs=(0.1, 0.3, 0.5)):
    tags = {"sweep": True} if sweep else {}
    if chosen:
        tags["chosen"] = True
    steps = [0, 12, 24][:len(accs)]
    health = [{"weight_norm": [1.0, 1.0], "grad_norm": [None, None], "saturated": [sat, sat]}]
    health += [{"weight_norm": [1.0, 1.0], "grad_norm": list(grads), "saturated": [sat, sat + 0.2]}
               for _ in steps[1:]]
    return {"spec": {"arm": arm, "label": {"no_bn": "Sigmoid, no BN", "bn": "BN-Baseline-Sigmoid",
                                           "bn_x5": "BN-x5-Sigmoid"}[arm], "seed": seed, "tags": tags,
                     "train": {"peak_lr": lr, "steps": 24}},
            "history": {"eval_step": steps, "val_acc": list(accs), "test_acc": [], "diverged": False,
                        "stalled": stalled, "stalled_at_step": 24 if stalled else None,
                        "final_test_acc": None if stalled else final, "final_val_acc": None if stalled else final,
                        "health": health}}


def _result(no_bn_stalls=True):
    chance = (0.1, 0.1, 0.11)
    runs = [_run("no_bn", 100, stalled=True, lr=lr, sweep=True, chosen=lr == 0.1, accs=chance)
            for lr in (0.01, 0.1, 1.0)]
    for s in range(3):
        runs.append(_run("no_bn", s, final=0.3 + s / 100, stalled=no_bn_stalls, grads=(1e-5, 1.0), sat=0.05,
                         accs=chance if no_bn_stalls else (0.1, 0.2, 0.3)))
        runs.append(_run("bn", s, final=0.5 + s / 100, lr=0.03, grads=(0.1, 1.0), sat=0.0))
        runs.append(_run("bn_x5", s, final=0.55 + s / 50, lr=0.15, grads=(0.2, 1.0), sat=0.0))
    sel = {"chosen": 0.1, "extended": 0, "seed": 100, "scores": {"0.01": None, "0.1": None, "1": None}}
    return experiment_result({"seeds": [0, 1, 2], "runs": runs, "measures": {"selection": sel}})


def test_a_sweep_where_every_rate_sat_at_chance_brackets_nothing():
    s = sigmoid.sweep_summary(_result())
    assert s.rates == [0.01, 0.1, 1.0] and s.chosen == 0.1
    assert s.all_failed and not s.bracketed  # the chosen rate is interior, but nothing trained


def test_contrast_rests_on_outcomes_when_one_arm_never_trains():
    c = sigmoid.attribution(_result())
    bn = c[("bn", "no_bn")]
    # 3 of 3 against 0 of 3: one-sided exact p = 1/20 > 2.5 %, too few seeds to settle it
    assert bn.verdict == "not resolved" and bn.basis == "outcomes" and bn.difference is None and bn.left_out == 3
    assert bn.text() == "3/3 trained vs 0/3"
    recipe = c[("bn_x5", "bn")]  # differences 0.05, 0.06, 0.07
    # two evaluations per run cannot show a plateau: a final accuracy does not test where training ends
    assert recipe.basis == "accuracy" and recipe.verdict == "not tested at this budget"
    assert recipe.difference.estimate == pytest.approx(0.06)


def test_contrast_on_accuracy_when_both_arms_train():
    c = sigmoid.attribution(_result(no_bn_stalls=False))[("bn", "no_bn")]
    assert c.basis == "accuracy" and c.difference.estimate == pytest.approx(0.2)
    # equal differences in every seed: a zero-width interval, still above 0
    assert c.verdict == "not tested at this budget" and c.text().startswith("+20.0 points")


def test_health_at_takes_medians_and_skips_runs_that_stopped_before():
    res = _result()
    runs = sigmoid.arm_runs(res)
    h = sigmoid.health_at(runs["no_bn"])
    assert h.step == 12 and h.ratio == pytest.approx(1e-5) and h.saturated == pytest.approx(0.15)
    assert sigmoid.health_at(runs["bn"], index=5) is None
    assert math.isclose(sigmoid.health_at(runs["bn"]).ratio, 0.1)


def test_best_seen_ignores_step_zero_and_counts_failed_runs():
    runs = sigmoid.arm_runs(_result())["no_bn"]
    assert sigmoid.best_seen(runs) == pytest.approx(0.11)


def test_tables_name_every_arm():
    res = _result()
    text = repr(sigmoid.outcome_table(res))
    assert "3 at chance (of 3)" in text and "BN-x5-Sigmoid" in text
    text = repr(sigmoid.attribution_table(res))
    assert "the recipe" in text and "3/3 trained vs 0/3" in text
