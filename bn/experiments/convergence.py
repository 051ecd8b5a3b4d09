"""Experiment 2: does BN alone make the CNN converge in fewer steps? (the paper's BN-Baseline)

The no-BN baseline gets its own best peak rate from a sweep on the validation
split (:func:`bn.experiments.base.select_rate`, with the selection seed, which is
not a reported seed); then both arms run every reported seed at that rate with
the baseline set-up. BN is the only difference, as between the paper's
Inception and BN-Baseline, and equal seeds give both arms the same data order
and augmentations, so the comparison is paired. The chosen rate is the base
rate of experiments 3 to 6.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec, select_rate
from bn.experiments.settings import baseline_train, cnn_model, cnn_profiles

CLAIM = ("BN alone (BN-Baseline) reaches Inception's accuracy in less than half the training steps "
         "(Ioffe & Szegedy 2015, Sec. 4.2.2 and Fig. 3: 2.3x fewer steps).")


def spec(cfg: dict[str, Any], bn: bool, lr: float, seed: int) -> RunSpec:
    return RunSpec(arm="bn" if bn else "no_bn", label="BN-Baseline" if bn else "Baseline", seed=seed,
                   model=cnn_model(cfg, bn=bn), train=baseline_train(cfg, lr), tags={"bn": bn})


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    selection = select_rate(ctx, lambda lr, seed: spec(cfg, False, lr, seed), cfg["rates"], cfg["select_seed"])
    best = selection["chosen"]
    ctx.run_all([spec(cfg, bn, best, seed) for seed in ctx.seeds for bn in (False, True)])
    return {"baseline_lr": best, "selection": selection}


PROFILES = cnn_profiles(cpu={"rates": [0.01, 0.03, 0.1]}, gpu={"rates": [0.01, 0.03, 0.1]},
                        smoke={"rates": [0.01, 0.1]})

EXPERIMENT = Experiment(name="convergence", title="Faster convergence: BN alone at the baseline's best rate",
                        claim=CLAIM, profiles=PROFILES, run=run)
