"""Experiment 1, the paper's Fig. 1 on CIFAR-10: a 3x100 sigmoid MLP with and without BN.

Each arm gets its own best rate from a sweep on the validation split (the
selection seed, not a reported seed); then every reported seed runs at it.
Measures validation accuracy over training and, on a fixed probe batch of
validation images, the 15/50/85th percentiles of the input to one sigmoid of
the last hidden layer: with BN both the normalized ``xhat`` and the sigmoid's
actual input ``gamma * xhat + beta``.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec, select_rate

CLAIM = ("With BN the network trains faster and reaches higher accuracy, and the distribution of a "
         "sigmoid's input is much more stable over training (Ioffe & Szegedy 2015, Fig. 1).")


def spec(cfg: dict[str, Any], bn: bool, lr: float, seed: int) -> RunSpec:
    """One run of the MLP arm ``bn`` at rate ``lr``; the arms share every other setting."""
    model = {"kind": "mlp", "hidden": list(cfg["hidden"]), "bn": bn, "activation": "sigmoid"}
    train = {"steps": cfg["steps"], "batch_size": cfg["batch_size"], "peak_lr": lr,
             "momentum": cfg["momentum"], "nesterov": False, "weight_decay": 0.0,
             "eval_every": cfg["eval_every"], "eval_examples": cfg["eval_examples"],
             "stall_window": cfg["stall_window"]}
    return RunSpec(arm="bn" if bn else "no_bn", label="with BN" if bn else "without BN", seed=seed,
                   model=model, train=train, measure="sigmoid_input")


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    chosen, selections = {}, {}
    for bn in (False, True):
        sel = select_rate(ctx, lambda lr, seed: spec(cfg, bn, lr, seed), cfg["rates"], cfg["select_seed"])
        chosen["bn" if bn else "no_bn"], selections["bn" if bn else "no_bn"] = sel["chosen"], sel
    ctx.run_all([spec(cfg, bn, chosen["bn" if bn else "no_bn"], seed) for seed in ctx.seeds for bn in (False, True)])
    return {"lr": chosen, "selection": selections, "drift_after_step": cfg["drift_after_step"]}


# The paper trained with mini-batches of 60 (Sec. 4.1): plain SGD with momentum, each arm at its own rate.
_COMMON = {"hidden": [100, 100, 100], "batch_size": 60, "momentum": 0.9, "select_seed": 100, "n_val": 5000,
           "rates": [0.01, 0.03, 0.1, 0.3, 1.0], "stall_window": 20}
PROFILES = {
    "smoke": {**_COMMON, "seeds": [0, 1, 2], "n_train": 600, "n_test": 200, "n_val": 100, "steps": 40,
              "eval_every": 4, "eval_examples": 100, "rates": [0.03, 0.3], "drift_after_step": 8,
              "stall_window": 0},
    "cpu": {**_COMMON, "seeds": [0, 1, 2, 3, 4], "n_train": None, "n_test": None, "steps": 5000,
            "eval_every": 100, "eval_examples": 2000, "drift_after_step": 500},
    "gpu": {**_COMMON, "seeds": [0, 1, 2, 3, 4], "n_train": None, "n_test": None, "steps": 50000,
            "eval_every": 1000, "eval_examples": None, "drift_after_step": 5000},
}

EXPERIMENT = Experiment(name="fig1_mlp", title="Fig. 1 analog: a sigmoid MLP with and without BN",
                        claim=CLAIM, profiles=PROFILES, run=run)
