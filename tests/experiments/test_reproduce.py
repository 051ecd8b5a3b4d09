"""The committed cpu results: their shape, their consistency, and that their first steps reproduce.

The rerun needs the data the result was computed on: it runs only when
BN_DATA_DIR points at a copy whose files have the MD5s recorded in the
result's provenance (CI sets it to the rebuilt copy), and is skipped with the
reason otherwise.
"""

import os

import pytest

from bn.data import ENV_VAR
from bn.experiments import REGISTRY, RunSpec, load_tensor_data, run_spec
from bn.experiments import recipe
from bn.experiments.settings import cnn_model
from bn.results import load_result, results_dir

RERUN_STEPS = 20  # enough to show the same trajectory; 20 steps of each first run take seconds
COMMITTED = sorted(n for n in REGISTRY if (results_dir(os.path.dirname(__file__)) / f"{n}.json").exists())


def _result(name):
    return load_result(results_dir(os.path.dirname(__file__)) / f"{name}.json")


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_result_is_a_full_cpu_run(name):
    res = _result(name)
    cfg = REGISTRY[name].profiles["cpu"]
    assert res["profile"] == "cpu" and res["max_steps"] is None and res["config"] == cfg
    assert len(res["seeds"]) >= 3 and res["seeds"] == cfg["seeds"]
    prov = res["provenance"]
    assert prov["data"]["copy"] in ("official", "jpeg-q75-rebuild") and prov["data"]["n_train"] == 50_000
    assert prov["torch_threads"] >= 1 and prov["wall_time_s"] > 0
    for rec in res["runs"]:
        h = rec["history"]
        assert h["diverged"] or h["steps_done"] == rec["spec"]["train"]["steps"]


@pytest.fixture(scope="module")
def committed_data():
    if not os.environ.get(ENV_VAR):
        pytest.skip(f"{ENV_VAR} is not set: no CIFAR-10 copy to rerun the committed histories on")
    return load_tensor_data(None)


@pytest.mark.parametrize("name", COMMITTED)
def test_first_steps_of_the_committed_history_reproduce(name, committed_data):
    import torch

    res = _result(name)
    data, prov = committed_data
    recorded = res["provenance"]["data"]["files_md5"]
    if prov["files_md5"] != recorded:
        pytest.skip(f"{ENV_VAR} holds a copy ({prov['copy']}) whose MD5s differ from those the result "
                    f"was computed on ({res['provenance']['data']['copy']})")
    rec = res["runs"][0]
    torch.set_num_threads(res["provenance"]["torch_threads"])
    rerun = run_spec(RunSpec.from_dict(rec["spec"]), data, stop_at=RERUN_STEPS, progress=False)["history"]
    old, new = rec["history"]["first_losses"][:RERUN_STEPS], rerun["first_losses"]
    same_machine = res["provenance"]["device"]["cpu_model"] == __import__("bn.provenance").provenance \
        .device_description()["cpu_model"]
    if same_machine:
        assert new == old  # same CPU, same thread count: bitwise
    else:
        # Another CPU may order float32 sums differently (~1e-7 relative per operation);
        # 20 SGD steps amplify that to well under 1e-3 on losses of about 2.
        assert new == pytest.approx(old, abs=1e-3)


def test_experiments_share_the_baseline_rate():
    """Experiments 3-6 use the rate experiment 2's sweep chose for the no-BN baseline."""
    if "convergence" not in COMMITTED:
        pytest.skip("no committed convergence result")
    best = _result("convergence")["measures"]["baseline_lr"]
    assert REGISTRY["learning_rates"].profiles["cpu"]["base_lr"] == best
    assert REGISTRY["sigmoid"].profiles["cpu"]["base_lr"] == best
    assert REGISTRY["initialization"].profiles["cpu"]["lr"] == best
    assert REGISTRY["recipe"].profiles["cpu"]["base_lr"] == best


def test_recipe_references_are_runs_of_experiments_2_and_3():
    """The ablation's BN-Baseline and full recipe are, spec for spec, experiment 2's BN arm and 3's BN-x5."""
    cfg = REGISTRY["recipe"].profiles["cpu"]
    refs = recipe.reference_specs(cfg, seed=0)
    conv = REGISTRY["convergence"].profiles["cpu"]
    lrs = REGISTRY["learning_rates"].profiles["cpu"]
    from bn.experiments import convergence, learning_rates

    bn_baseline = convergence.spec(conv, True, cfg["base_lr"], 0)
    bn_x5 = learning_rates.spec(lrs, True, 5, 0)
    assert (refs["baseline"].model, refs["baseline"].train) == (bn_baseline.model, bn_baseline.train)
    assert (refs["full"].model, refs["full"].train) == (bn_x5.model, bn_x5.train)
    assert refs["full"].model == cnn_model(cfg, bn=True, dropout=0.0)
