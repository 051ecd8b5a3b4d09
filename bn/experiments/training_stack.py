"""BN in the modern training stack: gradient accumulation, bfloat16 autocast, compiled inference, weight averaging.

Four practices that were not part of the 2015 setting, each meeting BN where it differs from
every other layer: BN's output for an example depends on the other examples of its batch,
and its running statistics are a second set of numbers, next to the weights, that the
network carries into inference.

1. Gradient accumulation. The effective batch is fixed at 128 = k x (128 / k) for k = 1, 4
   and 16: the optimizer sees the same batches, the same rate and the same number of
   steps; BN sees micro-batches of 128, 32 or 8. A control network without BN, for which
   accumulation is exact up to rounding (``tests/training/test_accumulation.py``), runs at
   k = 1 and 16.
2. bfloat16 under CPU autocast: which dtypes torch gives BN, the error of the batch
   statistics and of the output against float64, and the running statistics over many
   updates (:mod:`bn.precision.autocast`, which reuses :mod:`bn.precision.errors`).
3. Inference of the trained network: eager (NCHW and channels_last), BN folded by hand
   (:func:`bn.functional.fold_batch_norm`), ``torch.compile`` without and with inductor's
   freezing (:mod:`bn.benchmark.compiled`): whether BN is folded, the time, the error.
4. Weight averaging after training: 100 further steps at a constant rate, an SWA average
   and an EMA of the weights (``torch.optim.swa_utils``), evaluated with the running
   statistics they carry and after ``update_bn`` (:mod:`bn.training.averaging`).

Verdict rules, fixed before the runs (paired over seeds, 95 % t intervals, ``bn.statistics.decide``):

* ``micro_batch`` (Wu & He 2018: BN's error grows as the batch it normalizes over shrinks):
  final test accuracy of BN at k = 16 minus k = 1, claimed below 0. About where training
  ends: judged only if both arms plateaued (:func:`bn.statistics.plateau`).
* ``ghost_batch`` (Hoffer et al. 2017: normalizing over smaller "ghost" batches inside a large
  one generalizes better): k = 4 (ghost batches of 32) minus k = 1, claimed above 0; about
  where training ends, same condition.
* ``swa_update_bn`` (Izmailov et al. 2018: the averaged weights need BN statistics recomputed):
  test accuracy of the SWA average after ``update_bn`` minus with the statistics it carries,
  claimed above 0. Both are the same weights: not a claim about where training ends.
* ``bf16_statistics`` (Micikevicius et al. 2018: batch-norm statistics are accumulated and
  kept in float32): the late error of the running variance with bfloat16 buffers over that
  with float32 buffers (autocast's), a ratio over the paired draws, claimed above 1.

What a pair shares: for accumulation, the seed fixes the initial weights, the order of the
examples and their augmentation, so k = 1, 4, 16 train on the same images in the same steps
and differ only in what BN normalizes over; the averaging variants of a seed share the same
trained network and the same further steps; the drift draws share the same batches.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec, register_after
from bn.experiments.settings import baseline_train, base_rate, cnn_model, cnn_profiles

CLAIM = ("Gradient accumulation leaves BN with the micro-batch's statistics (Wu & He 2018; Hoffer et al. 2017); "
         "mixed precision keeps BN's statistics in float32 (Micikevicius et al. 2018); averaged weights need their "
         "BN statistics recomputed (Izmailov et al. 2018).")

ACCUMULATION = (1, 4, 16)
CONTROL_ACCUMULATION = (1, 16)
AFTER = "training_stack_after"


def arm_name(bn: bool, k: int) -> str:
    """``"bn_k4"``, ``"no_bn_k16"``."""
    return f"{'bn' if bn else 'no_bn'}_k{k}"


def label(bn: bool, k: int) -> str:
    return f"{'BN' if bn else 'no BN'}, k = {k}"


def spec(cfg: dict[str, Any], lr: float, bn: bool, k: int, seed: int) -> RunSpec:
    """One run: the Part III network (no dropout), baseline training at ``lr``, ``k`` micro-batches per step.

    The k = 1 BN runs also carry the after-training measurements: weight averaging, and on the
    first seed the inference comparison.
    """
    train = baseline_train(cfg, lr)
    if k != 1:
        train["accumulation_steps"] = k
    tags: dict[str, Any] = {"accumulation_steps": k}
    after = None
    if bn and k == 1:
        after = AFTER
        tags["average"] = dict(cfg["average"])
        if seed == cfg["seeds"][0]:
            tags["inference"] = dict(cfg["inference"])
    return RunSpec(arm=arm_name(bn, k), label=label(bn, k), seed=seed, model=cnn_model(cfg, bn=bn, dropout=0.0),
                   train=train, tags=tags, after=after)


def averaging_config(a: dict[str, Any], train: dict[str, Any]) -> "AveragingConfig":
    """The averaging phase ``a`` (a spec's ``tags["average"]``) at the rate where the run's schedule ended."""
    from bn.training.averaging import AveragingConfig
    from bn.training.schedules import learning_rate

    lr = learning_rate(train["steps"] - 1, train["peak_lr"], train["warmup_steps"], train["half_life"])
    return AveragingConfig(steps=a["steps"], lr=float(lr), swa_every=a["swa_every"], ema_decay=a["ema_decay"],
                           batch_size=train["batch_size"], bn_batches=a["bn_batches"],
                           weight_decay=train["weight_decay"], flip=train["flip"], crop_pad=train["crop_pad"])


AVERAGE_VARIANTS = ("sgd", "swa_stale", "swa_update_bn", "ema", "ema_update_bn")


@register_after(AFTER)
def after_training(model, data, spec: RunSpec) -> dict[str, Any]:
    """On the trained network: the inference comparison (first seed only), then the averaging phase.

    Accuracies on the whole test set: the network after the phase (``sgd``), the SWA average
    with the statistics it carries and after ``update_bn``, the EMA (buffers averaged too) and
    the EMA after ``update_bn``.
    """
    import torch

    from bn.benchmark.compiled import compare_inference
    from bn.training import evaluate_accuracy
    from bn.training.averaging import average_weights, recompute_bn, statistics_batches

    out: dict[str, Any] = {}
    bs = spec.train.get("eval_batch_size", 1000)
    inf = spec.tags.get("inference")
    if inf:
        images = data.normalize(data.test_images[:inf["images"]])
        out["inference"] = compare_inference(copy.deepcopy(model).cpu(), images, batch_size=inf["batch"],
                                             repeats=inf["repeats"])
    acfg = averaging_config(spec.tags["average"], spec.train)
    av = average_weights(model, data, acfg, spec.seed)
    acc = lambda m: evaluate_accuracy(m, data, None, next(m.parameters()).device.type, bs)  # noqa: E731
    accs = {"sgd": acc(av.model), "swa_stale": acc(av.swa), "ema": acc(av.ema)}
    batches = statistics_batches(data, acfg.bn_batches, acfg.batch_size)
    bn_layers = [m for m in av.swa.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    stale = torch.cat([m.running_var.clone() for m in bn_layers])
    accs["swa_update_bn"] = acc(recompute_bn(av.swa, batches))
    fresh = torch.cat([m.running_var for m in bn_layers])
    accs["ema_update_bn"] = acc(recompute_bn(av.ema, batches))
    out["averaging"] = {"config": acfg.__dict__, "test_acc": accs,
                        "swa_var_change": float(((fresh - stale).abs() / stale).median())}
    return out


def precision_measures(cfg: dict[str, Any]) -> dict[str, Any]:
    """Part 2: autocast's dtypes, single-batch errors per mode and data offset, running-statistics drift."""
    from bn.precision.autocast import MODES, autocast_dtypes, batch_errors, running_drift
    from bn.precision.errors import PrecisionCase

    p = cfg["precision"]
    errors = [{"mode": mode, "mean_over_std": m, **batch_errors(PrecisionCase(n=64, channels=8, length=64, mean=m),
                                                                 mode)}
              for m in p["offsets"] for mode in MODES]
    drift = {mode: [running_drift(mode, updates=p["updates"], mean=p["drift_mean"], batch=p["batch"],
                                  length=p["length"], seed=s) for s in p["seeds"]] for mode in MODES}
    every = p["keep_every"]
    return {"dtypes": autocast_dtypes().__dict__, "batch_errors": errors,
            "drift": {mode: [{"seed": s, "mean_error": d.mean_error[every - 1::every],
                              "var_error": d.var_error[every - 1::every], "late": list(d.late())}
                             for s, d in zip(p["seeds"], ds)] for mode, ds in drift.items()},
            "drift_setup": {**p, "population": f"N({p['drift_mean']}, 1) per channel, drawn in float64 "
                                               "(numpy default_rng(seed)), rounded to BN's input dtype"}}


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    lr = base_rate(ctx, cfg)
    measures = {"lr": lr, "precision": precision_measures(cfg)}
    specs = [spec(cfg, lr, True, k, seed) for seed in ctx.seeds for k in ACCUMULATION]
    specs += [spec(cfg, lr, False, k, seed) for seed in ctx.seeds[:cfg["control_seeds"]] for k in CONTROL_ACCUMULATION]
    # the inference timing last: nothing else runs in the process while it is measured
    specs.sort(key=lambda s: bool(s.tags.get("inference")))
    ctx.run_all(specs)
    return measures


# 300 steps of 128 (0.85 epoch of the 45,000 training images), evaluated 10 times on 2,000 validation
# images; BN at k = 1, 4, 16 with five seeds, the control without BN at k = 1, 16 with three.
_AVERAGE = {"steps": 100, "swa_every": 10, "ema_decay": 0.98, "bn_batches": 50}
_PRECISION = {"offsets": [0.0, 3.0], "updates": 400, "drift_mean": 3.0, "batch": 128, "length": 64,
              "seeds": [0, 1, 2, 3, 4], "keep_every": 10}
PROFILES = cnn_profiles(
    cpu={"base_lr": "convergence", "steps": 300, "eval_every": 30, "diagnostics": False,
         "stall_window": 0, "control_seeds": 3, "average": _AVERAGE, "precision": _PRECISION,
         "inference": {"images": 1000, "batch": 250, "repeats": 11}},
    gpu={"base_lr": "convergence", "steps": 6000, "eval_every": 100, "diagnostics": False,
         "control_seeds": 5, "average": {**_AVERAGE, "steps": 1000, "swa_every": 100, "ema_decay": 0.998,
                                         "bn_batches": 200},
         "precision": _PRECISION, "inference": {"images": 2000, "batch": 250, "repeats": 21}},
    smoke={"base_lr": 0.03, "control_seeds": 2, "diagnostics": False,
           "average": {"steps": 4, "swa_every": 2, "ema_decay": 0.9, "bn_batches": 2},
           "precision": {**_PRECISION, "updates": 20, "seeds": [0, 1], "keep_every": 5},
           "inference": {"images": 64, "batch": 32, "repeats": 2}})

EXPERIMENT = Experiment(name="training_stack", title="BN in the modern training stack", claim=CLAIM,
                        profiles=PROFILES, run=run)
