"""The plain CNN's four studies (its BN layer, diagnostics, population statistics, pitfalls): measurements do
not perturb training; each runs end to end; committed results name their data and seeds."""

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from bn.experiments.base import ExperimentResult
from bn.experiments.layer_vs_torch import init_agreement
from bn.experiments.pitfalls import pitfalls_seeds
from bn.experiments.plain_cnn import PROFILES, fit, plain_runs, train_config
from bn.experiments.population_statistics import after_training, population_measure
from bn.experiments.training_diagnostics import watch_runs
from bn.population import train_batches
from tests.conftest import tiny_data

ROOT = Path(__file__).resolve().parents[2]
STUDIES = ("layer_vs_torch", "training_diagnostics", "population_statistics", "pitfalls")
RESULTS = [ROOT / "book" / "results" / f"{name}.json" for name in STUDIES]


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
    assert prov["seeds"] and set(result["seeds"]) <= set(prov["seeds"])
    assert result["measures"]["runs"] and result["seeds_run"]


def test_each_study_runs_end_to_end_by_the_one_command(smoke_run, synthetic_dir_large):
    p = PROFILES["smoke"]
    layer = smoke_run("layer_vs_torch")
    assert {(r["arm"], r["seed"]) for r in layer["measures"]["runs"]} == {("book", s) for s in p["layer_seeds"]}
    assert set(layer["measures"]["init_agreement"]) == {str(s) for s in p["seeds"]}
    assert set(layer["measures"]["step_cpu_seconds"]) == {"torch", "book"}
    watch = smoke_run("training_diagnostics")
    assert [r["arm"] for r in watch["measures"]["runs"]] == p["watch_arms"] and watch["seeds"] == p["seeds"][:1]
    pop = smoke_run("population_statistics", data_dir=synthetic_dir_large)
    assert [a["seed"] for a in pop["measures"]["after_training"]] == p["seeds"]
    assert pop["seeds_run"] == {"bn": p["seeds"]}
    pit = smoke_run("pitfalls", data_dir=synthetic_dir_large)
    assert pit["seeds_run"] == {arm: p["pitfall_seeds"] for arm in p["pitfall_arms"]}
    assert [s["seed"] for s in pit["measures"]["per_seed"]] == p["pitfall_seeds"]
    # What each study's own loop writes reads back into its typed records, key for key: the writer and
    # the reader cannot drift apart.
    for res in (layer, pop, pit):
        assert [r.to_dict() for r in plain_runs(ExperimentResult.from_dict(res))] == res["measures"]["runs"]
    typed_watch = watch_runs(ExperimentResult.from_dict(watch))
    assert [r.to_dict() for r in typed_watch.values()] == watch["measures"]["runs"]
    after = after_training(ExperimentResult.from_dict(pop))
    assert [dataclasses.asdict(a) for a in after] == pop["measures"]["after_training"]
    per_seed = pitfalls_seeds(ExperimentResult.from_dict(pit))
    assert [dataclasses.asdict(s) for s in per_seed] == pit["measures"]["per_seed"]
    agreement = init_agreement(ExperimentResult.from_dict(layer))
    assert {str(s): dataclasses.asdict(a) for s, a in agreement.items()} == layer["measures"]["init_agreement"]
