"""The committed cpu results: their shape, their consistency, and that their first steps reproduce.

The rerun needs the data the result was computed on: it runs only when
BN_DATA_DIR points at a copy whose files have the MD5s recorded in the
result's provenance (CI sets it to the rebuilt copy), and is skipped with the
reason otherwise.
"""

import dataclasses
import math
import os
from contextlib import contextmanager

import pytest

from bn.data import ENV_VAR
from bn.experiments import OWN_RECORDS, REGISTRY, RunSpec, load_tensor_data, run_spec
from bn.experiments import recipe
from bn.experiments.settings import cnn_model
from bn.results import load_result, results_dir

# learning_rates.json was recorded while convergence.json, the result it read its rate from, was not
# yet committed in the same tree: "dirty" there means that result file, not the code (the
# provenance has since excluded book/results from the check).
DIRTY_BY_A_RESULT = {"learning_rates"}
RERUN_STEPS = 20  # enough to show the same trajectory; 20 steps of each first run take seconds
# Seeds per headline comparison: five, but three for the four-times-longer runs (the budget's choice).
MIN_SEEDS = {"long_training": 3, "training_stack": 3}
# The recipe's item arms ran the first two seeds only (its controls borrow five from experiments 2-3).
MIN_SEEDS["recipe"] = 2
MIN_SEEDS["distribution_shift"] = 3  # three trained networks, each evaluated on 26 image sets
# Evaluations per run: at least 40, but the equal-rate Fig. 1 runs record every unit's percentiles and
# are evaluated every 250 of their 5,000 steps (their drift needs the trajectory, not every 100th step).
MIN_EVALS = {"fig1_equal_rates": 20}
# The distribution-shift study trains only to have a network to evaluate after its last step: its
# 500 steps are evaluated every 25 (20 evaluations), the budget going to the after-training evaluation.
MIN_EVALS["distribution_shift"] = 20
# Residual networks without BN: three seeds per arm, four for the pair at the high rate (many arms, one budget).
MIN_SEEDS["without_bn"] = 3
# The runs without BN: 200 steps evaluated every 20 (ten evaluations; many arms share one budget).
MIN_EVALS["without_bn"] = 10
# The training-stack runs compare final accuracies (and carry the after-training measurements): 10 evaluations
# of their 300 steps suffice for the plateau rule, which needs evaluations on both sides of 80 %.
MIN_EVALS["training_stack"] = 10
# Studies that make their own data ("data": "none") keep their runs in their measures; their first steps
# rerun in their own tests (tests/experiments/test_sequence_norms.py), their file's shape is checked here.
DATALESS = {n for n in REGISTRY if REGISTRY[n].profiles["cpu"].get("data") == "none"}
# The results of studies whose runs are RunSpecs, and of the data-less ones (the other studies' runs are
# checked in their own test files).
COMMITTED = sorted(n for n in REGISTRY if (n not in OWN_RECORDS or n in DATALESS)
                   and (results_dir(os.path.dirname(__file__)) / f"{n}.json").exists())


def _result(name):
    return load_result(results_dir(os.path.dirname(__file__)) / f"{name}.json")


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_result_is_a_full_cpu_run(name):
    res = _result(name)
    cfg = REGISTRY[name].profiles["cpu"]
    assert res["profile"] == "cpu" and res["max_steps"] is None and res["config"] == cfg
    if name in DATALESS:
        used = sorted({s for v in res["seeds_run"].values() for s in v})
        assert res["runs"] == [] and res["seeds"] == used == res["provenance"]["seeds"]
        assert set(used) <= set(cfg["seeds"]) and len(used) >= MIN_SEEDS.get(name, 5)
        prov = res["provenance"]
        assert prov["data"]["copy"].startswith("none") and prov["cpu_time_s"] > 0 and prov["wall_time_s"] > 0
        assert prov["code"]["commit"] and prov["code"]["dirty"] is False
        return
    # the result's seeds are those its reported runs used, a subset of the profile's
    used = sorted({r["spec"]["seed"] for r in res["runs"] if not r["spec"]["tags"].get("sweep")})
    assert res["seeds"] == used and set(used) <= set(cfg["seeds"]) and len(used) >= MIN_SEEDS.get(name, 5)
    assert res["provenance"]["seeds"] == used
    if "seeds_run" in res:  # the seeds each arm actually ran, as the runs themselves say
        from bn.experiments.base import RunRecord, seeds_run

        of_runs = seeds_run([RunRecord.from_dict(r) for r in res["runs"]])
        assert {arm: res["seeds_run"][arm] for arm in of_runs} == of_runs
        # arms measured outside the training runs (ctx.record_seeds, e.g. at initialization) use those seeds too
        assert all(set(seeds) <= set(used) for seeds in res["seeds_run"].values())
    prov = res["provenance"]
    assert prov["data"]["copy"] in ("official", "jpeg-q75-rebuild") and prov["data"]["n_train"] == 50_000
    assert prov["data"]["n_val"] == 5000 and prov["data"]["n_fit"] == 45_000
    assert prov["torch_threads"] >= 1 and prov["wall_time_s"] > 0 and prov["cpu_time_s"] > 0
    assert prov["code"]["commit"] and (prov["code"]["dirty"] is False or name in DIRTY_BY_A_RESULT)
    assert cfg["select_seed"] not in cfg["seeds"]
    for rec in res["runs"]:
        h, train = rec["history"], rec["spec"]["train"]
        assert h["diverged"] or h["stalled"] or h["steps_done"] == train["steps"]
        assert train["steps"] // train["eval_every"] >= MIN_EVALS.get(name, 40)
        assert train["eval_examples"] is None or train["eval_examples"] >= 2000
        assert h["test_acc"] == [] and len(h["val_acc"]) == len(h["eval_step"])  # selection never sees the test set
        if rec["spec"]["tags"].get("sweep"):
            assert rec["spec"]["seed"] == cfg["select_seed"]
        else:
            assert rec["spec"]["seed"] in cfg["seeds"]


@pytest.fixture(scope="module")
def committed_data():
    if not os.environ.get(ENV_VAR):
        pytest.skip(f"{ENV_VAR} is not set: no CIFAR-10 copy to rerun the committed histories on")
    return load_tensor_data(None)


# A result's bits are decided by its kernels (bn.provenance.kernel_description); these keys of
# that record must match for a rerun to be expected bit for bit.
BITWISE_KEYS = ("machine", "cpu_simd", "torch", "torch_cpu_capability", "torch_threads")
# Another machine's kernels round every sum of every step in another order. The drift model
# stands in for that: the same rerun, with every weight moved by PERTURBATION (relative, 256
# float32 roundings) after every optimizer step. The record may differ from the rerun by
# DRIFT_FACTOR times the largest movement so far (measured on the spot, not assumed), and at
# least by DRIFT_FLOOR, a few float32 roundings of a loss near 2.3.
PERTURBATION = 2.0 ** -16
DRIFT_FACTOR = 10.0
DRIFT_FLOOR = 16 * 2.0 ** -24 * 2.3
# Where the perturbed rerun has moved by more than this, rounding differences have been amplified
# to the size of a real change: the run is chaotic from there (a high-rate run spiking or
# diverging), and its trajectory is no longer a reproducible quantity.
SEPARATED = 0.05


def same_kernels(recorded: dict | None, current: dict) -> bool:
    """Whether a result recorded under ``recorded`` kernels must rerun bit for bit under ``current``."""
    return bool(recorded) and all(recorded.get(k) == current.get(k) for k in BITWISE_KEYS)


@contextmanager
def weights_perturbed_every_step(seed: int = 0):
    """Within the block, every optimizer step ends by moving each weight by ``PERTURBATION``."""
    import torch
    from torch.optim.optimizer import register_optimizer_step_post_hook

    gen = torch.Generator().manual_seed(seed)

    def perturb(optimizer, args, kwargs):
        with torch.no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    sign = torch.randint(0, 2, p.shape, generator=gen).to(p.dtype) * 2 - 1
                    p.mul_(1 + sign * PERTURBATION)

    handle = register_optimizer_step_post_hook(perturb)
    try:
        yield
    finally:
        handle.remove()


def agreement(old: list[float], new: list[float], drift: list[float]) -> tuple[int, list[int]]:
    """Compare a recorded loss trajectory with a rerun, step by step, against the measured drift.

    ``drift[t]`` is how far the perturbed rerun is from the rerun at step ``t``.
    Returns ``(compared, bad)``: the number of leading steps before the run separates
    (the perturbed rerun has moved by more than ``SEPARATED``) and the steps among them
    where the rerun is further from the record than the drift model allows.
    """
    envelope = [max(drift[:t + 1]) for t in range(len(drift))]
    compared = next((t for t, d in enumerate(envelope) if not d <= SEPARATED), len(drift))
    bad = [t for t in range(compared)
           if not abs(new[t] - old[t]) <= max(DRIFT_FACTOR * envelope[t], DRIFT_FLOOR)]
    return compared, bad


def test_agreement_compares_until_the_run_separates():
    old = [2.30, 2.20, 2.10, 2.00, 20.0, 3.0]
    drift = [0.0, 1e-6, 1e-5, 0.0, 0.5, 0.4]
    assert agreement(old, [2.30, 2.20, 2.10 + 5e-5, 2.00 + 5e-5, 19.0, 9.0], drift) == (4, [])  # envelope
    assert agreement(old, [2.30, 2.20 + 1e-3, 2.10, 2.00, 20.0, 3.0], drift) == (4, [1])  # a real change
    assert agreement(old, [2.30 + 1e-5, 2.20, 2.10, 2.00, 20.0, 3.0], drift) == (4, [0])  # no drift yet
    assert agreement(old, old, [float("nan")] * 6) == (0, [])


def test_same_kernels_asks_for_every_key():
    rec = {"machine": "x86_64", "cpu_simd": ["avx2"], "torch": "2.13.0+cpu", "torch_cpu_capability": "AVX2",
           "torch_threads": 1, "blas": {"architecture": "Haswell"}}
    assert same_kernels(rec, dict(rec, blas=None))  # numpy's BLAS does not enter a torch training run
    assert not same_kernels(rec, dict(rec, torch_cpu_capability="DEFAULT"))
    assert not same_kernels(rec, dict(rec, torch_threads=2))
    assert not same_kernels(None, rec)  # results recorded before kernels were: never assumed bitwise


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in COMMITTED if n not in DATALESS])
def test_first_steps_of_the_committed_history_reproduce(name, committed_data):
    """The first steps of each committed result's first run, rerun from its spec.

    Under the kernels the result was recorded with, bit for bit. Under others, within
    a drift model measured on the spot: the rerun is repeated with its weights moved by
    ``PERTURBATION`` after every step, and the record may differ from the rerun by
    ``DRIFT_FACTOR`` times the largest movement so far, up to the step where the movement
    shows the run to be chaotic; past it, the rerun must still be finite where the record is.
    """
    import torch

    from bn.provenance import kernel_description

    res = _result(name)
    data, prov = committed_data
    recorded = res["provenance"]["data"]["files_md5"]
    if prov["files_md5"] != recorded:
        pytest.skip(f"{ENV_VAR} holds a copy ({prov['copy']}) whose MD5s differ from those the result "
                    f"was computed on ({res['provenance']['data']['copy']})")
    if res["provenance"]["data"].get("n_val"):
        data = data.hold_out(res["provenance"]["data"]["n_val"])  # the runs trained without the validation images
    rec = res["runs"][0]
    # the rerun compares training losses: the after-training measurement (minutes) is left out
    spec = dataclasses.replace(RunSpec.from_dict(rec["spec"]), after=None)
    torch.set_num_threads(res["provenance"]["torch_threads"])
    new = run_spec(spec, data, stop_at=RERUN_STEPS, progress=False).history.first_losses
    old = rec["history"]["first_losses"][:RERUN_STEPS]
    if same_kernels(res["provenance"].get("kernels"), kernel_description()):
        assert new == old
        return
    with weights_perturbed_every_step():
        moved = run_spec(spec, data, stop_at=RERUN_STEPS, progress=False).history.first_losses
    drift = [abs(a - b) for a, b in zip(new, moved)]
    compared, bad = agreement(old, new, drift)
    assert compared >= 5, f"{name}: separates at step {compared}; too early to compare anything"
    assert not bad, "\n".join(f"{name} step {t}: record {old[t]!r}, rerun {new[t]!r}, "
                              f"drift {drift[t]:.1e}" for t in bad)
    assert all(math.isfinite(n) for n, o in zip(new, old) if math.isfinite(o))


def test_experiments_share_the_baseline_rate():
    """Experiments 3-6 ran at (multiples of) the rate experiment 2's sweep chose for the no-BN baseline."""
    if "convergence" not in COMMITTED:
        pytest.skip("no committed convergence result")
    conv = _result("convergence")
    best = conv["measures"]["baseline_lr"]
    assert best == conv["measures"]["selection"]["chosen"]
    for name in ("learning_rates", "sigmoid", "initialization", "recipe"):
        assert REGISTRY[name].profiles["cpu"]["base_lr"] == "convergence"
        if name not in COMMITTED:
            continue
        m = _result(name)["measures"]
        assert m["base_lr_source"]["baseline_lr"] == best and m["base_lr_source"]["profile"] == "cpu"
    if "initialization" in COMMITTED:
        runs = _result("initialization")["runs"]
        assert {r["spec"]["train"]["peak_lr"] for r in runs} == {best}
    if "learning_rates" in COMMITTED:
        for r in _result("learning_rates")["runs"]:
            assert math.isclose(r["spec"]["train"]["peak_lr"], best * r["spec"]["tags"]["multiplier"])
    if "long_training" in COMMITTED:
        long = _result("long_training")
        assert long["measures"]["base_lr_source"]["baseline_lr"] == best
        sig = _result("sigmoid")["measures"]["no_bn_lr"]
        rates = {"no_bn": best, "bn": best, "bn_x5": 5 * best, "bn_x30": 30 * best, "no_bn_sigmoid": sig}
        for r in long["runs"]:
            assert math.isclose(r["spec"]["train"]["peak_lr"], rates[r["spec"]["arm"]])
        assert long["measures"]["sigmoid_lr"] == sig


def test_borrowed_runs_are_the_same_specs():
    """The recipe ablation's references (BN-Baseline, full recipe, recipe at the base rate) and the
    initialization sweep's x1 point are, spec for spec, runs of experiments 2 and 3."""
    from bn.experiments import convergence, initialization, learning_rates

    if not {"convergence", "learning_rates"} <= set(COMMITTED):
        pytest.skip("no committed convergence and learning_rates results")
    best = _result("convergence")["measures"]["baseline_lr"]
    lr_runs = {(r["spec"]["arm"], r["spec"]["seed"]): r["spec"] for r in _result("learning_rates")["runs"]}
    conv_runs = {(r["spec"]["arm"], r["spec"]["seed"]): r["spec"] for r in _result("convergence")["runs"]
                 if not r["spec"]["tags"].get("sweep")}
    cfg = REGISTRY["recipe"].profiles["cpu"]
    for seed in REGISTRY["convergence"].profiles["cpu"]["seeds"]:
        refs = recipe.reference_specs(cfg, best, seed)
        pairs = [(refs["baseline"], conv_runs["bn", seed]), (refs["full"], lr_runs["bn_x5", seed]),
                 (refs["without_higher_lr"], lr_runs["bn_x1", seed])]
        for mine, theirs in pairs:
            assert (mine.model, mine.train) == (theirs["model"], theirs["train"])
        init1 = initialization.spec(REGISTRY["initialization"].profiles["cpu"], best, True, 1.0, seed)
        assert (init1.model, init1.train) == (conv_runs["bn", seed]["model"], conv_runs["bn", seed]["train"])
        assert convergence.spec(REGISTRY["convergence"].profiles["cpu"], False, best, seed).model == \
            conv_runs["no_bn", seed]["model"]
    assert refs["full"].model == cnn_model(cfg, bn=True, dropout=0.0)
    assert learning_rates.spec(REGISTRY["learning_rates"].profiles["cpu"], best, True, 5, 0).train == \
        lr_runs["bn_x5", 0]["train"]
