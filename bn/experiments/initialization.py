"""Experiment 5: robustness to the scale of the initial weights, with and without BN.

Every layer's He standard deviation is multiplied by ``init_scale``: 0.1 and 10,
two orders of magnitude apart, around the x1 runs of experiment 2, whose specs
these would repeat. Both arms keep the base rate (the convergence sweep's choice
for x1) and the baseline set-up: the rate is fixed, not re-tuned per scale, so
the question is what a scale does to a net trained as the unscaled one was.
BN makes a layer's output invariant to the scale of its weights
(Ioffe & Szegedy 2015, Sec. 3.3), so the BN arm should hardly notice.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec
from bn.experiments.settings import base_rate, baseline_train, cnn_model, cnn_profiles

CLAIM = ("Batch Normalization allows us to be less careful about initialization: BN(Wu) = BN((aW)u), "
         "so back-propagation through a layer is unaffected by the scale of its parameters "
         "(Ioffe & Szegedy 2015, Abstract and Sec. 3.3).")


def spec(cfg: dict[str, Any], base_lr: float, bn: bool, scale: float, seed: int) -> RunSpec:
    arm = "bn" if bn else "no_bn"
    if scale != 1:
        arm += f"_init{scale:g}"
    label = f"{'BN' if bn else 'no BN'}, init x{scale:g}"
    tags = {"init_scale": scale, "bn": bn}
    return RunSpec(arm=arm, label=label, seed=seed, model=cnn_model(cfg, bn=bn, init_scale=scale),
                   train=baseline_train(cfg, base_lr), tags=tags)


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    base = base_rate(ctx, cfg)
    seeds = ctx.seeds[:cfg["n_seeds"]]
    ctx.run_all([spec(cfg, base, bn, scale, seed) for scale in cfg["init_scales"] for seed in seeds
                 for bn in (False, True)])
    return {"lr": base, "init_scales": list(cfg["init_scales"]), "reference_scale": 1.0,
            "reference": "convergence"}


PROFILES = cnn_profiles(cpu={"init_scales": [0.1, 10.0], "base_lr": "convergence", "n_seeds": 3},
                        gpu={"init_scales": [0.1, 10.0], "base_lr": "convergence", "n_seeds": 5},
                        smoke={"init_scales": [0.1, 10.0], "base_lr": 0.03, "n_seeds": 2})

EXPERIMENT = Experiment(name="initialization", title="Initialization robustness: an init-scale sweep",
                        claim=CLAIM, profiles=PROFILES, run=run)
