"""Figures of the sequence-norms study: loss curves by normalization, loss against padding, leakage.

The functions take plain numbers (the study's summary holds them), so this module needs
neither torch nor the study.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from bn.plotting.style import COLORS

NORM_STYLE = {"bn": (COLORS["bn"], "-"), "bn_masked": (COLORS["accent"], "-"),
              "ln": (COLORS["no_bn"], "-"), "rms": (COLORS["second"], "--")}
"""Colour and line style per normalization (BN in the book's BN colour)."""


def loss_curves(ax, steps: Mapping[str, Sequence[int]], eval_mode: Mapping[str, Sequence[float]],
                batch_mode: Mapping[str, Sequence[float]], labels: Mapping[str, str]) -> None:
    """Validation loss against step per norm: eval mode solid (dashed for RMSNorm), batch statistics
    dotted where they differ (BN and masked BN only; per-position norms have one mode)."""
    for key, ys in eval_mode.items():
        colour, style = NORM_STYLE[key]
        x = list(steps[key])[1:]  # step 0 (chance, ~log vocab) squeezes the scale; start at the first evaluation
        ax.plot(x, list(ys)[1:], color=colour, linestyle=style, label=f"{labels[key]}, eval mode")
        if key in ("bn", "bn_masked"):
            ax.plot(x, list(batch_mode[key])[1:], color=colour, linestyle=":", label=f"{labels[key]}, batch stats")
    ax.set_xlabel("training step")
    ax.set_ylabel("validation loss (nats / char)")
    ax.legend(ncol=2)


def padding_curves(ax, fractions: Sequence[float], batch_losses: Mapping[str, Sequence[float]],
                   labels: Mapping[str, str]) -> None:
    """Held-out loss with batch statistics against the padding fraction of the batch (same windows)."""
    x = 100 * np.asarray(fractions, dtype=float)
    for key, ys in batch_losses.items():
        colour, style = NORM_STYLE[key]
        ax.plot(x, ys, color=colour, linestyle=style, marker="o", label=labels[key])
    ax.set_xlabel("padding in the batch (%)")
    ax.set_ylabel("test loss, batch stats (nats / char)")
    ax.legend()


def leakage_bars(ax, leak: Mapping[str, Sequence[float]], labels: Mapping[str, str],
                 parts: Sequence[str] = ("later positions", "other examples", "padding")) -> None:
    """Grouped bars: per norm, the relative gradient norm on each forbidden part; an exact zero is written."""
    keys = list(leak)
    width = 0.8 / len(parts)
    shades = [COLORS["bn"], COLORS["third"], COLORS["grey"]]
    for j, part in enumerate(parts):
        xs = np.arange(len(keys)) + (j - (len(parts) - 1) / 2) * width
        vals = [leak[k][j] for k in keys]
        ax.bar(xs, vals, width, color=shades[j % len(shades)], label=part)
        for x, v in zip(xs, vals):
            if v == 0.0:
                ax.text(x, 0.0, "0", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(np.arange(len(keys)), [labels[k] for k in keys])
    ax.set_ylabel("gradient norm / norm on allowed inputs")
    ax.legend()
