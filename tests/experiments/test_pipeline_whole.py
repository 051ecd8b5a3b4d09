"""Each experiment end to end under its smoke profile, on synthetic data: sweeps, selection, the base
rate taken from the convergence result, every arm, and a result file that loads strictly."""

import json
import math

import pytest

from bn.experiments import OWN_RECORDS, REGISTRY, ExperimentResult, run_experiment
from bn.experiments.base import completed
from bn.results import save_result

# Every experiment trains: minutes in all (make check leaves them to make test).
pytestmark = pytest.mark.slow
# The studies whose runs are RunSpecs (the others keep their own records: tested in their own files).
SPEC_STUDIES = [n for n in REGISTRY if n not in OWN_RECORDS]




@pytest.fixture(scope="module")
def convergence_file(synthetic_dir, tmp_path_factory):
    payload = run_experiment(REGISTRY["convergence"], "smoke", data_dir=str(synthetic_dir), progress=False)
    return save_result(tmp_path_factory.mktemp("results") / "convergence_smoke.json", payload), payload


def _check(payload: dict, name: str) -> None:
    cfg = REGISTRY[name].profiles["smoke"]
    res = ExperimentResult.from_dict(json.loads(json.dumps(payload)))  # JSON-able and strictly loadable
    if cfg.get("data") == "none":  # a study that makes its own data: no CIFAR runs, its records in its measures
        assert res.runs == [] and res.provenance["data"]["copy"].startswith("none") and res.provenance["cpu_time_s"] > 0
        assert res.seeds_run and res.seeds == sorted({s for v in res.seeds_run.values() for s in v})
        assert set(res.seeds) <= set(cfg["seeds"])
        return
    assert res.provenance["cpu_time_s"] > 0 and res.provenance["data"]["n_val"] == cfg["n_val"]
    # the result names the seeds its reported runs used, arm by arm and together
    trained = {r.spec.arm for r in res.runs}
    used = {arm: sorted({r.spec.seed for r in res.runs if r.spec.arm == arm and not r.spec.tags.get("sweep")})
            for arm in res.seeds_run if arm in trained}
    # arms measured outside the training runs (ctx.record_seeds) keep the seeds the study recorded
    used.update({arm: seeds for arm, seeds in res.seeds_run.items() if arm not in trained})
    assert res.seeds_run == used and res.seeds == sorted({s for v in used.values() for s in v})
    for rec in res.runs:
        h, spec = rec.history, rec.spec
        if spec.tags.get("sweep"):
            assert spec.seed == cfg["select_seed"] not in cfg["seeds"]  # the selecting run is never reported
        else:
            assert spec.seed in cfg["seeds"]
        assert h.test_acc == [] and len(h.val_acc) == len(h.eval_step)
        if completed(h):
            every = spec.train["eval_every"]
            assert h.eval_step == sorted(set(range(0, spec.train["steps"], every)) | {spec.train["steps"]})
            assert 0 <= h.final_test_acc <= 1 and 0 <= h.final_val_acc <= 1
        else:
            assert h.final_test_acc is None and (h.diverged or (h.stalled and h.stalled_at_step <= h.steps_done))
        if spec.train.get("diagnostics"):
            assert len(h.health) == len(h.eval_step)
            assert all(math.isfinite(v) for e in h.health for v in e["weight_norm"])


def test_convergence_selects_on_validation_and_runs_both_arms(convergence_file):
    _, payload = convergence_file
    _check(payload, "convergence")
    sel = payload["measures"]["selection"]
    assert payload["measures"]["baseline_lr"] == sel["chosen"] and f"{sel['chosen']:g}" in sel["scores"]
    chosen = [r for r in payload["runs"] if r["spec"]["tags"].get("chosen")]
    assert len(chosen) == 1 and chosen[0]["spec"]["train"]["peak_lr"] == sel["chosen"]
    reported = [r for r in payload["runs"] if not r["spec"]["tags"].get("sweep")]
    assert {(r["spec"]["arm"], r["spec"]["seed"]) for r in reported} == {
        (arm, s) for arm in ("no_bn", "bn") for s in REGISTRY["convergence"].profiles["smoke"]["seeds"]}
    assert all(r["spec"]["train"]["peak_lr"] == sel["chosen"] for r in reported)


@pytest.mark.parametrize("name", [n for n in SPEC_STUDIES if n != "convergence"])
def test_experiment_end_to_end(name, synthetic_dir, convergence_file):
    path, conv = convergence_file
    payload = run_experiment(REGISTRY[name], "smoke", data_dir=str(synthetic_dir), progress=False, base_from=path)
    _check(payload, name)
    if REGISTRY[name].profiles["cpu"].get("base_lr") == "convergence":
        # the cpu profile's rate follows the convergence sweep; the smoke one is a stand-in number
        assert isinstance(REGISTRY[name].profiles["smoke"]["base_lr"], float)


def test_cpu_rates_follow_the_convergence_choice_by_code(synthetic_dir, convergence_file):
    """A dependent experiment under a profile whose base rate is "convergence" reads the file given."""
    path, conv = convergence_file
    exp = REGISTRY["initialization"]
    cfg = {**exp.profiles["smoke"], "base_lr": "convergence"}
    patched = type(exp)(exp.name, exp.title, exp.claim, {**exp.profiles, "smoke": cfg}, exp.run)
    payload = run_experiment(patched, "smoke", data_dir=str(synthetic_dir), progress=False, base_from=path,
                             max_steps=2)
    assert payload["measures"]["base_lr_source"]["baseline_lr"] == conv["measures"]["baseline_lr"]
    assert {r["spec"]["train"]["peak_lr"] for r in payload["runs"]} == {conv["measures"]["baseline_lr"]}
