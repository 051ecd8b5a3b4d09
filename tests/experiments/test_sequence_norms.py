"""The sequence-norms study: its smoke profile end to end (a study without CIFAR-10), what its measures
show on small models, the verdict rules, and that a wrong analysis would be caught."""

from __future__ import annotations

import copy
import math
import os

import pytest
import torch

from bn.data.text import pad_windows, text_data
from bn.experiments import REGISTRY, ExperimentResult, load_experiment_result, run_experiment
from bn.experiments import sequence_norms as sn
from bn.models.sequence import CharCausalConv
from bn.results import results_dir
from bn.statistics import VERDICTS, Interval
from bn.training.sequence import SequenceTrainConfig

# float32 forward passes: the same real positions computed inside batches of different widths (or
# one sequence alone) go through convolutions of another shape, whose sums round differently; each
# per-character loss (~4 nats) then moves by a few float32 ulps (2^-23 * 4 ~ 5e-7), and a mean of
# such losses by no more. 1e-5 is 20 of them; a padding or batch effect is orders larger.
FLOAT32_LOSS_TOL = 1e-5


@pytest.fixture(scope="module")
def smoke():
    return ExperimentResult.from_dict(run_experiment(REGISTRY["sequence_norms"], "smoke", progress=False))


def test_the_smoke_profile_runs_without_cifar(smoke):
    assert smoke.provenance["data"]["copy"].startswith("none")
    assert smoke.runs == [] and smoke.seeds == [0]
    assert smoke.seeds_run == {n: [0] for n in sn.NORMS}
    corpus = smoke.measures["corpus"]
    assert len(corpus["sha256"]) == 64 and corpus["n_chars"] > 100_000 and corpus["python"]
    runs = sn.runs_from(smoke)
    assert [r.norm for r in runs] == list(sn.NORMS)
    assert all(r.history.eval_step[-1] == 20 for r in runs)
    assert 0.2 < smoke.measures["training_padding_fraction"] < 0.7


def test_per_position_norms_see_no_padding_no_future_and_no_other_example(smoke):
    runs = {r.norm: r for r in sn.runs_from(smoke)}
    for norm in ("ln", "rms"):
        leak = runs[norm].after.leakage
        # no path in the graph: autograd's gradient is exactly zero, not merely small
        assert leak.future == leak.other_examples == leak.padding == leak.future_max_abs == 0.0
        pad = [p.loss_batch for p in runs[norm].after.padding]
        assert max(pad) - min(pad) <= FLOAT32_LOSS_TOL
    bn, masked = runs["bn"].after.leakage, runs["bn_masked"].after.leakage
    assert bn.future > 0 and bn.other_examples > 0 and bn.padding > 0
    assert masked.future > 0 and masked.other_examples > 0 and masked.padding == 0.0
    pad_masked = [p.loss_batch for p in runs["bn_masked"].after.padding]
    assert max(pad_masked) - min(pad_masked) <= FLOAT32_LOSS_TOL
    pad_bn = [p.loss_batch for p in runs["bn"].after.padding]
    assert max(pad_bn) - min(pad_bn) > 100 * FLOAT32_LOSS_TOL


def test_generation_losses_agree_for_layernorm_and_not_for_bn():
    data = text_data()
    windows = sn._windows(data, "test", 4, 16, 0)
    torch.manual_seed(0)
    ln = CharCausalConv(data.vocab.size, "ln", width=16, depth=2)
    g = sn.generation_losses(ln, windows)
    assert max(g.values()) - min(g.values()) <= FLOAT32_LOSS_TOL
    torch.manual_seed(0)
    bn = CharCausalConv(data.vocab.size, "bn", width=16, depth=2)
    g = sn.generation_losses(bn, windows)
    assert abs(g["prefix"] - g["batch"]) > 100 * FLOAT32_LOSS_TOL
    assert abs(g["single"] - g["batch"]) > 100 * FLOAT32_LOSS_TOL


def _iv(est, half):
    return Interval(est, est - half, est + half, 5, p=0.01)


def test_equivalence_rule():
    m = 0.02
    assert sn.equivalence_verdict(_iv(0.005, 0.01), m, True).word == "reproduced"
    assert sn.equivalence_verdict(_iv(0.015, 0.01), m, True).word == "not resolved"
    assert sn.equivalence_verdict(_iv(0.04, 0.01), m, True).word == "reversed"
    assert sn.equivalence_verdict(_iv(-0.04, 0.01), m, True).word == "reversed"
    assert sn.equivalence_verdict(_iv(0.0, 0.001), m, False).word == "not tested at this budget"
    assert sn.worse_verdict(_iv(0.1, 0.05), True).word == "reproduced"
    assert sn.worse_verdict(_iv(-0.1, 0.05), True).word == "reversed"
    assert sn.worse_verdict(_iv(0.1, 0.05), False).word == "not tested at this budget"


def _designed(smoke, offsets: dict[str, list[float]]):
    """The smoke result with five seeds per arm, flat validation curves (so every arm has plateaued)
    and test losses 2.0 + a seed effect + ``offsets[norm][seed]``."""
    res = copy.deepcopy(smoke)
    runs = []
    for seed in range(5):
        for r in smoke.measures["runs"]:
            r = copy.deepcopy(r)
            r["seed"] = seed
            r["history"]["val_loss_eval"] = [4.0] + [2.0] * (len(r["history"]["eval_step"]) - 1)
            r["after"]["test_loss_eval"] = 2.0 + 0.1 * seed + offsets[r["norm"]][seed]
            runs.append(r)
    res.measures["runs"] = runs
    return res


def test_summary_pairs_by_seed_and_rows_follow_the_rule(smoke):
    noise = [0.001, -0.002, 0.0, 0.002, -0.001]
    res = _designed(smoke, {"ln": [0.0] * 5, "rms": [0.003 + e for e in noise],
                            "bn": [0.2 + e for e in noise], "bn_masked": [0.1 + e for e in noise]})
    s = sn.summarize(res)
    assert s.rms_minus_ln.estimate == pytest.approx(0.003) and s.rms_minus_ln.high < 0.02
    assert s.bn_minus_ln.estimate == pytest.approx(0.2)
    # the seed effect (0.1 per seed) cancels in the pairs; an unpaired interval would cross the margin
    assert s.rms_minus_ln.high - s.rms_minus_ln.low < 0.01
    rows = {r.key: r for r in sn.claim_rows(res)}
    assert rows["rms_vs_ln"].verdict.word == "reproduced"
    assert rows["bn_vs_ln"].verdict.word == "reproduced" and rows["bn_masked_vs_ln"].verdict.word == "reproduced"
    # the opposite data give the opposite verdict: a sign error in the analysis would show here
    flipped = _designed(smoke, {"ln": [0.2] * 5, "rms": [0.2 + 0.003 + e for e in noise],
                                "bn": [0.0 + e for e in noise], "bn_masked": [0.1 + e for e in noise]})
    rows = {r.key: r for r in sn.claim_rows(flipped)}
    assert rows["bn_vs_ln"].verdict.word == "reversed" and rows["bn_masked_vs_ln"].verdict.word == "reversed"
    assert all(r.chapter == sn.CHAPTER for r in rows.values())


def test_smoke_rows_use_the_vocabulary(smoke):
    rows = sn.claim_rows(smoke)
    assert [r.key for r in rows] == ["rms_vs_ln", "bn_vs_ln", "bn_masked_vs_ln"]
    assert all(r.verdict.word in VERDICTS for r in rows)
    glue = sn.verdict_glue(smoke)
    assert set(glue) == {"verdict_rms_vs_ln", "verdict_bn_vs_ln", "verdict_bn_masked_vs_ln"}


def test_gpu_profile_is_well_formed():
    from bn.models import build_model

    cfg = sn.PROFILES["gpu"]
    assert cfg["data"] == "none" and len(cfg["seeds"]) >= 5 and set(cfg["norms"]) == set(sn.NORMS)
    train = SequenceTrainConfig.from_dict(cfg["train"])
    assert train.steps > sn.PROFILES["cpu"]["train"]["steps"] and train.steps // train.eval_every >= 10
    for norm in cfg["norms"]:
        build_model("char_conv", vocab=10, norm=norm, **cfg["model"])


COMMITTED = results_dir(os.path.dirname(__file__)) / "sequence_norms.json"


@pytest.mark.skipif(not COMMITTED.exists(), reason="no committed sequence_norms result")
def test_committed_first_steps_reproduce():
    """The first run's first steps rerun from its record: bit for bit under the same kernels, else
    within the float32 rounding of a loss (the reruns of test_reproduce.py use a measured drift model
    for long CIFAR runs; 20 steps of this small model stay within a few ulps' drift)."""
    from bn.provenance import kernel_description
    from tests.experiments.test_reproduce import same_kernels

    res = load_experiment_result(COMMITTED)
    first = sn.runs_from(res)[0]
    torch.set_num_threads(res.provenance["torch_threads"])
    data = text_data(seed=res.config["split_seed"])
    torch.manual_seed(first.seed)
    from bn.models import build_model
    from bn.training.sequence import train_sequence_model

    model = build_model("char_conv", vocab=data.vocab.size, norm=first.norm, **first.model)
    new = train_sequence_model(model, data, SequenceTrainConfig.from_dict(first.train), first.seed,
                               stop_at=20).first_losses
    assert data.provenance["sha256"] == res.measures["corpus"]["sha256"]
    if same_kernels(res.provenance.get("kernels"), kernel_description()):
        assert new == first.history.first_losses[:20]
    else:
        assert all(math.isclose(a, b, abs_tol=1e-3) for a, b in zip(new, first.history.first_losses))


def test_chapter_record_is_plain_python_and_names_every_arm(smoke):
    import dataclasses

    res = _designed(smoke, {n: [0.0] * 5 for n in sn.NORMS})
    record = sn.chapter_summary(res)
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        items = value.values() if isinstance(value, dict) else [value]
        assert all(type(v) in (int, float, str) for v in items), f.name
    assert set(record.test) == set(sn.NORMS) and len(record.pad) == len(sn.PAD_FRACTIONS) * len(sn.NORMS)
    assert record.verdict["rms_vs_ln"] == "reproduced"  # identical arms: a zero-width interval within the margin


def test_padding_expectation_matches_a_simulation():
    import numpy as np

    e = sn.padding_expectation(32, 16, 128)
    assert e["mean"] == 72.0
    rng = np.random.default_rng(0)
    lengths = rng.integers(16, 129, size=(20_000, 32))
    # 20,000 batches: the longest's standard error is ~0.02, its mean ~125.05
    assert abs(lengths.max(axis=1).mean() - e["longest"]) < 0.1
    assert abs(e["padding"] - (1 - 72.0 / e["longest"])) < 1e-12
