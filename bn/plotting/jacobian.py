"""Figures for the Jacobian chapter: heat map, spectrum, and batch coupling."""

from __future__ import annotations

import numpy as np

from bn.plotting.style import COLORS, new_figure


def jacobian_heatmap(J: np.ndarray, title: str = r"$J = \partial y / \partial x$"):
    """Heat map of one feature's BN Jacobian on a symmetric colour scale (zero is white)."""
    fig, ax = new_figure(width=4.8, height=4.0)
    ax.grid(False)
    lim = float(np.abs(J).max())
    im = ax.imshow(J, cmap="RdBu_r", vmin=-lim, vmax=lim)
    m = J.shape[0]
    ticks = np.arange(m)
    ax.set_xticks(ticks, [str(t + 1) for t in ticks])
    ax.set_yticks(ticks, [str(t + 1) for t in ticks])
    ax.set_xlabel("input index $j$")
    ax.set_ylabel("output index $i$")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.85)
    return fig


def spectrum_figure(spectra: dict[str, np.ndarray], predicted_lambda: dict[str, float]):
    """Sorted eigenvalues of (sigma/gamma) J for several eps, with the predicted lambda marked.

    ``spectra`` maps a label (e.g. ``"eps = 0.1"``) to eigenvalues; ``predicted_lambda``
    maps the same labels to eps/(sigma^2_B + eps).
    """
    fig, ax = new_figure()
    colors = [COLORS["bn"], COLORS["no_bn"], COLORS["accent"], COLORS["second"]]
    n = len(spectra)
    for k, (label, ev) in enumerate(spectra.items()):
        idx = np.arange(len(ev)) + 1 + (k - (n - 1) / 2) * 0.15
        ax.plot(idx, np.sort(ev), "o", color=colors[k % len(colors)], label=label)
        ax.axhline(predicted_lambda[label], color=colors[k % len(colors)], lw=0.8, ls="--")
    ax.set_xlabel("eigenvalue rank (ascending)")
    ax.set_ylabel(r"eigenvalue of $(\sigma/\gamma)\,J$")
    ax.legend(loc="center right")
    return fig


def coupling_figure(sweep: np.ndarray, outputs: np.ndarray, moved: int):
    """Every output y_i of a batch as one input x_moved sweeps through ``sweep``.

    ``outputs`` has shape (len(sweep), m); the moved example is drawn dashed.
    """
    fig, ax = new_figure()
    m = outputs.shape[1]
    for i in range(m):
        if i == moved:
            ax.plot(sweep, outputs[:, i], "--", color=COLORS["reference"], lw=2,
                    label=f"$y_{{{i + 1}}}$ (its own input moves)")
        else:
            ax.plot(sweep, outputs[:, i], color=COLORS["bn"], alpha=0.35 + 0.65 * i / m, lw=1.2)
    ax.plot([], [], color=COLORS["bn"], label="the other outputs $y_i$")
    ax.set_xlabel(f"$x_{{{moved + 1}}}$ (all other inputs fixed)")
    ax.set_ylabel("BN output $y_i$")
    ax.legend()
    return fig
