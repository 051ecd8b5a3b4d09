"""Figures for the placement chapter: the sigmoid's linear regime, layer-Jacobian spectra."""

from __future__ import annotations

import numpy as np

from bn.plotting.style import COLORS, new_figure

__all__ = ["sigmoid_regime_figure", "jacobian_spectra_figure"]


def sigmoid_regime_figure(halfwidth: float, scales: tuple[float, ...] = (1.0, 4.0)):
    """The sigmoid, its tangent at 0, the band where they agree, and Gaussian input densities.

    ``halfwidth``: the half-width of the near-linear band (drawn shaded);
    ``scales``: standard deviations of the zero-mean inputs whose densities are drawn.
    """
    z = np.linspace(-8, 8, 801)
    fig, ax = new_figure(width=6.4, height=3.6)
    ax.axvspan(-halfwidth, halfwidth, color=COLORS["grey"], alpha=0.2, lw=0,
               label=f"tangent within 0.01 ($|z| \\leq {halfwidth:.2f}$)")
    ax.plot(z, 1 / (1 + np.exp(-z)), color=COLORS["reference"], label="sigmoid")
    ax.plot(z, np.clip(0.5 + z / 4, -0.1, 1.1), color=COLORS["reference"], ls=":",
            label="tangent at 0")
    for s, color in zip(scales, (COLORS["bn"], COLORS["no_bn"])):
        density = np.exp(-0.5 * (z / s) ** 2) / (s * np.sqrt(2 * np.pi))
        ax.fill_between(z, 0, density / density.max() * 0.5, color=color, alpha=0.3,
                        label=f"input density, std {s:g} (scaled)")
    ax.set_xlabel("input $z$ of the sigmoid")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return fig


def jacobian_spectra_figure(spectra: dict, layers: tuple[int, ...] = (1, 2)):
    """Histograms of layer-Jacobian singular values, with BN (before) and without, trained.

    ``spectra`` is the result file's ``jacobian_spectra``: keys ``"<placement>/layer<k>"``,
    each with ``"init"`` and ``"trained"`` summaries holding ``histogram`` counts and
    ``histogram_edges``.
    """
    fig, axes = new_figure(1, len(layers), width=6.4, height=3.4, sharey=True)
    axes = np.atleast_1d(axes)
    styles = {"before": (COLORS["bn"], "BN before the sigmoid"),
              "none": (COLORS["no_bn"], "no BN")}
    for ax, k in zip(axes, layers):
        for placement, (color, label) in styles.items():
            for when, ls in (("trained", "-"), ("init", ":")):
                s = spectra[f"{placement}/layer{k}"][when]
                counts = np.asarray(s["histogram"], dtype=float)
                ax.stairs(counts / counts.sum(), s["histogram_edges"], color=color, ls=ls,
                          label=f"{label}, {when}")
        ax.axvline(1.0, color=COLORS["reference"], lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("singular value")
        ax.set_title(f"hidden layer {k} to {k + 1}")
    axes[0].set_ylabel("share of singular values")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2)
    return fig
