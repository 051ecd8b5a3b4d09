"""``glue`` for the chapters: MyST-NB's where it is installed, a plain display elsewhere.

The book's build glues numbers and figures into the prose with ``myst_nb.glue``.
On Colab, where MyST-NB is not installed (and installing it would pull in Sphinx
and could upgrade the kernel's own packages), the same call shows what a reader
needs: figures are displayed, numbers only where ``display=True``. ``bn`` does
not depend on Jupyter packages: both imports are made on first use.

A glued float is stored with ``digits`` significant digits, not all 17 of its
repr: the digits past the eighth of a float64 result depend on the CPU's vector
kernels (the order in which a sum is reduced), and the notebook's stored outputs
must read the same on every reader's machine. The prose never shows more than
four. A value computed in float32, or a rounding-level error, carries fewer
meaningful digits than that: glue it with a smaller ``digits``, or glue a bound.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

SIGNIFICANT_DIGITS = 8


def _myst_nb_glue():
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return None
    return myst_glue


def _is_figure(value: Any) -> bool:
    return type(value).__name__ == "Figure" and hasattr(value, "savefig")


def round_significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant decimal digits (non-finite values unchanged)."""
    if digits < 1:
        raise ValueError(f"digits must be at least 1, got {digits}")
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits - 1}e}")


def glue(name: str, value: Any, display: bool = True, digits: int = SIGNIFICANT_DIGITS) -> None:
    """Glue ``value`` under ``name`` for the book (MyST-NB), or show it in a plain notebook.

    A real number that is not an integer (Python or NumPy float) is first
    rounded to ``digits`` significant digits and glued as a Python float.
    Without MyST-NB, a matplotlib figure is always displayed (the book shows it
    through ``{glue:figure}``, so a Colab reader should see it too) and any other
    value is displayed only when ``display`` is true.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        value = round_significant(float(value), digits)
    myst_glue = _myst_nb_glue()
    if myst_glue is not None:
        myst_glue(name, value, display=display)
        return
    if display or _is_figure(value):
        from IPython.display import display as show

        show(value)


class Md(str):
    """A string that :func:`glue_record` glues as Markdown (pasted with ``{glue:md}``): words that
    read as prose, such as "met" or "within the noise of this run"."""


def glue_record(record: Any, prefix: str = "", *, sep: str = "_") -> list[str]:
    """Glue every field of the dataclass ``record`` under ``prefix + field name``, and return the names.

    A chapter's numbers come from one summary record and this one call. ``sep`` joins the parts
    of a name: with ``sep="-"`` the underscores of a field name become hyphens too, for chapters
    whose glue names are hyphenated (a field name cannot be). A field's metadata ``glue`` gives
    its name outright, prefix not added (for the few names outside the chapter's prefix, such as
    the scorecard's ``verdict_KEY``). A field that is itself a dataclass is glued field by field
    under ``name + sep``; a mapping (a family of values named by a parameter, one per batch size
    or per arm) entry by entry under ``name + sep + key``, or ``glue + key`` where the metadata
    names it. An :class:`Md` string is glued as Markdown; metadata ``digits`` rounds to that many
    significant digits (see :func:`glue`); None is refused, since the prose would paste nothing.
    """
    import dataclasses
    from collections.abc import Mapping

    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"glue_record needs a dataclass instance, got {type(record).__name__}")
    names: list[str] = []

    def one(name: str, value: Any, digits: int) -> None:
        if value is None:
            raise ValueError(f"glue_record: {name} is None; the prose would paste nothing")
        if isinstance(value, Md):
            from IPython.display import Markdown

            value = Markdown(str(value))
        glue(name, value, display=False, digits=digits)
        names.append(name)

    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        own = f.metadata.get("glue")
        name = own if own is not None else prefix + (f.name.replace("_", sep) if sep != "_" else f.name)
        digits = f.metadata.get("digits", SIGNIFICANT_DIGITS)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            names += glue_record(value, name if own is not None else name + sep, sep=sep)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                one((name if own is not None else name + sep) + str(key), item, digits)
        else:
            one(name, value, digits)
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"glue_record: names glued twice: {sorted(duplicates)}")
    return names
