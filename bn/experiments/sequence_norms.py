"""Why sequence models normalize per position: BN, masked BN, LayerNorm and RMSNorm on a causal character model.

The model (:class:`bn.models.sequence.CharCausalConv`) predicts the next character of
the Python help texts (:mod:`bn.data.text`, split by document). Four arms differ only
in the normalization layer: ``bn`` (``nn.BatchNorm1d`` over every example and position
of the padded batch), ``bn_masked`` (the same over the real positions only), ``ln``
(``nn.LayerNorm``) and ``rms`` (``nn.RMSNorm``). Every seed trains every arm; under
one seed the arms share every initial weight outside the normalization layers (the
norm layers start at ones and zeros and draw nothing) and every training batch.

After training, each run is measured (:func:`measure_after`) on fixed windows:

* **padding**: the held-out loss with batch statistics when the same 32 windows of
  48 characters are padded to 0, 25, 50 and 75 % padding;
* **generation**: the held-out loss with the model as training computes it (batch
  statistics over a batch of 32), as generation computes it (eval mode, running
  statistics, one sequence at a time), with batch statistics of one whole sequence,
  and with batch statistics of the prefix generated so far (batch 1, token by
  token; the first position is left out of all four, since BN cannot normalize a
  single value per channel);
* **leakage**: the gradient of one output's log-probability with respect to the
  input embeddings, in training mode, split into the positions it may depend on
  (its own and earlier ones), later positions of its sequence, other sequences of the
  batch and padding; each norm relative to the first;
* **train and held-out loss** in both modes on fixed training and test windows.

The rules, fixed before the runs:

* *RMSNorm performs comparably to LayerNorm* (Zhang & Sennrich 2019): the paired
  difference of final test loss (eval mode) RMSNorm minus LayerNorm, over seeds, with
  its 95 % t interval, against the margin ``MARGIN`` = 0.02 nats per character (about
  1 % of the loss these models reach: the 200-step pilot runs ended near 2.0 nats per
  character). *Reproduced* if the interval lies inside (-margin, +margin); *reversed*
  if it lies entirely outside it on one side; otherwise *not resolved*. Each bound is
  tested by :func:`bn.statistics.decide` against the margin.
* *BN is worse than LN for sequence models* (Shen et al. 2020): the paired difference
  of final test loss (eval mode, what generation uses) BN minus LN; *reproduced* if the
  interval lies above 0. The same rule for masked BN minus LN.
* Both are claims about where training ends: they are judged only if both arms have
  plateaued by :mod:`bn.statistics.plateau`'s rule, applied to the negated validation
  loss (eval mode), else *not tested at this budget*.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from bn.data.text import Batch, TextData, pad_windows, sample_windows, text_data
from bn.experiments.base import Context, Experiment, ExperimentResult
from bn.experiments.report import Row
from bn.results import from_strict_dict
from bn.statistics import Evidence, Interval, Plateau, Verdict, decide, mean_ci, paired_difference_ci, plateau
from bn.training.sequence import (EVAL_SEED, SequenceHistory, SequenceTrainConfig, batches_loss, eval_batches,
                                  frozen_statistics, masked_loss, to_tensors, train_sequence_model)

NORMS = ("bn", "bn_masked", "ln", "rms")
LABELS = {"bn": "BN", "bn_masked": "masked BN", "ln": "LayerNorm", "rms": "RMSNorm"}
MARGIN = 0.02
"""Nats per character: RMSNorm and LayerNorm are "comparable" when their paired difference lies within it."""
PAD_FRACTIONS = (0.0, 0.25, 0.5, 0.75)
PAD_WINDOW = 48
"""Real characters per window of the padding sweep (48 / (1 - 0.75) = 192 positions at the most)."""
LEAK_EXAMPLES = 4
"""Outputs (one per example, at the middle of its window) whose gradient the leakage measure averages."""
CHAPTER = "today/03_sequence_models"

CLAIM = ("Sequence models normalize each position on its own (LayerNorm, Ba et al. 2016; RMSNorm, which "
         "performs comparably, Zhang & Sennrich 2019): BN's batch statistics mix padding, later positions and "
         "other examples into every output and differ between training and generation, and BN does worse "
         "(Shen et al. 2020).")


# ---------------------------------------------------------------------------------------------
# Typed records

@dataclass
class PaddingPoint:
    """The held-out loss with batch statistics (and in eval mode) at one padding fraction."""

    fraction: float
    loss_batch: float
    loss_eval: float


@dataclass
class Leakage:
    """Gradient norms of one output's log-probability with respect to the input embeddings, in training
    mode, relative to the norm over the positions the output may depend on (mean over examples);
    ``future_max_abs``: the largest single entry over later positions (0.0 exactly for a causal model)."""

    past_norm: float
    future: float
    other_examples: float
    padding: float
    future_max_abs: float


@dataclass
class AfterMeasures:
    """What is measured on a trained run (module docstring)."""

    padding: list[PaddingPoint]
    gen_loss_batch: float
    gen_loss_eval: float
    gen_loss_single: float
    gen_loss_prefix: float
    gen_loss_prefix_eval: float
    leakage: Leakage
    train_loss_batch: float
    train_loss_eval: float
    test_loss_batch: float
    test_loss_eval: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AfterMeasures":
        m = from_strict_dict(cls, d, "after-training measures")
        m.padding = [from_strict_dict(PaddingPoint, p, "padding point") for p in m.padding]
        m.leakage = from_strict_dict(Leakage, m.leakage, "leakage")
        return m


@dataclass
class SequenceRun:
    """One run: its arm, seed, model and training configuration, history and after-training measures."""

    norm: str
    seed: int
    model: dict[str, Any]
    train: dict[str, Any]
    history: SequenceHistory
    after: AfterMeasures

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SequenceRun":
        r = from_strict_dict(cls, d, "sequence run")
        r.history = SequenceHistory.from_dict(r.history)
        r.after = AfterMeasures.from_dict(r.after)
        return r


def runs_from(result: ExperimentResult) -> list[SequenceRun]:
    """Every run of a ``sequence_norms`` result, loaded strictly."""
    return [SequenceRun.from_dict(r) for r in result.measures["runs"]]


# ---------------------------------------------------------------------------------------------
# Measurements on a trained model

def _windows(data: TextData, split: str, n: int, length: int, seed: int) -> list[np.ndarray]:
    return sample_windows(np.random.default_rng(seed), data.encoded[split], n, length, length)


def padding_sweep(model: torch.nn.Module, windows: Sequence[np.ndarray],
                  fractions: Sequence[float] = PAD_FRACTIONS) -> list[PaddingPoint]:
    """The loss on the same ``windows`` padded to each fraction of padding, in both modes."""
    length = len(windows[0]) - 1
    out = []
    for f in fractions:
        batch = pad_windows(windows, total=int(round(length / (1 - f))))
        out.append(PaddingPoint(float(f), batches_loss(model, [batch], "batch"), batches_loss(model, [batch], "eval")))
    return out


def _position_losses(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    x, y, m = to_tensors(batch)
    logits = model(x, m)
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view_as(y)


def generation_losses(model: torch.nn.Module, windows: Sequence[np.ndarray], prefix: bool = True) -> dict[str, float]:
    """Mean loss over positions 1.. of ``windows`` (equal lengths) computed four ways (module docstring):
    ``"batch"``, ``"eval"``, ``"single"`` and (if ``prefix``, one forward pass per position) ``"prefix"``."""
    batch = pad_windows(windows)
    out = {}
    with frozen_statistics(model), torch.no_grad():
        for key, mode in (("batch", True), ("eval", False)):
            model.train(mode)
            out[key] = float(_position_losses(model, batch)[:, 1:].mean())
        model.train(True)
        single = [float(_position_losses(model, pad_windows([w]))[0, 1:].mean()) for w in windows]
        out["single"] = float(np.mean(single))
        if prefix:
            # the prefix generated so far, w[:t + 1], and the next character w[t + 1] as its target
            losses = [float(_position_losses(model, pad_windows([w[:t + 2]]))[0, t])
                      for w in windows for t in range(1, len(w) - 1)]
            out["prefix"] = float(np.mean(losses))
    return out


def leakage(model: torch.nn.Module, batch: Batch, examples: int = LEAK_EXAMPLES) -> Leakage:
    """How much one output depends on what a causal, per-example model must not see (:class:`Leakage`)."""
    x, y, m = to_tensors(batch)
    ratios = {"future": [], "other": [], "padding": []}
    past_norms, future_max = [], 0.0
    with frozen_statistics(model):
        model.train(True)
        for b in range(examples):
            t0 = int(batch.lengths[b]) // 2
            e = model.embed(x).detach().requires_grad_(True)
            logp = torch.log_softmax(model.forward_embedded(e, m)[b, t0], dim=-1)[y[b, t0]]
            (g,) = torch.autograd.grad(logp, e)
            g = g.detach()
            real = m.clone()
            past = g[b, :t0 + 1].norm()
            future = g[b, t0 + 1:int(batch.lengths[b])]
            real[b] = False
            past_norms.append(float(past))
            ratios["future"].append(float(future.norm() / past))
            ratios["other"].append(float(g[real].norm() / past))
            ratios["padding"].append(float(g[~m].norm() / past))
            future_max = max(future_max, float(future.abs().max()))
    return Leakage(float(np.mean(past_norms)), float(np.mean(ratios["future"])), float(np.mean(ratios["other"])),
                   float(np.mean(ratios["padding"])), future_max)


def measure_after(model: torch.nn.Module, data: TextData, cfg: SequenceTrainConfig, gen_windows: int = 32,
                  gen_prefix_windows: int = 8, gen_length: int = 64) -> AfterMeasures:
    """Every after-training measure of the module docstring, on windows fixed by :data:`EVAL_SEED`."""
    pad = padding_sweep(model, _windows(data, "test", cfg.batch_size, PAD_WINDOW, EVAL_SEED + 1))
    gen_w = _windows(data, "test", gen_windows, gen_length, EVAL_SEED + 2)
    gen = generation_losses(model, gen_w, prefix=False)
    gen_prefix = generation_losses(model, gen_w[:gen_prefix_windows])
    train_b, test_b = eval_batches(data, "train", cfg), eval_batches(data, "test", cfg)
    return AfterMeasures(
        padding=pad, gen_loss_batch=gen["batch"], gen_loss_eval=gen["eval"], gen_loss_single=gen["single"],
        gen_loss_prefix=gen_prefix["prefix"], gen_loss_prefix_eval=gen_prefix["eval"],
        leakage=leakage(model, test_b[0]),
        train_loss_batch=batches_loss(model, train_b, "batch"), train_loss_eval=batches_loss(model, train_b, "eval"),
        test_loss_batch=batches_loss(model, test_b, "batch"), test_loss_eval=batches_loss(model, test_b, "eval"))


# ---------------------------------------------------------------------------------------------
# The study

def training_padding_fraction(data: TextData, cfg: SequenceTrainConfig, batches: int = 200) -> float:
    """The mean padding fraction of the training batches (the sampler's, under one fixed seed)."""
    from bn.data.text import sample_batch

    rng = np.random.default_rng(EVAL_SEED + 3)
    return float(np.mean([sample_batch(rng, data.encoded["train"], cfg.batch_size, cfg.min_len,
                                       cfg.max_len).padding_fraction for _ in range(batches)]))


def train_one(data: TextData, norm: str, seed: int, model_cfg: dict[str, Any], train_cfg: dict[str, Any],
              stop_at: int | None = None, gen_prefix_windows: int = 8) -> SequenceRun:
    """Build the model of arm ``norm`` under ``torch.manual_seed(seed)``, train and measure it."""
    from bn.models import build_model

    torch.manual_seed(seed)
    model = build_model("char_conv", vocab=data.vocab.size, norm=norm, **model_cfg)
    cfg = SequenceTrainConfig.from_dict(train_cfg)
    hist = train_sequence_model(model, data, cfg, seed, stop_at=stop_at)
    after = measure_after(model, data, cfg, gen_prefix_windows=gen_prefix_windows)
    return SequenceRun(norm, seed, dict(model_cfg), dict(train_cfg), hist, after)


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    data = text_data(seed=cfg["split_seed"])
    tcfg = SequenceTrainConfig.from_dict(cfg["train"])
    runs = []
    for seed in ctx.seeds:
        for norm in cfg["norms"]:
            c0 = time.process_time()
            r = train_one(data, norm, seed, cfg["model"], cfg["train"], ctx.stop_at, cfg["gen_prefix_windows"])
            r.history.cpu_s = time.process_time() - c0  # the run's whole cost, its measures included
            runs.append(r.to_dict())
            if ctx.progress:
                print(f"{norm} s{seed}: test loss {r.after.test_loss_eval:.3f} ({r.history.cpu_s:.0f} s)", flush=True)
    for norm in cfg["norms"]:
        ctx.record_seeds(norm, ctx.seeds)
    return {"corpus": data.provenance, "norms": list(cfg["norms"]), "margin": MARGIN,
            "pad_fractions": list(PAD_FRACTIONS), "training_padding_fraction": training_padding_fraction(data, tcfg),
            "runs": runs}


_MODEL = {"width": 64, "depth": 4, "kernel": 3}
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"data": "none", "seeds": [0], "norms": list(NORMS), "split_seed": 0, "model": _MODEL,
              "gen_prefix_windows": 2,
              "train": {"steps": 20, "eval_every": 10, "eval_batches": 2, "warmup_steps": 5}},
    "cpu": {"data": "none", "seeds": [0, 1, 2, 3, 4], "norms": list(NORMS), "split_seed": 0, "model": _MODEL,
            "gen_prefix_windows": 8,
            "train": {"steps": 500, "eval_every": 50, "eval_batches": 4, "warmup_steps": 50}},
    "gpu": {"data": "none", "seeds": list(range(10)), "norms": list(NORMS), "split_seed": 0,
            "model": {"width": 128, "depth": 6, "kernel": 3}, "gen_prefix_windows": 32,
            "train": {"steps": 5000, "eval_every": 250, "eval_batches": 16, "warmup_steps": 200}},
}


def summarize(result: ExperimentResult) -> "SequenceSummary":
    """Every number the chapter shows (see :class:`SequenceSummary`)."""
    return _summarize(result)


EXPERIMENT = Experiment(name="sequence_norms", title="BN, masked BN, LayerNorm and RMSNorm in a causal character model",
                        claim=CLAIM, profiles=PROFILES, run=run, summarize=summarize)


# ---------------------------------------------------------------------------------------------
# Analysis

def by_norm(runs: Sequence[SequenceRun]) -> dict[str, list[SequenceRun]]:
    """Runs of each arm, sorted by seed."""
    out: dict[str, list[SequenceRun]] = {}
    for r in sorted(runs, key=lambda r: r.seed):
        out.setdefault(r.norm, []).append(r)
    return out


def paired(runs: Sequence[SequenceRun], a: str, b: str, value) -> Interval:
    """Paired difference ``value(run of a) - value(run of b)`` over the seeds both arms ran."""
    arms = by_norm(runs)
    sa, sb = {r.seed: r for r in arms[a]}, {r.seed: r for r in arms[b]}
    seeds = sorted(set(sa) & set(sb))
    return paired_difference_ci([value(sa[s]) for s in seeds], [value(sb[s]) for s in seeds])


def arm_plateau(runs: Sequence[SequenceRun]) -> Plateau:
    """The plateau rule on the negated validation loss (eval mode) of one arm's runs."""
    return plateau([(r.history.eval_step, [-v for v in r.history.val_loss_eval]) for r in runs],
                   int(runs[0].train["steps"]))


def equivalence_verdict(iv: Interval, margin: float, plateaued: bool) -> Verdict:
    """Comparable within ``margin``: each bound tested by :func:`decide` (module docstring's rule)."""
    upper = decide(Evidence(iv, margin, claimed="below", about_end=True, plateaued=plateaued))
    lower = decide(Evidence(iv, -margin, claimed="above", about_end=True, plateaued=plateaued))
    for v in (upper, lower):
        if v.word in ("reversed", "not tested at this budget"):
            return v
    if upper.word == lower.word == "reproduced":
        # no p-value: the interval's own is against 0, not against the margin (no test enters Holm's family)
        return Verdict("reproduced", None, f"the interval lies within ±{margin:g}", None)
    return Verdict("not resolved", None, f"the interval reaches beyond ±{margin:g}", None)


def worse_verdict(iv: Interval, plateaued: bool) -> Verdict:
    """"Worse than LN": the paired loss difference above 0, judged if both arms plateaued."""
    return decide(Evidence(iv, 0.0, claimed="above", about_end=True, plateaued=plateaued))


@dataclass(frozen=True)
class ArmSummary:
    """One arm over its seeds: mean test loss in both modes, the generation losses, leakage, padding."""

    norm: str
    label: str
    seeds: int
    test_eval: Interval
    test_batch: Interval
    train_batch: Interval
    train_eval: Interval
    gen_batch: Interval
    gen_eval: Interval
    gen_single: Interval
    gen_prefix: Interval
    gen_prefix_eval: Interval
    leak_future: Interval
    leak_other: Interval
    leak_padding: Interval
    future_max_abs: float
    padding_batch: list[float]
    padding_eval: list[float]
    padding_spread: Interval
    plateau: Plateau
    cpu_s: float
    steps: list[int]
    val_eval_curve: list[float]
    val_batch_curve: list[float]
    train_curve: list[float]


@dataclass(frozen=True)
class SequenceSummary:
    """What the chapter shows: per arm (:class:`ArmSummary`), the paired comparisons and their verdicts."""

    arms: dict[str, ArmSummary]
    rms_minus_ln: Interval
    bn_minus_ln: Interval
    bn_masked_minus_ln: Interval
    mode_gap: dict[str, Interval]
    margin: float
    verdict_rms_ln: Verdict
    verdict_bn_ln: Verdict
    verdict_bn_masked_ln: Verdict
    training_padding_fraction: float
    corpus: dict[str, Any]
    seeds: int
    cpu_minutes: float
    receptive_field: int
    config: dict[str, Any]


def _arm(norm: str, runs: list[SequenceRun]) -> ArmSummary:
    def ci(f) -> Interval:
        return mean_ci([f(r) for r in runs])

    pad_b = [float(np.mean([r.after.padding[i].loss_batch for r in runs])) for i in range(len(runs[0].after.padding))]
    pad_e = [float(np.mean([r.after.padding[i].loss_eval for r in runs])) for i in range(len(runs[0].after.padding))]
    return ArmSummary(
        norm, LABELS[norm], len(runs), ci(lambda r: r.after.test_loss_eval), ci(lambda r: r.after.test_loss_batch),
        ci(lambda r: r.after.train_loss_batch), ci(lambda r: r.after.train_loss_eval),
        ci(lambda r: r.after.gen_loss_batch), ci(lambda r: r.after.gen_loss_eval),
        ci(lambda r: r.after.gen_loss_single), ci(lambda r: r.after.gen_loss_prefix),
        ci(lambda r: r.after.gen_loss_prefix_eval),
        ci(lambda r: r.after.leakage.future), ci(lambda r: r.after.leakage.other_examples),
        ci(lambda r: r.after.leakage.padding), max(r.after.leakage.future_max_abs for r in runs), pad_b, pad_e,
        ci(lambda r: max(p.loss_batch for p in r.after.padding) - min(p.loss_batch for p in r.after.padding)),
        arm_plateau(runs), float(sum(r.history.cpu_s for r in runs)), list(runs[0].history.eval_step),
        _mean_curve([r.history.val_loss_eval for r in runs]), _mean_curve([r.history.val_loss_batch for r in runs]),
        _mean_curve([r.history.train_loss for r in runs]))


def _mean_curve(curves: list[list[float]]) -> list[float]:
    return [float(v) for v in np.mean(np.asarray(curves, dtype=float), axis=0)]


def _summarize(result: ExperimentResult) -> SequenceSummary:
    from bn.models.sequence import CharCausalConv

    runs = runs_from(result)
    arms = {norm: _arm(norm, rs) for norm, rs in by_norm(runs).items()}
    test = lambda r: r.after.test_loss_eval  # noqa: E731
    flat = lambda a, b: arms[a].plateau.plateaued and arms[b].plateau.plateaued  # noqa: E731
    rms_ln, bn_ln, bnm_ln = (paired(runs, "rms", "ln", test), paired(runs, "bn", "ln", test),
                             paired(runs, "bn_masked", "ln", test))
    margin = float(result.measures["margin"])
    gap = {n: mean_ci([r.after.test_loss_eval - r.after.test_loss_batch for r in rs]) for n, rs in by_norm(runs).items()}
    model = runs[0].model
    rf = CharCausalConv(2, "ln", **model).receptive_field
    return SequenceSummary(
        arms, rms_ln, bn_ln, bnm_ln, gap, margin, equivalence_verdict(rms_ln, margin, flat("rms", "ln")),
        worse_verdict(bn_ln, flat("bn", "ln")), worse_verdict(bnm_ln, flat("bn_masked", "ln")),
        float(result.measures["training_padding_fraction"]), dict(result.measures["corpus"]),
        len({r.seed for r in runs}), float(result.provenance["cpu_time_s"]) / 60, rf, dict(result.config))


def claim_rows(result: ExperimentResult) -> list[Row]:
    """One row per literature claim the study tests (module docstring's rules)."""
    return rows_of(summarize(result))


def rows_of(s: SequenceSummary) -> list[Row]:
    """:func:`claim_rows` from the study's summary."""

    def nats(iv: Interval) -> str:
        return f"{iv.estimate:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}] nats/char"

    plat = lambda a, b: "" if (s.arms[a].plateau.plateaued and s.arms[b].plateau.plateaued) else \
        "; an arm has not plateaued"  # noqa: E731
    return [
        Row("rms_vs_ln", "RMSNorm performs comparably to LayerNorm (Zhang & Sennrich 2019)", CHAPTER,
            "“comparable performance”, 7–64 % less running time",
            f"test loss RMSNorm − LayerNorm {nats(s.rms_minus_ln)}, margin ±{s.margin:g}" + plat("rms", "ln"),
            s.verdict_rms_ln),
        Row("bn_vs_ln", "BN does worse than LayerNorm in a sequence model (Shen et al. 2020)", CHAPTER,
            "“significant performance degradation” (qualitative)",
            f"test loss BN − LayerNorm {nats(s.bn_minus_ln)}" + plat("bn", "ln"), s.verdict_bn_ln),
        Row("bn_masked_vs_ln", "BN over the real positions only still does worse than LayerNorm (Shen et al. 2020)",
            CHAPTER, "“significant performance degradation” (qualitative)",
            f"test loss masked BN − LayerNorm {nats(s.bn_masked_minus_ln)}" + plat("bn_masked", "ln"),
            s.verdict_bn_masked_ln),
    ]


def verdict_glue(result: ExperimentResult) -> dict[str, str]:
    """``{"verdict_KEY": text}`` for every row of :func:`claim_rows`."""
    return {f"verdict_{r.key}": r.verdict.text() for r in claim_rows(result)}


# ---------------------------------------------------------------------------------------------
# What the chapter shows

def _nats(iv: Interval, digits: int = 3) -> str:
    return f"{iv.estimate:.{digits}f} [{iv.low:.{digits}f}, {iv.high:.{digits}f}]"


def _signed(iv: Interval, digits: int = 3) -> str:
    return f"{iv.estimate:+.{digits}f} [{iv.low:+.{digits}f}, {iv.high:+.{digits}f}]"


def plateau_text(p: Plateau) -> str:
    """``"plateaued (late fall 0.004 ≤ spread 0.010 nats)"``: the rule on the negated loss, in nats."""
    word, rel = ("plateaued", "≤") if p.plateaued else ("still falling", ">")
    return f"{word} (late fall {p.mean_rise:.3f} {rel} spread {p.spread:.3f} nats)"


def loss_table(s: SequenceSummary) -> "Table":
    """Per arm: final test loss in eval mode (generation) and with batch statistics, training windows
    in both modes, and the plateau rule's reading."""
    from bn.formatting import Table

    rows = [[a.label, _nats(a.test_eval), _nats(a.test_batch), _nats(a.train_batch), _nats(a.train_eval),
             plateau_text(a.plateau)] for a in s.arms.values()]
    return Table(["norm", "test, eval mode", "test, batch stats", "train windows, batch stats",
                  "train windows, eval mode", "plateau"], rows)


def generation_table(s: SequenceSummary) -> "Table":
    """Per arm: the held-out loss as training computes it and as three kinds of inference compute it."""
    from bn.formatting import Table

    rows = [[a.label, _nats(a.gen_batch), _nats(a.gen_eval), _nats(a.gen_single), _nats(a.gen_prefix),
             _nats(a.gen_prefix_eval)] for a in s.arms.values()]
    return Table(["norm", "batch of 32 (training)", "running stats (eval)", "one sequence's stats",
                  "prefix stats, token by token*", "running stats*"], rows)


def leakage_table(s: SequenceSummary) -> "Table":
    """Per arm: gradient norm of one output w.r.t. later positions, other examples and padding, relative
    to the positions it may depend on; and the largest single entry over later positions."""
    from bn.formatting import Table

    def rel(iv: Interval) -> str:
        return "0 (exactly)" if iv.high == iv.low == 0.0 else f"{iv.estimate:.2e} [{iv.low:.1e}, {iv.high:.1e}]"

    rows = [[a.label, rel(a.leak_future), rel(a.leak_other), rel(a.leak_padding), f"{a.future_max_abs:.1e}"]
            for a in s.arms.values()]
    return Table(["norm", "later positions", "other examples", "padding", "largest entry, later positions"],
                 rows)


def rows_table(rows: Sequence[Row]) -> "Table":
    """The claims as the scorecard shows them."""
    from bn.formatting import Table

    return Table(["claim", "paper", "ours", "verdict"], [[r.claim, r.paper, r.ours, r.verdict.text()] for r in rows])


def padding_expectation(batch: int, min_len: int, max_len: int) -> dict[str, float]:
    """Exact expectations for a batch of ``batch`` lengths uniform in ``{min_len..max_len}`` padded to the
    longest: mean length, mean longest, and the padding share ``1 - mean / mean longest`` (a ratio of
    expectations: the share of a long run of batches)."""
    values = np.arange(min_len, max_len + 1)
    n = len(values)
    cdf = (np.arange(1, n + 1) / n) ** batch
    longest = float(np.sum(values * np.diff(np.concatenate([[0.0], cdf]))))
    mean = float(values.mean())
    return {"mean": mean, "longest": longest, "gap": max_len - longest, "padding": 1 - mean / longest}


@dataclass(frozen=True)
class SequenceChapter:
    """Every number and word the chapter pastes, glued by one ``glue_record(record, "seq_")``.

    The corpus and the set-up: ``python``, ``sha`` (its first 12 hex digits), ``chars``
    (thousands separated), ``docs``, ``vocab``, ``split`` (documents per split); the model's
    ``width``, ``depth``, ``dilations`` and receptive field ``rf``; training's ``batch``,
    ``min_len``, ``max_len``, ``steps``; ``seeds`` and ``cpu_min``; the padding sweep's
    ``pad_window`` and ``pad_fractions`` (percent; ``pad_fractions_and`` as prose); generation's
    ``prefix_windows`` and window length ``gen_length``; the plateau rule's late share
    ``plateau_late`` (percent); the number of ``arms``;
    ``pad_train``, the training batches' padding share in percent. The exercise on padding
    (``ex_*``): the exact expectations of :func:`padding_expectation` at the training batch.
    The claims: ``margin`` and the paired test-loss differences ``rms_ln``, ``bn_ln``,
    ``bnm_ln`` (signed, 95 % t interval), and ``verdict``, the scorecard's words per row of
    :func:`claim_rows` (glued as ``verdict_KEY`` and ``verdict_KEY_ours``). Per arm (mappings
    keyed by norm, glued as ``seq_NAME_NORM``): test loss ``test`` (interval), the eval-minus-
    batch gap ``gap``, the padding spread ``padspread``, the losses of the padding sweep
    ``pad`` (keyed ``PERCENT_NORM``, glued ``seq_padPERCENT_NORM``), train and test losses in
    both modes, leakage, the plateau rule's reading, and the five generation losses.
    """

    python: str
    sha: str
    chars: str
    docs: int
    vocab: int
    split: str
    width: int
    depth: int
    dilations: str
    rf: int
    batch: int
    min_len: int
    max_len: int
    steps: int
    seeds: int
    cpu_min: float
    pad_window: int
    pad_fractions: str
    pad_fractions_and: str
    prefix_windows: int
    gen_length: int
    plateau_late: str
    arms: int
    pad_train: float
    ex_mean: float
    ex_longest: float
    ex_gap: float
    ex_pad: float
    ex_values: int
    margin: float
    rms_ln: str
    bn_ln: str
    bnm_ln: str
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})
    test: dict[str, str]
    gap: dict[str, str]
    padspread: dict[str, float]
    pad: dict[str, float] = field(metadata={"glue": "seq_pad"})
    trainbatch: dict[str, float]
    traineval: dict[str, float]
    testbatch: dict[str, float]
    testeval: dict[str, float]
    leak_future: dict[str, float]
    leak_other: dict[str, float]
    plateau: dict[str, str]
    genbatch: dict[str, float]
    geneval: dict[str, float]
    gensingle: dict[str, float]
    genprefix: dict[str, float]
    genprefixeval: dict[str, float]


def chapter_summary(result: ExperimentResult) -> SequenceChapter:
    """The chapter's record of ``result`` (see :class:`SequenceChapter`)."""
    import inspect

    from bn.experiments.scorecard import verdict_words
    from bn.statistics.plateau import LATE_FRACTION

    s = summarize(result)
    a = s.arms
    train = SequenceTrainConfig.from_dict(s.config["train"])
    expect = padding_expectation(train.batch_size, train.min_len, train.max_len)
    fractions = s.config.get("pad_fractions", PAD_FRACTIONS)

    def per_arm(f) -> dict[str, Any]:
        return {key: f(key, arm) for key, arm in a.items()}

    return SequenceChapter(
        python=s.corpus["python"], sha=s.corpus["sha256"][:12], chars=f"{s.corpus['n_chars']:,}",
        docs=s.corpus["n_docs"], vocab=s.corpus["vocab_size"],
        split=", ".join(f"{n} {k}" for k, n in s.corpus["split_docs"].items()),
        width=s.config["model"]["width"], depth=s.config["model"]["depth"],
        dilations=", ".join(str(2 ** i) for i in range(s.config["model"]["depth"])), rf=s.receptive_field,
        batch=train.batch_size, min_len=train.min_len, max_len=train.max_len, steps=train.steps,
        seeds=s.seeds, cpu_min=s.cpu_minutes, pad_window=PAD_WINDOW,
        pad_fractions=", ".join(f"{100 * f:.0f}" for f in PAD_FRACTIONS),
        pad_fractions_and=", ".join(f"{100 * f:.0f}" for f in PAD_FRACTIONS[:-1]) + f" and {100 * PAD_FRACTIONS[-1]:.0f}",
        prefix_windows=s.config["gen_prefix_windows"],
        gen_length=int(inspect.signature(measure_after).parameters["gen_length"].default),
        plateau_late=f"{100 * LATE_FRACTION:g}", arms=len(a), pad_train=100 * s.training_padding_fraction,
        ex_mean=expect["mean"], ex_longest=expect["longest"], ex_gap=expect["gap"], ex_pad=100 * expect["padding"],
        ex_values=train.max_len - train.min_len + 1,
        margin=s.margin, rms_ln=_signed(s.rms_minus_ln), bn_ln=_signed(s.bn_minus_ln),
        bnm_ln=_signed(s.bn_masked_minus_ln), verdict=verdict_words(rows_of(s)),
        test=per_arm(lambda k, arm: _nats(arm.test_eval)), gap=per_arm(lambda k, arm: _signed(s.mode_gap[k])),
        padspread=per_arm(lambda k, arm: arm.padding_spread.estimate),
        pad={f"{100 * f:.0f}_{k}": loss for k, arm in a.items() for f, loss in zip(fractions, arm.padding_batch)},
        trainbatch=per_arm(lambda k, arm: arm.train_batch.estimate),
        traineval=per_arm(lambda k, arm: arm.train_eval.estimate),
        testbatch=per_arm(lambda k, arm: arm.test_batch.estimate),
        testeval=per_arm(lambda k, arm: arm.test_eval.estimate),
        leak_future=per_arm(lambda k, arm: arm.leak_future.estimate),
        leak_other=per_arm(lambda k, arm: arm.leak_other.estimate),
        plateau=per_arm(lambda k, arm: plateau_text(arm.plateau)),
        genbatch=per_arm(lambda k, arm: arm.gen_batch.estimate), geneval=per_arm(lambda k, arm: arm.gen_eval.estimate),
        gensingle=per_arm(lambda k, arm: arm.gen_single.estimate),
        genprefix=per_arm(lambda k, arm: arm.gen_prefix.estimate),
        genprefixeval=per_arm(lambda k, arm: arm.gen_prefix_eval.estimate))
