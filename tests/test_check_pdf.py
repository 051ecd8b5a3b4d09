"""scripts/check_pdf.py: each check fails on the defect it is for and passes a good PDF.

The readers are tested on small synthetic inputs and PDFs written with pypdf; the
end-to-end tests build tiny PDFs with XeLaTeX and are skipped where the toolchain
(scripts/install_pdf_toolchain.sh) is absent.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader, PdfWriter

from tests.conftest import load_script

REPO = Path(__file__).resolve().parent.parent
check_pdf = load_script("check_pdf")


def _write_book(root: Path, notebooks: dict[str, dict], toc_extra: list[dict] | None = None) -> None:
    (root / "book" / "part").mkdir(parents=True)
    (root / "book" / "preface.md").write_text("# Preface\n")
    for name, nb in notebooks.items():
        (root / "book" / "part" / name).write_text(json.dumps(nb))
    (root / "book" / "part" / "data.json").write_text("{}")  # not a document
    toc = {
        "format": "jb-book",
        "root": "book/preface",
        "parts": [{"caption": "Part I", "chapters": [{"glob": "book/part/*"}] + (toc_extra or [])}],
    }
    (root / "_toc.yml").write_text(yaml.safe_dump(toc))


def _nb(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _code(outputs: list[dict], tags: list[str] | None = None) -> dict:
    return {"cell_type": "code", "source": "x", "metadata": {"tags": tags or []}, "outputs": outputs}


PNG_OUT = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}
GLUED_PNG = {"output_type": "display_data",
             "data": {"application/papermill.record/image/png": "iVBOR"}, "metadata": {"scrapbook": {}}}


# --- the table of contents ---------------------------------------------------------------


def test_toc_documents_expands_globs_to_documents_only(tmp_path):
    _write_book(tmp_path, {"01_a.ipynb": _nb(), "02_b.ipynb": _nb()}, [{"file": "book/extra.md"}])
    (tmp_path / "book" / "extra.md").write_text("# Extra\n")
    toc = yaml.safe_load((tmp_path / "_toc.yml").read_text())
    # data.json matches the glob but is no document; the file entry keeps its place
    assert check_pdf.toc_documents(toc, tmp_path) == [
        "book/preface", "book/part/01_a", "book/part/02_b", "book/extra"]


def test_the_books_toc_expands_to_existing_documents_each_once():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    docs = check_pdf.toc_documents(toc, REPO)
    assert len(docs) == len(set(docs))
    for doc in docs:
        assert any((REPO / (doc + s)).is_file() for s in (".ipynb", ".md")), doc
    for part in toc["parts"]:  # every part glob matched something
        for entry in part["chapters"]:
            if "glob" in entry:
                assert any(d.startswith(entry["glob"].rstrip("*")) for d in docs), entry


# --- readers of the PDF ----------------------------------------------------------------------


def test_chapter_destinations_count_numbered_chapters_and_appendices_once():
    names = ["chapter*.1", "chapter.1", "chapter.2", "section.2.1", "appendix.A", "appendix.A",
             "subchapter.1", "chapter.1.x"]
    assert check_pdf.count_chapter_destinations(names) == 3


def test_chapter_destinations_are_read_from_the_pdf(tmp_path):
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(200, 200)
    for page, name in enumerate(["chapter*.1", "chapter.1", "section.1.1"]):
        writer.add_named_destination(name, page)
    writer.add_named_destination("appendix.A", 2)
    writer.write(tmp_path / "d.pdf")
    reader = PdfReader(tmp_path / "d.pdf")
    assert check_pdf.count_chapter_destinations(reader.named_destinations) == 2


def test_unresolved_references_are_found_with_context():
    assert check_pdf.unresolved_references("see Theorem 1.2 and Fig. 3.1") == []
    found = check_pdf.unresolved_references("as Theorem ?? shows, and (??)")
    assert len(found) == 2 and "Theorem ??" in found[0]


def test_missing_glyphs_are_read_from_the_log():
    log = ("Overfull \\hbox (2.0pt too wide)\n"
           "Missing character: There is no ⧵ (U+29F5) in font [latinmodern-math.otf]/OT:scr\n"
           "Missing character: There is no ⧵ (U+29F5) in font [latinmodern-math.otf]/OT:scr\n")
    assert check_pdf.missing_glyphs(log) == [
        "Missing character: There is no ⧵ (U+29F5) in font [latinmodern-math.otf]/OT:scr"]
    assert check_pdf.missing_glyphs("Output written on book.pdf (3 pages).") == []


def test_a_pdf_without_images_has_none(tmp_path):
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.write(tmp_path / "blank.pdf")
    assert check_pdf.count_embedded_images(PdfReader(tmp_path / "blank.pdf")) == 0


def test_notebook_figures_count_shown_and_glued_images_not_removed_ones():
    md = {"cell_type": "markdown", "metadata": {},
          "source": "![a](a.png)\n\n```{figure} b.png\n:name: b\n```\n\n:::{image} c.png\n:::\n"}
    nb = _nb(
        md,
        _code([PNG_OUT]),  # shown
        _code([PNG_OUT], ["remove-output"]),  # removed from the page
        _code([PNG_OUT], ["remove-cell"]),  # removed from the page
        _code([GLUED_PNG], ["remove-cell"]),  # glued: {glue:figure} shows it elsewhere
        _code([{"output_type": "stream", "name": "stdout", "text": "image/png"}]),
    )
    assert check_pdf.notebook_figures(nb) == 3 + 1 + 1


def _html_page(folder: Path, *labels: str) -> None:
    """A page with one titled box (or figure caption) per label, as Sphinx writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    spans = "".join(f'<p class="admonition-title"><span class="caption-number">{label} </span>'
                    f'(Title)</p>\n' for label in labels)
    (folder / f"page{len(list(folder.iterdir()))}.html").write_text(f"<html><body>{spans}</body></html>")


def test_html_labels_are_the_caption_numbers_of_every_page(tmp_path):
    _html_page(tmp_path / "book", "Theorem 1.1", "Exercise 1.1")
    _html_page(tmp_path / "book" / "sub", "Fig. 2.1", "Theorem 1.1")
    # a reference in prose is a link, not a caption number
    (tmp_path / "ref.html").write_text('<a href="#t"><span>Theorem 3.1</span></a>')
    assert check_pdf.html_labels(tmp_path) == {"Theorem 1.1", "Exercise 1.1", "Fig. 2.1"}


def test_pdf_titles_are_box_and_caption_lines_not_wrapped_references():
    text = ("Theorem 1.1 (Output moments)\nFor every batch, by\nTheorem 1.1 and\n"
            "Definition 2.1\n"  # a box without a subtitle
            "Fig. 3.2: Eigenvalues of the Jacobian, as in\nFig. 3.1.\n"
            "([Higham, 2002],\nLemma 3.1). Hence\n"
            "Exercise 1.1.1 (★ routine)\n"  # numbered per section: kept, to be compared
            "Solution to Exercise 1.1 (★ routine)\n")
    assert check_pdf.pdf_titles(text) == {"Theorem 1.1", "Definition 2.1", "Fig. 3.2", "Exercise 1.1.1"}


def test_titles_are_found_where_the_text_extraction_lost_the_spaces():
    # pypdf infers spaces from the gaps between glyphs, and on some pages infers none
    text = ("Fig.11.2: Max-normrelativeerrorofBN’soutput\nReadingFig.11.2fromlefttoright:\n"
            "Fig.11.3fromlefttoright\nTheorem2.1(Outputmoments)\nSolutiontoExercise11.1(★routine)\n")
    assert check_pdf.pdf_titles(text) == {"Fig. 11.2", "Theorem 2.1"}
    assert len(check_pdf.labels().pdf_solution.findall(text)) == 1


def test_the_chinese_edition_labels_come_from_the_catalogs_the_build_uses():
    words = {k: check_pdf.label_word(k, "zh_CN") for k in ("Theorem", "Exercise", "Fig.", "Solution to")}
    assert words == {"Theorem": "定理", "Exercise": "练习", "Fig.": "图", "Solution to": "解答"}
    assert check_pdf.label_word("Theorem", "en") == "Theorem"


def test_chinese_titles_take_full_width_parentheses_and_solutions_their_own_words(tmp_path):
    text = ("定理 1.1（输出的矩）\n根据定理 1.3，\n定理 1.3 中的因子\n"
            "图 1.1: 在 𝜖 = 10−5 时的偏差\n练习 1.1 (★ 基础)\n解答练习 1.1 (★ 基础)\n")
    assert check_pdf.pdf_titles(text, "zh_CN") == {"定理 1.1", "图 1.1", "练习 1.1"}
    assert len(check_pdf.labels("zh_CN").pdf_solution.findall(text)) == 1
    _html_page(tmp_path, "定理 1.1", "图 1.1")
    assert check_pdf.html_labels(tmp_path, "zh_CN") == {"定理 1.1", "图 1.1"}
    assert check_pdf.html_labels(tmp_path) == set()


def test_numbering_difference_names_the_labels_each_side_lacks():
    assert check_pdf.numbering_difference({"Theorem 1.1"}, {"Theorem 1.1"}) == ""
    diff = check_pdf.numbering_difference({"Theorem 1.2.1", "Fig. 1.1"}, {"Theorem 1.1", "Fig. 1.1"})
    assert diff == "only in the PDF: Theorem 1.2.1; only in the HTML: Theorem 1.1"


def test_source_solutions_count_directives_in_markdown_only(tmp_path):
    md = {"cell_type": "markdown", "metadata": {},
          "source": "```{exercise}\n:label: e1\nDo it.\n```\n\n```{solution} e1\n:class: dropdown\nDone.\n```\n"
                    "\n::::{solution} e2\nDone.\n::::\n"}
    code = {"cell_type": "code", "metadata": {}, "outputs": [], "source": "s = '```{solution} e1'"}
    _write_book(tmp_path, {"01_a.ipynb": _nb(md, code)}, [{"file": "book/extra.md"}])
    (tmp_path / "book" / "extra.md").write_text("# Extra\n\n```{solution} e3\nDone.\n```\n")
    docs = check_pdf.toc_documents(yaml.safe_load((tmp_path / "_toc.yml").read_text()), tmp_path)
    assert check_pdf.source_solutions(docs, tmp_path) == 3


# --- end to end, on PDFs built with XeLaTeX -------------------------------------------------

needs_tex = pytest.mark.skipif(shutil.which("xelatex") is None,
                               reason="XeLaTeX absent (scripts/install_pdf_toolchain.sh)")


def _png(path: Path, alpha: bool = False) -> None:
    """A 2x2 RGB (or RGBA: XeLaTeX embeds its alpha as a soft mask) PNG, written with the standard library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    pixel = b"\xff\x00\x00\x80" if alpha else b"\xff\x00\x00"
    raw = b"".join(b"\x00" + pixel * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 6 if alpha else 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _build_pdf(folder: Path, chapters: int, images: int, body: str = "", alpha: bool = False) -> Path:
    _png(folder / "fig.png", alpha)
    tex = [r"\documentclass{report}", r"\usepackage{graphicx}", r"\usepackage{hyperref}", r"\begin{document}"]
    for i in range(chapters):
        tex.append(rf"\chapter{{Chapter {i}}}\label{{ch{i}}} Text.")
        if i < images:
            tex.append(rf"\includegraphics[width={1 + i}cm]{{fig{i}.png}}")
            shutil.copy(folder / "fig.png", folder / f"fig{i}.png")  # distinct files: distinct images
    tex += [body, r"\end{document}"]
    (folder / "book.tex").write_text("\n".join(tex), encoding="utf-8")
    for _ in range(2):  # second run resolves the labels
        subprocess.run(["xelatex", "-interaction=nonstopmode", "book.tex"], cwd=folder,
                       capture_output=True, check=False, timeout=120)
    return folder / "book.pdf"


SOLVED = {"cell_type": "markdown", "metadata": {},
          "source": "```{exercise}\n:label: e1\nDo it.\n```\n\n```{solution} e1\nDone.\n```\n"}
# The titles of the book's boxes as the PDF prints them, each its own paragraph.
BOXES = "\n\n".join(["", "Theorem 1.1 (Output moments)", "For every batch, as", "Exercise 2.1 (routine)", "Show it."])
SOLUTION = "\n\nSolution to Exercise 2.1 (routine)\n\nDone."


@pytest.fixture
def book(tmp_path):
    """A two-chapter book (root page aside) with one shown figure, a theorem and a solved
    exercise; its HTML numbers them Theorem 1.1 and Exercise 2.1."""
    _write_book(tmp_path, {"01_a.ipynb": _nb(_code([PNG_OUT])), "02_b.ipynb": _nb(SOLVED)})
    _html_page(tmp_path / "_build" / "html" / "book", "Theorem 1.1", "Exercise 2.1")
    out = tmp_path / "latex"
    out.mkdir()
    return tmp_path, out


def _failed(checks) -> set[str]:
    return {c.name for c in checks if not c.ok}


@needs_tex
def test_a_good_pdf_passes(book):
    root, out = book
    pdf = _build_pdf(out, chapters=2, images=1, body=r"See chapter \ref{ch1}." + BOXES + SOLUTION)
    assert _failed(check_pdf.check(pdf, pdf.with_suffix(".log"), root)) == set()
    assert check_pdf.main([str(pdf), "--book-root", str(root), "--edition", "instructor"]) == 0


@needs_tex
def test_a_missing_chapter_an_unresolved_reference_and_a_missing_figure_fail(book):
    root, out = book
    pdf = _build_pdf(out, chapters=1, images=0, body=r"See chapter \ref{nowhere}." + BOXES + SOLUTION)
    assert _failed(check_pdf.check(pdf, pdf.with_suffix(".log"), root)) == {"chapters", "references", "figures"}
    assert check_pdf.main([str(pdf), "--book-root", str(root)]) == 1


@needs_tex
def test_images_are_counted_on_every_page_and_their_soft_masks_are_not(book):
    root, out = book
    pdf = _build_pdf(out, chapters=3, images=3, alpha=True)
    reader = PdfReader(pdf)
    masks = sum("/SMask" in x.get_object() for page in reader.pages
                for x in page["/Resources"].get("/XObject", {}).values())
    assert masks == 3  # each image carries its alpha
    assert check_pdf.count_embedded_images(reader) == 3


@needs_tex
def test_a_missing_glyph_and_colab_code_fail(book):
    root, out = book
    # Latin Modern (the default font) has no CJK; the Colab setup code must never be printed
    pdf = _build_pdf(out, chapters=2, images=1, body="批归一化. \\texttt{google.colab}" + BOXES + SOLUTION)
    assert _failed(check_pdf.check(pdf, pdf.with_suffix(".log"), root)) == {"glyphs", "no Colab setup"}


@needs_tex
def test_numbers_per_section_where_the_html_numbers_per_chapter_fail(book):
    root, out = book
    # what sphinx-jupyterbook-latex's section-level numbering printed for a book with parts
    boxes = BOXES.replace("Theorem 1.1", "Theorem 1.2.1").replace("Exercise 2.1", "Exercise 2.7.1")
    pdf = _build_pdf(out, chapters=2, images=1, body=boxes + SOLUTION.replace("2.1", "2.7.1"))
    checks = check_pdf.check(pdf, pdf.with_suffix(".log"), root)
    assert _failed(checks) == {"numbering"}
    detail = next(c.detail for c in checks if c.name == "numbering")
    assert "only in the PDF: Exercise 2.7.1, Theorem 1.2.1" in detail
    assert "only in the HTML: Exercise 2.1, Theorem 1.1" in detail


@needs_tex
def test_numbering_without_the_html_fails(book):
    root, out = book
    pdf = _build_pdf(out, chapters=2, images=1, body=BOXES + SOLUTION)
    assert _failed(check_pdf.check(pdf, pdf.with_suffix(".log"), root, html=root / "nowhere")) == {"numbering"}


@needs_tex
def test_solutions_belong_to_the_default_edition_only(book):
    root, out = book
    with_solution = _build_pdf(out, chapters=2, images=1, body=BOXES + SOLUTION)
    log = with_solution.with_suffix(".log")
    assert _failed(check_pdf.check(with_solution, log, root, edition="student")) == {"solutions"}
    assert check_pdf.main([str(with_solution), "--book-root", str(root), "--edition", "student"]) == 1
    without = _build_pdf(out, chapters=2, images=1, body=BOXES)
    assert _failed(check_pdf.check(without, log, root, edition="student")) == set()
    assert _failed(check_pdf.check(without, log, root, edition="instructor")) == {"solutions"}


def test_a_missing_pdf_fails(tmp_path):
    checks = check_pdf.check(tmp_path / "book.pdf", tmp_path / "book.log", tmp_path)
    assert _failed(checks) == {"exists"}


def test_the_pdf_defines_the_books_mathjax_macros_alike():
    """_config.yml gives the notation macros twice, to MathJax (HTML) and to the LaTeX preamble."""
    config = yaml.safe_load((REPO / "_config.yml").read_text())["sphinx"]["config"]
    mathjax = config["mathjax3_config"]["tex"]["macros"]
    preamble = config["latex_elements"]["preamble"]
    latex = {}
    for name, nargs, body in re.findall(r"\\providecommand\{\\(\w+)\}(?:\[(\d)\])?\{(.*)\}\s*$", preamble, re.M):
        latex[name] = [body, int(nargs)] if nargs else body
    assert latex == mathjax
