"""Experiment 6: the accelerating recipe as an ablation, all with BN.

Configurations: BN-Baseline (no recipe item), the full recipe, and the full
recipe with one item left out at a time, so each item's contribution is
what is lost without it.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec
from bn.experiments.settings import RECIPE_ITEMS, cnn_model, cnn_profiles, recipe_setup

CLAIM = ("BN alone does not take full advantage of the method; the network is accelerated by: a higher "
         "learning rate, removing dropout, reducing the L2 weight regularization 5x, accelerating the "
         "learning rate decay 6x, removing local response normalization, shuffling training examples "
         "more thoroughly and reducing the photometric distortions (Ioffe & Szegedy 2015, Sec. 4.2.1).")


def configurations() -> list[tuple[str, str, tuple[str, ...]]]:
    """(arm, label, recipe items applied) for every configuration of the ablation."""
    configs = [("baseline", "BN-Baseline", ()), ("full", "full recipe", RECIPE_ITEMS)]
    for item in RECIPE_ITEMS:
        configs.append((f"without_{item}", f"recipe without {item.replace('_', ' ')}",
                        tuple(i for i in RECIPE_ITEMS if i != item)))
    return configs


def spec(cfg: dict[str, Any], arm: str, label: str, items: tuple[str, ...], seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, cfg["base_lr"], items)
    return RunSpec(arm=arm, label=label, seed=seed, model=cnn_model(cfg, bn=True, dropout=dropout),
                   train=train, tags={"items": list(items)})


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    for arm, label, items in configurations():
        for seed in ctx.seeds:
            ctx.run(spec(cfg, arm, label, items, seed))
    return {"base_lr": cfg["base_lr"], "items": list(RECIPE_ITEMS)}


PROFILES = cnn_profiles(cpu={"base_lr": 0.03}, gpu={"base_lr": 0.03}, smoke={"base_lr": 0.03})

EXPERIMENT = Experiment(name="recipe", title="The accelerating recipe, item by item",
                        claim=CLAIM, profiles=PROFILES, run=run)
