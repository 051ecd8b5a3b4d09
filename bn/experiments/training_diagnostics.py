"""What to watch while a network trains: layer statistics and update ratios, with BN and without.

    python -m bn.experiments run training_diagnostics

writes ``book/results/training_diagnostics.json``: the plain CNN of :mod:`bn.models`
with BN, and without BN (first seed), with the diagnostics of :mod:`bn.diagnostics` at every
evaluation and the update ratio of every convolution.
"""

from __future__ import annotations

from typing import Any

import time

import torch

from bn.diagnostics import UpdateRatioTracker, conv_weights, diagnostics_measure
from bn.experiments.base import Context, Experiment, record_run_seeds
from bn.experiments.plain_cnn import (PROFILES, arm_name, build_plain, load_data, plain_args, probe_batch,
                                      train_config, unit_names)
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


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """The study under ``cfg`` on ``ctx.data``: its own run records and measurements (the result's measures)."""
    measures = run_watch(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name='training_diagnostics', title='Diagnostics of training with and without BN',
    claim=('What per-layer activation statistics, saturation and update ratios show over the training of the plain CNN with and without BN.'),
    profiles=PROFILES, run=run, load_data=load_data)
