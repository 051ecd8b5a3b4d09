"""The chapter "Build your own BN layer": its summary of the committed layer_vs_torch result."""

import json
from pathlib import Path

import pytest

from bn.experiments import layer_vs_torch as lvt
from bn.experiments.base import ExperimentResult

RESULTS = Path(__file__).resolve().parents[2] / "book" / "results"


def _raw(name):
    with open(RESULTS / f"{name}.json") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def results():
    return _raw("layer_vs_torch"), _raw("population_statistics")


def test_torch_arm_is_the_population_study_with_the_same_setup(results):
    # Protects "The two arms start from the same weights and see the same batches in the same
    # order; only the BN implementation differs": the torch.nn runs borrowed from the
    # population-statistics study use the same network, schedule, evaluation and data.
    res, pop = results
    for key in ("steps", "batch_size", "peak_lr", "eval_every", "eval_examples"):
        assert res["config"][key] == pop["config"][key], key
    assert all(r["model"] == {"kind": "plain", "norm": "torch"} for r in pop["measures"]["runs"])
    assert res["provenance"]["data"]["files_md5"] == pop["provenance"]["data"]["files_md5"]
    assert {r["seed"] for r in res["measures"]["runs"]} <= {r["seed"] for r in pop["measures"]["runs"]}


def test_summary_against_the_raw_result(results):
    res, pop = results
    s = lvt.summarize(ExperimentResult.from_dict(res), ExperimentResult.from_dict(pop))
    # Recomputed by hand from the JSON (loops, not the summary's arrays). Accuracies are
    # fractions of 10,000 images, so a gap in points is exact to float64 rounding (1e-12).
    book = next(r["history"] for r in res["measures"]["runs"] if r["seed"] == 0)
    torch = {r["seed"]: r["history"] for r in pop["measures"]["runs"]}
    assert s.seed == 0 and s.steps == res["config"]["steps"] and s.batch == 64
    assert s.arm_gap == pytest.approx(100 * abs(book["final_test_acc"] - torch[0]["final_test_acc"]), abs=1e-12)
    assert s.seed_gap == pytest.approx(100 * abs(torch[0]["final_test_acc"] - torch[1]["final_test_acc"]),
                                       abs=1e-12)
    steps = res["measures"]["step_cpu_seconds"]
    assert s.slowdown == pytest.approx(min(steps["book"]) / min(steps["torch"]), rel=1e-12)
    diffs = [abs(a - b) for a, b in zip(book["first_losses"], torch[0]["first_losses"])]
    n_exact = next((i for i, d in enumerate(diffs) if d > 1e-5), len(diffs))
    assert s.nexact == n_exact and s.nfirst == len(diffs)
    assert s.first_diff == f"{max(diffs):.0e}"
    worst_logits = max(a["logits"] for a in res["measures"]["init_agreement"].values())
    assert s.logit_err == f"{worst_logits:.0e}"
    # The prose: "agree to float32 rounding ... over the first nexact steps", then grows.
    assert 0 < s.nexact < s.nfirst and float(s.exact_max) <= 1e-5 < float(s.first_diff)


def test_a_wrong_pairing_or_swapped_arms_would_be_caught(results):
    res, pop = results
    good = lvt.summarize(ExperimentResult.from_dict(res), ExperimentResult.from_dict(pop))
    swapped = json.loads(json.dumps(res))
    steps = swapped["measures"]["step_cpu_seconds"]
    steps["book"], steps["torch"] = steps["torch"], steps["book"]
    bad = lvt.summarize(ExperimentResult.from_dict(swapped), ExperimentResult.from_dict(pop))
    assert bad.slowdown == pytest.approx(1 / good.slowdown)
    assert good.slowdown > 1  # the book's layer is the slower one
    # The book run paired with the other torch seed: the losses differ from the first step.
    repaired = json.loads(json.dumps(pop))
    for r in repaired["measures"]["runs"]:
        r["seed"] = 1 - r["seed"]
    with pytest.raises(ValueError, match="did not start from the same weights"):
        lvt.summarize(ExperimentResult.from_dict(res), ExperimentResult.from_dict(repaired))
