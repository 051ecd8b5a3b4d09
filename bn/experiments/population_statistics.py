"""BN's population statistics: the running averages against recomputed statistics, during and after training.

    python -m bn.experiments run population_statistics

writes ``book/results/population_statistics.json``: the plain CNN with BN on every seed,
evaluated along training with the running averages, with recomputed statistics and with
batch statistics; after training, the accuracy against the number of calibration batches,
and after one more update of the running statistics from a tail batch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from bn.experiments.base import Context, Experiment, ExperimentResult, record_run_seeds
from bn.experiments.plain_cnn import (PROFILES, PlainRun, arm_name, fit, load_data, plain_args, plain_runs,
                                      train_config)
from bn.experiments.study_records import read_records
from bn.population import (batch_statistics_accuracy, precise_statistics, statistics_gap, train_batches,
                           weight_of_initial_value)
from bn.population.epoch_tail import epoch_tails, smallest_tail, tail_free_batch_sizes
from bn.results import from_strict_dict
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


@dataclass(frozen=True)
class AfterTraining:
    """What :func:`run_population` measured on one seed's trained network (``measures["after_training"]``),
    on its first ``n_examples`` test images: accuracy with the running averages (``acc_ema``), with
    statistics recomputed from k calibration batches (``calibration_batches``: k -> accuracy), and
    after one more update of the running statistics from a tail batch of m images (``tail_batch``:
    m -> the accuracies of five draws)."""

    seed: int
    acc_ema: float
    calibration_batches: dict[str, float]
    tail_batch: dict[str, list[float]]
    n_examples: int

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "after-training record") -> "AfterTraining":
        """The record ``d`` holds; an unknown or a missing key is a ValueError naming it."""
        return from_strict_dict(cls, d, what)


def after_training(result: ExperimentResult) -> list[AfterTraining]:
    """The after-training measurements of a population_statistics result, typed and read strictly, by seed."""
    return read_records(result, AfterTraining.from_dict, "after_training")


# torch.nn.BatchNorm2d's default momentum, the weight of each new batch in the study's runs.
MOMENTUM = 0.1
# The exercises: CIFAR-10's training set in batches from LOW to HIGH (and BATCH in particular);
# the weight a small momentum ALPHA still gives its initial values after STEPS batches.
EX_N, EX_BATCH, EX_LOW, EX_HIGH = 50_000, 128, 32, 256
EX_ALPHA, EX_STEPS = 0.03, 100


@dataclass(frozen=True)
class EpochExercises:
    """The exercises' numbers: an epoch of ``n`` (and ``n1`` = n - 1) examples, formatted with
    thousands separators, in batches of ``b`` leaves ``tail_b``; between ``lo`` and ``hi`` the sizes
    ``no_tail`` leave none and ``min_tail_b`` the smallest tail, ``min_tail``. ``initial_weight``:
    the % weight momentum ``EX_ALPHA`` leaves on the initial values after ``EX_STEPS`` batches."""

    n: str
    n1: str
    b: int
    lo: int
    hi: int
    tail_b: int
    no_tail: str
    min_tail: int
    min_tail_b: str
    initial_weight: float


def epoch_exercises() -> EpochExercises:
    """:class:`EpochExercises` for ``EX_N``, ``EX_BATCH``, ``EX_LOW`` to ``EX_HIGH``, ``EX_ALPHA``, ``EX_STEPS``."""
    tails = epoch_tails(EX_N, range(EX_LOW, EX_HIGH + 1))
    least, at = smallest_tail(tails)
    return EpochExercises(n=f"{EX_N:,}", n1=f"{EX_N - 1:,}", b=EX_BATCH, lo=EX_LOW, hi=EX_HIGH,
                          tail_b=epoch_tails(EX_N, [EX_BATCH])[EX_BATCH],
                          no_tail=", ".join(map(str, tail_free_batch_sizes(tails))), min_tail=least,
                          min_tail_b=" and ".join(map(str, at)),
                          initial_weight=100 * weight_of_initial_value(EX_ALPHA, EX_STEPS))


@dataclass(frozen=True)
class PopulationSummary:
    """Every number the chapter on population statistics glues (``pop-`` + field, hyphenated).

    The runs: ``steps``, ``batch``, ``nseeds``, ``copy``, ``every`` (steps between evaluations),
    ``ntest`` (test images per evaluation). During training, means over seeds: ``first`` (the
    first evaluated step), ``init_weight`` (% weight the EMA still gives its initial values
    there), ``accuracy`` ("ema"/"precise"/"batch" + "-first"/"-last" -> %, glued as
    ``pop-`` + key), ``shift`` ("first"/"last" -> mean over layers and channels of
    ``|EMA mean - recomputed mean| / std``). After training: ``npost`` test images, ``calib_one`` and
    ``calib_max`` (% with statistics recomputed from 1 and ``calib_n`` batches), ``ema_final``.
    Tail batches: ``ntrain``, ``tail`` (its last batch), ``tail_worst_1``, ``tail_worst_64`` (%, the
    worst draw after one EMA update from a batch of 1 or 64). ``ex``: :class:`EpochExercises`.
    """

    steps: int
    batch: int
    nseeds: int
    copy: str
    every: int
    ntest: int
    first: int
    init_weight: float
    accuracy: dict[str, float] = field(metadata={"glue": "pop-"})
    shift: dict[str, float]
    npost: int
    calib_one: float
    calib_max: float
    calib_n: int
    ema_final: float
    ntrain: int
    tail: int
    tail_worst_1: float
    tail_worst_64: float
    ex: EpochExercises


def measure_at(run: PlainRun, step: int, key: str) -> Any:
    """The value ``key`` of a run's evaluation at training step ``step`` (ValueError if none was there)."""
    h = run.history
    return h.measures[h.eval_step.index(step)][key]


def summarize(result: ExperimentResult) -> PopulationSummary:
    """The chapter's numbers from a population_statistics result."""
    from bn.formatting import data_copy_label

    cfg, runs, after = result.config, plain_runs(result), after_training(result)
    first, last = cfg["eval_every"], cfg["steps"]
    accuracy, shift = {}, {}
    for step, when in ((first, "first"), (last, "last")):
        for key, name in (("acc_ema", "ema"), ("acc_precise", "precise"), ("acc_batch", "batch")):
            accuracy[f"{name}-{when}"] = 100 * float(np.mean([measure_at(r, step, key) for r in runs]))
        shift[when] = float(np.mean([np.mean([g["mean_shift"] for g in measure_at(r, step, "gap")])
                                     for r in runs]))
    ks = sorted(int(k) for k in after[0].calibration_batches)

    def calibrated(k: int) -> float:
        return 100 * float(np.mean([a.calibration_batches[str(k)] for a in after]))

    def worst_tail(m: int) -> float:
        return 100 * min(v for a in after for v in a.tail_batch[str(m)])

    n_train = result.measures["n_train_images"]
    return PopulationSummary(
        steps=cfg["steps"], batch=cfg["batch_size"], nseeds=len(runs),
        copy=data_copy_label(result.provenance["data"]["copy"]), every=cfg["eval_every"],
        ntest=cfg["eval_examples"], first=first, init_weight=100 * weight_of_initial_value(MOMENTUM, first),
        accuracy=accuracy, shift=shift, npost=after[0].n_examples, calib_one=calibrated(1),
        calib_max=calibrated(ks[-1]), calib_n=ks[-1],
        ema_final=100 * float(np.mean([a.acc_ema for a in after])), ntrain=n_train,
        tail=n_train % cfg["batch_size"], tail_worst_1=worst_tail(1), tail_worst_64=worst_tail(64),
        ex=epoch_exercises())


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """The study under ``cfg`` on ``ctx.data``: its own run records and measurements (the result's measures)."""
    measures = run_population(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name='population_statistics', title='Population statistics: running averages against recomputed ones',
    claim=('How test accuracy depends on the population statistics BN evaluates with: running averages, recomputed statistics, batch statistics, the number of calibration batches and a last small batch.'),
    profiles=PROFILES, run=run, summarize=summarize, load_data=load_data)
