"""Figures of the training-stack chapter: accumulation, bfloat16 running statistics, inference, averaging."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bn.plotting import experiments as xp
from bn.plotting.style import COLORS, new_figure

if TYPE_CHECKING:  # for annotations only: bn.experiments.base loads torch, which a figure does not need
    from bn.experiments.base import ExperimentResult, RunRecord

ARM_STYLE = {"bn_k1": (COLORS["bn"], "-"), "bn_k4": (COLORS["accent"], "-"), "bn_k16": (COLORS["third"], "-"),
             "no_bn_k1": (COLORS["no_bn"], "-"), "no_bn_k16": (COLORS["second"], "--")}


def accumulation_figure(result: ExperimentResult, arms: list[tuple[bool, int, str, str, list[RunRecord]]]):
    """(a) Validation accuracy over training per arm; (b) final test accuracy per seed against k.

    ``arms``: ``(bn, k, arm name, label, runs)`` per arm, BN arms first, k ascending
    (:func:`bn.experiments.training_stack.accumulation_arms`)."""
    fig, (a, b) = new_figure(1, 2, width=11.0, height=3.8)
    groups = []
    for bn, k, arm, label, runs in arms:
        color, ls = ARM_STYLE[arm]
        groups.append((label, color, runs, ls))
    xp.accuracy_curves(a, groups)
    a.set_title("(a) accuracy during training")
    bn_ks = [k for bn, k, *_ in arms if bn]
    for bn_arms, color in ((True, COLORS["bn"]), (False, COLORS["no_bn"])):
        ks = [k for bn, k, *_ in arms if bn == bn_arms]
        by_seed: dict[int, list[float]] = {}
        for bn, k, _, _, runs in arms:
            if bn != bn_arms:
                continue
            for r in runs:
                by_seed.setdefault(r.spec.seed, []).append(100 * (r.history.final_test_acc or np.nan))
        for i, (seed, accs) in enumerate(sorted(by_seed.items())):
            b.plot(ks, accs, color=color, marker="o", alpha=0.7,
                   label=("BN" if bn_arms else "no BN") + " (one line per seed)" if i == 0 else None)
    b.set_xscale("log", base=2)
    batch = result.config["batch_size"]
    b.set_xticks(bn_ks, [f"{k}\n({batch // k})" for k in bn_ks])
    b.set_xlabel("accumulation steps k (micro-batch)")
    b.set_ylabel("final test accuracy (%)")
    b.set_title("(b) same effective batch, paired seeds")
    b.legend()
    fig.suptitle(f"Gradient accumulation — {xp.copy_title(result)}")
    return fig


MODE_STYLE = {"float32": (COLORS["bn"], "-", "float32"),
              "autocast": (COLORS["accent"], "--", "autocast (bfloat16 input, float32 buffers)"),
              "bfloat16": (COLORS["no_bn"], "-", "bfloat16 throughout")}


def drift_figure(result: ExperimentResult):
    """Error of the running mean and variance against the population's, per update, mean over the draws."""
    prec = result.measures["precision"]
    every = prec["drift_setup"]["keep_every"]
    fig, axes = new_figure(1, 2, width=11.0, height=3.6)
    for ax, stat, name in zip(axes, ("mean_error", "var_error"), ("(a) running mean", "(b) running variance")):
        for mode, runs in prec["drift"].items():
            color, ls, label = MODE_STYLE[mode]
            y = np.mean([r[stat] for r in runs], axis=0)
            x = every * np.arange(1, len(y) + 1)
            ax.plot(x, y, color=color, linestyle=ls, label=label)
        ax.set_yscale("log")
        ax.set_xlabel("BN updates")
        ax.set_ylabel("|running − population| (÷ σ or σ²)")
        ax.set_title(name)
    axes[0].legend(loc="upper right")
    return fig


def inference_figure(inf: dict[str, Any]):
    """Median time of one batch per inference variant, with the interquartile range (``inf``: the
    inference record, :func:`bn.experiments.training_stack.inference_record`)."""
    names = {"eager": "eager, NCHW", "eager_channels_last": "eager, channels_last", "folded": "folded by hand",
             "compiled": "compile", "compiled_frozen": "compile + freezing"}
    keys = list(inf["timings"])
    med = np.array([1e3 * inf["timings"][k]["median_s"] for k in keys])
    lo = med - np.array([1e3 * inf["timings"][k]["q25_s"] for k in keys])
    hi = np.array([1e3 * inf["timings"][k]["q75_s"] for k in keys]) - med
    fig, ax = new_figure(1, 1, width=7.0, height=3.2)
    y = np.arange(len(keys))
    ax.barh(y, med, xerr=[lo, hi], color=[COLORS["grey"]] + [COLORS["bn"]] * (len(keys) - 1), capsize=3)
    ax.set_yticks(y, [names[k] for k in keys])
    ax.invert_yaxis()
    ax.set_xlabel(f"ms per batch of {inf['batch_size']} (median, q25–q75)")
    return fig


def averaging_figure(av: dict[str, list[float]], labels: dict[str, str]):
    """Test accuracy of each network of the averaging phase, one line per seed (``av``: accuracies per
    variant in seed order, :func:`bn.experiments.training_stack.averaging_accuracies`; ``labels`` per variant)."""
    fig, ax = new_figure(1, 1, width=8.0, height=3.4)
    variants = list(av)
    x = np.arange(len(variants))
    for i in range(len(av[variants[0]])):
        ax.plot(x, [100 * av[v][i] for v in variants], color=COLORS["bn"], marker="o", alpha=0.7,
                label="one line per seed" if i == 0 else None)
    ax.set_xticks(x, [labels[v].replace(", ", ",\n") for v in variants])
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    return fig
