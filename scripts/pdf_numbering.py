"""Sphinx extension: the PDF numbers boxes, figures and equations as the HTML does.

The HTML numbers theorem-like boxes, exercises, figures and equations per chapter
("Definition 1.1"). For a book with parts, sphinx-jupyterbook-latex makes ``\\part``
the top LaTeX level and sets ``numfig_secnum_depth = 2`` (at ``builder-inited``), so
that LaTeX's figure and equation counters carry the chapter number. That value also
reaches Sphinx's own numbering, which sphinx-proof and sphinx-exercise print, and
which counts parts not: boxes come out per section ("Definition 1.2.1").

So the two consumers get the depth each needs: Sphinx numbers the documents with
depth 1 (chapter, as for the HTML), and the LaTeX writer, which adds the top
sectioning level, gets depth 2 back once Sphinx has numbered everything: at
``env-check-consistency``, the first event after ``env-get-updated`` (where the
numbers are assigned) and before the writer starts (the LaTeX builder emits no
``write-started``). The writer then passes ``numfigreset=1`` to sphinx.sty:
``\\thefigure`` and ``\\theequation`` are chapter.N. ``_config.yml`` loads this
file as a local extension.
"""

from __future__ import annotations

from typing import Any

from sphinx.builders.latex import LaTeXBuilder

# The depth the HTML numbers with (Sphinx's default): the chapter's number, then a counter.
CHAPTER_DEPTH = 1
# What sphinx-jupyterbook-latex sets for books with parts: the same chapter-level numbers
# as LaTeX counters, once the writer has shifted it by the top level, \part.
WRITER_DEPTH_UNDER_PARTS = 2


def _number_per_chapter(app: Any) -> None:
    if isinstance(app.builder, LaTeXBuilder):
        app.config.numfig_secnum_depth = CHAPTER_DEPTH


def _writer_depth(app: Any, env: Any) -> None:
    if isinstance(app.builder, LaTeXBuilder) and app.config.latex_toplevel_sectioning == "part":
        app.config.numfig_secnum_depth = WRITER_DEPTH_UNDER_PARTS


def setup(app: Any) -> dict[str, Any]:
    # After sphinx-jupyterbook-latex's own builder-inited handler (default priority 500).
    app.connect("builder-inited", _number_per_chapter, priority=900)
    app.connect("env-check-consistency", _writer_depth)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
