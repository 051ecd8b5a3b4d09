"""Experiment 3: higher learning rates (the paper's BN-x5 and BN-x30 analogs).

Both arms run at 5x and 30x the baseline's rate with the recipe's other
changes (no dropout, L2 / 5, 6x faster decay, fewer distortions), so BN is
the only difference between them. Which rates diverge without BN and train
with it? The baseline and BN-Baseline rows of the Fig. 3 table come from
experiment 2 (``convergence``), whose chosen rate is ``base_lr`` here.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec, run_with_and_without_bn
from bn.experiments.settings import cnn_model, cnn_profiles, recipe_setup

CLAIM = ("With BN much higher learning rates can be used without divergence; BN-x5 reaches "
         "Inception's accuracy in 14.8x fewer steps and BN-x30 trains too, to a higher final accuracy "
         "(Ioffe & Szegedy 2015, Sec. 3.3, 4.2.2, Fig. 3).")


def spec(cfg: dict[str, Any], bn: bool, multiplier: float, seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, cfg["base_lr"], lr_multiplier=multiplier)
    name = f"BN-x{multiplier:g}" if bn else f"no BN, x{multiplier:g}"
    return RunSpec(arm=f"{'bn' if bn else 'no_bn'}_x{multiplier:g}", label=name, seed=seed,
                   model=cnn_model(cfg, bn=bn, dropout=dropout), train=train,
                   tags={"multiplier": multiplier, "bn": bn})


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    run_with_and_without_bn(ctx, cfg["multipliers"], lambda multiplier, bn, seed: spec(cfg, bn, multiplier, seed))
    return {"base_lr": cfg["base_lr"]}


PROFILES = cnn_profiles(cpu={"base_lr": 0.1, "multipliers": [5, 30]},
                        gpu={"base_lr": 0.1, "multipliers": [5, 30]},
                        smoke={"base_lr": 0.03, "multipliers": [5, 30]})

EXPERIMENT = Experiment(name="learning_rates", title="Higher learning rates: BN-x5 and BN-x30 analogs",
                        claim=CLAIM, profiles=PROFILES, run=run)
