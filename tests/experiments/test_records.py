"""Typed records of result files: every committed result loads unchanged, a wrong key is refused by name."""

import copy
import json

import pytest

from bn.experiments import OWN_RECORDS, REGISTRY, ExperimentResult, RunSpec
from bn.results import load_result, results_dir
from bn.training import History, TrainConfig

COMMITTED = sorted(p.stem for p in results_dir().glob("*.json") if p.stem in REGISTRY)


def test_every_experiment_has_a_committed_result():
    assert COMMITTED == sorted(REGISTRY)


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_result_loads_as_records_and_round_trips_exactly(name):
    raw = load_result(name)
    result = ExperimentResult.from_dict(copy.deepcopy(raw))
    if name in OWN_RECORDS:  # its runs are its own records, in its measures
        assert result.runs == [] and result.measures["runs"]
    else:
        assert isinstance(result.runs[0].history, History) and isinstance(result.runs[0].spec, RunSpec)
    # The typed form says exactly what the file says, key order included.
    assert json.dumps(result.to_dict()) == json.dumps(raw)


def test_a_misspelled_training_key_is_refused_not_dropped():
    with pytest.raises(ValueError, match=r"training configuration: unknown key\(s\) \['warmup_step'\]"):
        TrainConfig.from_dict({"steps": 10, "warmup_step": 5})
    with pytest.raises(ValueError, match=r"missing key\(s\) \['steps'\]"):
        TrainConfig.from_dict({"batch_size": 10})
    assert TrainConfig.from_dict({"steps": 10, "warmup_steps": 5}).warmup_steps == 5


def test_a_result_with_a_wrong_or_missing_key_is_refused():
    raw = load_result(COMMITTED[0])
    bad = copy.deepcopy(raw)
    bad["runs"][0]["history"]["test_accuracy"] = bad["runs"][0]["history"].pop("test_acc")
    with pytest.raises(ValueError, match=r"run history: unknown key\(s\) \['test_accuracy'\]; missing key\(s\) "
                                         r"\['test_acc'\]"):
        ExperimentResult.from_dict(bad)
    bad = copy.deepcopy(raw)
    del bad["provenance"]
    with pytest.raises(ValueError, match=r"missing key\(s\) \['provenance'\]"):
        ExperimentResult.from_dict(bad)
    bad = copy.deepcopy(raw)
    bad["runs"][1]["spec"]["train"]["peak_rate"] = 0.1
    with pytest.raises(ValueError, match="peak_rate"):
        ExperimentResult.from_dict(bad)


def test_loading_a_result_file_names_the_file_the_run_and_the_key(tmp_path):
    from bn.experiments import load_experiment_result
    from bn.results import save_result

    raw = load_result("convergence")
    assert load_experiment_result("convergence").to_dict() == raw
    bad = copy.deepcopy(raw)
    bad["runs"][2]["history"]["val_accuracy"] = bad["runs"][2]["history"].pop("val_acc")
    path = save_result(tmp_path / "bad.json", bad)
    with pytest.raises(ValueError) as err:
        load_experiment_result(path)
    assert str(err.value).startswith(f"{path}: result of 'convergence', run 2: run history: unknown key(s) "
                                     "['val_accuracy'] (the keys are")
