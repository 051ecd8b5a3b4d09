"""sequence_norms.chapter_summary on the committed result: recomputed by hand from the raw JSON, a
wrong summary caught, and the facts the chapter's prose and exercises rest on (formerly asserted in
a hidden cell of the chapter)."""

import copy
import dataclasses
import json
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch

from bn.experiments import sequence_norms as sn
from bn.experiments.base import ExperimentResult
from bn.training.sequence import SequenceTrainConfig
from tests.experiments.raw_results import mean_ci, parse_interval

RESULT = Path(__file__).resolve().parents[2] / "book" / "results" / "sequence_norms.json"
pytestmark = pytest.mark.skipif(not RESULT.exists(), reason="no committed result yet")

# The record and the hand path both average the same float64 numbers (read from float32 losses),
# in another order: they agree to a few ulps of values of order 1 (2^-52 * 10 ~ 2e-15); 1e-12 is
# far below any digit the chapter shows and far above that rounding.
TOL = 1e-12


@pytest.fixture(scope="module")
def raw():
    return json.loads(RESULT.read_text())


@pytest.fixture(scope="module")
def record(raw):
    return sn.chapter_summary(ExperimentResult.from_dict(raw))


def runs_of(raw, norm):
    """The raw runs of one arm, by seed."""
    return {r["seed"]: r for r in raw["measures"]["runs"] if r["norm"] == norm}


def close3(text, hand):
    """Shown with 3 decimals: the hand values round to them (half a unit of the third decimal)."""
    return all(abs(a - b) <= 0.0005 + 1e-9 for a, b in zip(parse_interval(text), hand))


def test_per_arm_numbers_match_a_recomputation_by_hand(record, raw):
    pads = raw["measures"]["pad_fractions"]
    for norm in raw["config"]["norms"]:
        runs = runs_of(raw, norm)
        after = [runs[s]["after"] for s in sorted(runs)]
        assert close3(record.test[norm], mean_ci([a["test_loss_eval"] for a in after], n=5))
        assert close3(record.gap[norm], mean_ci([a["test_loss_eval"] - a["test_loss_batch"] for a in after], n=5))
        for name, key in [("trainbatch", "train_loss_batch"), ("traineval", "train_loss_eval"),
                          ("genbatch", "gen_loss_batch"), ("geneval", "gen_loss_eval"),
                          ("gensingle", "gen_loss_single"), ("genprefix", "gen_loss_prefix"),
                          ("genprefixeval", "gen_loss_prefix_eval")]:
            assert abs(getattr(record, name)[norm] - statistics.fmean(a[key] for a in after)) < TOL, name
        assert abs(record.leak_future[norm] - statistics.fmean(a["leakage"]["future"] for a in after)) < TOL
        assert abs(record.leak_other[norm]
                   - statistics.fmean(a["leakage"]["other_examples"] for a in after)) < TOL
        spread = [max(p["loss_batch"] for p in a["padding"]) - min(p["loss_batch"] for p in a["padding"])
                  for a in after]
        assert abs(record.padspread[norm] - statistics.fmean(spread)) < TOL
        for i, f in enumerate(pads):
            hand = statistics.fmean(a["padding"][i]["loss_batch"] for a in after)
            assert abs(record.pad[f"{100 * f:.0f}_{norm}"] - hand) < TOL


def test_paired_differences_and_setup_from_the_raw_json(record, raw):
    test = {n: runs_of(raw, n) for n in raw["config"]["norms"]}
    for field, a in [("rms_ln", "rms"), ("bn_ln", "bn"), ("bnm_ln", "bn_masked")]:
        hand = mean_ci([test[a][s]["after"]["test_loss_eval"] - test["ln"][s]["after"]["test_loss_eval"]
                        for s in sorted(test["ln"])], n=5)
        assert close3(getattr(record, field), hand), field
    cfg, m = raw["config"], raw["measures"]
    # the result states only what the profile changes; the batch shape is the config's default
    train = {**{f.name: f.default for f in dataclasses.fields(SequenceTrainConfig)}, **cfg["train"]}
    assert (record.batch, record.min_len, record.max_len, record.steps) == (
        train["batch_size"], train["min_len"], train["max_len"], train["steps"])
    assert (record.width, record.depth) == (cfg["model"]["width"], cfg["model"]["depth"])
    assert record.seeds == len(cfg["seeds"]) and record.margin == m["margin"]
    assert record.cpu_min == raw["provenance"]["cpu_time_s"] / 60
    assert record.pad_train == 100 * m["training_padding_fraction"]
    assert record.chars == f"{m['corpus']['n_chars']:,}" and record.sha == m["corpus"]["sha256"][:12]
    assert record.ex_values == train["max_len"] - train["min_len"] + 1
    pads = [f"{100 * f:.0f}" for f in m["pad_fractions"]]
    assert record.pad_fractions_and == ", ".join(pads[:-1]) + f" and {pads[-1]}"
    assert record.arms == len(cfg["norms"]) and record.plateau_late == "20"
    assert record.ex_mean == (train["max_len"] + train["min_len"]) / 2
    assert set(record.verdict) == {k + t for k in ("rms_vs_ln", "bn_vs_ln", "bn_masked_vs_ln")
                                   for t in ("", "_ours")}


def test_swapped_arms_are_caught(record, raw):
    """BN's runs labelled LayerNorm and the other way round: a summary that paired by label, not by
    what ran, would still pass; the hand recomputation on the true labels fails it."""
    swapped = copy.deepcopy(raw)
    for r in swapped["measures"]["runs"]:
        r["norm"] = {"bn": "ln", "ln": "bn"}.get(r["norm"], r["norm"])
    wrong = sn.chapter_summary(ExperimentResult.from_dict(swapped))
    test = {n: runs_of(raw, n) for n in ("bn", "ln")}
    hand = mean_ci([test["bn"][s]["after"]["test_loss_eval"] - test["ln"][s]["after"]["test_loss_eval"]
                    for s in sorted(test["ln"])], n=5)
    assert close3(record.bn_ln, hand) and not close3(wrong.bn_ln, hand)
    assert wrong.test["bn"] == record.test["ln"] != record.test["bn"]


def test_bn_loss_is_lowest_either_side_of_the_training_padding(raw):
    """Protects: "The curve is lowest at the two fractions either side of the ... % padding of the
    training batches" (section 1)."""
    pads = raw["measures"]["pad_fractions"]
    train = raw["measures"]["training_padding_fraction"]
    bn = runs_of(raw, "bn")
    curve = [statistics.fmean(bn[s]["after"]["padding"][i]["loss_batch"] for s in bn) for i in range(len(pads))]
    lowest_two = set(np.argsort(curve)[:2].tolist())
    either_side = {i for i, f in enumerate(pads) if abs(f - train) < pads[1] - pads[0]}
    assert len(either_side) == 2 and lowest_two == either_side


def test_the_leak_exercise():
    """Protects the solution of the exercise "the leak in three numbers": BN's first output depends on
    the last input, LayerNorm's does not."""
    x = torch.tensor([[[0.3, -1.2, 2.0]]], requires_grad=True)
    bn = torch.nn.BatchNorm1d(1, affine=False)
    (g,) = torch.autograd.grad(bn(x)[0, 0, 0], x)
    assert g[0, 0, 2] != 0
    h = torch.randn(1, 3, 4, requires_grad=True)
    (g,) = torch.autograd.grad(torch.nn.LayerNorm(4)(h)[0, 0].sum(), h)
    assert (g[0, 2] == 0).all()


def test_the_padding_exercise_draws_what_the_study_reports(raw, record):
    """Protects the solution of "how much padding?": 200 drawn batches land within two points of
    the study's share, a little above the ratio of expectations."""
    from bn.data.text import sample_batch, text_data

    d = text_data()
    rng = np.random.default_rng(0)
    fr = [sample_batch(rng, d.encoded["train"], record.batch, record.min_len, record.max_len).padding_fraction
          for _ in range(200)]
    # the share's spread between batches is ~0.05; the mean of 200 is within ~0.004 of its
    # expectation, and the two seeds differ: 0.02 is five of those standard errors
    assert abs(np.mean(fr) - raw["measures"]["training_padding_fraction"]) < 0.02
    assert np.mean(fr) > record.ex_pad / 100
