"""training_stack.chapter_summary on the committed result: recomputed by hand from the raw JSON, a wrong
summary caught, and the facts the chapter's prose rests on (formerly asserted in a hidden cell)."""

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from bn.experiments import training_stack as ts
from bn.experiments.base import ExperimentResult
from tests.experiments.raw_results import HALF_CENT, mean_ci, shown

RESULT = Path(__file__).resolve().parents[2] / "book" / "results" / "training_stack.json"
pytestmark = pytest.mark.skipif(not RESULT.exists(), reason="no committed result yet")



@pytest.fixture(scope="module")
def raw():
    return json.loads(RESULT.read_text())


@pytest.fixture(scope="module")
def record(raw):
    return ts.chapter_summary(ExperimentResult.from_dict(raw))


def arm(raw, name):
    """The runs of one arm, by seed."""
    return {r["spec"]["seed"]: r for r in raw["runs"] if r["spec"]["arm"] == name}


def final(run):
    return run["history"]["final_test_acc"]


def test_accumulation_numbers_match_a_recomputation_by_hand(record, raw):
    for name in ("bn_k1", "bn_k4", "bn_k16", "no_bn_k1", "no_bn_k16"):
        runs = arm(raw, name)
        assert shown(record.acc[name], mean_ci([final(r) for r in runs.values()], scale=100)), name
    for name, ref in (("bn_k4", "bn_k1"), ("bn_k16", "bn_k1"), ("no_bn_k16", "no_bn_k1")):
        a, b = arm(raw, name), arm(raw, ref)
        assert shown(record.vs[name], mean_ci([final(a[s]) - final(b[s]) for s in sorted(a)], scale=100)), name
    c1, c16 = arm(raw, "no_bn_k1"), arm(raw, "no_bn_k16")
    first_over = []
    for s in sorted(c1):
        gaps = [abs(x - y) for x, y in zip(c1[s]["history"]["first_losses"], c16[s]["history"]["first_losses"])]
        first_over.append(next((str(i) for i, g in enumerate(gaps) if g > 1e-4), "none"))
    assert record.control_first_over == ", ".join(first_over)


def test_averaging_drift_and_inference_by_hand(record, raw):
    after = {s: r["after"]["averaging"]["test_acc"] for s, r in arm(raw, "bn_k1").items()}
    seeds = sorted(after)
    for v in ts.AVERAGE_VARIANTS:
        assert shown(record.avg[v], mean_ci([after[s][v] for s in seeds], scale=100)), v
    for key in ("swa_update_bn-swa_stale", "ema_update_bn-ema", "swa_update_bn-sgd", "ema-sgd"):
        a, b = key.split("-")
        assert shown(record.avgdiff[key], mean_ci([after[s][a] - after[s][b] for s in seeds], scale=100)), key
    drift = raw["measures"]["precision"]["drift"]
    for mode, draws in drift.items():
        for i, stat in enumerate(("mean", "var")):
            # three decimals shown: half a unit of the third
            assert shown(record.drift[f"{mode}_{stat}"], mean_ci([d["late"][i] for d in draws], scale=1.0),
                         half=0.0005 + 1e-9)
    [inf] = [r["after"]["inference"] for r in raw["runs"] if r.get("after") and "inference" in r["after"]]
    t = inf["timings"]
    for name in t:
        if name != "eager":
            # two decimals shown
            hand = (t["eager"]["median_s"] / t[name]["median_s"], t["eager"]["q25_s"] / t[name]["q75_s"],
                    t["eager"]["q75_s"] / t[name]["q25_s"])
            assert shown(record.speed[name], hand, half=HALF_CENT), name
    assert record.batch_norms == inf["batch_norms"] and record.inf_batch == inf["batch_size"]
    assert record.sqrt == {k: v["sqrt_in_code"] for k, v in inf["inductor"].items()}


def test_setup_fields_from_the_raw_json(record, raw):
    cfg, prec = raw["config"], raw["measures"]["precision"]
    assert (record.steps, record.batch) == (cfg["steps"], cfg["batch_size"])
    assert record.ks == ", ".join(str(k) for k in (1, 4, 16))
    assert record.micro == "128, 32 and 8" and cfg["batch_size"] == 128
    assert record.nseeds_bn == len(cfg["seeds"]) and record.nseeds_control == cfg["control_seeds"]
    assert record.ema_decay == cfg["average"]["ema_decay"]
    assert record.swa_every == "tenth" and cfg["average"]["swa_every"] == 10
    assert record.avg_steps == cfg["average"]["steps"]
    setup = prec["drift_setup"]
    assert float(record.pop_mean) == setup["drift_mean"] and f"N({setup['drift_mean']}, 1)" in setup["population"]
    assert record.pop_var == "1"
    assert (float(record.offset_low), float(record.offset_high)) == (setup["offsets"][0], setup["offsets"][-1])
    assert record.drift_updates == setup["updates"]
    assert record.bn_momentum == 0.1 and record.bn_keep == 0.9
    assert record.cpu_min == raw["provenance"]["cpu_time_s"] / 60
    # the exercise: the last step's share of the running statistics, 1 - 0.9^k
    assert record.ex_share == {k: 1 - 0.9 ** k for k in (1, 4, 16)}
    rows = {r.key: r for r in ts.claim_rows(ExperimentResult.from_dict(raw))}
    assert f"{record.paper_err[32]:g} % error at 32" in rows["micro_batch"].paper
    assert record.verdict["micro_batch_ours"] == rows["micro_batch"].ours
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        items = value.values() if isinstance(value, dict) else [value]
        assert all(type(v) in (int, float, str) for v in items), f.name


def test_swapped_arms_are_caught(record, raw):
    """BN's k = 16 histories filed under k = 1 and the other way round: the record follows the labels,
    and the recomputation on the true labels fails it."""
    swapped = copy.deepcopy(raw)
    k1, k16 = arm(swapped, "bn_k1"), arm(swapped, "bn_k16")
    for s in k1:
        k1[s]["history"], k16[s]["history"] = k16[s]["history"], k1[s]["history"]
    wrong = ts.chapter_summary(ExperimentResult.from_dict(swapped))
    a, b = arm(raw, "bn_k16"), arm(raw, "bn_k1")
    hand = mean_ci([final(a[s]) - final(b[s]) for s in sorted(a)], scale=100)
    assert shown(record.vs["bn_k16"], hand) and not shown(wrong.vs["bn_k16"], hand)


def test_what_the_prose_says_of_the_runs(raw):
    """Protects "No run with micro-batches diverged or stalled" and, of the averages against the last
    weights, "both intervals include 0"."""
    for name in ("bn_k1", "bn_k4", "bn_k16", "no_bn_k1", "no_bn_k16"):
        assert not any(r["history"]["diverged"] or r["history"].get("stalled") for r in arm(raw, name).values())
    after = {s: r["after"]["averaging"]["test_acc"] for s, r in arm(raw, "bn_k1").items()}
    for a, b in (("swa_update_bn", "sgd"), ("ema", "sgd")):
        _, low, high = mean_ci([after[s][a] - after[s][b] for s in sorted(after)], scale=100)
        assert low < 0 < high
