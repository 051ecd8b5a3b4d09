"""The book's plotting style: one palette, one size, labels that name the data copy."""

from __future__ import annotations

from typing import Any

import matplotlib

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


def apply_book_style() -> None:
    """Set matplotlib's rcParams to the book's style (idempotent)."""
    matplotlib.rcParams.update(_RC)


def new_figure(nrows: int = 1, ncols: int = 1, width: float | None = None,
               height: float | None = None, **kwargs: Any):
    """``plt.subplots`` in the book's style; returns ``(fig, axes)``.

    ``width``/``height`` default to 6.4 in per figure and 3.6 in per row.
    """
    import matplotlib.pyplot as plt

    apply_book_style()
    w = width if width is not None else 6.4
    h = height if height is not None else 3.6 * nrows
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(w, h), **kwargs)


def data_copy_label(copy: str) -> str:
    """The caption fragment naming a data copy, e.g. ``"CIFAR-10, JPEG-q75 rebuild"``."""
    names = {"official": "CIFAR-10, official release", "jpeg-q75-rebuild": "CIFAR-10, JPEG-q75 rebuild",
             "synthetic": "synthetic data (test fixture)"}
    return names.get(copy, f"CIFAR-10 ({copy})")
