"""scripts/book_edition.py: the student edition has no solutions, the default keeps them.

A two-page Sphinx project with the book's exercise extension is built once per
edition (seconds); the full book is built by ``make book [EDITION=student]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import book_edition  # noqa: E402

PAGE = """Chapter
=======

.. exercise::
   :label: ex-one

   Compute the mean.

.. solution:: ex-one
   :class: dropdown

   SECRET-ANSWER: the sum divided by m.
"""


def _build(tmp_path: Path, monkeypatch, edition: str | None) -> str:
    from sphinx.cmd.build import build_main

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO / 'scripts')!r})\n"
        "extensions = ['sphinx_exercise', 'book_edition']\n")
    (src / "index.rst").write_text(PAGE)
    if edition is None:
        monkeypatch.delenv("BOOK_EDITION", raising=False)
    else:
        monkeypatch.setenv("BOOK_EDITION", edition)
    out = tmp_path / "html"
    assert build_main(["-q", "-E", "-b", "html", str(src), str(out)]) == 0
    return (out / "index.html").read_text()


@pytest.mark.parametrize("edition", [None, "instructor"])
def test_default_edition_keeps_solutions_in_dropdowns(tmp_path, monkeypatch, edition):
    html = _build(tmp_path, monkeypatch, edition)
    assert "Compute the mean." in html
    assert "SECRET-ANSWER" in html and 'class="solution dropdown' in html


def test_student_edition_has_no_solution(tmp_path, monkeypatch):
    html = _build(tmp_path, monkeypatch, "student")
    assert "Compute the mean." in html
    assert "SECRET-ANSWER" not in html and "solution" not in html.split("<body", 1)[1].lower()


def test_unknown_edition_is_an_error(monkeypatch):
    monkeypatch.setenv("BOOK_EDITION", "studnet")
    with pytest.raises(ValueError, match="expected one of instructor, student"):
        book_edition.edition()
