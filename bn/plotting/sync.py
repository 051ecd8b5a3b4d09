"""The figure of the synchronized-BN chapter: accuracy over training, and where a step's time goes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bn.plotting.style import COLORS

ARM_LABELS = {"per_process": "per-process BN", "synchronized": "synchronized BN"}
ARM_COLORS = {"per_process": COLORS["no_bn"], "synchronized": COLORS["bn"]}
PART_COLORS = [COLORS["grey"], COLORS["third"], COLORS["second"], COLORS["accent"]]


def sync_bn_figure(curves: Mapping[str, tuple[Sequence[int], Sequence[Sequence[float]]]],
                   parts_ms: Mapping[str, Mapping[str, float]], data_label: str):
    """Left: test accuracy against the step, per seed (thin) and the mean (thick), per arm.

    Right: the mean wall-clock milliseconds of a training step, split into the
    parts ``parts_ms[arm]`` names (stacked, "everything else" first). Returns
    ``(fig, axes)``.
    """
    from bn.plotting.style import new_figure

    fig, (ax, bx) = new_figure(1, 2, width=7.2, height=3.4)
    for arm, (steps, by_seed) in curves.items():
        acc = 100 * np.asarray(by_seed, dtype=float)
        for row in acc:
            ax.plot(steps, row, color=ARM_COLORS[arm], linewidth=0.8, alpha=0.4)
        ax.plot(steps, acc.mean(axis=0), "o-", color=ARM_COLORS[arm], label=ARM_LABELS[arm])
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(data_label)
    ax.legend(loc="lower right")

    arms = list(parts_ms)
    names = list(parts_ms[arms[0]])
    order = [names[-1], *names[:-1]]  # "everything else" at the bottom of each bar
    bottom = np.zeros(len(arms))
    for color, name in zip(PART_COLORS, order):
        height = np.array([parts_ms[a].get(name, 0.0) for a in arms])
        bx.bar(range(len(arms)), height, bottom=bottom, color=color, label=name, width=0.6)
        bottom += height
    bx.set_xticks(range(len(arms)), [ARM_LABELS[a] for a in arms])
    bx.set_ylabel("milliseconds per step")
    bx.set_title("time per training step")
    bx.legend(loc="upper left", fontsize="small")
    bx.set_ylim(0, 1.45 * bottom.max())
    bx.grid(axis="x", visible=False)
    return fig, (ax, bx)
