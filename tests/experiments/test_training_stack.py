"""The training-stack study: its specs, profiles, summary and claim verdicts (on made-up results whose
answers are known), and the chapter's glued verdicts against the committed result."""

import json
from pathlib import Path

import pytest

from bn.experiments import REGISTRY
from bn.experiments import training_stack as ts
from bn.experiments.base import ExperimentResult
from bn.training import TrainConfig

from tests.experiments.records import experiment_result

CPU = ts.PROFILES["cpu"]


def test_specs_change_only_the_accumulation():
    a, b = ts.spec(CPU, 0.03, True, 1, 0), ts.spec(CPU, 0.03, True, 16, 0)
    assert b.train == {**a.train, "accumulation_steps": 16} and a.model == b.model
    assert a.model["dropout"] == 0.0 and a.model["bn"] is True
    assert TrainConfig.from_dict(b.train).batch_size // 16 == 8
    assert a.after == ts.AFTER and "inference" in a.tags and a.tags["average"] == CPU["average"]
    assert "inference" not in ts.spec(CPU, 0.03, True, 1, 1).tags  # timed once, on the first seed
    c = ts.spec(CPU, 0.03, False, 16, 0)
    assert c.after is None and c.model["bn"] is False and c.train == b.train


@pytest.mark.parametrize("profile", ["smoke", "cpu", "gpu"])
def test_profiles_are_well_formed(profile):
    cfg = ts.PROFILES[profile]
    assert all(cfg["batch_size"] % k == 0 for k in ts.ACCUMULATION)
    assert cfg["control_seeds"] <= len(cfg["seeds"]) and len(cfg["seeds"]) >= 2
    assert REGISTRY["training_stack"].profiles[profile] is cfg
    if profile != "smoke":
        assert len(cfg["seeds"]) >= 3 and cfg["steps"] // cfg["eval_every"] >= 10
        assert cfg["inference"]["images"] % cfg["inference"]["batch"] == 0


# ---- a made-up result whose answers are known --------------------------------------------------

STEPS = 100


def _history(final: float, rising: bool, losses: list[float]) -> dict:
    steps = list(range(0, STEPS + 1, 10))
    acc = [0.1 + (final - 0.1) * (s / STEPS if rising else min(1.0, 3 * s / STEPS)) for s in steps]
    return {"eval_step": steps, "val_acc": acc, "test_acc": [], "final_test_acc": final, "diverged": False,
            "stalled": False, "first_losses": losses}


def _record(arm: str, seed: int, final: float, rising: bool, after=None, losses=None) -> dict:
    rec = {"spec": {"arm": arm, "seed": seed, "train": {"steps": STEPS}, "tags": {}},
           "history": _history(final, rising, losses or [2.3, 2.2, 2.1])}
    if after is not None:
        rec["after"] = after
    return rec


INFERENCE = {"timings": {k: {"median_s": m, "q25_s": 0.9 * m, "q75_s": 1.1 * m}
                         for k, m in (("eager", 0.2), ("eager_channels_last", 0.1), ("folded", 0.1),
                                      ("compiled", 0.08), ("compiled_frozen", 0.05))},
             "errors": {k: {"max_abs_over_max_logit": 1e-6}
                        for k in ("eager_channels_last", "folded", "compiled", "compiled_frozen")},
             "tolerance": 2e-4, "batch_norms": 8, "batch_size": 250, "threads": 1, "load_average_1min": 1.0,
             "inductor": {"compiled": {"sqrt_in_code": 8, "binary_folding_conv": 0, "compile_seconds": 9.0,
                                       "error": None},
                          "compiled_frozen": {"sqrt_in_code": 0, "binary_folding_conv": 32, "compile_seconds": 9.0,
                                              "error": None}}}


def fake_result(k16_gain: float, update_bn_gain: float, rising: bool = False,
                bf16_factor: float = 4.0) -> ExperimentResult:
    runs = []
    for seed, noise in zip((0, 1, 2), (0.0, 0.01, -0.005)):
        base = 0.6 + noise
        accs = {"sgd": base, "swa_stale": base - 0.02 + noise, "swa_update_bn": base - 0.02 + update_bn_gain + noise,
                "ema": base - 0.05, "ema_update_bn": base + 0.01}
        after = {"averaging": {"config": {"steps": 100, "lr": 0.015}, "test_acc": accs, "swa_var_change": 0.2}}
        if seed == 0:
            after["inference"] = INFERENCE
        runs.append(_record("bn_k1", seed, base, rising, after))
        runs.append(_record("bn_k4", seed, base + 0.01 + noise / 2, rising))
        runs.append(_record("bn_k16", seed, base + k16_gain + noise / 3, rising))
        runs.append(_record("no_bn_k1", seed, 0.5 + noise, rising, losses=[2.3, 2.2, 2.1]))
        runs.append(_record("no_bn_k16", seed, 0.5 + noise, rising, losses=[2.3, 2.2 + 1e-7, 2.1 + 2e-4]))
    drift = {m: [{"seed": s, "mean_error": [0.1], "var_error": [0.1],
                  "late": [f * (0.01 + 0.001 * s), f * (0.006 + 0.001 * s)]} for s in range(5)]
             for m, f in (("float32", 1.0), ("autocast", 1.0), ("bfloat16", bf16_factor))}
    precision = {"dtypes": {"conv_output": "bfloat16"}, "batch_errors": [], "drift": drift,
                 "drift_setup": {"updates": 400, "keep_every": 10}}
    return experiment_result({"config": {"steps": STEPS, "batch_size": 128},
                              "measures": {"lr": 0.03, "precision": precision},
                              "provenance": {"data": {"n_fit": 45_000}, "cpu_time_s": 600.0}, "runs": runs})


def _verdicts(result):
    return {r.key: r.verdict.word for r in ts.claim_rows(result)}


def test_summary_reads_the_known_answers():
    s = ts.summarize(fake_result(k16_gain=-0.05, update_bn_gain=0.1))
    assert s.versus_k1["bn_k16"].estimate == pytest.approx(-0.05 + (0.01 - 0.005) / 9)
    assert s.versus_k1["no_bn_k16"].estimate == pytest.approx(0.0)
    assert s.averaging_diffs["swa_update_bn-swa_stale"].estimate == pytest.approx(0.1)
    assert s.control_loss_gap == pytest.approx(2e-4) and s.control_first_over == [2, 2, 2]
    assert s.inference_speedup["compiled_frozen"].ratio == pytest.approx(4.0)
    assert s.inference_speedup["compiled_frozen"].low == pytest.approx(0.9 * 0.2 / (1.1 * 0.05))
    assert s.frozen_over_compiled.ratio == pytest.approx(1.6)
    assert s.running_share[16] == pytest.approx(1 - 0.9 ** 16)
    assert s.drift_ratio["var"].estimate == pytest.approx(4.0, rel=1e-6)
    assert s.cpu_minutes == 10.0


def test_verdicts_follow_the_rule():
    assert _verdicts(fake_result(k16_gain=-0.05, update_bn_gain=0.1)) == {
        "micro_batch": "reproduced", "ghost_batch": "reproduced", "swa_update_bn": "reproduced",
        "bf16_statistics": "reproduced"}
    # the same data read the wrong way round (statistics carried better than recomputed, float32 worse):
    # a summary that swapped either comparison would turn these into "reversed"
    assert _verdicts(fake_result(k16_gain=0.05, update_bn_gain=-0.1, bf16_factor=0.25)) == {
        "micro_batch": "reversed", "ghost_batch": "reproduced", "swa_update_bn": "reversed",
        "bf16_statistics": "reversed"}


def test_end_of_training_claims_need_plateaued_arms():
    v = _verdicts(fake_result(k16_gain=-0.05, update_bn_gain=0.1, rising=True))
    assert v["micro_batch"] == v["ghost_batch"] == "not tested at this budget"
    assert v["swa_update_bn"] == "reproduced"  # the same weights: not about where training ends


def test_tables_build():
    res = fake_result(k16_gain=-0.05, update_bn_gain=0.1)
    for table in (ts.accumulation_table, ts.averaging_table, ts.inference_table, ts.claim_table):
        assert str(table(res))


BOOK = Path(__file__).resolve().parents[2] / "book"


def test_the_chapter_glues_the_rules_verdicts():
    from bn.experiments.base import load_experiment_result
    from bn.results import results_dir

    if not (results_dir() / "training_stack.json").exists():
        pytest.skip("no committed training_stack result")
    from tests.test_verdicts import stored_glue

    glued = stored_glue(BOOK / "today" / "05_training_stack.ipynb")
    for row in ts.claim_rows(load_experiment_result("training_stack")):
        assert glued.get(f"verdict_{row.key}") == row.verdict.text(), row.key
        assert glued.get(f"verdict_{row.key}_ours") == row.ours, row.key
