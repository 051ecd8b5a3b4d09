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
    model = {"kind": "cnn", "widths": list(profile["widths"]), "bn": bn, "activation": activation,
             "dropout": dropout, "init_scale": init_scale}
    if profile.get("convs_per_block", 1) != 1:
        model["convs_per_block"] = profile["convs_per_block"]
    return model


def base_rate(ctx: Any, profile: dict[str, Any]) -> float:
    """The base rate of an experiment whose rates follow the convergence sweep's choice.

    ``profile["base_lr"]`` is ``"convergence"`` (the rate comes from that result, through
    ``ctx.base_lr``) or a number (the smoke profile's stand-in).
    """
    if profile["base_lr"] == "convergence":
        if ctx.base_lr is None:
            raise ValueError("this experiment's rate follows the convergence result: run convergence first")
        return ctx.base_lr
    return float(profile["base_lr"])


def baseline_train(profile: dict[str, Any], lr: float) -> dict[str, Any]:
    """The baseline training configuration at peak rate ``lr``.

    5 % warm-up; the rate then halves once over the run (the slow decay).
    """
    steps = profile["steps"]
    train = {"steps": steps, "batch_size": profile["batch_size"], "peak_lr": lr,
             "warmup_steps": max(1, steps // 20), "half_life": float(steps), "momentum": 0.9,
             "nesterov": True, "weight_decay": BASELINE_WEIGHT_DECAY, "flip": True,
             "crop_pad": BASELINE_CROP_PAD, "eval_every": profile["eval_every"],
             "eval_examples": profile["eval_examples"]}
    for key in ("eval_batch_size", "channels_last", "diagnostics", "stall_window"):
        if key in profile:
            train[key] = profile[key]
    return train


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
    """The three profiles of a CNN experiment: shared defaults updated with each profile's own entries.

    cpu: the 8-conv plain VGG-style net (4 blocks of 2 convs, widths 16/32/64/128), 500 steps
    of 128 (1.4 epochs of the 45,000 training images), evaluated 42 times on 2,000 of the
    5,000 validation images; five reported seeds and one selection seed. gpu: the same
    design twice as wide and 12x longer, every validation image. smoke: a tiny net on
    synthetic data, for the pipeline test.
    """
    design = {"seeds": [0, 1, 2, 3, 4], "select_seed": 100, "n_train": None, "n_test": None, "n_val": 5000,
              "convs_per_block": 2, "diagnostics": True, "eval_batch_size": 250}
    common_cpu = {**design, "steps": 500, "batch_size": 128, "eval_every": 12, "eval_examples": 2000,
                  "widths": [16, 32, 64, 128], "channels_last": True, "stall_window": 12}
    common_gpu = {**design, "steps": 6000, "batch_size": 128, "eval_every": 100, "eval_examples": 5000,
                  "widths": [32, 64, 128, 256], "stall_window": 10}
    common_smoke = {**design, "seeds": [0, 1, 2], "n_train": 600, "n_test": 200, "n_val": 100, "steps": 40,
                    "batch_size": 32, "eval_every": 4, "eval_examples": 100, "widths": [4, 8],
                    "stall_window": 0}
    return {"smoke": {**common_smoke, **(smoke or {})}, "cpu": {**common_cpu, **cpu},
            "gpu": {**common_gpu, **gpu}}
