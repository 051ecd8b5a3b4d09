#!/usr/bin/env python3
"""Check the PDF edition that ``make pdf`` builds.

    python scripts/check_pdf.py [_build/latex/book.pdf] [--log LOG] [--book-root .]
                                [--html _build/html] [--edition instructor|student]
                                [--language en|zh_CN]

It checks that

* the PDF exists and is not empty;
* it has one chapter per document in ``_toc.yml`` (the root page aside, which
  the LaTeX builder prints as front matter): hyperref names one destination
  ``chapter.N`` or ``appendix.X`` per numbered chapter (the PDF's named destinations);
* its text holds no ``??``, LaTeX's mark of an unresolved reference;
* the LaTeX log has no "Missing character" line (a glyph absent from its font,
  printed as nothing);
* it embeds at least as many images (image XObjects drawn on its pages, soft masks
  aside) as the book has figures: image outputs stored in the notebooks (cells removed from the
  page aside) and images in the Markdown (``![..](..)``, ``{figure}``, ``{image}``);
* no Colab setup code reached the page (those cells are tagged ``remove-cell``);
* theorem-like boxes, exercises and figures carry the numbers the HTML gives them:
  the set of box and caption titles ("Theorem 2.3", "Exercise 1.1", "Fig. 3.2") read
  from the PDF's text equals the set of ``caption-number`` labels in the built HTML
  (``--html``, by default ``_build/html``; ``make book`` builds it). A title is a line
  that starts with the label and holds nothing else but a parenthesised subtitle or,
  for a figure, the caption after a colon; a cross-reference that wraps to the start
  of a line goes on with other words and is not counted;
* the edition's solutions are there: none in the student edition, one
  "Solution to Exercise ..." box per ``{solution}`` directive of the sources in the
  default one (``--edition``, by default ``BOOK_EDITION`` as for the build).

For an edition in another language (``--language zh_CN``: ``make pdf LANG=zh_CN``) the
labels are the words that edition prints ("定理 2.3", "图 3.2", "解答练习 1.1"), read from
the same catalogs the build translates them with (Sphinx's own, sphinx-proof's and
sphinx-exercise's), and a subtitle may follow in full-width parentheses.

The PDF is read with pypdf: its named destinations, each page's image XObjects, and
each page's text. pypdf infers a space from the gap between two glyphs (XeLaTeX writes
none), and on some pages it infers none: the title patterns take a label with or
without its spaces ("Fig.11.2:" is "Fig. 11.2").

It prints one line per check and exits 1 if any fails, 2 if pypdf is missing.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

SOURCE_SUFFIXES = (".ipynb", ".md")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
# MyST-NB's glue stores a figure under this prefix; {glue:figure} shows it wherever it is pasted.
GLUE_PREFIX = "application/papermill.record/"
# Tags that take a cell's output off the page (Jupyter Book's remove-* tags).
HIDING_TAGS = {"remove-cell", "remove-output"}
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]+\)|^\s*(```|:::)\{(figure|image)\}", re.M)
CHAPTER_DEST = re.compile(r"(chapter|appendix)\.[0-9A-Z]+")
MISSING_CHAR = re.compile(r"^Missing character: .*$", re.M)
COLAB_CODE = "google.colab"
# What the HTML numbers: sphinx-proof's kinds, sphinx-exercise's exercises, figures, tables.
NUMBERED_KINDS = ("Algorithm", "Assumption", "Axiom", "Conjecture", "Corollary", "Criterion",
                  "Definition", "Example", "Exercise", "Lemma", "Notation", "Observation",
                  "Property", "Proposition", "Remark", "Theorem", "Fig.", "Table")
_NUMBER = r"[0-9A-Z]+(?:\.[0-9]+)+"
_GAP = r"\s?"  # a space the text extraction may have lost
SOLUTION_DIRECTIVE = re.compile(r"^\s*(```+|:::+)\{solution\}", re.M)
EDITIONS = ("instructor", "student")
SOURCE_LANGUAGE = "en"
# Where each label word is translated: (catalog domain, message, Python module whose folder holds it).
# Sphinx's own labels are formats ("Fig. %s"); sphinx-proof's and sphinx-exercise's are words.
_LABEL_CATALOGS = {"Fig.": ("sphinx", "Fig. %s", "sphinx"), "Table": ("sphinx", "Table %s", "sphinx"),
                   "Exercise": ("exercise", "Exercise", "sphinx_exercise"),
                   "Solution to": ("exercise", "Solution to", "sphinx_exercise")}
_LOCALE_DIRS = {"sphinx": ("locale",), "sphinx_proof": ("translations", "locales"),
                "sphinx_exercise": ("translations", "locales")}


@dataclass(frozen=True)
class Labels:
    """The patterns that find numbered labels in one language's HTML and PDF."""

    html: re.Pattern[str]
    pdf_title: re.Pattern[str]
    pdf_solution: re.Pattern[str]


def label_word(word: str, language: str) -> str:
    """A label word ("Theorem", "Fig.", "Solution to") as the edition in ``language`` prints it."""
    if language == SOURCE_LANGUAGE:
        return word
    import gettext
    import importlib

    domain, message, module = _LABEL_CATALOGS.get(word, ("proof", word, "sphinx_proof"))
    folder = Path(importlib.import_module(module).__file__).parent.joinpath(*_LOCALE_DIRS[module])
    translated = gettext.translation(domain, str(folder), [language], fallback=True).gettext(message)
    return translated.replace("%s", "").strip()


@functools.lru_cache(maxsize=None)
def labels(language: str = SOURCE_LANGUAGE) -> Labels:
    """The label patterns of an edition (English: "Theorem 2.3 (Subtitle)", "Fig. 3.2: caption")."""
    kind = "|".join(re.escape(label_word(k, language)) for k in NUMBERED_KINDS)
    html = re.compile(rf'<span class="caption-number">\s*((?:{kind}) {_NUMBER})\s*</span>')
    if language == SOURCE_LANGUAGE:
        title = re.compile(rf"^({kind}){_GAP}({_NUMBER})(?:$|{_GAP}\(.*$|:{_GAP}\S.*$)", re.M)
    else:  # a subtitle may follow in full-width parentheses, with or without a space
        title = re.compile(rf"^({kind}){_GAP}({_NUMBER})(?:$|{_GAP}[(（].*$|[:：]{_GAP}\S.*$)", re.M)
    words = [label_word("Solution to", language), label_word("Exercise", language)]
    solution = re.compile("^" + _GAP.join(_spaced(w) for w in words) + rf"{_GAP}{_NUMBER}", re.M)
    return Labels(html, title, solution)


def _spaced(words: str) -> str:
    """``words`` as a pattern whose spaces the text extraction may have lost."""
    return _GAP.join(re.escape(w) for w in words.split(" "))


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def toc_documents(toc: dict, root: Path) -> list[str]:
    """Docnames the ``jb-book`` table of contents lists, root page first, globs expanded."""
    docs = [_docname(toc["root"])]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                docs.append(_docname(entry["file"]))
            elif "glob" in entry:
                matches = sorted(
                    p for p in root.glob(entry["glob"]) if p.is_file() and p.suffix in SOURCE_SUFFIXES
                )
                docs.extend(_docname(str(p.relative_to(root))) for p in matches)
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return docs


def _docname(path: str) -> str:
    for suffix in SOURCE_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def count_chapter_destinations(names: Iterable[str]) -> int:
    """Numbered chapters and appendices among a PDF's named destinations (one hyperref anchor each)."""
    return len({name for name in names if CHAPTER_DEST.fullmatch(name)})


def unresolved_references(text: str, context: int = 30) -> list[str]:
    """Each ``??`` in the PDF's text, with some text around it."""
    return [text[max(0, m.start() - context): m.end() + context].replace("\n", " ")
            for m in re.finditer(r"\?\?", text)]


def missing_glyphs(log: str) -> list[str]:
    """The distinct "Missing character" lines of a XeLaTeX log."""
    return sorted(set(MISSING_CHAR.findall(log)))


def count_embedded_images(reader: Any) -> int:
    """Image XObjects on the pages of a ``pypdf.PdfReader``, in forms too; an image's soft mask
    (its alpha) hangs off the image, not off a page, and is not counted."""
    return sum(_images(page.get("/Resources"), set()) for page in reader.pages)


def _images(resources: Any, seen: set[int]) -> int:
    if resources is None:
        return 0
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None:
        return 0
    count = 0
    for ref in xobjects.get_object().values():
        obj = ref.get_object()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if obj.get("/Subtype") == "/Image":
            count += 1
        elif obj.get("/Subtype") == "/Form":  # a figure included as a PDF, and its images
            count += _images(obj.get("/Resources"), seen)
    return count


def pdf_text(reader: Any) -> str:
    """The text of every page of a ``pypdf.PdfReader``, one page after another."""
    return "\n".join(page.extract_text() for page in reader.pages)


def notebook_figures(nb: dict) -> int:
    """Image outputs a notebook shows or glues, plus images in its Markdown cells."""
    count = 0
    for cell in nb.get("cells", []):
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown":
            count += len(MARKDOWN_IMAGE.findall(source))
            continue
        hidden = bool(HIDING_TAGS & set(cell.get("metadata", {}).get("tags", [])))
        for output in cell.get("outputs", []):
            mimes = output.get("data", {})
            if any(GLUE_PREFIX + mime in mimes for mime in IMAGE_MIMES):
                count += 1  # glued: shown by {glue:figure}, whatever hides the cell itself
            elif not hidden and any(mime in mimes for mime in IMAGE_MIMES):
                count += 1
    return count


def html_labels(html: Path, language: str = SOURCE_LANGUAGE) -> set[str]:
    """The numbered labels ("Theorem 2.3", "Fig. 1.1") the HTML pages under ``html`` show."""
    found: set[str] = set()
    for page in html.rglob("*.html"):
        found.update(labels(language).html.findall(page.read_text(encoding="utf-8", errors="replace")))
    return found


def pdf_titles(text: str, language: str = SOURCE_LANGUAGE) -> set[str]:
    """The numbered box titles and figure captions in the PDF's text (see the module docstring)."""
    return {f"{kind} {number}" for kind, number in labels(language).pdf_title.findall(text)}


def numbering_difference(pdf: set[str], html: set[str], shown: int = 8) -> str:
    """What one set of labels has that the other lacks, a few of each, in reading order."""
    def some(labels: set[str]) -> str:
        ordered = sorted(labels, key=_label_key)
        return ", ".join(ordered[:shown]) + (" …" if len(ordered) > shown else "")
    parts = []
    if pdf - html:
        parts.append(f"only in the PDF: {some(pdf - html)}")
    if html - pdf:
        parts.append(f"only in the HTML: {some(html - pdf)}")
    return "; ".join(parts)


def _label_key(label: str) -> tuple:
    kind, number = label.rsplit(" ", 1)
    return kind, [int(p) if p.isdigit() else p for p in number.split(".")]


def _sources(docs: list[str], root: Path):
    """``(notebook dict, None)`` or ``(None, Markdown text)`` for every source file of ``docs``."""
    for doc in docs:
        for suffix in SOURCE_SUFFIXES:
            path = root / (doc + suffix)
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            yield (json.loads(text), None) if suffix == ".ipynb" else (None, text)


def source_solutions(docs: list[str], root: Path) -> int:
    """``{solution}`` directives in the documents' Markdown (notebook Markdown cells and .md pages)."""
    total = 0
    for nb, text in _sources(docs, root):
        if nb is not None:
            total += sum(len(SOLUTION_DIRECTIVE.findall("".join(c.get("source", []))))
                         for c in nb.get("cells", []) if c.get("cell_type") == "markdown")
        else:
            total += len(SOLUTION_DIRECTIVE.findall(text))
    return total


def book_figures(docs: list[str], root: Path) -> int:
    """Figures of every document in the book (notebooks and Markdown pages)."""
    return sum(notebook_figures(nb) if nb is not None else len(MARKDOWN_IMAGE.findall(text))
               for nb, text in _sources(docs, root))


def check(pdf: Path, log: Path, root: Path, html: Path | None = None,
          edition: str = "instructor", language: str = SOURCE_LANGUAGE) -> list[Check]:
    """Run every check on a built PDF (read with pypdf).

    ``html`` is the built HTML the numbering is compared with (default ``root/_build/html``);
    ``edition`` the edition the PDF was built as (``instructor`` or ``student``), ``language``
    the language it was built in.
    """
    if edition not in EDITIONS:
        raise ValueError(f"edition {edition!r}: expected one of {', '.join(EDITIONS)}")
    html = html if html is not None else root / "_build" / "html"
    if not pdf.is_file() or pdf.stat().st_size == 0:
        return [Check("exists", False, f"{pdf} is missing or empty (run `make pdf`)")]
    checks = [Check("exists", True, f"{pdf} ({pdf.stat().st_size / 1e6:.1f} MB)")]
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    docs = toc_documents(toc, root)
    from pypdf import PdfReader

    reader = PdfReader(pdf)

    want = len(docs) - 1  # the root page is front matter, not a chapter
    have = count_chapter_destinations(reader.named_destinations)
    checks.append(Check("chapters", have == want, f"{have} chapters, _toc.yml lists {want}"))

    text = pdf_text(reader)
    unresolved = unresolved_references(text)
    checks.append(Check("references", not unresolved,
                        f"{len(unresolved)} unresolved (??)" + "".join(f"\n    …{u}…" for u in unresolved[:10])))

    colab = text.count(COLAB_CODE)
    checks.append(Check("no Colab setup", colab == 0, f"{COLAB_CODE!r} appears {colab} times"))

    if html.is_dir():
        in_pdf, in_html = pdf_titles(text, language), html_labels(html, language)
        checks.append(Check("numbering", bool(in_html) and in_pdf == in_html,
                            f"{len(in_pdf)} numbered titles in the PDF, {len(in_html)} in the HTML"
                            + "".join(f"\n    {d}" for d in [numbering_difference(in_pdf, in_html)] if d)))
    else:
        checks.append(Check("numbering", False, f"no HTML at {html} to compare with (run `make book`)"))

    want_solutions = source_solutions(docs, root) if edition == "instructor" else 0
    have_solutions = len(labels(language).pdf_solution.findall(text))
    checks.append(Check("solutions", have_solutions == want_solutions,
                        f"{have_solutions} solution boxes; the {edition} edition has {want_solutions}"))

    if log.is_file():
        glyphs = missing_glyphs(log.read_text(encoding="utf-8", errors="replace"))
        checks.append(Check("glyphs", not glyphs,
                            f"{len(glyphs)} missing" + "".join(f"\n    {g}" for g in glyphs[:10])))
    else:
        checks.append(Check("glyphs", False, f"no LaTeX log at {log}"))

    figures = book_figures(docs, root)
    images = count_embedded_images(reader)
    checks.append(Check("figures", images >= figures,
                        f"{images} images embedded, the book has {figures} figures"))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", type=Path, default=Path("_build/latex/book.pdf"))
    parser.add_argument("--log", type=Path, help="XeLaTeX log (default: the PDF's name with .log)")
    parser.add_argument("--book-root", type=Path, default=Path("."), help="folder of _toc.yml")
    parser.add_argument("--html", type=Path,
                        help="built HTML to compare the numbering with (default: BOOK_ROOT/_build/html)")
    parser.add_argument("--language", default=SOURCE_LANGUAGE,
                        help="language the PDF was built in (default: en; make pdf LANG=zh_CN: zh_CN)")
    parser.add_argument("--edition", choices=EDITIONS,
                        default=os.environ.get("BOOK_EDITION", "").strip() or "instructor",
                        help="edition the PDF was built as (default: BOOK_EDITION, else instructor)")
    args = parser.parse_args(argv)
    try:
        import pypdf  # noqa: F401
    except ImportError:
        print("check_pdf: pypdf not found; pip install -r requirements.txt", file=sys.stderr)
        return 2
    checks = check(args.pdf, args.log or args.pdf.with_suffix(".log"), args.book_root,
                   args.html, args.edition, args.language)
    for c in checks:
        print(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    failed = [c.name for c in checks if not c.ok]
    print(f"check_pdf: {len(checks) - len(failed)}/{len(checks)} checks pass"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
