#!/usr/bin/env python3
"""Check the PDF edition that ``make pdf`` builds.

    python scripts/check_pdf.py [_build/latex/book.pdf] [--log LOG] [--book-root .]

It checks that

* the PDF exists and is not empty;
* it has one chapter per document in ``_toc.yml`` (the root page aside, which
  the LaTeX builder prints as front matter): hyperref names one destination
  ``chapter.N`` or ``appendix.X`` per numbered chapter, read with ``pdfinfo -dests``;
* its text (``pdftotext``) holds no ``??``, LaTeX's mark of an unresolved reference;
* the LaTeX log has no "Missing character" line (a glyph absent from its font,
  printed as nothing);
* it embeds at least as many images (``pdfimages -list``, soft masks aside) as the
  book has figures: image outputs stored in the notebooks (cells removed from the
  page aside) and images in the Markdown (``![..](..)``, ``{figure}``, ``{image}``);
* no Colab setup code reached the page (those cells are tagged ``remove-cell``).

It prints one line per check and exits 1 if any fails, 2 if a tool is missing.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

SOURCE_SUFFIXES = (".ipynb", ".md")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
# MyST-NB's glue stores a figure under this prefix; {glue:figure} shows it wherever it is pasted.
GLUE_PREFIX = "application/papermill.record/"
# Tags that take a cell's output off the page (Jupyter Book's remove-* tags).
HIDING_TAGS = {"remove-cell", "remove-output"}
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]+\)|^\s*(```|:::)\{(figure|image)\}", re.M)
CHAPTER_DEST = re.compile(r'"(chapter|appendix)\.[0-9A-Z]+"')
MISSING_CHAR = re.compile(r"^Missing character: .*$", re.M)
COLAB_CODE = "google.colab"


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


def count_chapter_destinations(pdfinfo_dests: str) -> int:
    """Numbered chapters and appendices in ``pdfinfo -dests`` output (one hyperref anchor each)."""
    return len({m.group(0) for m in CHAPTER_DEST.finditer(pdfinfo_dests)})


def unresolved_references(text: str, context: int = 30) -> list[str]:
    """Each ``??`` in the PDF's text, with some text around it."""
    return [text[max(0, m.start() - context): m.end() + context].replace("\n", " ")
            for m in re.finditer(r"\?\?", text)]


def missing_glyphs(log: str) -> list[str]:
    """The distinct "Missing character" lines of a XeLaTeX log."""
    return sorted(set(MISSING_CHAR.findall(log)))


def count_embedded_images(pdfimages_list: str) -> int:
    """Images in ``pdfimages -list`` output, not counting soft masks (an image's alpha)."""
    count = 0
    for line in pdfimages_list.splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[0].isdigit() and fields[2] == "image":
            count += 1
    return count


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


def book_figures(docs: list[str], root: Path) -> int:
    """Figures of every document in the book (notebooks and Markdown pages)."""
    total = 0
    for doc in docs:
        for suffix in SOURCE_SUFFIXES:
            path = root / (doc + suffix)
            if not path.is_file():
                continue
            if suffix == ".ipynb":
                total += notebook_figures(json.loads(path.read_text(encoding="utf-8")))
            else:
                total += len(MARKDOWN_IMAGE.findall(path.read_text(encoding="utf-8")))
    return total


def check(pdf: Path, log: Path, root: Path) -> list[Check]:
    """Run every check on a built PDF; tools come from poppler-utils."""
    if not pdf.is_file() or pdf.stat().st_size == 0:
        return [Check("exists", False, f"{pdf} is missing or empty (run `make pdf`)")]
    checks = [Check("exists", True, f"{pdf} ({pdf.stat().st_size / 1e6:.1f} MB)")]
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    docs = toc_documents(toc, root)

    want = len(docs) - 1  # the root page is front matter, not a chapter
    have = count_chapter_destinations(_run("pdfinfo", "-dests", str(pdf)))
    checks.append(Check("chapters", have == want, f"{have} chapters, _toc.yml lists {want}"))

    text = _run("pdftotext", "-enc", "UTF-8", str(pdf), "-")
    unresolved = unresolved_references(text)
    checks.append(Check("references", not unresolved,
                        f"{len(unresolved)} unresolved (??)" + "".join(f"\n    …{u}…" for u in unresolved[:10])))

    colab = text.count(COLAB_CODE)
    checks.append(Check("no Colab setup", colab == 0, f"{COLAB_CODE!r} appears {colab} times"))

    if log.is_file():
        glyphs = missing_glyphs(log.read_text(encoding="utf-8", errors="replace"))
        checks.append(Check("glyphs", not glyphs,
                            f"{len(glyphs)} missing" + "".join(f"\n    {g}" for g in glyphs[:10])))
    else:
        checks.append(Check("glyphs", False, f"no LaTeX log at {log}"))

    figures = book_figures(docs, root)
    images = count_embedded_images(_run("pdfimages", "-list", str(pdf)))
    checks.append(Check("figures", images >= figures,
                        f"{images} images embedded, the book has {figures} figures"))
    return checks


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, errors="replace").stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", type=Path, default=Path("_build/latex/book.pdf"))
    parser.add_argument("--log", type=Path, help="XeLaTeX log (default: the PDF's name with .log)")
    parser.add_argument("--book-root", type=Path, default=Path("."), help="folder of _toc.yml")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("pdfinfo", "pdftotext", "pdfimages") if shutil.which(tool) is None]
    if missing:
        print(f"check_pdf: {', '.join(missing)} not found; run scripts/install_pdf_toolchain.sh",
              file=sys.stderr)
        return 2
    checks = check(args.pdf, args.log or args.pdf.with_suffix(".log"), args.book_root)
    for c in checks:
        print(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    failed = [c.name for c in checks if not c.ok]
    print(f"check_pdf: {len(checks) - len(failed)}/{len(checks)} checks pass"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
