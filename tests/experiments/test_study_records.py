"""The run records of the studies that keep their own (``measures["runs"]``): every committed record loads
into its study's frozen record type, and an unknown or a missing key is an error naming the file, the run
and the key. (That a freshly written record reads back and writes back unchanged is checked on each
study's smoke run, in its own test file.)"""

import copy
import dataclasses

import pytest

from bn.experiments import load_experiment_result, norm_family, only_bn, placement, smoothness, sync_bn, weight_decay
from bn.experiments.study_records import result_source
from bn.results import load_result
from tests.experiments.records import typed

# study module, its record type, a required key of the record, whether the record holds a full History
STUDIES = {
    "norm_family": (norm_family, norm_family.NormFamilyRun, "batch_size", True),
    "only_bn": (only_bn, only_bn.OnlyBnRun, "width_multiplier", False),
    "sync_bn": (sync_bn, sync_bn.SyncRun, "rank", False),
    "weight_decay": (weight_decay, weight_decay.WeightDecayRun, "weight_decay", True),
    "smoothness": (smoothness, smoothness.SmoothnessRun, "seed", True),
    "placement": (placement, placement.PlacementRun, "final_val_acc", False),
}


def holds(value, stored):
    """``value`` (a record's :meth:`to_dict`) holds every key of ``stored`` with its value (a History
    written before a key existed has that key at its default in the typed form, and only that)."""
    if isinstance(stored, dict):
        return isinstance(value, dict) and all(k in value and holds(value[k], v) for k, v in stored.items())
    return value == stored


@pytest.mark.parametrize("name", STUDIES)
def test_every_committed_run_loads_as_its_frozen_record(name):
    module, cls, key, _ = STUDIES[name]
    raw = load_result(name)["measures"]["runs"]
    runs = module.runs_of(load_experiment_result(name))
    assert len(runs) == len(raw) and all(type(r) is cls for r in runs)
    assert all(holds(r.to_dict(), d) for r, d in zip(runs, raw))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(runs[0], key, None)


def test_a_record_written_whole_writes_back_exactly():
    # The three studies whose committed records have every key their record type writes.
    for name in ("only_bn", "sync_bn", "placement"):
        module = STUDIES[name][0]
        raw = load_result(name)["measures"]["runs"]
        assert [r.to_dict() for r in module.runs_of(load_experiment_result(name))] == raw, name


@pytest.mark.parametrize("name", STUDIES)
def test_a_missing_or_an_unknown_key_is_an_error_naming_the_file_the_run_and_the_key(name):
    module, _, key, _ = STUDIES[name]
    raw = load_result(name)
    source = result_source(typed(raw))
    assert source == f"book/results/{name}.json"
    missing = copy.deepcopy(raw)
    del missing["measures"]["runs"][1][key]
    with pytest.raises(ValueError, match=rf"^{source}: {name} run 1: missing key\(s\) \['{key}'\]"):
        module.runs_of(typed(missing))
    unknown = copy.deepcopy(raw)
    unknown["measures"]["runs"][2]["sede"] = 0
    with pytest.raises(ValueError, match=rf"^{source}: {name} run 2: unknown key\(s\) \['sede'\]"):
        module.runs_of(typed(unknown))
    # a source given names that file instead
    with pytest.raises(ValueError, match=r"^elsewhere\.json: "):
        module.runs_of(typed(unknown), source="elsewhere.json")


@pytest.mark.parametrize("name", [n for n, s in STUDIES.items() if s[3]])
def test_a_wrong_key_in_a_runs_history_or_training_configuration_is_named(name):
    module = STUDIES[name][0]
    raw = load_result(name)
    bad = copy.deepcopy(raw)
    del bad["measures"]["runs"][0]["history"]["steps_done"]
    with pytest.raises(ValueError, match=rf"{name} run 0, run history: missing key\(s\) \['steps_done'\]"):
        module.runs_of(typed(bad))
    bad = copy.deepcopy(raw)
    bad["measures"]["runs"][0]["train"]["warmup_step"] = 5
    with pytest.raises(ValueError, match=rf"{name} run 0, .*unknown key\(s\) \['warmup_step'\]"):
        module.runs_of(typed(bad))


def test_only_bn_counts_history_and_rate_selection_are_read_strictly():
    raw = load_result("only_bn")
    bad = copy.deepcopy(raw)
    del bad["measures"]["runs"][0]["params"]["trainable"]
    with pytest.raises(ValueError, match=r"only_bn run 0, parameter counts: missing key\(s\) \['trainable'\]"):
        only_bn.runs_of(typed(bad))
    bad = copy.deepcopy(raw)
    bad["measures"]["runs"][0]["history"]["lr"] = []
    with pytest.raises(ValueError, match=r"only_bn run 0, run history: unknown key\(s\) \['lr'\]"):
        only_bn.runs_of(typed(bad))
    bad = copy.deepcopy(raw)
    del bad["measures"]["selection"][3]["val_acc"]
    with pytest.raises(ValueError, match=r"only_bn\.json: only_bn selection run 3: missing key\(s\) \['val_acc'\]"):
        only_bn.selection_of(typed(bad))
    trials = only_bn.selection_of(typed(raw))
    assert [dataclasses.asdict(t) for t in trials] == raw["measures"]["selection"]


def test_sync_bn_rank_0_has_every_evaluation_key_and_another_rank_none():
    raw = load_result("sync_bn")
    runs = raw["measures"]["runs"]
    first = next(i for i, r in enumerate(runs) if r["rank"] == 0)
    other = next(i for i, r in enumerate(runs) if r["rank"] != 0)
    bad = copy.deepcopy(raw)
    del bad["measures"]["runs"][first]["n_test"]
    with pytest.raises(ValueError, match=rf"sync_bn run {first}: rank 0 is missing key\(s\) \['n_test'\]"):
        sync_bn.runs_of(typed(bad))
    bad = copy.deepcopy(raw)
    bad["measures"]["runs"][other]["final_test_acc"] = 0.5
    with pytest.raises(ValueError, match=rf"sync_bn run {other}: rank 1 has unexpected key\(s\) \['final_test_acc'\]"):
        sync_bn.runs_of(typed(bad))


def test_a_result_without_runs_in_its_measures_is_an_error():
    raw = copy.deepcopy(load_result("placement"))
    del raw["measures"]["runs"]
    with pytest.raises(ValueError, match=r"placement\.json: the measures of 'placement' hold no list 'runs'"):
        placement.runs_of(typed(raw))
