"""Figures of residual networks with and without BN: branch/skip variance by depth, accuracy against rate."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from bn.plotting.style import COLORS

METHOD_COLORS = {"bn": COLORS["bn"], "skipinit": COLORS["no_bn"], "fixup": COLORS["accent"],
                 "ws_gn": COLORS["second"], "nf": COLORS["third"]}
MARKERS = {"bn": "o", "skipinit": "s", "fixup": "^", "ws_gn": "D", "nf": "v"}


def variance_by_depth(ax, ratios: Mapping[str, Sequence[float]], labels: Mapping[str, str],
                      reference: float | None = None) -> None:
    """Per method, Var(branch) / Var(skip) against the block index on log-log axes; methods whose ratio
    is 0 at every block (the block is the identity) are named in the legend, not drawn.
    ``reference``: draw ``reference / index``, the 1/depth law, through BN's first block."""
    for method, r in ratios.items():
        r = np.asarray(r, dtype=float)
        idx = np.arange(1, len(r) + 1)
        if np.all(r == 0):
            ax.plot([], [], color=METHOD_COLORS[method], marker=MARKERS[method], linestyle="none",
                    label=f"{labels[method]}: 0 at every block")
            continue
        ax.plot(idx, r, color=METHOD_COLORS[method], marker=MARKERS[method], markersize=4, label=labels[method])
    if reference is not None:
        n = max(len(r) for r in ratios.values())
        idx = np.arange(1, n + 1)
        ax.plot(idx, reference / idx, color=COLORS["reference"], linestyle=":", label="∝ 1 / block index")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("residual block (1 = first)")
    ax.set_ylabel("Var(branch) / Var(skip)")
    ax.legend(fontsize=8)


def accuracy_by_rate(ax, sweeps: Mapping[str, Mapping[str, float | None]], labels: Mapping[str, str],
                     chosen: Mapping[str, float]) -> None:
    """Per method, the selection seed's final validation accuracy (%) against the peak rate; a run that
    failed is drawn at the bottom as a cross; the chosen rate is a filled marker."""
    for method, scores in sweeps.items():
        rates = sorted(float(r) for r in scores)
        accs = [scores[f"{r:g}"] for r in rates]
        color = METHOD_COLORS[method]
        ax.plot([r for r, a in zip(rates, accs) if a is not None], [100 * a for a in accs if a is not None],
                color=color, marker=MARKERS[method], markerfacecolor="white", label=labels[method])
        failed = [r for r, a in zip(rates, accs) if a is None]
        if failed:
            ax.plot(failed, [10.0] * len(failed), color=color, marker="x", linestyle="none")
        if scores.get(f"{chosen[method]:g}") is not None:
            ax.plot([chosen[method]], [100 * scores[f"{chosen[method]:g}"]], color=color, marker=MARKERS[method])
    ax.set_xscale("log")
    ax.set_xlabel("peak learning rate (batch 128)")
    ax.set_ylabel("final validation accuracy (%)")
    ax.legend(fontsize=8)
