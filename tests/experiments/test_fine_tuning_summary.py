"""fine_tuning.chapter_summary on the committed result: recomputed by hand from the raw JSON, a wrong
summary caught, and the facts the chapter's prose and exercises rest on (formerly asserted in hidden
cells of the chapter)."""

import copy
import json
import statistics
from pathlib import Path

import pytest
import torch
from torch import nn

from bn.experiments import fine_tuning as ft
from bn.experiments.base import ExperimentResult
from bn.training.freezing import fold_frozen_bn, freeze_bn
from tests.experiments.raw_results import mean_ci, shown

ROOT = Path(__file__).resolve().parents[2] / "book" / "results"
RESULT, PITFALLS = ROOT / "fine_tuning.json", ROOT / "pitfalls.json"
pytestmark = pytest.mark.skipif(not (RESULT.exists() and PITFALLS.exists()), reason="no committed result yet")



@pytest.fixture(scope="module")
def raw():
    return json.loads(RESULT.read_text())


@pytest.fixture(scope="module")
def pitfalls():
    from bn.experiments.pitfalls import fine_tuning_gap

    return fine_tuning_gap(ExperimentResult.from_dict(json.loads(PITFALLS.read_text())))


@pytest.fixture(scope="module")
def record(raw, pitfalls):
    return ft.chapter_summary(ExperimentResult.from_dict(raw), pitfalls)


def target_accuracy(raw):
    """``acc[mode][batch][seed]``: target test accuracy of the reported runs, read from the raw JSON."""
    out = {}
    for run in raw["runs"]:
        if run["spec"]["tags"].get("sweep"):
            continue
        for r in run["after"]["runs"]:
            out.setdefault(r["mode"], {}).setdefault(r["batch_size"], {})[run["spec"]["seed"]] = r["test_acc"]
    return out


def paired(acc, a, b, batch):
    seeds = sorted(acc[a][batch])
    return mean_ci([acc[a][batch][s] - acc[b][batch][s] for s in seeds], scale=100, n=5)


def test_accuracies_and_differences_match_a_recomputation_by_hand(record, raw):
    acc = target_accuracy(raw)
    batches = raw["config"]["fine_tune"]["batches"]
    for b in batches:
        for mode in acc:
            assert shown(record.acc[f"{mode}-{b}"], mean_ci([acc[mode][b][s] for s in sorted(acc[mode][b])],
                                                                   scale=100, n=5))
        assert shown(record.fz_tr[b], paired(acc, "frozen", "train", b))
        assert shown(record.ev_tr[b], paired(acc, "eval_stats", "train", b))
        assert shown(record.fz_ev[b], paired(acc, "frozen", "eval_stats", b))
    seeds = sorted(acc["train"][2])
    hand = mean_ci([acc["train"][max(batches)][s] - acc["train"][min(batches)][s] for s in seeds], scale=100, n=5)
    assert shown(record.tr_large_small, hand)
    reported = [r for r in raw["runs"] if not r["spec"]["tags"].get("sweep")]
    assert shown(record.pre_source, mean_ci([r["after"]["pretrained_source_acc"] for r in reported], scale=100, n=5))
    assert shown(record.pre_target, mean_ci([r["after"]["pretrained_target_acc"] for r in reported], scale=100, n=5))


def test_protocol_fields_from_the_raw_json(record, raw):
    cfg, fine = raw["config"], raw["config"]["fine_tune"]
    reported = [r for r in raw["runs"] if not r["spec"]["tags"].get("sweep")]
    [selection] = [r for r in raw["runs"] if r["spec"]["tags"].get("sweep")]
    assert (record.n_fit, record.n_val, record.epochs) == (fine["n_fit"], fine["n_val"], fine["epochs"])
    assert record.n_test == f"{fine['n_test']:,}" and record.held_out == f"{cfg['n_val']:,}"
    assert (record.pre_steps, record.pre_batch) == (cfg["steps"], cfg["batch_size"])
    assert record.seeds == ", ".join(str(s) for s in cfg["seeds"]) and record.nseeds == len(reported)
    assert record.select_seed == cfg["select_seed"] == selection["spec"]["seed"]
    assert record.n_pretrain == len(raw["runs"])
    assert record.selection_runs == len(selection["after"]["runs"])
    # the grid, then at most twice a rate three times beyond its edge, per (mode, batch)
    assert (record.extend_factor, record.max_ext) == (3, "twice")
    cells = len(fine["batches"]) * len(fine["modes"])
    assert cells * len(fine["grid"]) <= record.selection_runs <= cells * (len(fine["grid"]) + 2)
    assert (record.bn_momentum, record.bn_momentum_pct, record.mom_share) == (0.1, "10", "90")
    assert record.cells == len(fine["batches"]) * len(fine["modes"])
    assert record.cpu_min == round(raw["provenance"]["cpu_time_s"] / 60, 1)
    assert (record.small, record.large) == (min(fine["batches"]), max(fine["batches"]))
    steps = [fine["epochs"] * (fine["n_fit"] // b) for b in fine["batches"]]
    # protects the exercise "what differs": the steps per batch size
    assert record.steps_list == ", ".join(map(str, steps))
    assert record.step_ratio == steps[0] // steps[-1]
    assert record.widths == ", ".join(map(str, cfg["widths"][:-1])) + f" and {cfg['widths'][-1]}" and record.n_blocks == len(cfg["widths"])
    assert record.diverged == sum(r["diverged"] for run in reported for r in run["after"]["runs"])
    # the source's errors the prose quotes are those the scorecard row cites
    row = ft.claim_rows(ExperimentResult.from_dict(raw))[1]
    assert f"{record.paper_err[32]:g} %" in row.paper and f"{record.paper_err[2]:g} %" in row.paper
    assert record.verdict["ft_frozen_small_batch_ours"].startswith(record.fz_tr[record.small])


def test_the_pitfalls_gap_by_hand(record, pitfalls):
    fts = [s["fine_tuning"] for s in json.loads(PITFALLS.read_text())["measures"]["per_seed"]]
    diffs = [f["requires_grad_only"]["acc_shifted"] - f["bn_eval"]["acc_shifted"] for f in fts]
    assert len(diffs) in (3, 5)
    assert shown(record.pitfalls_gap, mean_ci(diffs, scale=100))


def test_swapped_modes_are_caught(record, raw, pitfalls):
    """Frozen BN's fine-tunings labelled training mode and the other way round: the record's sign
    follows the labels, and the recomputation on the true labels fails it."""
    swapped = copy.deepcopy(raw)
    for run in swapped["runs"]:
        for r in run["after"]["runs"]:
            r["mode"] = {"train": "frozen", "frozen": "train"}.get(r["mode"], r["mode"])
    wrong = ft.chapter_summary(ExperimentResult.from_dict(swapped), pitfalls)
    hand = paired(target_accuracy(raw), "frozen", "train", 2)
    assert shown(record.fz_tr[2], hand) and not shown(wrong.fz_tr[2], hand)


def test_the_directions_the_prose_states(raw):
    """Protects "Frozen BN scores below training-mode BN at every batch", "Training-mode BN does
    depend on it" (2 to 32, paired), "The two frozen modes do not depend on the batch" (all within
    two points), the shift's drop of the pretrained networks, and "No fine-tuning run diverged"."""
    acc = target_accuracy(raw)
    batches = raw["config"]["fine_tune"]["batches"]
    assert all(paired(acc, "frozen", "train", b)[2] < 0 for b in batches)
    seeds = sorted(acc["train"][2])
    assert mean_ci([acc["train"][32][s] - acc["train"][2][s] for s in seeds], scale=100, n=5)[1] > 0
    frozen = [statistics.fmean(acc[m][b].values()) for m in ("frozen", "eval_stats") for b in batches]
    assert max(frozen) - min(frozen) < 0.02
    reported = [r for r in raw["runs"] if not r["spec"]["tags"].get("sweep")]
    source = mean_ci([r["after"]["pretrained_source_acc"] for r in reported], scale=100, n=5)
    target = mean_ci([r["after"]["pretrained_target_acc"] for r in reported], scale=100, n=5)
    assert target[2] < source[1]
    assert not any(r["diverged"] for run in reported for r in run["after"]["runs"])


def test_the_folding_exercise():
    """Protects the solution of the folding exercise: the folded convolution computes the same output."""
    assert ft.fold_exercise_error() < ft.FOLD_BOUND
    torch.manual_seed(3)
    conv = nn.Conv2d(2, 3, 3, padding=1, bias=False).double()
    bn = nn.BatchNorm2d(3).double()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-1, 1)
    freeze_bn(bn)
    x = torch.randn(2, 2, 6, 6, dtype=torch.float64)
    with torch.no_grad():
        # the same roundings bound as FOLD_BOUND: 18 products of order 1 per output
        assert (bn(conv(x)) - fold_frozen_bn(conv, bn)(x)).abs().max() < ft.FOLD_BOUND
        # a fold that forgot the mean would be off by order 1
        assert (bn(conv(x)) - conv(x) * 1.0).abs().max() > 0.1
    with pytest.raises(ValueError, match="without bias"):
        fold_frozen_bn(nn.Conv2d(2, 3, 3), bn)


def test_the_momentum_exercise(record):
    """Protects the solution of the momentum exercise: the last K batches carry 90 % of the weight,
    K - 1 do not."""
    k = record.mom_k
    assert 1 - 0.9 ** k >= 0.9 > 1 - 0.9 ** (k - 1)
    assert (record.mom_img[2], record.mom_img[32]) == (2 * k, 32 * k)
    assert ft.batches_carrying(0.5, 0.5) == 1 and ft.batches_carrying(0.75, 0.5) == 2
    with pytest.raises(ValueError):
        ft.batches_carrying(1.0, 0.1)
