"""BN's pitfalls measured on the trained plain CNN: a forgotten ``eval()``, momentum conventions,
fine-tuning, dropout before BN, the order of BN and ReLU, and zero-initialized gamma.

    python -m bn.experiments run pitfalls

writes ``book/results/pitfalls.json``.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bn.experiments.base import Context, Experiment, ExperimentResult, record_run_seeds
from bn.experiments.plain_cnn import (PROFILES, PlainRun, arm_name, fit, load_data, plain_args, plain_runs,
                                      probe_batch, train_config)
from bn.experiments.study_records import read_records
from bn.models import ConvUnit
from bn.population import (KERAS, PYTORCH, batch_statistics_accuracy, bn_state, buffer_change, convert,
                           dropout_variance_shift, refresh_statistics, train_batches, weight_of_initial_value)
from bn.results import from_strict_dict
from bn.training import TensorData, evaluate_accuracy

if TYPE_CHECKING:
    from bn.statistics import Interval


def _shifted(x: torch.Tensor) -> torch.Tensor:
    """The fine-tuning "new domain": half the contrast and a brighter picture (normalized units)."""
    return 0.5 * x + 0.5


def _fine_tune(model: nn.Module, data: TensorData, freeze_stats: bool, steps: int, seed: int
               ) -> dict[str, Any]:
    """Train only the classifier on shifted images; gamma and beta have requires_grad=False."""
    tuned = copy.deepcopy(model)
    for name, param in tuned.named_parameters():
        param.requires_grad = name.startswith("classifier")
    tuned.train()
    if freeze_stats:
        for m in tuned.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
    before = bn_state(tuned)
    opt = torch.optim.SGD([q for q in tuned.parameters() if q.requires_grad], lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(4000 + seed)
    for _ in range(steps):
        idx = torch.randint(0, len(data.train_labels), (64,), generator=gen)
        loss = F.cross_entropy(tuned(_shifted(data.normalize(data.train_images[idx]))), data.train_labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = bn_state(tuned)
    return {"running_mean_change": buffer_change(before, after, "running_mean"),
            "running_var_change": buffer_change(before, after, "running_var"),
            "gamma_change": buffer_change(before, after, "weight"),
            "beta_change": buffer_change(before, after, "bias"), "tuned": tuned}


def run_pitfalls(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Chapter 4: forgotten eval(), momentum conventions, fine-tuning, dropout, BN/ReLU order, zero gamma."""
    n_post = p["post_examples"]
    cfg = train_config(p)
    width = p.get("resnet_width", 16)
    arms = {"bn_relu": plain_args(p, norm="torch"),
            "relu_bn": plain_args(p, norm="torch", order="relu_bn"),
            "dropout": plain_args(p, norm="torch", dropout=0.2),
            "resnet": {"kind": "resnet", "norm": "torch", "width": width},
            "resnet_zero_gamma": {"kind": "resnet", "norm": "torch", "width": width, "zero_gamma": True}}
    runs, per_seed = [], []
    for seed in p["pitfall_seeds"]:
        models = {}
        for arm, args in [(a, arms[a]) for a in p["pitfall_arms"]]:
            models[arm], rec = fit(data, args, cfg, seed, arm)
            runs.append(rec)
        base = models["bn_relu"]
        out: dict[str, Any] = {"seed": seed, "n_examples": n_post,
                               "acc_eval": evaluate_accuracy(base, data, n_post)}
        out["acc_train_mode"] = {str(b): batch_statistics_accuracy(base, data, b, n_post)
                                 for b in (1, 2, 4, 8, 16, 64, 256, 1000)}
        # The side effect: a training-mode pass over the test set rewrites the running statistics.
        spoiled = copy.deepcopy(base).train()
        with torch.no_grad():
            for i in range(0, n_post, 16):
                spoiled(data.normalize(data.test_images[i:i + 16]))
        out["acc_eval_after_train_mode_pass"] = evaluate_accuracy(spoiled, data, n_post)
        batches = train_batches(data, 100, 64, seed=5000 + seed)
        out["momentum"] = {str(m): evaluate_accuracy(refresh_statistics(base, batches, m), data, n_post)
                           for m in (0.1, 0.99, 0.01, None)}
        # With momentum 0.99 the average is 99 % the last batch: three batches fix it to 1e-6.
        out["momentum_099_last_batches"] = [
            evaluate_accuracy(refresh_statistics(base, batches[k - 3:k], 0.99), data, n_post)
            for k in (96, 97, 98, 99, 100)]
        shifted_test = TensorData(data.train_images[:0], data.train_labels[:0], data.test_images,
                                  data.test_labels, data.mean, data.std)
        fine = {}
        for freeze in (False, True):
            res = _fine_tune(base, data, freeze, 50, seed)
            tuned = res.pop("tuned")
            res["acc_original"] = evaluate_accuracy(tuned, data, n_post)
            res["acc_shifted"] = _accuracy_on(tuned, shifted_test, _shifted, n_post)
            fine["bn_eval" if freeze else "requires_grad_only"] = res
        fine["acc_shifted_before"] = _accuracy_on(base, shifted_test, _shifted, n_post)
        out["fine_tuning"] = fine
        out["dropout"] = {"variance_ratio": _variance_ratios(base, data)}
        if "dropout" in models:
            drop = models["dropout"]
            out["dropout"].update({
                "acc_ema": evaluate_accuracy(drop, data, n_post),
                "acc_recomputed_dropout_off": evaluate_accuracy(
                    refresh_statistics(drop, batches, None, dropout_off=True), data, n_post),
                "acc_recomputed_dropout_on": evaluate_accuracy(
                    refresh_statistics(drop, batches, None), data, n_post)})
        per_seed.append(out)
    return {"runs": runs, "per_seed": per_seed}


@torch.no_grad()
def _accuracy_on(model: nn.Module, data: TensorData, transform: Callable[[torch.Tensor], torch.Tensor],
                 n: int) -> float:
    """Eval-mode accuracy on the first ``n`` test images after ``transform`` of the normalized input."""
    was = model.training
    model.eval()
    x = transform(data.normalize(data.test_images[:n]))
    acc = float((model(x).argmax(1) == data.test_labels[:n]).float().mean())
    model.train(was)
    return acc


@torch.no_grad()
def _variance_ratios(model: nn.Module, data: TensorData) -> dict[str, dict[str, float]]:
    """Eval/train variance ratio of the second conv's output for several dropout rates (eval-mode input)."""
    model = copy.deepcopy(model).eval()
    units = [m for m in model.modules() if isinstance(m, ConvUnit)]
    x, _ = probe_batch(data, 256)
    h = units[0](x)
    ratios = {}
    for q in (0.1, 0.2, 0.5):
        r = dropout_variance_shift(h, units[1].conv, q, seed=6000)
        ratios[str(q)] = {"median": float(r.median()), "min": float(r.min()), "max": float(r.max())}
    return ratios


# The momentum measurement re-estimates the statistics from this many training batches (run_pitfalls),
# starting from the reset values; Keras's default momentum is 0.99.
REFRESH_BATCHES = 100
KERAS_MOMENTUM = 0.99


@dataclass(frozen=True)
class PitfallsSummary:
    """Every number the pitfalls chapter glues (``pit-`` + field, hyphenated; a few names given
    outright). Accuracies are formatted means over seeds with 95 % t intervals (:func:`bn.formatting.percent`),
    differences paired over seeds (:func:`bn.formatting.points`), on the first ``n`` test images unless the
    prose says "the whole test set" (the final accuracies of the trained arms).

    The runs: ``copy``, ``n``, ``steps``, ``nseeds``, ``cpu_min``. Forgotten ``eval()``:
    ``acc_eval``; ``acc_train_1``, ``acc_train_2``, ``acc_train_max`` (training mode on batches of 1,
    2 and ``bs_max``); ``acc_spoiled`` (eval mode after a training-mode pass). Momentum:
    ``converted`` (Keras's 0.99 in PyTorch's convention); ``momentum_099_*`` (range and count of
    the accuracies after the last few batches with 0.99, in %); ``mom`` (PyTorch momentum with
    the dot removed -> accuracy); ``mom_loss`` (0.99 - 0.1), ``mom_001_loss`` (0.01 - None);
    ``reset_weight`` (% weight left on the reset values). Fine-tuning: ``ft_*`` (``rg``:
    requires_grad=False only, ``eval``: BN also in eval mode; ``new``: shifted images, ``orig``:
    original ones). Dropout: ``ratio_02`` (test/train variance ratio at p = 0.2, median channel),
    ``drop_*``. BN/ReLU order (``order_*``) and zero-initialized gamma (``zg_*``): final accuracy
    of each arm on the whole test set, the paired difference and whether its interval excludes 0.
    """

    copy: str
    n: int
    steps: int
    nseeds: int
    cpu_min: float
    acc_eval: str
    acc_train_1: str
    acc_train_2: str
    acc_train_max: str
    bs_max: int
    acc_spoiled: str
    converted: float
    momentum_099_lo: float = field(metadata={"glue": "pit-099-lo"})
    momentum_099_hi: float = field(metadata={"glue": "pit-099-hi"})
    momentum_099_nlast: int = field(metadata={"glue": "pit-099-nlast"})
    mom: dict[str, str]
    mom_loss: str
    mom_001_loss: str
    reset_weight: float
    ft_before: str
    ft_orig_rg: str
    ft_new_rg: str
    ft_orig_eval: str
    ft_new_eval: str
    ft_new_diff: str
    ratio_02: float
    drop_ema: str
    drop_off: str
    drop_on: str
    drop_gain: str
    drop_arm_vs_base: str
    order_bn_relu: str
    order_relu_bn: str
    order_diff: str
    order_resolved: str
    zg_one: str
    zg_zero: str
    zg_diff: str
    zg_resolved: str


@dataclass(frozen=True)
class FineTuned:
    """One fine-tuning of the trained network's classifier on the new domain (:func:`_fine_tune`): the
    largest change of each BN buffer and parameter over the fine-tuning, and the accuracy after it
    on the original and on the shifted test images."""

    running_mean_change: float
    running_var_change: float
    gamma_change: float
    beta_change: float
    acc_original: float
    acc_shifted: float


@dataclass(frozen=True)
class FineTuningMeasures:
    """Both fine-tunings of one seed: ``requires_grad=False`` only, and BN also in eval mode; and the
    accuracy on the shifted images before either."""

    requires_grad_only: FineTuned
    bn_eval: FineTuned
    acc_shifted_before: float

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "fine_tuning") -> "FineTuningMeasures":
        """The measures ``d`` holds; an unknown or a missing key, nested ones included, is a ValueError naming it."""
        rec = from_strict_dict(cls, d, what)
        return dataclasses.replace(
            rec, requires_grad_only=from_strict_dict(FineTuned, rec.requires_grad_only, f"{what}.requires_grad_only"),
            bn_eval=from_strict_dict(FineTuned, rec.bn_eval, f"{what}.bn_eval"))


@dataclass(frozen=True)
class DropoutMeasures:
    """Dropout before BN, one seed: ``variance_ratio`` (dropout rate -> median, min and max over
    channels of the test/train variance ratio), and, where the dropout arm ran, its accuracy with
    the running statistics (``acc_ema``) and with statistics recomputed with dropout off or on."""

    variance_ratio: dict[str, dict[str, float]]
    acc_ema: float | None = None
    acc_recomputed_dropout_off: float | None = None
    acc_recomputed_dropout_on: float | None = None


@dataclass(frozen=True)
class PitfallsSeed:
    """What :func:`run_pitfalls` measured on one seed's trained ``bn_relu`` network (``measures["per_seed"]``),
    on its first ``n_examples`` test images: accuracy in eval mode, in training mode (test batch size
    -> accuracy), in eval mode after a training-mode pass, after re-estimating the statistics with
    each momentum (PyTorch convention, ``"None"`` the cumulative average) and with 0.99 over the
    last batches; the fine-tunings and the dropout measurements."""

    seed: int
    n_examples: int
    acc_eval: float
    acc_train_mode: dict[str, float]
    acc_eval_after_train_mode_pass: float
    momentum: dict[str, float]
    momentum_099_last_batches: list[float]
    fine_tuning: FineTuningMeasures
    dropout: DropoutMeasures

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "per-seed record") -> "PitfallsSeed":
        """The record ``d`` holds; an unknown or a missing key, nested ones included, is a ValueError naming it."""
        rec = from_strict_dict(cls, d, what)
        return dataclasses.replace(
            rec, fine_tuning=FineTuningMeasures.from_dict(rec.fine_tuning, f"{what}.fine_tuning"),
            dropout=from_strict_dict(DropoutMeasures, rec.dropout, f"{what}.dropout"))


def pitfalls_seeds(result: ExperimentResult) -> list[PitfallsSeed]:
    """The per-seed measurements of a pitfalls result, typed and read strictly (``measures["per_seed"]``)."""
    return read_records(result, PitfallsSeed.from_dict, "per_seed")


def fine_tuning_gap(result: ExperimentResult) -> "Interval":
    """Accuracy on the new domain after fine-tuning the classifier with the running statistics
    adapting (``requires_grad=False`` only) minus with BN in eval mode, paired by seed (95 % t
    interval): what the fine-tuning chapter of Part VI builds on."""
    from bn.statistics import paired_difference_ci

    fts = [s.fine_tuning for s in pitfalls_seeds(result)]
    return paired_difference_ci([f.requires_grad_only.acc_shifted for f in fts],
                                [f.bn_eval.acc_shifted for f in fts])


def final_accuracies(runs: list[PlainRun]) -> dict[str, list[float]]:
    """Arm -> final test accuracy (whole test set) of its runs, in seed order (paired across arms)."""
    final: dict[str, list[float]] = {}
    for r in sorted(runs, key=lambda r: r.seed):
        final.setdefault(r.arm, []).append(r.history.final_test_acc)
    return final


def summarize(result: ExperimentResult) -> PitfallsSummary:
    """The pitfalls chapter's numbers from a pitfalls result."""
    from bn.formatting import data_copy_label, percent, points, resolved
    from bn.statistics import mean_ci, paired_difference_ci

    per_seed, final = pitfalls_seeds(result), final_accuracies(plain_runs(result))

    def acc(values: list[float]) -> str:
        return percent(mean_ci(values))

    def diff(a: list[float], b: list[float]) -> str:
        return points(paired_difference_ci(a, b))

    sizes = sorted(int(b) for b in per_seed[0].acc_train_mode)
    train_mode = {b: [s.acc_train_mode[str(b)] for s in per_seed] for b in sizes}
    last = [100 * a for s in per_seed for a in s.momentum_099_last_batches]
    mom = {k: [s.momentum[k] for s in per_seed] for k in per_seed[0].momentum}
    fts = [s.fine_tuning for s in per_seed]
    rg, ev = [f.requires_grad_only for f in fts], [f.bn_eval for f in fts]
    drs = [s.dropout for s in per_seed]
    ema, off = [d.acc_ema for d in drs], [d.acc_recomputed_dropout_off for d in drs]
    order = paired_difference_ci(final["relu_bn"], final["bn_relu"])
    zero = paired_difference_ci(final["resnet_zero_gamma"], final["resnet"])
    converted = convert(KERAS_MOMENTUM, KERAS, PYTORCH)
    return PitfallsSummary(
        copy=data_copy_label(result.provenance["data"]["copy"]), n=per_seed[0].n_examples,
        steps=result.config["steps"], nseeds=len(per_seed), cpu_min=result.provenance["cpu_time_s"] / 60,
        acc_eval=acc([s.acc_eval for s in per_seed]), acc_train_1=acc(train_mode[sizes[0]]),
        acc_train_2=acc(train_mode[sizes[1]]), acc_train_max=acc(train_mode[sizes[-1]]), bs_max=sizes[-1],
        acc_spoiled=acc([s.acc_eval_after_train_mode_pass for s in per_seed]),
        converted=converted, momentum_099_lo=min(last), momentum_099_hi=max(last), momentum_099_nlast=len(last),
        mom={k.replace(".", ""): acc(v) for k, v in mom.items()},
        mom_loss=diff(mom["0.99"], mom["0.1"]), mom_001_loss=diff(mom["0.01"], mom["None"]),
        reset_weight=100 * weight_of_initial_value(converted, REFRESH_BATCHES),
        ft_before=acc([f.acc_shifted_before for f in fts]),
        ft_orig_rg=acc([f.acc_original for f in rg]), ft_new_rg=acc([f.acc_shifted for f in rg]),
        ft_orig_eval=acc([f.acc_original for f in ev]), ft_new_eval=acc([f.acc_shifted for f in ev]),
        ft_new_diff=diff([f.acc_shifted for f in rg], [f.acc_shifted for f in ev]),
        ratio_02=float(np.mean([d.variance_ratio["0.2"]["median"] for d in drs])),
        drop_ema=acc(ema), drop_off=acc(off), drop_on=acc([d.acc_recomputed_dropout_on for d in drs]),
        drop_gain=diff(off, ema), drop_arm_vs_base=diff(final["dropout"], final["bn_relu"]),
        order_bn_relu=acc(final["bn_relu"]), order_relu_bn=acc(final["relu_bn"]), order_diff=points(order),
        order_resolved=resolved(order), zg_one=acc(final["resnet"]), zg_zero=acc(final["resnet_zero_gamma"]),
        zg_diff=points(zero), zg_resolved=resolved(zero))


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """The study under ``cfg`` on ``ctx.data``: its own run records and measurements (the result's measures)."""
    measures = run_pitfalls(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name='pitfalls', title='Pitfalls of BN, measured',
    claim=('What each classic mistake with BN does to the trained plain CNN: evaluation in training mode, the momentum convention, fine-tuning with moving statistics, dropout before BN, BN after ReLU, and gamma initialized to zero in residual blocks.'),
    profiles=PROFILES, run=run, summarize=summarize, load_data=load_data)
