"""What to watch while a network trains: layer statistics and update ratios, with BN and without.

    python -m bn.experiments run training_diagnostics

writes ``book/results/training_diagnostics.json``: the plain CNN of :mod:`bn.models`
with BN, and without BN (first seed), with the diagnostics of :mod:`bn.diagnostics` at every
evaluation and the update ratio of every convolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import time

import numpy as np
import torch

from bn.diagnostics import (TanhSaturation, UpdateRatioTracker, conv_weights, diagnostics_measure, layer_values,
                            tanh_saturation)
from bn.experiments.base import Context, Experiment, ExperimentResult, record_run_seeds
from bn.experiments.plain_cnn import (PROFILES, PlainRun, arm_name, build_plain, load_data, plain_args, probe_batch,
                                      study_records, train_config, unit_names)
from bn.training import TensorData, train


def run_watch(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Chapter 2: diagnostics of the plain CNN with BN, and without BN at two rates (first seed)."""
    x, y = probe_batch(data, 256)
    arms = [("bn", "torch", p["peak_lr"]), ("no_bn", "none", p["peak_lr"]),
            ("no_bn_low_lr", "none", p["peak_lr"] / 5)]
    runs = []
    seed = p["seeds"][0]
    for arm, norm, lr in [a for a in arms if a[0] in p["watch_arms"]]:
        torch.manual_seed(seed)
        names = unit_names(build_plain(p, norm=norm))
        measure = diagnostics_measure(names, x, y)
        torch.manual_seed(seed)
        model = build_plain(p, norm=norm)
        tracker = UpdateRatioTracker(conv_weights(model))
        cfg = train_config({**p, "steps": p["watch_steps"]}, peak_lr=lr)
        c0 = time.process_time()
        with tracker:
            history = train(model, data, cfg, seed, measure=measure, desc=f"{arm} s{seed}")
        runs.append({"arm": arm, "seed": seed, "model": plain_args(p, norm=norm),
                     "train": cfg.to_dict(), "cpu_seconds": time.process_time() - c0, "layers": names,
                     "update_ratios": {k: [float(f"{v:.4g}") for v in r] for k, r in tracker.ratios.items()},
                     "history": history.to_dict()})
    return {"runs": runs, "probe_examples": len(y)}


@dataclass(frozen=True)
class WatchRun(PlainRun):
    """A run of :func:`run_watch`: a :class:`~bn.experiments.plain_cnn.PlainRun` whose history's measures
    are :func:`bn.diagnostics.diagnostics_measure` snapshots, with the conv units' names (``layers``,
    input to output) and the update-to-data ratio of each conv weight at every step (``update_ratios``)."""

    layers: list[str]
    update_ratios: dict[str, list[float]]


def watch_runs(result: ExperimentResult) -> dict[str, WatchRun]:
    """Arm -> its run, of a training_diagnostics result (read strictly, in the order the arms ran)."""
    return {r.arm: r for r in study_records(result, WatchRun)}


# The update-to-data ratios the chapter quotes are medians over each layer's last steps.
RATIO_TAIL_STEPS = 100


@dataclass(frozen=True)
class WatchSummary:
    """Every number the chapter on watching a network train glues (``watch-`` + field, hyphenated;
    a mapping's keys are arms, ``bn`` and ``no_bn``, joined to the name as they are).

    The runs: ``steps``, ``batch``, ``probe`` (images in the probe batch), ``copy`` (the data),
    ``lr`` (the peak rate of both), ``final`` (arm -> final test accuracy, %). Activations at the
    last evaluation: the smallest and largest percentage of ReLU outputs at zero over the layers
    (``sat_bn_end_*``, ``sat_nobn_end_*``); ``std_ratio`` (arm -> last layer's std over the
    first's). Gradients: ``grad_ratio`` ("arm-init", "arm-end" -> std of the gradient at the
    first layer over that at the last), ``grad_weaker`` (its inverse without BN at init). Update
    ratios: ``ratio`` ("arm-lo", "arm-hi" -> log10 of the smallest and largest over layers of the
    median over the last ``RATIO_TAIL_STEPS`` steps). ``tanh``: the tanh exercise's threshold.
    """

    steps: int
    batch: int
    probe: int
    copy: str
    lr: float
    final: dict[str, float]
    sat_bn_end_max: float
    sat_bn_end_min: float
    sat_nobn_end_max: float
    sat_nobn_end_min: float
    std_ratio: dict[str, float]
    grad_ratio: dict[str, float]
    grad_weaker: float
    ratio: dict[str, float]
    tanh: TanhSaturation


def summarize(result: ExperimentResult) -> WatchSummary:
    """The chapter's numbers from a training_diagnostics result (arms ``bn`` and ``no_bn``)."""
    from bn.formatting import data_copy_label

    runs = watch_runs(result)
    snap = {arm: r.history.measures for arm, r in runs.items()}

    def values(arm: str, idx: int, kind: str, key: str) -> list[float]:
        return layer_values(snap[arm][idx], kind, key)

    sat = {arm: values(arm, -1, "act", "saturated") for arm in ("bn", "no_bn")}
    grad = {(arm, idx): values(arm, idx, "grad", "std") for arm in runs for idx in (0, -1)}
    ratio = {}
    for arm, r in runs.items():
        tail = [np.median(v[-RATIO_TAIL_STEPS:]) for v in r.update_ratios.values()]
        ratio.update({f"{arm}-lo": float(np.log10(min(tail))), f"{arm}-hi": float(np.log10(max(tail)))})
    std_ratio = {}
    for arm in runs:
        std = values(arm, -1, "act", "std")
        std_ratio[arm] = float(std[-1] / std[0])
    return WatchSummary(
        steps=runs["bn"].train.steps, batch=result.config["batch_size"],
        probe=result.measures["probe_examples"], copy=data_copy_label(result.provenance["data"]["copy"]),
        lr=runs["bn"].train.peak_lr,
        final={arm: 100 * (r.history.final_test_acc or 0.0) for arm, r in runs.items()},
        sat_bn_end_max=100 * max(sat["bn"]), sat_bn_end_min=100 * min(sat["bn"]),
        sat_nobn_end_max=100 * max(sat["no_bn"]), sat_nobn_end_min=100 * min(sat["no_bn"]),
        std_ratio=std_ratio,
        grad_ratio={f"{arm}-{when}": float(grad[arm, idx][0] / grad[arm, idx][-1])
                    for arm in runs for idx, when in ((0, "init"), (-1, "end"))},
        grad_weaker=float(grad["no_bn", 0][-1] / grad["no_bn", 0][0]),
        ratio=ratio, tanh=tanh_saturation())


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """The study under ``cfg`` on ``ctx.data``: its own run records and measurements (the result's measures)."""
    measures = run_watch(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name='training_diagnostics', title='Diagnostics of training with and without BN',
    claim=('What per-layer activation statistics, saturation and update ratios show over the training of the plain CNN with and without BN.'),
    profiles=PROFILES, run=run, summarize=summarize, load_data=load_data)
