"""Every experiment's first run for its first 50 steps on synthetic data (the CI check of the pipeline).

The smoke profile's net is small so that six experiments fit in seconds; the
cpu profile's own first run is checked for two steps (its model and
configuration build and train) and, on the real data, by test_reproduce.py.
"""

import json
import math

import pytest

from bn.experiments import REGISTRY, first_spec, load_tensor_data, run_spec


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
