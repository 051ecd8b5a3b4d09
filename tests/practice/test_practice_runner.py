"""bn.experiments.practice: measurements do not perturb training; committed results name their data and seeds."""

import json
from pathlib import Path

import pytest
import torch

from bn.experiments.practice import PROFILES, fit, population_measure, train_config
from bn.population import train_batches
from tests.conftest import tiny_data

ROOT = Path(__file__).resolve().parents[2]
RESULTS = sorted((ROOT / "book" / "results").glob("practice_*.json"))


def test_population_measure_leaves_the_training_trajectory_unchanged():
    # Chapter 1 compares the book's layer with chapter 3's torch.nn runs, which were
    # measured along the way: the measurements must not change what is trained.
    data = tiny_data()
    p = {**PROFILES["smoke"], "steps": 6, "batch_size": 16, "eval_every": 2, "eval_examples": 16}
    args = {"kind": "plain", "norm": "torch", "widths": [4, 8], "pool_after": [0]}
    measure = population_measure(data, train_batches(data, 2, 16, seed=0), 16)
    model_a, plain = fit(data, args, train_config(p), 0, "bn")
    model_b, measured = fit(data, args, train_config(p), 0, "bn", measure=measure)
    assert plain["history"]["first_losses"] == measured["history"]["first_losses"]
    for (k, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(a, b), k
    assert measured["history"]["measures"][-1]["acc_ema"] == plain["history"]["test_acc"][-1]


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: p.name)
def test_committed_practice_result_is_a_full_cpu_run_with_provenance(path):
    result = json.loads(path.read_text())
    prov = result["provenance"]
    assert result["profile"] == "cpu", "a smoke run is never a committed result"
    assert prov["data"]["copy"] in {"official", "jpeg-q75-rebuild"}
    assert set(prov["data"]["files_md5"]) >= {f"data_batch_{i}" for i in range(1, 6)} | {"test_batch"}
    assert prov["code"]["commit"] and prov["cpu_time_s"] > 0 and prov["torch_threads"] == 1
    assert prov["seeds"]
