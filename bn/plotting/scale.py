"""Figures of the scale-invariance chapter: ||W|| under SGD, and the deviation at epsilon > 0."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from bn.plotting.style import COLORS, new_figure

_SERIES_COLORS = (COLORS["bn"], COLORS["no_bn"], COLORS["accent"], COLORS["second"])


def weight_norm_figure(norms: Mapping[str, np.ndarray], lr: float):
    """Two panels: ||W||_F over SGD steps, and the effective learning rate lr/||W||^2 (log scale).

    ``norms`` maps a legend label (e.g. "no weight decay") to the norm before
    each step. Returns ``(fig, axes)``.
    """
    fig, axes = new_figure(1, 2, width=9.6, height=3.4)
    for color, (label, norm) in zip(_SERIES_COLORS, norms.items()):
        steps = np.arange(len(norm))
        axes[0].plot(steps, norm, color=color, label=label)
        axes[1].plot(steps, lr / np.asarray(norm) ** 2, color=color, label=label)
    axes[0].set(xlabel="SGD step", ylabel=r"$\|W\|_F$", title="Weight norm")
    axes[1].set(xlabel="SGD step", ylabel=r"$\eta / \|W\|_F^2$", title="Effective learning rate", yscale="log")
    axes[0].legend()
    return fig, axes


def epsilon_deviation_figure(ratio: Callable[[np.ndarray, float], np.ndarray], scales: np.ndarray,
                             eps_over_var: Sequence[float]):
    """``|xhat(aW)/xhat(W) - 1|`` against the scale a, one curve per epsilon/sigma^2 (log-log).

    ``ratio(a, nu)`` is the factor rho of :func:`bn.symbolic.transform.scale_deviation_factor`
    in nu = eps/sigma^2 (lambdified). Returns ``(fig, ax)``.
    """
    fig, ax = new_figure()
    for color, nu in zip(_SERIES_COLORS, eps_over_var):
        dev = np.abs(ratio(scales, nu) - 1.0)
        ax.plot(scales, dev, color=color, label=rf"$\epsilon/\sigma^2 = {nu:g}$")
    ax.set(xscale="log", yscale="log", xlabel=r"scale $a$ of $W$",
           ylabel=r"$|\hat x(aW)/\hat x(W) - 1|$", title=r"Deviation from scale invariance at $\epsilon > 0$")
    ax.legend()
    return fig, ax
