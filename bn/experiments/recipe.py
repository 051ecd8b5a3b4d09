"""Experiment 6: the accelerating recipe as an ablation, all with BN.

Configurations: BN-Baseline (no recipe item), the full recipe, and the full
recipe with one item left out at a time, so each item's contribution is
what is lost without it. BN-Baseline and the full recipe are exactly the
runs of experiment 2's BN arm and experiment 3's BN-x5 (same specs, same
seeds, hence the same histories), so by default (``with_references``
false) only the leave-one-out configurations are run here and the chapter
takes the two references from those result files; :func:`reference_specs`
names them so a test can check that they coincide.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec
from bn.experiments.settings import RECIPE_ITEMS, cnn_model, cnn_profiles, recipe_setup

CLAIM = ("BN alone does not take full advantage of the method; the network is accelerated by: a higher "
         "learning rate, removing dropout, reducing the L2 weight regularization 5x, accelerating the "
         "learning rate decay 6x, removing local response normalization, shuffling training examples "
         "more thoroughly and reducing the photometric distortions (Ioffe & Szegedy 2015, Sec. 4.2.1).")


REFERENCES = [("baseline", "BN-Baseline", ()), ("full", "full recipe (BN-x5)", RECIPE_ITEMS)]


# What leaving an item out of the recipe means, for labels.
_KEPT_AS_BASELINE = {"higher_lr": "base rate", "no_dropout": "dropout kept", "less_l2": "full L2",
                     "faster_decay": "slow decay", "fewer_distortions": "crops kept"}


def configurations(leave_out: list[list[str]], with_references: bool = True
                   ) -> list[tuple[str, str, tuple[str, ...]]]:
    """(arm, label, recipe items applied) for every configuration of the ablation.

    ``leave_out`` lists groups of items; each group is removed from the full
    recipe together. The cpu profile, to fit its budget, tests only the three
    items expected to matter most in one epoch (rate, decay, dropout); the gpu
    profile removes each of the five items alone.
    """
    configs = list(REFERENCES) if with_references else []
    for group in leave_out:
        unknown = set(group) - set(RECIPE_ITEMS)
        if unknown:
            raise ValueError(f"unknown recipe items {sorted(unknown)}")
        name = " and ".join(_KEPT_AS_BASELINE[i] for i in group)
        configs.append(("without_" + "+".join(group), f"recipe, but {name}",
                        tuple(i for i in RECIPE_ITEMS if i not in group)))
    return configs


def spec(cfg: dict[str, Any], arm: str, label: str, items: tuple[str, ...], seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, cfg["base_lr"], items)
    return RunSpec(arm=arm, label=label, seed=seed, model=cnn_model(cfg, bn=True, dropout=dropout),
                   train=train, tags={"items": list(items)})


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    for arm, label, items in configurations(cfg["leave_out"], cfg["with_references"]):
        for seed in ctx.seeds:
            ctx.run(spec(cfg, arm, label, items, seed))
    return {"base_lr": cfg["base_lr"], "items": list(RECIPE_ITEMS)}


def reference_specs(cfg: dict[str, Any], seed: int) -> dict[str, RunSpec]:
    """The BN-Baseline and full-recipe specs this experiment would run (``arm`` -> spec)."""
    return {arm: spec(cfg, arm, label, items, seed) for arm, label, items in REFERENCES}


_EACH_ITEM = [[item] for item in RECIPE_ITEMS]
PROFILES = cnn_profiles(
    cpu={"base_lr": 0.1, "with_references": False,
         "leave_out": [["higher_lr"], ["faster_decay"], ["no_dropout"]]},
    gpu={"base_lr": 0.1, "with_references": False, "leave_out": _EACH_ITEM},
    smoke={"base_lr": 0.03, "with_references": True, "leave_out": _EACH_ITEM})

EXPERIMENT = Experiment(name="recipe", title="The accelerating recipe, item by item",
                        claim=CLAIM, profiles=PROFILES, run=run)
