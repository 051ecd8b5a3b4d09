"""The shared training set-ups: the CNN "baseline" (the paper's Inception analog) and the recipe.

The baseline carries what the paper's BN-Baseline kept from Inception:
dropout before the classifier, L2 weight decay 5e-4 (applied as weight decay),
a slow exponential decay and random crops plus flips. The paper's
"accelerating BN networks" recipe (Ioffe & Szegedy 2015, Sec. 4.2.1) changes:
a higher rate, no dropout, L2 reduced 5x, decay 6x faster, fewer distortions.
Removing local response normalization and shuffling more thoroughly do not
apply here (no LRN layers; every epoch is a fresh permutation already).
"""

from __future__ import annotations

from typing import Any

RECIPE_ITEMS = ("higher_lr", "no_dropout", "less_l2", "faster_decay", "fewer_distortions")
RECIPE_LR_MULTIPLIER = 5   # the paper's BN-x5
RECIPE_L2_DIVISOR = 5
RECIPE_DECAY_SPEEDUP = 6
BASELINE_DROPOUT = 0.2
BASELINE_WEIGHT_DECAY = 5e-4
BASELINE_CROP_PAD = 4


def cnn_model(profile: dict[str, Any], bn: bool, activation: str = "relu",
              dropout: float = BASELINE_DROPOUT, init_scale: float = 1.0) -> dict[str, Any]:
    """Model arguments for :func:`bn.models.build_model` (``kind="cnn"``)."""
    return {"kind": "cnn", "widths": list(profile["widths"]), "bn": bn, "activation": activation,
            "dropout": dropout, "init_scale": init_scale}


def baseline_train(profile: dict[str, Any], lr: float) -> dict[str, Any]:
    """The baseline training configuration at peak rate ``lr``.

    5 % warm-up; the rate then halves once over the run (the slow decay).
    """
    steps = profile["steps"]
    return {"steps": steps, "batch_size": profile["batch_size"], "peak_lr": lr,
            "warmup_steps": max(1, steps // 20), "half_life": float(steps), "momentum": 0.9,
            "nesterov": True, "weight_decay": BASELINE_WEIGHT_DECAY, "flip": True,
            "crop_pad": BASELINE_CROP_PAD, "eval_every": profile["eval_every"],
            "eval_examples": profile["eval_examples"]}


def recipe_setup(profile: dict[str, Any], base_lr: float, items: tuple[str, ...] = RECIPE_ITEMS,
                 lr_multiplier: float = RECIPE_LR_MULTIPLIER) -> tuple[dict[str, Any], float]:
    """(training configuration, dropout) of the baseline with the recipe ``items`` applied.

    ``lr_multiplier`` is the "higher rate" used when ``"higher_lr"`` is in ``items``.
    """
    unknown = set(items) - set(RECIPE_ITEMS)
    if unknown:
        raise ValueError(f"unknown recipe items {sorted(unknown)}")
    lr = base_lr * lr_multiplier if "higher_lr" in items else base_lr
    train = baseline_train(profile, lr)
    dropout = 0.0 if "no_dropout" in items else BASELINE_DROPOUT
    if "less_l2" in items:
        train["weight_decay"] = BASELINE_WEIGHT_DECAY / RECIPE_L2_DIVISOR
    if "faster_decay" in items:
        train["half_life"] = train["half_life"] / RECIPE_DECAY_SPEEDUP
    if "fewer_distortions" in items:
        train["crop_pad"] = 0  # keep flips, drop the random translations
    return train, dropout


def cnn_profiles(cpu: dict[str, Any], gpu: dict[str, Any], smoke: dict[str, Any] | None = None
                 ) -> dict[str, dict[str, Any]]:
    """The three profiles of a CNN experiment: shared defaults updated with each profile's own entries."""
    common_cpu = {"seeds": [0, 1, 2], "n_train": None, "n_test": None, "steps": 400, "batch_size": 128,
                  "eval_every": 50, "eval_examples": 2000, "widths": [32, 64, 128]}
    common_gpu = {"seeds": [0, 1, 2], "n_train": None, "n_test": None, "steps": 3000, "batch_size": 128,
                  "eval_every": 100, "eval_examples": None, "widths": [64, 128, 256]}
    common_smoke = {"seeds": [0, 1, 2], "n_train": 512, "n_test": 256, "steps": 50, "batch_size": 32,
                    "eval_every": 10, "eval_examples": 256, "widths": [8, 16, 32]}
    return {"smoke": {**common_smoke, **(smoke or {})}, "cpu": {**common_cpu, **cpu},
            "gpu": {**common_gpu, **gpu}}
