"""The typed records of the plain CNN's four studies: what their own training loops write (dicts in the
result's measures) reads back into the same records, and a record with a missing or an unknown key is
an error that names the key and the result's file."""

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from bn.experiments.base import ExperimentResult
from bn.experiments.layer_vs_torch import init_agreement
from bn.experiments.pitfalls import PitfallsSeed, pitfalls_seeds
from bn.experiments.plain_cnn import PROFILES, PlainRun, fit, plain_runs, study_records, train_config
from bn.experiments.population_statistics import AfterTraining, after_training
from bn.experiments.training_diagnostics import WatchRun, watch_runs
from bn.training import History, TrainConfig
from tests.conftest import tiny_data
from tests.experiments.records import experiment_result

RESULTS = Path(__file__).resolve().parents[2] / "book" / "results"


def _raw(name):
    return json.loads((RESULTS / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def fresh_run():
    """A run record as the studies' loop writes it (:func:`fit`), on a tiny network and schedule."""
    p = {**PROFILES["smoke"], "steps": 4, "batch_size": 16, "eval_every": 2, "eval_examples": 16}
    _, record = fit(tiny_data(), {"kind": "plain", "norm": "torch", "widths": [4, 8], "pool_after": [0]},
                    train_config(p), 3, "bn")
    return json.loads(json.dumps(record))  # as it is stored in the result file


def test_a_freshly_written_run_round_trips_through_the_typed_record(fresh_run):
    run = PlainRun.from_dict(fresh_run)
    assert isinstance(run.train, TrainConfig) and isinstance(run.history, History)
    assert (run.arm, run.seed, run.train.steps) == ("bn", 3, 4)
    assert run.to_dict() == fresh_run  # every key the writer writes, and nothing else
    # the watch study's records are the same run with two keys more
    watch = {**fresh_run, "layers": ["features.0"], "update_ratios": {"features.0.conv.weight": [1e-3]}}
    assert WatchRun.from_dict(watch).to_dict() == watch


@pytest.mark.parametrize("cls, extra", [(PlainRun, {}),
                                        (WatchRun, {"layers": [], "update_ratios": {}})], ids=["plain", "watch"])
def test_a_missing_or_an_unknown_key_is_an_error_naming_it(fresh_run, cls, extra):
    good = {**fresh_run, **extra}
    cls.from_dict(good)
    with pytest.raises(ValueError, match="missing key.*'cpu_seconds'"):
        cls.from_dict({k: v for k, v in good.items() if k != "cpu_seconds"})
    with pytest.raises(ValueError, match="unknown key.*'cpu_second'"):
        cls.from_dict({**good, "cpu_second": 1.0})
    # nested: the schedule and the history are read as strictly
    with pytest.raises(ValueError, match="unknown key.*'warmup_step'"):
        cls.from_dict({**good, "train": {**good["train"], "warmup_step": 1}})
    with pytest.raises(ValueError, match="missing key.*'final_test_acc'"):
        history = {k: v for k, v in good["history"].items() if k != "final_test_acc"}
        cls.from_dict({**good, "history": history})


def test_the_error_names_the_result_file_and_the_record(fresh_run):
    broken = {k: v for k, v in fresh_run.items() if k != "seed"}
    res = experiment_result({"experiment": "pitfalls", "profile": "cpu",
                             "measures": {"runs": [fresh_run, broken]}})
    with pytest.raises(ValueError, match=r"book/results/pitfalls\.json: measures\['runs'\]\[1\].*'seed'"):
        plain_runs(res)
    with pytest.raises(ValueError, match=r"pitfalls_gpu\.json: the measures hold no 'per_seed'"):
        study_records(dataclasses.replace(res, profile="gpu"), PitfallsSeed, "per_seed")


def _drop(d, path):
    """A deep copy of ``d`` without the key at ``path`` (a list of keys)."""
    out = copy.deepcopy(d)
    inner = out
    for k in path[:-1]:
        inner = inner[k]
    del inner[path[-1]]
    return out


def _add(d, path, value):
    out = copy.deepcopy(d)
    inner = out
    for k in path[:-1]:
        inner = inner[k]
    inner[path[-1]] = value
    return out


@pytest.mark.parametrize("path", [["acc_eval"], ["fine_tuning", "acc_shifted_before"],
                                  ["fine_tuning", "bn_eval", "acc_shifted"], ["dropout", "variance_ratio"]],
                         ids=".".join)
def test_a_pitfalls_seed_record_is_read_strictly_at_every_level(path):
    seed = _raw("pitfalls")["measures"]["per_seed"][0]
    assert dataclasses.asdict(PitfallsSeed.from_dict(seed)) == seed  # the committed record, every key typed
    with pytest.raises(ValueError, match=f"missing key.*'{path[-1]}'"):
        PitfallsSeed.from_dict(_drop(seed, path))
    with pytest.raises(ValueError, match="unknown key.*'acc_typo'"):
        PitfallsSeed.from_dict(_add(seed, [*path[:-1], "acc_typo"], 0.5))


def test_an_after_training_record_is_read_strictly():
    after = _raw("population_statistics")["measures"]["after_training"][0]
    assert dataclasses.asdict(AfterTraining.from_dict(after)) == after
    with pytest.raises(ValueError, match="missing key.*'tail_batch'"):
        AfterTraining.from_dict(_drop(after, ["tail_batch"]))
    with pytest.raises(ValueError, match="unknown key.*'tail_batches'"):
        AfterTraining.from_dict(_add(after, ["tail_batches"], {}))


def test_the_agreement_at_initialization_is_read_strictly():
    raw = _raw("layer_vs_torch")
    agreement = init_agreement(ExperimentResult.from_dict(raw))
    assert {str(s): dataclasses.asdict(a) for s, a in agreement.items()} == raw["measures"]["init_agreement"]
    for key, bad in (("grad_worst", None), ("grad_wrost", 1e-6)):
        broken = copy.deepcopy(raw)
        if bad is None:
            del broken["measures"]["init_agreement"]["1"][key]
        else:
            broken["measures"]["init_agreement"]["1"][key] = bad
        with pytest.raises(ValueError, match=rf"layer_vs_torch\.json: measures\['init_agreement'\]\['1'\].*'{key}'"):
            init_agreement(ExperimentResult.from_dict(broken))


@pytest.mark.parametrize("name", ["layer_vs_torch", "training_diagnostics", "population_statistics", "pitfalls"])
def test_every_committed_record_reads_into_its_type(name):
    raw = _raw(name)
    res = ExperimentResult.from_dict(raw)
    runs = list(watch_runs(res).values()) if name == "training_diagnostics" else plain_runs(res)
    assert [(r.arm, r.seed) for r in runs] == [(d["arm"], d["seed"]) for d in raw["measures"]["runs"]]
    assert [r.history.final_test_acc for r in runs] == [d["history"]["final_test_acc"]
                                                        for d in raw["measures"]["runs"]]
    if name == "pitfalls":
        assert [s.seed for s in pitfalls_seeds(res)] == [d["seed"] for d in raw["measures"]["per_seed"]]
    if name == "population_statistics":
        assert [a.seed for a in after_training(res)] == [d["seed"] for d in raw["measures"]["after_training"]]
