"""Every experiment's first run for its first 50 steps on synthetic data (the CI check of the pipeline).

The smoke profile's net is small so that six experiments fit in seconds; the
cpu profile's own first run is checked for two steps (its model and
configuration build and train) and, on the real data, by test_reproduce.py.
"""

import json
import math

import pytest

from bn.experiments import REGISTRY, Context, RunSpec, load_tensor_data, run_spec


class PlanContext(Context):
    """Records the specs an experiment asks for and trains nothing: each run gets a stand-in record
    of a run that learned nothing, so an experiment's later choices (a sweep's best rate) still go."""

    def run(self, spec: RunSpec) -> dict:
        record = {"spec": spec.to_dict(), "history": {"diverged": False, "final_test_acc": 0.0, "test_acc": [0.0]}}
        self.runs.append(record)
        return record


def first_spec(exp, profile: str) -> RunSpec:
    """The first run ``exp`` performs under ``profile``."""
    cfg = exp.profiles[profile]
    ctx = PlanContext(data=None, seeds=list(cfg["seeds"]))
    exp.run(ctx, cfg)
    return RunSpec.from_dict(ctx.runs[0]["spec"])


@pytest.fixture(scope="module")
def synthetic_data(synthetic_dir):
    return load_tensor_data(str(synthetic_dir))


def _check_history(h, spec, steps):
    json.dumps(h)  # a record must be JSON-able as it is
    if h["diverged"]:  # a recorded divergence is a valid outcome; then it says where and why
        assert h["diverged_at_step"] <= steps and h["divergence_reason"]
        return
    assert h["steps_done"] == steps
    assert len(h["first_losses"]) == steps and all(math.isfinite(v) for v in h["first_losses"])
    every = spec.train["eval_every"]
    assert h["eval_step"] == list(range(0, steps + 1, every))
    assert all(0.0 <= a <= 1.0 for a in h["test_acc"])


@pytest.mark.parametrize("name", list(REGISTRY))
def test_first_50_steps_of_each_experiment(name, synthetic_data):
    data, prov = synthetic_data
    spec = first_spec(REGISTRY[name], "smoke")
    assert spec.seed == REGISTRY[name].profiles["smoke"]["seeds"][0]
    assert spec.train["steps"] == 50
    _check_history(run_spec(spec, data, stop_at=50, progress=False)["history"], spec, 50)
    assert prov["copy"] == "synthetic"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_cpu_profile_first_run_builds_and_steps(name, synthetic_data):
    data, _ = synthetic_data
    spec = first_spec(REGISTRY[name], "cpu")
    h = run_spec(spec, data, stop_at=2, progress=False)["history"]
    assert h["steps_done"] == 2 or h["diverged"]
    assert h["eval_step"] == [0]  # the first periodic evaluation comes later


@pytest.mark.parametrize("name", list(REGISTRY))
def test_gpu_profile_first_run_is_well_formed(name):
    """The gpu profile has not been run here; at least its first spec must build a model and a config."""
    from bn.models import build_model
    from bn.training import TrainConfig

    spec = first_spec(REGISTRY[name], "gpu")
    kwargs = dict(spec.model)
    build_model(kwargs.pop("kind"), **kwargs)
    assert TrainConfig.from_dict(spec.train).steps == spec.train["steps"] > 0


def test_a_spec_names_a_known_measure_or_none():
    from bn.experiments.base import measure_of

    spec = first_spec(REGISTRY["fig1_mlp"], "smoke")
    assert spec.measure == "sigmoid_input"
    spec.measure = None
    assert measure_of(spec, None) is None
    spec.measure = "sigmoid_inptu"
    with pytest.raises(ValueError, match="unknown measure 'sigmoid_inptu'"):
        measure_of(spec, None)
