"""Figures of the "Beyond the paper" part: the normalization family, small batches, training only BN,
weight decay, the normalization family in training."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bn.plotting.style import COLORS, apply_book_style

#: The sets each member normalizes together, on an (N, C, HW) grid: a function
#: from the grid indices (n, c, hw) and the grid size to "is in the highlighted
#: set". The set shown is the one of the last example and the top channel (and
#: its group), because those cells lie on the faces the 3-D view shows.
_HIGHLIGHT = {
    "Batch norm": lambda n, c, hw, size, groups: c == size[1] - 1,
    "Layer norm": lambda n, c, hw, size, groups: n == size[0] - 1,
    "Instance norm": lambda n, c, hw, size, groups: (n == size[0] - 1) & (c == size[1] - 1),
    "Group norm": lambda n, c, hw, size, groups: (n == size[0] - 1) & (c >= size[1] - groups),
}


def normalization_cubes(n: int = 4, c: int = 6, hw: int = 5, channels_per_group: int = 3):
    """The familiar ``N x C x HW`` cube diagram, one panel per member of the family.

    Each panel draws the input tensor as a block of cells (examples N, channels
    C, spatial positions H*W flattened) and colours the cells that share one
    mean and one variance. Returns ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt

    apply_book_style()
    fig = plt.figure(figsize=(9.6, 2.9), layout="constrained")
    grid_n, grid_c, grid_hw = np.indices((n, c, hw))
    for k, (title, highlight) in enumerate(_HIGHLIGHT.items()):
        ax = fig.add_subplot(1, 4, k + 1, projection="3d")
        filled = np.ones((n, c, hw), dtype=bool)
        colors = np.empty((n, c, hw), dtype=object)
        colors[:] = "#f2f2f2"
        colors[highlight(grid_n, grid_c, grid_hw, (n, c, hw), channels_per_group)] = COLORS["bn"]
        # Axes order (N, HW, C) draws N across, H*W into the page and C upwards,
        # the orientation of Wu & He's figure.
        ax.voxels(filled.transpose(0, 2, 1), facecolors=colors.transpose(0, 2, 1),
                  edgecolor="#555555", linewidth=0.4, shade=False)
        ax.set_box_aspect((n, hw, c))
        ax.set_xlabel("N", labelpad=-12)
        ax.set_ylabel("H, W", labelpad=-12)
        ax.set_zlabel("C", labelpad=-12)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_zticks([])
        ax.set_title(title)
        ax.view_init(elev=20, azim=-60)
    return fig, fig.axes


def batch_var_histograms(samples: Mapping[int, np.ndarray], density, sigma: float = 1.0):
    """Histograms of simulated ``var_B / sigma^2``, one panel per batch size, with the exact density.

    Args:
        samples: batch size ``m`` -> simulated biased variances.
        density: ``density(v, m)``, the exact density of ``var_B`` at ``v``.
        sigma: the population standard deviation.
    """
    from bn.plotting.style import new_figure

    fig, axes = new_figure(1, len(samples), width=9.6, height=3.0)
    axes = np.atleast_1d(axes)
    for ax, (m, values) in zip(axes, samples.items()):
        ratio = values / sigma**2
        ax.hist(ratio, bins=60, range=(0, 3), density=True, color=COLORS["grey"],
                label="simulated")
        grid = np.linspace(1e-3, 3, 400)
        ax.plot(grid, density(grid * sigma**2, m) * sigma**2, color=COLORS["bn"],
                label="exact (scaled $\\chi^2_{m-1}$)")
        ax.axvline((m - 1) / m, color=COLORS["reference"], linestyle="--", linewidth=1,
                   label="$E[\\sigma_B^2]/\\sigma^2 = (m-1)/m$")
        ax.set_title(f"m = {m}")
        ax.set_xlabel("$\\sigma_B^2 / \\sigma^2$")
    axes[0].set_ylabel("density")
    axes[min(1, len(axes) - 1)].legend(loc="upper right")  # the m = 16 panel has room on the right
    return fig, axes


def _finish_batch_size_axes(ax, ylabel: str) -> None:
    """Log-log axes over the batch size m (powers of two), labelled, with a legend."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size m")
    ax.set_ylabel(ylabel)
    ax.legend()


def batch_stat_spread(batch_sizes: Sequence[int], simulated: Mapping[str, np.ndarray],
                      exact: Mapping[str, np.ndarray]):
    """Standard deviation of ``mu_B`` and ``var_B`` against ``m``: simulation (markers) vs exact (lines)."""
    from bn.plotting.style import new_figure

    fig, ax = new_figure()
    colors = [COLORS["bn"], COLORS["no_bn"], COLORS["accent"]]
    for color, (name, values) in zip(colors, exact.items()):
        ax.plot(batch_sizes, values, color=color, label=f"{name}, exact")
        ax.plot(batch_sizes, simulated[name], "o", color=color, label=f"{name}, simulated")
    _finish_batch_size_axes(ax, "standard deviation")
    return fig, ax


def train_eval_gap(batch_sizes: Sequence[int], curves: Mapping[str, np.ndarray],
                   reference: Mapping[str, np.ndarray] | None = None):
    """RMS gap between training-mode and eval-mode outputs against ``m``, one line per method.

    ``reference`` curves (e.g. the first-order formula) are drawn dashed.
    """
    from bn.plotting.style import new_figure

    fig, ax = new_figure()
    palette = [COLORS["bn"], COLORS["accent"], COLORS["second"], COLORS["third"]]
    for color, (name, values) in zip(palette, curves.items()):
        # Exact zeros (unclipped Batch Renormalization) cannot sit on a log axis.
        ax.plot(batch_sizes, np.where(values > 1e-12, values, np.nan), "o-", color=color, label=name)
    for name, values in (reference or {}).items():
        ax.plot(batch_sizes, values, "--", color=COLORS["reference"], linewidth=1, label=name)
    _finish_batch_size_axes(ax, "RMS(train output - eval output)")
    return fig, ax


def accuracy_by_width(widths: Sequence[float], arms: Mapping[str, Sequence[tuple[float, float, float]]],
                      labels: Mapping[str, str], chance: float | None = None):
    """Test accuracy (%) against the width multiplier, one line per arm with interval bars.

    ``arms`` maps an arm to one ``(estimate, low, high)`` accuracy (fractions)
    per entry of ``widths``; ``labels`` gives each arm's legend text. Arms are
    drawn slightly apart along the width axis so that their bars do not hide
    each other. ``chance`` draws the accuracy of guessing as a dotted line.
    """
    from bn.plotting.style import new_figure

    fig, ax = new_figure(height=3.8)
    palette = [COLORS["bn"], COLORS["accent"], COLORS["second"], COLORS["no_bn"], COLORS["grey"]]
    offsets = np.linspace(-0.06, 0.06, len(arms)) if len(arms) > 1 else [0.0]
    for color, shift, (arm, points) in zip(palette, offsets, arms.items()):
        est, low, high = (100 * np.array(v) for v in zip(*points))
        x = np.asarray(widths, dtype=float) * 2.0 ** shift
        ax.errorbar(x, est, yerr=[est - low, high - est], fmt="o-", color=color, capsize=3,
                    label=labels[arm])
    if chance is not None:
        ax.axhline(100 * chance, color=COLORS["reference"], linestyle=":", linewidth=1, label="chance")
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(widths), [f"{w:g}×" for w in widths])
    ax.minorticks_off()
    ax.set_xlabel("width multiplier (channels of every conv layer)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig, ax


def accuracy_by_batch_size(grid: Mapping[str, Mapping[int, Sequence[float]]], labels: Mapping[str, str],
                           level: float = 0.95):
    """Test accuracy (%) against batch size, one line per normalization, with t intervals over seeds.

    ``grid[arm][batch_size]`` holds one accuracy (a fraction) per seed; the
    markers are the means, the bars the ``level`` t intervals (clipped to
    [0, 100]), and the small dots the seeds themselves. Returns ``(fig, ax)``.
    """
    import matplotlib.pyplot as plt

    from bn.statistics import mean_ci

    apply_book_style()
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    colors = [COLORS[k] for k in ("bn", "no_bn", "accent", "second", "third")]
    arms = list(grid)
    for k, arm in enumerate(arms):
        sizes = sorted(grid[arm])
        # a small sideways offset per arm keeps the bars of one batch size apart
        xs = np.array(sizes, dtype=float) * 2.0 ** (0.06 * (k - (len(arms) - 1) / 2))
        ivs = [mean_ci(grid[arm][b], level) for b in sizes]
        mean = np.array([100 * iv.estimate for iv in ivs])
        low = np.array([100 * max(iv.low, 0.0) for iv in ivs])
        high = np.array([100 * min(iv.high, 1.0) for iv in ivs])
        color = colors[k % len(colors)]
        ax.errorbar(xs, mean, yerr=[mean - low, high - mean], marker="o", capsize=3, color=color,
                    label=labels.get(arm, arm))
        for x, b in zip(xs, sizes):
            ax.plot([x] * len(grid[arm][b]), 100 * np.asarray(grid[arm][b]), ".", color=color, alpha=0.5,
                    markersize=4)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({b for arm in grid for b in grid[arm]}))
    ax.get_xaxis().set_major_formatter(plt.matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("batch size")
    ax.set_ylabel("test accuracy (%)")
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
