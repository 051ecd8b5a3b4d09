"""The synchronized-BN study end to end on synthetic data, and its evaluation with recomputed statistics."""

from __future__ import annotations

import pytest
import torch

from bn.experiments.base import load_tensor_data
from bn.experiments.sync_bn import ARMS, PRECISE_SEED, PROFILES, population_evaluation, report, runs_of
from bn.models import build_model
from bn.population import precise_statistics, train_batches
from bn.torch_bn.sync import SyncBatchNorm, convert_sync_batch_norm
from bn.training import evaluate_accuracy
from tests.experiments.records import typed


def test_population_evaluation_recomputes_a_copy_and_needs_no_process_group(synthetic_dir):
    data, _ = load_tensor_data(str(synthetic_dir), 600, 200)
    p = PROFILES["smoke"]
    torch.manual_seed(0)
    model = build_model("cnn", norm="torch", widths=(4, 8, 8))
    plain = population_evaluation(model, data, p, seed=0, n=None, device=torch.device("cpu"))
    # The same recomputation by hand, on the same images: the function adds nothing else.
    batches = train_batches(data, p["precise_batches"], p["precise_batch_size"], seed=PRECISE_SEED)
    assert plain == evaluate_accuracy(precise_statistics(model, batches), data)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    convert_sync_batch_norm(model)
    # A synchronized model gives the same accuracy, in this process alone, and is left as it was.
    assert population_evaluation(model, data, p, seed=0, n=None, device=torch.device("cpu")) == plain
    assert sum(isinstance(m, SyncBatchNorm) for m in model.modules()) == 3
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_a_smoke_run_records_both_evaluations_for_both_arms(smoke_run):
    payload = smoke_run("sync_bn")
    # the budget counts the worker processes' CPU time, not only the parent's
    assert payload["provenance"]["cpu_time_s"] >= sum(payload["measures"]["cpu_time_workers_s"]) > 0
    assert payload["seeds_run"] == {arm: PROFILES["smoke"]["seeds"] for arm in ARMS}
    first = [r for r in payload["measures"]["runs"] if r["rank"] == 0]
    assert sorted(r["arm"] for r in first) == sorted(ARMS)
    steps, every = PROFILES["smoke"]["steps"], PROFILES["smoke"]["eval_every"]
    for r in first:
        assert [c[0] for c in r["test_acc_curve"]] == [c[0] for c in r["test_acc_curve_running"]] \
            == list(range(every, steps, every)) + [steps]
        assert r["test_acc_curve"][-1][1] == r["final_test_acc"]
        assert r["test_acc_curve_running"][-1][1] == r["final_test_acc_running"]
    # The records the study just wrote read back through its typed reader and write back unchanged.
    assert [r.to_dict() for r in runs_of(typed(payload))] == payload["measures"]["runs"]
    rep = report(typed(payload))
    for arm in ARMS:
        gain = rep["recompute_gain"][arm].estimate
        # a mean of differences against a difference of means: equal up to float64 rounding of numbers <= 1
        assert gain == pytest.approx(rep["acc"][arm].estimate - rep["acc_running"][arm].estimate, abs=1e-12)
    assert rep["evaluation_part"].estimate == pytest.approx(
        rep["acc_difference_running"].estimate - rep["acc_difference"].estimate, abs=1e-12)
