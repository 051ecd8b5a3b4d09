"""``glue`` for the chapters: MyST-NB's where it is installed, a plain display elsewhere.

The book's build glues numbers and figures into the prose with ``myst_nb.glue``.
On Colab, where MyST-NB is not installed (and installing it would pull in Sphinx
and could upgrade the kernel's own packages), the same call shows what a reader
needs: figures are displayed, numbers only where ``display=True``. ``bn`` does
not depend on Jupyter packages: both imports are made on first use.
"""

from __future__ import annotations

from typing import Any


def _myst_nb_glue():
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return None
    return myst_glue


def _is_figure(value: Any) -> bool:
    return type(value).__name__ == "Figure" and hasattr(value, "savefig")


def glue(name: str, value: Any, display: bool = True) -> None:
    """Glue ``value`` under ``name`` for the book (MyST-NB), or show it in a plain notebook.

    Without MyST-NB, a matplotlib figure is always displayed (the book shows it
    through ``{glue:figure}``, so a Colab reader should see it too) and any other
    value is displayed only when ``display`` is true.
    """
    myst_glue = _myst_nb_glue()
    if myst_glue is not None:
        myst_glue(name, value, display=display)
        return
    if display or _is_figure(value):
        from IPython.display import display as show

        show(value)
