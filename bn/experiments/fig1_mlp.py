"""Experiment 1, the paper's Fig. 1 on CIFAR-10: a 3x100 sigmoid MLP with and without BN.

Measures test accuracy over training and, on a fixed probe batch, the
15/50/85th percentiles of the input to one sigmoid of the last hidden layer:
with BN both the normalized ``xhat`` and the sigmoid's actual input
``gamma * xhat + beta``.
"""

from __future__ import annotations

from typing import Any

from bn.experiments.base import Context, Experiment, RunSpec

CLAIM = ("With BN the network trains faster and reaches higher accuracy, and the distribution of a "
         "sigmoid's input is much more stable over training (Ioffe & Szegedy 2015, Fig. 1).")


def spec(cfg: dict[str, Any], bn: bool, seed: int) -> RunSpec:
    """One run of the MLP arm ``bn``; both arms share every training setting."""
    model = {"kind": "mlp", "hidden": list(cfg["hidden"]), "bn": bn, "activation": "sigmoid"}
    train = {"steps": cfg["steps"], "batch_size": cfg["batch_size"], "peak_lr": cfg["lr"],
             "momentum": cfg["momentum"], "nesterov": False, "weight_decay": 0.0,
             "eval_every": cfg["eval_every"], "eval_examples": cfg["eval_examples"]}
    return RunSpec(arm="bn" if bn else "no_bn", label="with BN" if bn else "without BN", seed=seed,
                   model=model, train=train, measure="sigmoid_input")


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    for bn in (False, True):
        for seed in ctx.seeds:
            ctx.run(spec(cfg, bn, seed))
    return {}


# The paper trained with mini-batches of 60 (Sec. 4.1); plain SGD with momentum
# at one rate for both arms, as in the paper, where only BN differs.
_COMMON = {"hidden": [100, 100, 100], "batch_size": 60, "lr": 0.05, "momentum": 0.9}
PROFILES = {
    "smoke": {**_COMMON, "seeds": [0, 1, 2], "n_train": 512, "n_test": 256, "steps": 50, "eval_every": 10,
              "eval_examples": 256},
    "cpu": {**_COMMON, "seeds": [0, 1, 2], "n_train": None, "n_test": None, "steps": 5000,
            "eval_every": 100, "eval_examples": 2000},
    "gpu": {**_COMMON, "seeds": [0, 1, 2, 3, 4], "n_train": None, "n_test": None, "steps": 20000,
            "eval_every": 250, "eval_examples": None},
}

EXPERIMENT = Experiment(name="fig1_mlp", title="Fig. 1 analog: a sigmoid MLP with and without BN",
                        claim=CLAIM, profiles=PROFILES, run=run)
