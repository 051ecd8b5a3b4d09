"""The recipe chapter's analysis: borrowed arms, paired item effects, step ratios with censored runs, tables.

The last tests check the committed results: the configurations the recipe
experiment borrows are, spec for spec, the runs it names in experiments 2 and 3.
"""

import math
import os

import pytest

from bn.statistics import CensoredRatio, Interval

from bn.experiments import recipe
from bn.experiments.settings import RECIPE_ITEMS
from bn.results import load_result, results_dir

from tests.experiments.records import as_record, experiment_result


@as_record
def _run(arm, seed, accs, final=None, steps=(0, 10, 20, 30), diverged=False):
    """A hand-made run record: validation accuracies at ``steps``, a 30-step budget."""
    return {"spec": {"arm": arm, "seed": seed, "tags": {}, "train": {"steps": 30}},
            "history": {"eval_step": list(steps[:len(accs)]), "val_acc": list(accs), "test_acc": [],
                        "diverged": diverged, "stalled": False,
                        "final_test_acc": None if diverged else (accs[-1] if final is None else final)}}


def test_step_ratio_exact_and_bounded():
    fast = [_run("a", 0, [0.1, 0.6, 0.7, 0.7]), _run("a", 1, [0.1, 0.6, 0.7, 0.7])]
    slow = [_run("b", 0, [0.1, 0.2, 0.6, 0.7]), _run("b", 1, [0.1, 0.3, 0.4, 0.6])]
    never = [_run("c", 0, [0.1, 0.2, 0.3, 0.4]), _run("c", 1, [0.1, 0.2, 0.3, 0.4])]
    sr = recipe.step_ratio(slow, fast, 0.6)  # 20/10 and 30/10
    assert sr.bound == "exact" and sr.per_pair == (2.0, 3.0) and sr.censored == (False, False)
    assert sr.ratio.estimate == pytest.approx(math.sqrt(6)) and recipe.steps_verdict(sr) == "not resolved"
    lower = recipe.step_ratio(never, fast, 0.6)  # the reference never gets there: its budget, 30
    assert lower.bound == "at least" and lower.per_pair == (3.0, 3.0) and lower.text().startswith("≥ ")
    upper = recipe.step_ratio(fast, never, 0.6)
    assert upper.bound == "at most" and upper.text().startswith("≤ ")
    assert recipe.steps_verdict(upper) == "reversed"  # at most 1/3 with no spread: fewer steps is excluded
    assert recipe.step_ratio(never, never, 0.6).bound == "unresolved"
    assert recipe.steps_verdict(recipe.step_ratio(never, never, 0.6)) == "not resolved"


def test_a_bound_settles_only_its_own_side():
    sr = CensoredRatio(Interval(0.5, 0.4, 0.6, 2), "at least", (0.5, 0.5), (True, True), 0, 2, 2)
    assert recipe.steps_verdict(sr) == "not resolved"  # a lower bound below 1 says nothing about the ratio
    sr = CensoredRatio(Interval(2.0, 1.5, 2.5, 2), "at least", (2.0, 2.0), (True, True), 0, 2, 2)
    assert recipe.steps_verdict(sr) == "reproduced"


def _result():
    """A recipe result with every item arm, seeds 0 and 1, and its two borrowed sources."""
    runs = []
    for s in (0, 1):
        for item in RECIPE_ITEMS:
            runs.append(_run(f"without_{item}", s, [0.1, 0.4, 0.6, 0.62], final=0.60 + 0.01 * s))
            runs.append(_run(f"only_{item}", s, [0.1, 0.3, 0.5, 0.55], final=0.55 + 0.02 * s))
    res = experiment_result({"runs": [r for r in runs if r.spec.arm != "without_higher_lr"]})
    conv = experiment_result({"runs": [_run("bn", s, [0.1, 0.3, 0.45, 0.5], final=0.50 + 0.01 * s) for s in range(3)]
                             + [_run("no_bn", s, [0.1, 0.2, 0.4, 0.45], final=0.45) for s in range(3)]})
    lrs = experiment_result({"runs": [_run("bn_x5", s, [0.1, 0.6, 0.65, 0.66], final=0.65 + 0.01 * s)
                                      for s in range(3)]
                            + [_run("bn_x1", s, [0.1, 0.4, 0.5, 0.6], final=0.60) for s in range(3)]
                            + [_run("no_bn_x1", s, [0.1, 0.2, 0.3, 0.35], final=0.35) for s in range(3)]})
    return res, {"convergence": conv, "learning_rates": lrs}


def test_arm_runs_borrow_what_the_result_did_not_run():
    res, sources = _result()
    runs = recipe.arm_runs(res, sources)
    assert set(runs) == ({f"without_{i}" for i in RECIPE_ITEMS} | {f"only_{i}" for i in RECIPE_ITEMS}
                         | {"baseline", "full", "no_bn_recipe", "no_bn_baseline"})
    assert [r.spec.arm for r in runs["without_higher_lr"]] == ["bn_x1"] * 3
    assert recipe.arm_source(res, "full") == "learning_rates: bn_x5"
    assert recipe.arm_source(res, "only_less_l2") == "recipe"
    own = experiment_result({"runs": res.runs + [_run("baseline", 0, [0.1, 0.2, 0.3, 0.4])]})
    assert len(recipe.arm_runs(own, sources)["baseline"]) == 1  # its own references come first


def test_item_effects_pair_on_the_common_seeds():
    res, sources = _result()
    runs = recipe.arm_runs(res, sources)
    target = 0.45  # the no-BN baseline's best, reached at step 20
    effects = recipe.item_effects(runs, target)
    assert set(effects) == {(i, d) for i in RECIPE_ITEMS for d in ("removed", "added")}
    removed = effects["no_dropout", "removed"]  # full 0.65, 0.66 minus 0.60, 0.61
    assert removed.n == 2 and removed.differences == pytest.approx((0.05, 0.05))
    assert removed.accuracy.estimate == pytest.approx(0.05) and removed.accuracy_verdict() == "not tested at this budget"
    assert removed.steps.per_pair == (2.0, 2.0)  # full at step 10, the recipe without the item at 20
    added = effects["less_l2", "added"]  # 0.55, 0.57 minus BN-Baseline's 0.50, 0.51
    assert added.accuracy.estimate == pytest.approx(0.055) and added.accuracy.n == 2
    assert added.steps.per_pair == (1.0, 1.0)
    # the higher rate is removed against the borrowed BN-x1, on all three of its seeds
    assert effects["higher_lr", "removed"].n == 3
    # three evaluations per run cannot show a plateau: final accuracy is not a test of where training ends
    lists = recipe.verdict_lists(effects, "removed")
    assert "no_dropout" in lists["not tested at this budget"] and not lists["reversed"] and not lists["reproduced"]
    table = repr(recipe.effect_table(effects, target, first="recipe item"))
    assert "no dropout: removed" in table and "+5.0 points" in table and "times fewer steps to 45.0 %" in table


def test_controls_and_configuration_table():
    res, sources = _result()
    runs = recipe.arm_runs(res, sources)
    controls = recipe.control_effects(runs, 0.45)
    assert [k for k, *_ in recipe.CONTROLS] == list(controls)
    assert all(c.n == 3 for c in controls.values())
    assert controls["bn_under_recipe"].accuracy.estimate == pytest.approx(0.25)
    assert controls["other_items_no_bn"].steps.bound == "at most"  # the no-BN recipe never reaches 45 %
    table = repr(recipe.configuration_table(res, runs, 0.45))
    assert "convergence: no_bn" in table and "0,1,2" in table and "recipe, but dropout kept" in table


def test_failed_runs_leave_their_pair_out_of_the_accuracy():
    runs = {"a": [_run("a", 0, [0.1, 0.6]), _run("a", 1, [0.1, float("nan")], diverged=True)],
            "b": [_run("b", 0, [0.1, 0.5]), _run("b", 1, [0.1, 0.5])]}
    e = recipe.paired_effect("a vs b", runs, "a", "b", 0.5)
    assert e.failed_pairs == 1 and e.differences == pytest.approx((0.1,))
    assert "one pair" in e.accuracy_text() and "1 pairs left out" in e.accuracy_text()


def test_effect_chart_draws_bounds_and_censored_dots():
    import matplotlib

    matplotlib.use("Agg")
    from bn.statistics import Interval
    from bn.plotting import new_figure
    from bn.plotting.experiments import effect_chart

    fig, (a, b) = new_figure(1, 2)
    effect_chart(a, [("x", "k", Interval(0.01, -0.2, 0.22, 2), (0.0, 0.02), (False, False)),
                     ("y", "k", None, (), ())], scale=100)
    assert a.get_xlim()[0] > -20  # the interval is cut at the view, not the view stretched to it
    effect_chart(b, [("x", "k", Interval(2.0, 0.0, math.inf, 1), (2.0,), (True,))], null=1.0, log=True)
    assert b.get_xscale() == "log"
    import matplotlib.pyplot as plt

    plt.close(fig)


# --- the committed results -------------------------------------------------------------------

RESULTS = results_dir(os.path.dirname(__file__))
NAMES = ("recipe", "convergence", "learning_rates")


@pytest.fixture(scope="module")
def committed():
    if not all((RESULTS / f"{n}.json").exists() for n in NAMES):
        pytest.skip("the recipe, convergence and learning-rate results are not all committed")
    return {n: load_result(RESULTS / f"{n}.json") for n in NAMES}


def _by_seed(result, arm):
    return {r["spec"]["seed"]: r["spec"] for r in result["runs"]
            if r["spec"]["arm"] == arm and not r["spec"]["tags"].get("sweep")}


def test_borrowed_runs_have_the_specs_the_recipe_names(committed):
    res = committed["recipe"]
    cfg, base_lr = res["config"], res["measures"]["base_lr"]
    assert base_lr == committed["convergence"]["measures"]["baseline_lr"]
    assert res["measures"]["borrowed"] == recipe.BORROWED
    checked = 0
    for arm, (name, there) in recipe.BORROWED_RUNS.items():
        borrowed = _by_seed(committed[name], there)
        assert set(borrowed) >= {r["spec"]["seed"] for r in res["runs"]}  # every seed of the recipe
        for seed, spec in borrowed.items():
            mine = recipe.reference_specs(cfg, base_lr, seed)[arm]
            assert (mine.model, mine.train) == (spec["model"], spec["train"]), (arm, seed)
            checked += 1
    assert checked >= 3 * 3


def test_the_no_bn_controls_differ_from_their_bn_runs_only_in_bn(committed):
    for (name, no_bn), bn in ((recipe.CONTROL_RUNS["no_bn_recipe"], "bn_x1"),
                              (recipe.CONTROL_RUNS["no_bn_baseline"], "bn")):
        without, with_ = _by_seed(committed[name], no_bn), _by_seed(committed[name], bn)
        assert set(without) == set(with_)
        for seed in without:
            assert without[seed]["train"] == with_[seed]["train"]
            assert without[seed]["model"] == {**with_[seed]["model"], "bn": False}


def test_the_recipe_ran_only_what_it_does_not_borrow(committed):
    res = committed["recipe"]
    arms = {r["spec"]["arm"] for r in res["runs"]}
    assert not arms & set(recipe.BORROWED_RUNS)
    assert arms == ({f"without_{i}" for i in res["config"]["leave_out"]}
                    | {f"only_{i}" for i in res["config"]["add_alone"]})
    for r in res["runs"]:
        spec = r["spec"]
        items = tuple(spec["tags"]["items"])
        mine = recipe.spec(res["config"], res["measures"]["base_lr"], spec["arm"], spec["label"], items,
                           spec["seed"])
        assert (mine.model, mine.train) == (spec["model"], spec["train"])
