"""The figure of the PyTorch-agreement chapter: each check's largest error against its tolerance."""

from __future__ import annotations

from typing import Any

import numpy as np

from bn.plotting.style import COLORS, new_figure

# Exact agreement (error 0) cannot sit on a log axis: it is drawn at this floor.
FLOOR = 1e-18


def parity_error_figure(checks: dict[str, dict], tolerances: dict[str, float]) -> Any:
    """One row per check (``bn.torch_bn.parity.by_check`` of a parity result): its max-norm relative
    error in float64 and in float32 on a log axis, each dtype's tolerance dashed."""
    names = list(checks)
    fig, ax = new_figure(height=6.0)
    ypos = np.arange(len(names))
    for dt, color, marker in (("float64", COLORS["bn"], "o"), ("float32", COLORS["no_bn"], "s")):
        errs = [max(checks[n][dt]["max_rel_error"], FLOOR) for n in names]
        ax.scatter(errs, ypos, color=color, marker=marker, label=dt, zorder=3)
        ax.axvline(tolerances[dt], color=color, ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yticks(ypos, [checks[n]["description"] for n in names], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("max-norm relative error against PyTorch (dashed: tolerance)")
    ax.legend(loc="upper center")
    return fig
