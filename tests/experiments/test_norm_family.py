"""The normalization-family study: its design (equal examples, linear rate scaling, paired seeds) and a smoke run."""

import json
from pathlib import Path

import pytest

from bn.experiments.norm_family import (PROFILES, accuracy_grid, arm_norm, arms_at, merge_parts, runs_of,
                                       train_config)
from bn.models import build_model
from bn.normalization import BatchRenorm2d, GhostBatchNorm2d
from tests.experiments.records import typed

RESULT = Path(__file__).resolve().parents[2] / "book" / "results" / "norm_family.json"


def test_every_batch_size_sees_the_same_examples_at_a_linearly_scaled_rate():
    p = PROFILES["cpu"]
    for b in p["batch_sizes"]:
        cfg = train_config(p, b)
        assert cfg.steps * b == p["examples"]
        assert cfg.peak_lr == pytest.approx(p["base_lr"] * b / 128)
    assert train_config(p, 128).peak_lr == p["base_lr"]


def test_arms_build_the_layers_they_name():
    p = PROFILES["cpu"]
    assert arms_at(p, 8) == ["bn", "group", "layer", "renorm"]  # ghost batches of 8 in a batch of 8 are BN
    assert "ghost" in arms_at(p, 32)
    layers = {}
    for arm in ("bn", "group", "layer", "ghost", "renorm"):
        norm, options = arm_norm(arm, p, steps=1000)
        model = build_model("plain", norm=norm, norm_options=options, widths=[8], pool_after=[])
        layers[arm] = model.units[0].norm
    assert layers["group"].num_groups == p["groups"] and layers["layer"].num_groups == 1
    assert isinstance(layers["ghost"], GhostBatchNorm2d) and layers["ghost"].ghost_size == p["ghost_size"]
    assert isinstance(layers["renorm"], BatchRenorm2d)
    assert (layers["renorm"].warmup, layers["renorm"].ramp) == (50, 250)


def test_smoke_profile_runs_end_to_end(smoke_run):
    payload = smoke_run("norm_family")
    p = PROFILES["smoke"]
    assert payload["profile"] == "smoke" and payload["provenance"]["cpu_time_s"] > 0
    runs = payload["measures"]["runs"]
    grid = {(r["arm"], r["batch_size"], r["seed"]) for r in runs}
    expected = {(a, b, s) for s in p["seeds"] for b in p["batch_sizes"] for a in arms_at(p, b)}
    assert grid == expected and ("ghost", 16, 0) in grid and ("ghost", 8, 0) not in grid
    for r in runs:
        assert r["history"]["steps_done"] == p["examples"] // r["batch_size"]
        assert 0.0 <= r["final_test_acc"] <= 1.0
        assert ("batch_stats_test_acc" in r) == (r["arm"] in ("bn", "ghost", "renorm"))
    # The records the study just wrote read back through its typed reader and write back unchanged.
    assert [r.to_dict() for r in runs_of(typed(payload))] == runs
    grid = accuracy_grid(typed(payload))
    assert set(grid["ghost"]) == {16} and set(grid["bn"]) == set(p["batch_sizes"])
    layer_8 = [r["final_test_acc"] for r in runs if (r["arm"], r["batch_size"]) == ("layer", 8)]
    assert grid["layer"][8] == layer_8
    assert set(accuracy_grid(typed(payload), "batch_stats_test_acc")) == {"bn", "ghost", "renorm"}


def test_parts_with_different_seeds_merge_into_one_result():
    def part(seed, cpu):
        return {"profile": "cpu", "config": {"a": 1}, "seeds": [seed],
                "measures": {"runs": [{"seed": seed, "batch_size": b, "arm": "bn"} for b in (8, 2)]},
                "provenance": {"code": {"commit": "x"}, "seeds": [seed], "cpu_time_s": cpu, "wall_time_s": cpu}}
    merged = merge_parts([part(1, 10.0), part(0, 5.0)])
    assert merged["seeds"] == [0, 1] and merged["provenance"]["cpu_time_s"] == 15.0
    assert merged["provenance"]["wall_time_s"] == 10.0 and len(merged["provenance"]["parts"]) == 2
    assert [(r["seed"], r["batch_size"]) for r in merged["measures"]["runs"]] == [(0, 2), (0, 8), (1, 2), (1, 8)]
    assert merged["seeds_run"] == {"bn B=2": [0, 1], "bn B=8": [0, 1]}
    with pytest.raises(ValueError, match="more than one part"):
        merge_parts([part(0, 1.0), part(0, 1.0)])
    other = part(2, 1.0)
    other["config"] = {"a": 2}
    with pytest.raises(ValueError, match="same profile"):
        merge_parts([part(0, 1.0), other])
    # a part's default seed list is not a setting: the merged config names the seeds that ran
    late = part(2, 1.0)
    late["config"] = {"a": 1, "seeds": [0, 1, 2]}
    assert merge_parts([part(0, 1.0), late])["config"] == {"a": 1, "seeds": [0, 2]}


@pytest.mark.skipif(not RESULT.exists(), reason="the result is written by a full run")
def test_committed_result_is_the_full_cpu_grid_with_provenance():
    result = json.loads(RESULT.read_text())
    p, prov = result["config"], result["provenance"]
    assert result["profile"] == "cpu" and p == json.loads(json.dumps(PROFILES["cpu"]))
    assert prov["data"]["copy"] in {"official", "jpeg-q75-rebuild"} and prov["cpu_time_s"] > 0
    assert prov["torch_threads"] == 1 and prov["code"]["commit"] and result["seeds"] == p["seeds"]
    grid = sorted((r["seed"], r["batch_size"], r["arm"]) for r in result["measures"]["runs"])
    assert grid == sorted((s, b, a) for s in p["seeds"] for b in p["batch_sizes"] for a in arms_at(p, b))
    assert all(r["final_test_acc"] is not None for r in result["measures"]["runs"])
