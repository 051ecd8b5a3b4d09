"""The book's plotting style: one palette, one size, labels that name the data copy."""

from __future__ import annotations

from typing import Any

import matplotlib

from bn.formatting import data_copy_label  # re-exported: figures' captions name the data copy

# Colour-blind-safe (Okabe-Ito). "bn" and "no_bn" are fixed so every chapter
# draws BN and its baseline in the same colours.
COLORS: dict[str, str] = {
    "bn": "#0072B2",
    "no_bn": "#D55E00",
    "reference": "#000000",
    "accent": "#009E73",
    "second": "#CC79A7",
    "third": "#E69F00",
    "grey": "#999999",
}

_RC: dict[str, Any] = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "font.size": 10,
    "axes.prop_cycle": matplotlib.cycler(color=list(COLORS.values())),
}


# The book's content column at 1280 px is 688 px wide (scripts/check_html.py measures
# the page); a wider figure is shrunk to it, and its text with it.
COLUMN_PX = 688
_FONT_KEYS = ("axes.titlesize", "axes.labelsize", "legend.fontsize", "font.size",
              "xtick.labelsize", "ytick.labelsize", "figure.titlesize")


def font_scale(width: float) -> float:
    """How much a figure ``width`` inches wide is shrunk on the page, as a factor (>= 1)."""
    return max(1.0, width * _RC["figure.dpi"] / COLUMN_PX)


def apply_book_style(scale: float = 1.0) -> None:
    """Set matplotlib's rcParams to the book's style, fonts enlarged by ``scale`` (idempotent).

    ``scale`` makes the text of a figure that the page shrinks by that factor come out
    at the book's sizes (legends 9 pt) as displayed.
    """
    rc = dict(_RC)
    base = {"xtick.labelsize": 9.0, "ytick.labelsize": 9.0, "figure.titlesize": 11.0}
    for key in _FONT_KEYS:
        rc[key] = float(rc.get(key, base.get(key, 10.0))) * scale
    matplotlib.rcParams.update(rc)


def new_figure(nrows: int = 1, ncols: int = 1, width: float | None = None,
               height: float | None = None, **kwargs: Any):
    """``plt.subplots`` in the book's style; returns ``(fig, axes)``.

    ``width``/``height`` default to 6.4 in per figure and 3.6 in per row. A figure
    wider than the book's column gets proportionally larger fonts (``font_scale``),
    so that its legends still read at 9 pt on the page.
    """
    import matplotlib.pyplot as plt

    w = width if width is not None else 6.4
    apply_book_style(font_scale(w))
    h = height if height is not None else 3.6 * nrows
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(w, h), **kwargs)


