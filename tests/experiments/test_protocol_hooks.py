"""The framework's hooks for studies that measure a trained network, or make their own data."""

import pytest
import torch

from bn.experiments import Experiment, RunRecord, RunSpec, load_tensor_data, run_experiment, run_spec
from bn.experiments.base import AFTER, register_after

TINY_TRAIN = {"steps": 2, "batch_size": 8, "eval_every": 1, "eval_examples": 16, "eval_batch_size": 16}


@pytest.fixture(scope="module")
def data(synthetic_dir):
    return load_tensor_data(str(synthetic_dir), 64, 32)[0]


@register_after("test_mean_logit")
def _mean_logit(model: torch.nn.Module, data, spec: RunSpec) -> dict:
    with torch.no_grad():
        out = model(data.normalize(data.test_images[:8]))
    return {"mean_logit": float(out.mean()), "seed": spec.seed}


def test_after_measures_the_trained_network_and_round_trips(data):
    spec = RunSpec("a", "A", 3, {"kind": "mlp", "bn": True}, dict(TINY_TRAIN), after="test_mean_logit")
    rec = run_spec(spec, data, progress=False)
    assert rec.after["seed"] == 3
    # The trained network, not a fresh one: the value differs from an untrained network's.
    fresh = RunSpec("a", "A", 3, {"kind": "mlp", "bn": True}, {**TINY_TRAIN, "steps": 0})
    assert rec.after["mean_logit"] != (run_spec(fresh, data, progress=False).after or {}).get("mean_logit")
    d = rec.to_dict()
    assert set(d) == {"spec", "history", "after"} and RunRecord.from_dict(d) == rec


def test_a_spec_without_after_keeps_its_old_form():
    spec = RunSpec("a", "A", 0, {"kind": "mlp"}, dict(TINY_TRAIN))
    assert "after" not in spec.to_dict()
    assert RunSpec.from_dict(spec.to_dict()) == spec


def test_an_unknown_after_is_a_clear_error(data):
    spec = RunSpec("a", "A", 0, {"kind": "mlp"}, dict(TINY_TRAIN), after="no_such_measure")
    with pytest.raises(ValueError, match="no_such_measure.*known:"):
        run_spec(spec, data, progress=False)
    assert "test_mean_logit" in AFTER


def test_a_study_without_cifar_records_its_seeds():
    def run(ctx, cfg):
        assert ctx.data is None
        ctx.record_seeds("x", [2, 0])
        ctx.record_seeds("x", [1])
        return {"value": 1}

    exp = Experiment("dataless", "T", "C", {"smoke": {"seeds": [0], "data": "none"}}, run)
    res = run_experiment(exp, "smoke", progress=False)
    assert res["seeds_run"] == {"x": [0, 1, 2]} and res["seeds"] == [0, 1, 2]
    assert res["provenance"]["data"]["copy"].startswith("none")


def test_an_unknown_data_kind_is_a_clear_error():
    exp = Experiment("bad", "T", "C", {"smoke": {"seeds": [0], "data": "mnist"}}, lambda ctx, cfg: {})
    with pytest.raises(ValueError, match="unknown data 'mnist'"):
        run_experiment(exp, "smoke", progress=False)


def test_a_run_cut_short_measures_nothing_after_training(data):
    """``after`` measures the trained network: a run stopped by ``stop_at`` before its last step has none."""
    spec = RunSpec("a", "A", 3, {"kind": "mlp", "bn": True}, dict(TINY_TRAIN), after="test_mean_logit")
    assert run_spec(spec, data, stop_at=1, progress=False).after is None
    assert run_spec(spec, data, stop_at=2, progress=False).after is not None  # stop_at at the last step cuts nothing
