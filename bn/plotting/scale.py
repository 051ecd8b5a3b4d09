"""Figures of scale invariance: ||W|| under SGD, the deviation at epsilon > 0, and weight decay's equilibrium
(weight norms, angular updates and the equilibrium ratio per layer)."""

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
    """|xhat(aW)/xhat(W) - 1| against the scale a, one curve per epsilon/sigma^2 (log-log).

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


# --- scale invariance meets weight decay ----------------------------------------------------

_DECAY_COLORS = (COLORS["no_bn"], COLORS["bn"], COLORS["accent"], COLORS["second"])


def weight_norm_panels(steps: np.ndarray, norms: Mapping[str, np.ndarray], layer_labels: Sequence[str]):
    """One panel per weight decay: ``||W|| / ||W_0||`` of every layer over training (mean over seeds).

    ``norms[label]`` has shape ``(seeds, layers, evaluations)``; the last layer is
    the classifier (dashed black), the others are coloured from input to output.
    """
    import matplotlib

    from bn.plotting.style import new_figure

    fig, axes = new_figure(1, len(norms), width=9.6, height=3.4, sharey=True)
    axes = np.atleast_1d(axes)
    cmap = matplotlib.colormaps["viridis"]
    n_conv = len(layer_labels) - 1
    for ax, (label, arr) in zip(axes, norms.items()):
        rel = (arr / arr[:, :, :1]).mean(axis=0)
        for k, name in enumerate(layer_labels):
            style = ({"color": COLORS["reference"], "linestyle": "--"} if k == n_conv
                     else {"color": cmap(k / max(n_conv - 1, 1))})
            ax.plot(steps, rel[k], label=name, linewidth=1.2, **style)
        ax.set(xlabel="step", title=label, yscale="log")
    axes[0].set_ylabel(r"$\|W\| / \|W_0\|$")
    axes[-1].legend(fontsize="small", ncol=1, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig, axes


def angular_update_panels(steps: np.ndarray, updates: Mapping[str, np.ndarray], predicted: Mapping[str, float],
                          effective: Mapping[str, np.ndarray]):
    """Left: relative update per step of the conv layers against the prediction. Right: effective rate.

    ``updates[label]`` and ``effective[label]`` have shape ``(seeds, conv layers,
    evaluations)``; lines are means over seeds and layers, bands the range over
    layers of the seed mean. ``predicted[label]`` is drawn as a dashed line (not
    for a prediction of 0).
    """
    from bn.plotting.style import new_figure

    fig, axes = new_figure(1, 2, width=9.6, height=3.6)
    for color, label in zip(_DECAY_COLORS, updates):
        for ax, arr in ((axes[0], updates[label]), (axes[1], effective[label])):
            # An interval without steps (the evaluation at step 0) has no update: leave it out.
            keep = ~np.all(np.isnan(arr), axis=(0, 1))
            by_layer = arr[:, :, keep].mean(axis=0)
            ax.plot(steps[keep], by_layer.mean(axis=0), color=color, label=label)
            ax.fill_between(steps[keep], by_layer.min(axis=0), by_layer.max(axis=0), color=color,
                            alpha=0.15, linewidth=0)
        if predicted[label] > 0:
            axes[0].axhline(predicted[label], color=color, linestyle="--", linewidth=1)
    axes[0].set(xlabel="step", ylabel=r"$\|\Delta W\| / \|W\|$ per step", yscale="log",
                title="Relative update (dashed: equilibrium)")
    axes[1].set(xlabel="step", ylabel=r"$\eta\, C / \|W\|^2$", yscale="log", title="Effective learning rate")
    axes[0].legend()
    return fig, axes


def equilibrium_ratio_by_layer(layer_labels: Sequence[str], ratios: Mapping[str, np.ndarray]):
    """Measured over predicted relative update at the end of training, per layer (mean and range over seeds).

    ``ratios[label]`` has shape ``(seeds, layers)``. The line at 1 is the prediction.
    """
    from bn.plotting.style import new_figure

    fig, ax = new_figure(width=6.4, height=3.4)
    x = np.arange(len(layer_labels))
    width = 0.8 / max(len(ratios), 1)
    for i, (color, (label, arr)) in enumerate(zip(_DECAY_COLORS[1:], ratios.items())):
        mean = arr.mean(axis=0)
        err = np.vstack([mean - arr.min(axis=0), arr.max(axis=0) - mean])
        ax.errorbar(x + (i - (len(ratios) - 1) / 2) * width, mean, yerr=err, fmt="o", color=color,
                    capsize=3, label=label)
    ax.axhline(1.0, color=COLORS["reference"], linewidth=1)
    ax.set_xticks(x, layer_labels)
    ax.set(ylabel="measured / predicted", title="Relative update over the last steps")
    ax.legend()
    return fig, ax
