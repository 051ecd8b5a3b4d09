"""Experiment 6: the accelerating recipe, item by item, all with BN.

Two families of configurations around the two references, BN-Baseline (no
recipe item) and the full recipe (BN-x5):

* *removed*: the full recipe with one item left out, so an item's contribution
  is what is lost without it;
* *added alone*: BN-Baseline with one item added, so an item's contribution is
  what it gives on its own.

The references and one configuration are runs of other experiments with the
same specs (hence the same histories): BN-Baseline is experiment 2's BN arm,
the full recipe is experiment 3's BN-x5 rung, and the recipe without its higher
rate is experiment 3's BN-x1 rung; the control "no BN + recipe at the base
rate" is experiment 3's no-BN x1 rung. Only the other configurations run here
(``with_references`` false); :func:`reference_specs` names the borrowed ones so
a test can check that they coincide.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec
from bn.experiments.settings import RECIPE_ITEMS, base_rate, cnn_model, cnn_profiles, recipe_setup

CLAIM = ("BN alone does not take full advantage of the method; the network is accelerated by: a higher "
         "learning rate, removing dropout, reducing the L2 weight regularization 5x, accelerating the "
         "learning rate decay 6x, removing local response normalization, shuffling training examples "
         "more thoroughly and reducing the photometric distortions (Ioffe & Szegedy 2015, Sec. 4.2.1).")


REFERENCES = [("baseline", "BN-Baseline", ()), ("full", "full recipe (BN-x5)", RECIPE_ITEMS)]
# Borrowed from experiment 3 (learning_rates): the recipe without its higher rate.
BORROWED = {"without_higher_lr": "bn_x1"}

# What leaving an item out of the recipe means, and what adding it alone means, for labels.
_KEPT_AS_BASELINE = {"higher_lr": "base rate", "no_dropout": "dropout kept", "less_l2": "full L2",
                     "faster_decay": "slow decay", "fewer_distortions": "crops kept"}
_ADDED = {"higher_lr": "5x rate", "no_dropout": "no dropout", "less_l2": "L2 / 5", "faster_decay": "6x faster decay",
          "fewer_distortions": "no crops"}


def configurations(leave_out: list[str], add_alone: list[str], with_references: bool = True
                   ) -> list[tuple[str, str, tuple[str, ...]]]:
    """(arm, label, recipe items applied) for every configuration of the ablation.

    ``leave_out``: items each removed alone from the full recipe (arm ``without_ITEM``);
    ``add_alone``: items each added alone to BN-Baseline (arm ``only_ITEM``).
    """
    unknown = (set(leave_out) | set(add_alone)) - set(RECIPE_ITEMS)
    if unknown:
        raise ValueError(f"unknown recipe items {sorted(unknown)}")
    configs = list(REFERENCES) if with_references else []
    for item in leave_out:
        configs.append((f"without_{item}", f"recipe, but {_KEPT_AS_BASELINE[item]}",
                        tuple(i for i in RECIPE_ITEMS if i != item)))
    for item in add_alone:
        configs.append((f"only_{item}", f"BN-Baseline + {_ADDED[item]}", (item,)))
    return configs


def spec(cfg: dict[str, Any], base_lr: float, arm: str, label: str, items: tuple[str, ...], seed: int) -> RunSpec:
    train, dropout = recipe_setup(cfg, base_lr, items)
    return RunSpec(arm=arm, label=label, seed=seed, model=cnn_model(cfg, bn=True, dropout=dropout),
                   train=train, tags={"items": list(items)})


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    base = base_rate(ctx, cfg)
    seeds = ctx.seeds[:cfg["n_seeds"]]
    ctx.run_all([spec(cfg, base, arm, label, items, seed) for seed in seeds
                 for arm, label, items in configurations(cfg["leave_out"], cfg["add_alone"], cfg["with_references"])])
    return {"base_lr": base, "items": list(RECIPE_ITEMS), "borrowed": dict(BORROWED)}


def reference_specs(cfg: dict[str, Any], base_lr: float, seed: int) -> dict[str, RunSpec]:
    """The specs this experiment borrows, by arm: BN-Baseline, the full recipe, the recipe at the base rate."""
    out = {arm: spec(cfg, base_lr, arm, label, items, seed) for arm, label, items in REFERENCES}
    out["without_higher_lr"] = spec(cfg, base_lr, "without_higher_lr", "recipe, but base rate",
                                    tuple(i for i in RECIPE_ITEMS if i != "higher_lr"), seed)
    return out


_OTHERS = [i for i in RECIPE_ITEMS if i != "higher_lr"]
PROFILES = cnn_profiles(
    cpu={"base_lr": "convergence", "with_references": False, "leave_out": _OTHERS, "add_alone": list(RECIPE_ITEMS),
         "n_seeds": 2},
    gpu={"base_lr": "convergence", "with_references": False, "leave_out": _OTHERS, "add_alone": list(RECIPE_ITEMS),
         "n_seeds": 5},
    smoke={"base_lr": 0.03, "with_references": True, "leave_out": list(RECIPE_ITEMS),
           "add_alone": list(RECIPE_ITEMS), "n_seeds": 1})

EXPERIMENT = Experiment(name="recipe", title="The accelerating recipe, item by item",
                        claim=CLAIM, profiles=PROFILES, run=run)
