"""Experiment 4: the CNN with sigmoid nonlinearities, with and without BN (BN-x5-Sigmoid analog).

Three arms, all with sigmoids (and LeCun initialization, the sigmoid's analog of
He's): no BN at its own best rate from a validation sweep under the baseline
set-up; BN under the same baseline set-up at the base rate (BN alone); and the
paper's BN-x5-Sigmoid, the recipe at 5x the base rate. BN alone against no BN
credits BN; BN-x5-Sigmoid against BN alone credits the recipe.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec, select_rate
from bn.experiments.settings import base_rate, baseline_train, cnn_model, cnn_profiles, recipe_setup

CLAIM = ("BN makes training with saturating nonlinearities possible: BN-x5-Sigmoid reaches 69.8 % "
         "where Inception with sigmoids never exceeds 1/1000 accuracy "
         "(Ioffe & Szegedy 2015, Sec. 4.2.2).")


def no_bn_spec(cfg: dict[str, Any], lr: float, seed: int) -> RunSpec:
    return RunSpec(arm="no_bn", label="Sigmoid, no BN", seed=seed,
                   model=cnn_model(cfg, bn=False, activation="sigmoid"), train=baseline_train(cfg, lr))


def bn_alone_spec(cfg: dict[str, Any], base_lr: float, seed: int) -> RunSpec:
    return RunSpec(arm="bn", label="BN-Baseline-Sigmoid", seed=seed,
                   model=cnn_model(cfg, bn=True, activation="sigmoid"), train=baseline_train(cfg, base_lr))


def bn_recipe_spec(cfg: dict[str, Any], base_lr: float, seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, base_lr)
    return RunSpec(arm="bn_x5", label="BN-x5-Sigmoid", seed=seed,
                   model=cnn_model(cfg, bn=True, activation="sigmoid", dropout=dropout), train=train)


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    base = base_rate(ctx, cfg)
    selection = select_rate(ctx, lambda lr, seed: no_bn_spec(cfg, lr, seed), cfg["rates"], cfg["select_seed"])
    # The headline pair (no BN, BN-x5-Sigmoid) runs every seed; BN alone, the control, the first few.
    alone = set(ctx.seeds[:cfg["bn_alone_seeds"]])
    ctx.run_all([make(seed) for seed in ctx.seeds for make in
                 (lambda s: no_bn_spec(cfg, selection["chosen"], s), lambda s: bn_recipe_spec(cfg, base, s))]
                + [bn_alone_spec(cfg, base, seed) for seed in ctx.seeds if seed in alone])
    return {"no_bn_lr": selection["chosen"], "selection": selection, "base_lr": base,
            "bn_x5_lr": bn_recipe_spec(cfg, base, ctx.seeds[0]).train["peak_lr"]}


_GRID = [0.01, 0.03, 0.1, 0.3, 1.0]
PROFILES = cnn_profiles(cpu={"rates": _GRID, "base_lr": "convergence", "bn_alone_seeds": 3},
                        gpu={"rates": _GRID, "base_lr": "convergence", "bn_alone_seeds": 5},
                        smoke={"rates": [0.1, 0.3], "base_lr": 0.03, "bn_alone_seeds": 2})

EXPERIMENT = Experiment(name="sigmoid", title="Saturating nonlinearity: a sigmoid CNN with and without BN",
                        claim=CLAIM, profiles=PROFILES, run=run)
