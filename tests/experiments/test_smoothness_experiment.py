"""bn.experiments.smoothness: measuring leaves training alone; the pipeline and the committed result hold together."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bn.experiments.smoothness import (ARMS, PROFILES, build, curves, run_smoothness, smoothness_measure,
                                       runs_of, splits, summarize)
from bn.experiments.plain_cnn import train_config
from bn.training import train
from tests.experiments.records import experiment_result, typed
from tests.conftest import tiny_data

ROOT = Path(__file__).resolve().parents[2]
RESULT = ROOT / "book" / "results" / "smoothness.json"


def tiny_profile():
    return {**PROFILES["smoke"], "n_val": 40, "steps": 4, "batch_size": 16, "eval_every": 2,
            "eval_examples": 20, "probe_examples": 8, "seeds": [0, 1]}


def test_splits_hold_the_validation_images_out_of_training():
    data = tiny_data(120, 40)
    choose, run = splits(data, 40)
    assert len(choose.train_labels) == len(run.train_labels) == 80
    assert torch.equal(choose.test_images, data.train_images[80:])
    assert torch.equal(run.test_images, data.test_images)
    with pytest.raises(ValueError):
        splits(data, 120)


def test_measurements_leave_the_noisy_training_run_unchanged():
    # The measure runs a copy in training mode, which draws noise: it must draw
    # from the copy's generator, never advance the run's own.
    data = tiny_data(120, 40)
    p = tiny_profile()
    cfg = train_config({**p, "peak_lr": 0.05})
    x, y = data.normalize(data.train_images[:8]), data.train_labels[:8]
    plain = build("noisy_bn", 0, p["noise"])
    h_plain = train(plain, data, cfg, 0, progress=False)
    measured = build("noisy_bn", 0, p["noise"])
    h_meas = train(measured, data, cfg, 0, progress=False, measure=smoothness_measure(x, y, 0.05, [0.1, 1.0]))
    assert h_plain.first_losses == h_meas.first_losses
    for (k, a), b in zip(plain.state_dict().items(), measured.state_dict().values()):
        assert torch.equal(a, b), k
    ms = h_meas.measures
    assert len(ms) == 3 and [r["layer"] for r in ms[0]["ics"]] == list(range(1, 9))
    assert len(ms[0]["moments"]) == 7 and len(ms[0]["landscape"]["losses"]) == 3


def test_arms_start_from_the_same_weights():
    nets = {arm: build(arm, 3, PROFILES["smoke"]["noise"]) for arm in ("bn", "noisy_bn")}
    conv = [m.conv.weight for m in nets["bn"].units], [m.conv.weight for m in nets["noisy_bn"].units]
    assert all(torch.equal(a, b) for a, b in zip(*conv))


@pytest.mark.slow
def test_pipeline_on_tiny_data_gives_every_arm_seed_and_summary():
    result = {"measures": run_smoothness(tiny_data(120, 40), tiny_profile(), progress=False)}
    assert result["measures"]["lr"] in tiny_profile()["lr_candidates"]
    assert {(r["arm"], r["seed"]) for r in result["measures"]["runs"]} == {(a, s) for a in ARMS for s in (0, 1)}
    res = experiment_result(result)
    # The records just written read back through the typed reader and write back unchanged.
    assert [r.to_dict() for r in runs_of(res)] == result["measures"]["runs"]
    s = summarize(res)
    assert set(s["per_seed"]) == set(ARMS)
    assert all(len(v) == 2 for v in s["per_seed"]["bn"].values())
    assert s["ratios"]["no_bn-bn"]["beta"].estimate > 0
    c = curves(res, "noisy_bn")
    assert c["test_acc"].shape == c["beta"].shape == (2, 3) and c["mean_shift"].shape == (2, 2)
    noisy = sorted((r for r in result["measures"]["runs"] if r["arm"] == "noisy_bn"), key=lambda r: r["seed"])
    assert np.array_equal(c["test_acc"][:, -1], [r["history"]["test_acc"][-1] for r in noisy])
    # Restricting the landscape to the smaller steps cannot widen the loss range.
    small = summarize(res, k_max=0.1)
    for arm in ARMS:
        assert np.all(np.array(small["per_seed"][arm]["loss_range"])
                      <= np.array(s["per_seed"][arm]["loss_range"]) + 1e-12)


@pytest.mark.skipif(not RESULT.exists(), reason="no committed smoothness result")
def test_committed_result_is_a_full_cpu_run_at_the_chosen_rate():
    result = json.loads(RESULT.read_text())
    prov, p = result["provenance"], result["config"]
    m = result["measures"]
    assert result["profile"] == "cpu" and p == PROFILES["cpu"]
    assert prov["data"]["copy"] in {"official", "jpeg-q75-rebuild"}
    assert prov["code"]["commit"] and prov["cpu_time_s"] > 0 and prov["torch_threads"] == 1
    trials = [t for t in m["lr_choice"]["trials"] if t["val_acc"] is not None]
    assert m["lr"] == max(trials, key=lambda t: t["val_acc"])["lr"]
    assert {(r["arm"], r["seed"]) for r in m["runs"]} == {(a, s) for a in ARMS for s in p["seeds"]}
    for r in m["runs"]:
        h = r["history"]
        assert r["train"]["peak_lr"] == m["lr"] and h["steps_done"] == p["steps"]
        assert h["final_test_acc"] is not None and len(h["measures"]) == p["steps"] // p["eval_every"] + 1


def test_the_smoke_profile_runs_by_the_one_command(smoke_run):
    result = smoke_run("smoothness")
    p = PROFILES["smoke"]
    m = result["measures"]
    assert m["lr"] in p["lr_candidates"] and result["seeds_run"] == {a: p["seeds"] for a in ARMS}
    assert {(r["arm"], r["seed"]) for r in m["runs"]} == {(a, s) for a in ARMS for s in p["seeds"]}
    assert set(summarize(typed(result))["per_seed"]) == set(ARMS)
    # The records the study just wrote read back through its typed reader and write back unchanged.
    assert [r.to_dict() for r in runs_of(typed(result))] == m["runs"]
