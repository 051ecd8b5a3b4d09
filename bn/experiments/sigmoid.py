"""Experiment 4: the CNN with sigmoid nonlinearities, with and without BN (BN-x5-Sigmoid analog).

The no-BN sigmoid net gets its own best rate from a sweep under the baseline
set-up; the BN arm is the paper's BN-x5-Sigmoid: the recipe at 5x the
ReLU baseline's rate.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec, sweep_then_seeds
from bn.experiments.settings import baseline_train, cnn_model, cnn_profiles, recipe_setup

CLAIM = ("BN makes training with saturating nonlinearities possible: BN-x5-Sigmoid reaches 69.8 % "
         "where Inception with sigmoids never exceeds 1/1000 accuracy "
         "(Ioffe & Szegedy 2015, Sec. 4.2.2).")


def no_bn_spec(cfg: dict[str, Any], lr: float, seed: int) -> RunSpec:
    return RunSpec(arm="no_bn", label="Sigmoid, no BN", seed=seed,
                   model=cnn_model(cfg, bn=False, activation="sigmoid"), train=baseline_train(cfg, lr))


def bn_spec(cfg: dict[str, Any], seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, cfg["base_lr"])
    return RunSpec(arm="bn", label="BN-x5-Sigmoid", seed=seed,
                   model=cnn_model(cfg, bn=True, activation="sigmoid", dropout=dropout), train=train)


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    best = sweep_then_seeds(ctx, lambda lr, seed: no_bn_spec(cfg, lr, seed), cfg["rates"])
    for seed in ctx.seeds:
        ctx.run(bn_spec(cfg, seed))
    return {"no_bn_lr": best, "bn_lr": ctx.runs[-1]["spec"]["train"]["peak_lr"]}


PROFILES = cnn_profiles(cpu={"rates": [0.1, 0.3, 1.0], "base_lr": 0.1},
                        gpu={"rates": [0.1, 0.3, 1.0], "base_lr": 0.1},
                        smoke={"rates": [0.1, 0.3], "base_lr": 0.03})

EXPERIMENT = Experiment(name="sigmoid", title="Saturating nonlinearity: a sigmoid CNN with and without BN",
                        claim=CLAIM, profiles=PROFILES, run=run)
