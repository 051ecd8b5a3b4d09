"""Experiment 5: robustness to the scale of the initial weights, with and without BN.

Every layer's He/LeCun standard deviation is multiplied by ``init_scale``
(two orders of magnitude, 0.1 to 10), at the baseline's rate and set-up.
BN makes a layer's output invariant to the scale of its weights
(Ioffe & Szegedy 2015, Sec. 3.3), so the BN arm should hardly notice.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec, run_with_and_without_bn
from bn.experiments.settings import baseline_train, cnn_model, cnn_profiles

CLAIM = ("Batch Normalization allows us to be less careful about initialization: BN(Wu) = BN((aW)u), "
         "so back-propagation through a layer is unaffected by the scale of its parameters "
         "(Ioffe & Szegedy 2015, Abstract and Sec. 3.3).")


def spec(cfg: dict[str, Any], bn: bool, scale: float, seed: int) -> RunSpec:
    return RunSpec(arm=f"{'bn' if bn else 'no_bn'}_init{scale:g}",
                   label=f"{'BN' if bn else 'no BN'}, init x{scale:g}", seed=seed,
                   model=cnn_model(cfg, bn=bn, init_scale=scale), train=baseline_train(cfg, cfg["lr"]),
                   tags={"init_scale": scale, "bn": bn})


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    run_with_and_without_bn(ctx, cfg["init_scales"], lambda scale, bn, seed: spec(cfg, bn, scale, seed))
    return {"lr": cfg["lr"]}


PROFILES = cnn_profiles(cpu={"init_scales": [0.1, 1.0, 10.0], "lr": 0.1, "steps": 80, "eval_every": 20},
                        gpu={"init_scales": [0.1, 1.0, 10.0], "lr": 0.1, "steps": 1500},
                        smoke={"init_scales": [0.1, 1.0, 10.0], "lr": 0.03})

EXPERIMENT = Experiment(name="initialization", title="Initialization robustness: an init-scale sweep",
                        claim=CLAIM, profiles=PROFILES, run=run)
