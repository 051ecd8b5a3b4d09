"""Figures of the chapter on internal covariate shift and smoothness: one curve per arm over training."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from bn.plotting.style import COLORS, new_figure

ARM_STYLE: dict[str, tuple[str, str]] = {
    "no_bn": ("no BN", COLORS["no_bn"]),
    "bn": ("BN", COLORS["bn"]),
    "noisy_bn": ("noisy BN", COLORS["accent"]),
}


def arm_curves(ax, steps: Sequence[float], values: Mapping[str, np.ndarray], ylabel: str,
               log: bool = False, linestyle: str = "-", legend: bool = True) -> None:
    """Mean over seeds (line) and the seeds' range (band) of ``values[arm]``, a ``(seeds, points)`` array."""
    for arm, v in values.items():
        label, color = ARM_STYLE[arm]
        v = np.asarray(v, dtype=float)
        ax.plot(steps, v.mean(0), color=color, linestyle=linestyle, label=label)
        ax.fill_between(steps, v.min(0), v.max(0), color=color, alpha=0.2, linewidth=0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend()


def shift_figure(eval_steps: Sequence[int], accuracy: Mapping[str, np.ndarray],
                 mean_shift: Mapping[str, np.ndarray], std_shift: Mapping[str, np.ndarray]):
    """Left: test accuracy. Middle and right: how far the conv layers' input moments moved per interval.

    ``accuracy[arm]`` has one column per evaluation; the shifts one per
    interval between evaluations, drawn at the interval's end.
    """
    fig, axes = new_figure(1, 3, width=9.0, height=3.2)
    arm_curves(axes[0], eval_steps, {a: 100 * np.asarray(v) for a, v in accuracy.items()},
               "test accuracy (%)")
    arm_curves(axes[1], eval_steps[1:], mean_shift, r"mean's move, $|\Delta\mu| / \sigma$", log=True,
               legend=False)
    arm_curves(axes[2], eval_steps[1:], std_shift, r"spread's move, $|\Delta \ln \sigma|$", log=True,
               legend=False)
    return fig, axes


def ics_figure(eval_steps: Sequence[int], relative: Mapping[str, np.ndarray], cos: Mapping[str, np.ndarray]):
    """Gradient ICS over training: ``|G - G'| / |G|`` (left, log scale) and ``cos(G, G')`` (right)."""
    fig, axes = new_figure(1, 2, width=7.2, height=3.2)
    arm_curves(axes[0], eval_steps, relative, r"$\|G - G'\| \,/\, \|G\|$", log=True)
    arm_curves(axes[1], eval_steps, cos, r"$\cos(G, G')$", legend=False)
    return fig, axes


def landscape_figure(eval_steps: Sequence[int], loss_range: Mapping[str, np.ndarray],
                     predictiveness: Mapping[str, np.ndarray], beta: Mapping[str, np.ndarray]):
    """The landscape along the gradient over training: loss range, gradient change, effective beta."""
    fig, axes = new_figure(1, 3, width=9.0, height=3.2)
    arm_curves(axes[0], eval_steps, loss_range, "loss range", log=True)
    arm_curves(axes[1], eval_steps, predictiveness, r"max $\|\nabla L(x) - \nabla L(x')\|$", log=True,
               legend=False)
    arm_curves(axes[2], eval_steps, beta, r"effective $K$", log=True, legend=False)
    return fig, axes
