"""Experiment 3: higher learning rates (the paper's BN-x5 and BN-x30 analogs) as a rate ladder.

Both arms run the recipe's set-up (no dropout, L2 / 5, 6x faster decay, fewer
distortions) at 1, 3, 5, 10 and 30 times the base rate, the rate the
convergence sweep chose for the baseline; BN is the only difference between
the arms at each rung. The x1 rung is also the recipe's control without its
higher rate: with BN ("recipe at the base rate") and without ("no BN +
recipe"). The baseline and BN-Baseline rows of the paper's Fig. 3 come from
experiment 2 (``convergence``).
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec
from bn.experiments.settings import base_rate, cnn_model, cnn_profiles, recipe_setup

CLAIM = ("With BN much higher learning rates can be used without divergence; BN-x5 reaches "
         "Inception's accuracy in 14.8x fewer steps and BN-x30 trains too, to a higher final accuracy "
         "(Ioffe & Szegedy 2015, Sec. 3.3, 4.2.2, Fig. 3).")


def spec(cfg: dict[str, Any], base_lr: float, bn: bool, multiplier: float, seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, base_lr, lr_multiplier=multiplier)
    name = f"BN-x{multiplier:g}" if bn else f"no BN, x{multiplier:g}"
    return RunSpec(arm=f"{'bn' if bn else 'no_bn'}_x{multiplier:g}", label=name, seed=seed,
                   model=cnn_model(cfg, bn=bn, dropout=dropout), train=train,
                   tags={"multiplier": multiplier, "bn": bn})


def seeds_of(cfg: dict[str, Any], seeds: list[int], multiplier: float) -> list[int]:
    """The reported seeds of rung ``multiplier``: all for the headline rungs, the first few for the others."""
    n = cfg["seeds_per_rung"].get(f"{multiplier:g}")
    return seeds if n is None else seeds[:n]


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    base = base_rate(ctx, cfg)
    ctx.run_all([spec(cfg, base, bn, m, seed) for m in cfg["multipliers"]
                 for seed in seeds_of(cfg, ctx.seeds, m) for bn in (False, True)])
    return {"base_lr": base, "multipliers": list(cfg["multipliers"])}


# The headline rungs (x1, x5, x30) run every seed; x3 and x10 one seed each, to fit the budget.
_LADDER = {"multipliers": [1, 5, 30, 3, 10], "seeds_per_rung": {"3": 1, "10": 1}}
PROFILES = cnn_profiles(cpu={"base_lr": "convergence", **_LADDER}, gpu={"base_lr": "convergence", **_LADDER},
                        smoke={"base_lr": 0.03, "multipliers": [1, 5, 30], "seeds_per_rung": {"30": 1}})

EXPERIMENT = Experiment(name="learning_rates", title="Higher learning rates: a rate ladder with and without BN",
                        claim=CLAIM, profiles=PROFILES, run=run)
