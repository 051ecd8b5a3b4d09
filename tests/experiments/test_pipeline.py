"""The first run of every experiment's cpu and gpu profiles builds and trains (on synthetic data).

The whole smoke pipeline is test_pipeline_whole.py; the committed cpu runs' first steps rerun on the
real data in test_reproduce.py.
"""

import dataclasses

import pytest

from bn.experiments import OWN_RECORDS, REGISTRY, Context, RunSpec, load_tensor_data, run_spec
from bn.experiments.base import RunRecord
from bn.training import History

# The studies whose runs are RunSpecs (the others keep their own records: tested in their own files).
SPEC_STUDIES = [n for n in REGISTRY if n not in OWN_RECORDS]


class PlanContext(Context):
    """Records the specs an experiment asks for and trains nothing: each run gets a stand-in record
    of a run that learned nothing, so an experiment's later choices (a sweep's best rate) still go."""

    def run_all(self, specs) -> list[RunRecord]:
        out = []
        for spec in specs:
            nothing = dataclasses.replace(History.empty(), final_test_acc=0.0, final_val_acc=0.0, val_acc=[0.0])
            record = RunRecord(RunSpec.from_dict(spec.to_dict()), nothing)
            self.runs.append(record)
            out.append(record)
        return out


# Where a gpu profile reads the rate another gpu result chose and no gpu result exists yet, the
# committed cpu result stands in for it (the spec's shape does not depend on the rate).
GPU_SOURCES = {"rates_from": ("fig1_mlp_gpu", "fig1_mlp"), "sigmoid_lr": ("sigmoid_gpu", "sigmoid")}


def first_spec(exp, profile: str) -> RunSpec:
    """The first run ``exp`` performs under ``profile``."""
    cfg = dict(exp.profiles[profile])
    for key, (gpu, cpu) in GPU_SOURCES.items():
        if cfg.get(key) == gpu:
            cfg[key] = cpu
    ctx = PlanContext(data=None, seeds=list(cfg["seeds"]), base_lr=0.03)
    exp.run(ctx, cfg)
    return ctx.runs[0].spec


@pytest.fixture(scope="module")
def synthetic_data(synthetic_dir):
    return load_tensor_data(str(synthetic_dir))


# Studies that train on CIFAR-10 through RunSpec; those with "data": "none" run their own loop (below).
DATALESS = [n for n in REGISTRY if REGISTRY[n].profiles["cpu"].get("data", "cifar10") == "none"]


@pytest.mark.parametrize("name", DATALESS)
def test_dataless_cpu_profile_runs_one_step(name):
    """A study that makes its own data: its cpu profile, first seed only, one step per run, end to end
    (its after-training measures included); its gpu profile names no CIFAR data and some seeds."""
    from bn.experiments import run_experiment

    exp = REGISTRY[name]
    payload = run_experiment(exp, "cpu", seeds=exp.profiles["cpu"]["seeds"][:1], max_steps=1, progress=False)
    assert payload["runs"] == [] and payload["seeds"] == exp.profiles["cpu"]["seeds"][:1]
    assert payload["provenance"]["data"]["copy"].startswith("none")
    assert exp.profiles["gpu"]["data"] == "none" and exp.profiles["gpu"]["seeds"]


@pytest.mark.parametrize("name", SPEC_STUDIES)
def test_cpu_profile_first_run_builds_and_steps(name, synthetic_data):
    data, _ = synthetic_data
    spec = first_spec(REGISTRY[name], "cpu")
    h = run_spec(spec, data, stop_at=2, progress=False).history
    assert h.steps_done == 2 or h.diverged
    assert h.eval_step == [0]  # the first periodic evaluation comes later


@pytest.mark.parametrize("name", SPEC_STUDIES)
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
