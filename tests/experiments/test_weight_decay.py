"""bn.experiments.weight_decay and its tracker: known updates, no effect on training, the smoke pipeline."""

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from bn.diagnostics import AngularUpdateTracker
from bn.experiments.weight_decay import CLASSIFIER, PROFILES, runs_of, summarize, train_config, watched_weights
from bn.models import PlainCNN
from bn.training import train
from tests.experiments.records import typed
from tests.conftest import tiny_data

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "book" / "results" / "weight_decay.json"


def test_tracker_records_a_known_rotation():
    w = nn.Parameter(torch.tensor([1.0, 0.0], dtype=torch.float64))
    opt = torch.optim.SGD([w], lr=0.1)
    with AngularUpdateTracker({"w": w}) as tracker:
        first = tracker.interval()
        for _ in range(2):  # W = (1, 0) -> (1, 0.1) -> (1, 0.2)
            w.grad = torch.tensor([0.0, -1.0], dtype=torch.float64)
            opt.step()
        rec = tracker.interval()["layers"]["w"]
    assert first["steps"] == 0 and first["layers"]["w"]["rms_update"] is None
    assert rec["mean_norm_sq"] == pytest.approx((1.0 + 1.01) / 2, rel=1e-12)
    assert rec["mean_update_sq"] == pytest.approx(0.01, rel=1e-12)
    assert rec["rms_update"] == pytest.approx(math.sqrt(0.02 / 2.01), rel=1e-12)
    assert rec["mean_angle"] == pytest.approx((math.atan(0.1) + math.atan(0.2) - math.atan(0.1)) / 2, rel=1e-12)
    assert rec["norm"] == pytest.approx(math.hypot(1.0, 0.2), rel=1e-12)
    w.grad = torch.ones(2, dtype=torch.float64)
    opt.step()  # outside the context: no longer recorded
    assert tracker.interval()["steps"] == 0


def test_tracking_leaves_the_training_trajectory_unchanged_and_sees_every_step():
    data = tiny_data()
    p = {**PROFILES["smoke"], "steps": 6, "batch_size": 16, "eval_every": 3, "eval_examples": 16}
    cfg = train_config(p, 5e-3)
    models, histories = [], []
    for tracked in (False, True):
        torch.manual_seed(0)
        model = PlainCNN(widths=(4, 8), pool_after=(0,), norm="torch")
        tracker = AngularUpdateTracker(watched_weights(model))
        if tracked:
            with tracker:
                histories.append(train(model, data, cfg, 0, measure=tracker.measure, progress=False))
        else:
            histories.append(train(model, data, cfg, 0, progress=False))
        models.append(model)
    assert histories[0].first_losses == histories[1].first_losses
    for (k, a), b in zip(models[0].state_dict().items(), models[1].state_dict().values()):
        assert torch.equal(a, b), k
    measures = histories[1].measures
    assert [m["steps"] for m in measures] == [0, 3, 3]
    assert set(measures[-1]["layers"]) == {"features.0.conv.weight", "features.2.conv.weight", CLASSIFIER}
    assert measures[-1]["layers"][CLASSIFIER]["norm"] == pytest.approx(
        float(models[1].classifier.weight.detach().double().norm()), rel=1e-12)


def test_smoke_profile_runs_end_to_end_on_synthetic_data(smoke_run):
    result = smoke_run("weight_decay")
    p = PROFILES["smoke"]
    summary = result["measures"]["summary"]
    assert len(result["measures"]["runs"]) == len(p["seeds"]) * len(p["weight_decays"])
    assert result["seeds_run"] == {"wd=0": p["seeds"], "wd=0.005": p["seeds"]}
    assert result["provenance"]["data"]["copy"] == "synthetic"
    # The records the study just wrote read back through its typed reader and write back unchanged.
    assert [r.to_dict() for r in runs_of(typed(result))] == result["measures"]["runs"]
    assert summarize(typed(result)) == summary
    entry = summary["by_weight_decay"]["0.005"]
    assert entry["predicted"] == pytest.approx(math.sqrt(2 * 0.1 * 5e-3 / 1.9))
    assert all(r > 0 for r in entry["ratio"]["features.0.conv.weight"])
    assert "ratio" not in summary["by_weight_decay"]["0.0"]


@pytest.mark.skipif(not RESULT.exists(), reason="no committed weight-decay result")
def test_committed_result_is_a_full_cpu_run_and_its_summary_recomputes():
    result = json.loads(RESULT.read_text())
    prov = result["provenance"]
    assert result["profile"] == "cpu" and result["config"] == PROFILES["cpu"]
    assert prov["data"]["copy"] in {"official", "jpeg-q75-rebuild"} and prov["torch_threads"] == 1
    assert all(r["history"]["steps_done"] == PROFILES["cpu"]["steps"] for r in result["measures"]["runs"])
    assert summarize(typed(result)) == result["measures"]["summary"]
