"""bn.experiments.only_bn: the smoke profile runs end to end; a committed result is a full CPU run."""

import json
from pathlib import Path

import pytest

from bn.experiments.only_bn import PROFILES, runs_of, scaled_widths, selection_of, summarize
from bn.training import FREEZE_ARMS
from tests.experiments.records import experiment_result, typed

RESULT = Path(__file__).resolve().parents[2] / "book" / "results" / "only_bn.json"


def hand_made_run(**fields):
    """An only_bn run record with neutral values but for ``fields`` (the keys :func:`run_arm` writes)."""
    counts = {"arm": fields.get("arm", "x"), "bn": 0, "classifier": 0, "other": 0, "trainable": 0, "total": 0}
    train = {"steps": 1, "batch_size": 1, "peak_lr": 0.1}
    return {"arm": "x", "width_multiplier": 1.0, "widths": [1], "seed": 0, "lr": 0.1, "params": counts,
            "val_acc": 0.5, "test_acc": 0.5, "diverged": False, "cpu_seconds": 0.0, "train": train,
            "history": {"eval_step": [], "test_acc": [], "train_loss": []}, **fields}


def test_scaled_widths_multiply_the_plain_cnn_and_keep_at_least_one_channel():
    assert scaled_widths(2.0, (16, 32)) == [32, 64]
    assert scaled_widths(0.5, (16, 32)) == [8, 16]
    assert scaled_widths(0.01, (16, 32)) == [1, 1]


def test_smoke_profile_runs_every_arm_width_and_seed(smoke_run):
    stored = smoke_run("only_bn")
    result = stored["measures"]
    p = PROFILES["smoke"]
    assert stored["profile"] == "smoke"
    keys = {(r["width_multiplier"], r["arm"], r["seed"]) for r in result["runs"]}
    assert keys == {(m, a, s) for m in p["width_multipliers"] for a in FREEZE_ARMS for s in p["seeds"]}
    assert len(result["runs"]) == len(keys)  # the kept selection runs are not trained twice
    assert len(result["selection"]) == len(FREEZE_ARMS) * len(p["lr_grid"])
    for arm, lr in result["chosen_lr"].items():
        tried = [s for s in result["selection"] if s["arm"] == arm]
        assert lr == max(tried, key=lambda s: s["val_acc"])["lr"]
    assert result["n_fit"] + result["n_val"] == 600 and result["n_test"] == 200
    assert stored["seeds_run"] == {f"{a} x{m:g}": p["seeds"] for m in p["width_multipliers"] for a in FREEZE_ARMS}
    # The records the study just wrote read back through the typed reader, and write back unchanged.
    typed_result = typed(stored)
    assert [r.to_dict() for r in runs_of(typed_result)] == result["runs"]
    assert [vars(t) for t in selection_of(typed_result)] == result["selection"]
    summary = summarize(typed_result)
    for m in p["width_multipliers"]:
        params = summary["params"][m]
        assert params["random_params"].trainable == params["bn_only"].trainable
        assert params["all"].trainable == params["all"].total
        assert set(summary["versus"][m]) == set(FREEZE_ARMS) - {"linear_only"}
        for arm, iv in summary["accuracy"][m].items():
            runs = [r["test_acc"] for r in result["runs"] if r["arm"] == arm and r["width_multiplier"] == m]
            assert iv.estimate == pytest.approx(sum(runs) / len(runs))


@pytest.mark.skipif(not RESULT.exists(), reason="no committed result yet")
def test_committed_result_is_a_full_cpu_run_with_provenance():
    result = json.loads(RESULT.read_text())
    prov = result["provenance"]
    assert result["profile"] == "cpu", "a smoke run is never a committed result"
    assert prov["data"]["copy"] in {"official", "jpeg-q75-rebuild"}
    assert prov["code"]["commit"] and prov["cpu_time_s"] > 0 and prov["torch_threads"] == 1
    assert result["measures"]["n_test"] == 10000
    p = result["config"]
    assert len(result["measures"]["runs"]) == len(p["width_multipliers"]) * len(p["arms"]) * len(p["seeds"])


def test_paired_difference_is_the_mean_of_per_seed_differences():
    from bn.experiments.only_bn import paired_difference

    runs = [hand_made_run(width_multiplier=1.0, arm=a, seed=s, test_acc=acc)
            for a, accs in {"x": [0.5, 0.6, 0.7], "y": [0.4, 0.4, 0.5]}.items() for s, acc in enumerate(accs)]
    result = {"measures": {"runs": runs}, "seeds": [0, 1, 2]}
    iv = paired_difference(experiment_result(result), 1.0, "x", "y")
    assert iv.estimate == pytest.approx(0.5 / 3) and iv.n == 3
    # Differences 0.1, 0.2, 0.2: standard deviation 0.0577, t(0.975, 2) = 4.303.
    assert iv.high - iv.estimate == pytest.approx(4.303 * 0.057735 / 3 ** 0.5, rel=1e-3)
    runs[0]["test_acc"] = None
    with pytest.raises(ValueError, match="diverged"):
        paired_difference(experiment_result(result), 1.0, "x", "y")
