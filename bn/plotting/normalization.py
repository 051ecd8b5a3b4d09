"""Figures of the normalization family and of batch statistics: which values share statistics, how noisy
a batch's statistics are, the train/eval gap, and accuracy against batch size per normalization."""

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
