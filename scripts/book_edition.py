"""Sphinx extension: the book's two editions.

``BOOK_EDITION=student`` (``make book EDITION=student``) builds the student
edition: sphinx-exercise's ``hide_solutions`` removes every solution from the
pages. Any other value, or none, builds the default edition, whose solutions
sit in dropdowns under their exercises. ``_config.yml`` loads this file as a
local extension.
"""

from __future__ import annotations

import os
from typing import Any

EDITIONS = ("instructor", "student")


def edition() -> str:
    """The edition named by ``BOOK_EDITION`` (default ``instructor``); a typo is an error."""
    name = os.environ.get("BOOK_EDITION", "").strip() or "instructor"
    if name not in EDITIONS:
        raise ValueError(f"BOOK_EDITION={name!r}: expected one of {', '.join(EDITIONS)}")
    return name


def _apply(app: Any, config: Any) -> None:
    config.hide_solutions = edition() == "student"


def setup(app: Any) -> dict[str, Any]:
    app.setup_extension("sphinx_exercise")  # defines hide_solutions
    app.connect("config-inited", _apply)
    # The edition changes the pages: an environment built for one is not reused for the other.
    app.add_config_value("book_edition", edition(), "env")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
