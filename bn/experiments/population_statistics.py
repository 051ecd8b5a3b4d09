"""BN's population statistics: the running averages against recomputed statistics, during and after training.

    python -m bn.experiments run population_statistics

writes ``book/results/population_statistics.json``: the plain CNN with BN on every seed,
evaluated along training with the running averages, with recomputed statistics and with
batch statistics; after training, the accuracy against the number of calibration batches,
and after one more update of the running statistics from a tail batch.
"""

from __future__ import annotations

from typing import Any

import copy
from typing import Callable

import torch
from torch import nn

from bn.experiments.base import Context, Experiment, record_run_seeds
from bn.experiments.plain_cnn import PROFILES, arm_name, fit, load_data, plain_args, train_config
from bn.population import batch_statistics_accuracy, precise_statistics, statistics_gap, train_batches
from bn.training import TensorData, evaluate_accuracy


def population_measure(data: TensorData, calibration: list[torch.Tensor], n_test: int
                       ) -> Callable[[nn.Module], dict[str, Any]]:
    """At each evaluation: accuracy with EMA, recomputed and batch statistics, and the EMA's gap."""
    def measure(model: nn.Module) -> dict[str, Any]:
        precise = precise_statistics(model, calibration)
        return {"acc_ema": evaluate_accuracy(model, data, n_test),
                "acc_precise": evaluate_accuracy(precise, data, n_test),
                "acc_batch": batch_statistics_accuracy(model, data, 64, n_test),
                "gap": statistics_gap(model, precise)}
    return measure


def run_population(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Chapter 3: EMA against recomputed statistics over training; calibration size; tail batches."""
    n_test = p["eval_examples"]
    calibration = train_batches(data, 10, 64, seed=1000)
    runs, after = [], []
    for seed in p["seeds"]:
        model, rec = fit(data, plain_args(p, norm="torch"), train_config(p), seed, "bn",
                         measure=population_measure(data, calibration, n_test))
        runs.append(rec)
        n_post = p["post_examples"]
        pool = train_batches(data, 50, 64, seed=2000 + seed)
        calib_curve = {str(k): evaluate_accuracy(precise_statistics(model, pool[:k]), data, n_post)
                       for k in (1, 2, 5, 10, 20, 50)}
        tails = {}
        for r in (1, 2, 4, 16, 64):
            accs = []
            for draw in range(5):
                tail = train_batches(data, 1, r, seed=3000 + 10 * seed + draw)[0]
                bumped = copy.deepcopy(model).train()
                with torch.no_grad():
                    bumped(tail)  # one more update of the running statistics, momentum 0.1
                accs.append(evaluate_accuracy(bumped, data, n_post))
            tails[str(r)] = accs
        after.append({"seed": seed, "acc_ema": evaluate_accuracy(model, data, n_post),
                      "calibration_batches": calib_curve, "tail_batch": tails,
                      "n_examples": n_post})
    return {"runs": runs, "after_training": after, "calibration_batch_size": 64,
            "n_train_images": len(data.train_labels)}


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """The study under ``cfg`` on ``ctx.data``: its own run records and measurements (the result's measures)."""
    measures = run_population(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name='population_statistics', title='Population statistics: running averages against recomputed ones',
    claim=('How test accuracy depends on the population statistics BN evaluates with: running averages, recomputed statistics, batch statistics, the number of calibration batches and a last small batch.'),
    profiles=PROFILES, run=run, load_data=load_data)
