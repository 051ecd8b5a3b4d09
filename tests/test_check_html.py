"""scripts/check_html.py: the browser check finds each kind of broken page and passes a good one.

The site is generated here (no book build needed); MathJax comes from the
installed sphinx-mathjax-offline package, as in the real build. Needs
Debian's chromium; skipped without it.
"""

from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

import pytest

from tests.conftest import load_script

check_html = load_script("check_html")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
COLAB = "https://colab.research.google.com/github/owner-x/repo-y/blob/main"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="12" height="8"><rect width="12" height="8"/></svg>'


def _mathjax_dir() -> Path:
    return Path(metadata.distribution("sphinx-mathjax-offline").locate_file(
        "sphinx-mathjax-offline/static/mathjax"))


def _page(body: str, mathjax: bool = False, head: str = "") -> str:
    script = '<script defer src="../_static/mathjax/tex-chtml.js"></script>' if mathjax else ""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title>{head}{script}</head>"
            f"<body><article>{body}</article></body></html>")


GOOD = _page(
    '<p>Inline <span class="math notranslate nohighlight">\\(x^2 + \\hat{x}\\)</span>.</p>'
    '<div class="math notranslate nohighlight">\\[\\frac{a}{b}\\]</div>'
    '<img src="../_images/fig.svg" alt="figure">'
    '<div class="math notranslate nohighlight">\\[\\begin{aligned} a &= b + c \\\\ &= d \\end{aligned}\\]</div>'
    f'<a href="{COLAB}/book/good.ipynb">Colab</a>'
    '<pre>re.compile(r"\\(")  # code may hold TeX-like text</pre>'
    # a signature is code too: a default value may be a TeX string
    '<dl class="py function"><dt class="sig sig-object py"><span class="sig-name descname">'
    '<span class="pre">heatmap</span></span>(<em class="sig-param"><span class="n"><span class="pre">title</span>'
    '</span><span class="o"><span class="pre">=</span></span><span class="default_value"><span class="pre">'
    "'$J = \\\\partial y$'</span></span></em>)</dt><dd><p>A figure.</p></dd></dl>"
    '<div class="cell tag_raises-exception"><div class="cell_output">'
    '<div class="output traceback"><pre>Traceback (most recent call last):\nValueError: shown on purpose</pre>'
    '</div></div></div>', mathjax=True,
    # the known, harmless duplicate that Jupyter Book 1 emits (see KNOWN_SCRIPT_ERRORS)
    head='<script>const THEBE_JS_URL = "x";</script><script>const THEBE_JS_URL = "x";</script>')

BAD_PAGES = {
    "raw_math.html": (_page('<p>Display: $$a+b$$ and <span class="math">\\(y\\)</span>, inline $x^2$.</p>'),
                      ["not typeset", "3 text nodes with raw TeX", "MathJax did not load"]),
    # a $$ block glued to a text line in a directive: MathJax sees no delimiters, the reader sees TeX
    "raw_tex_commands.html": (_page('<p>where\\mu = \\bar x and\\sigma^2 = S_2 - S_1^2</p>'
                                    '<p>costs $5</p><p>and \\frac{a}{b}</p>', mathjax=True),
                              ["3 text nodes with raw TeX", "where\\\\mu"]),
    "wide_math.html": (_page('<div class="math notranslate nohighlight">\\[' + " + ".join(["a_{%d}" % i for i in range(120)])
                             + '\\]</div>', mathjax=True),
                       ["1 display equations wider than the column"]),
    "wide_code.html": (_page('<pre>short line\n' + "x = " + "1 + " * 200 + "1\n" + "y = " + "2 + " * 200
                             + '2</pre><pre>fits</pre>'),
                       ["1 code blocks scroll sideways (2 lines cut)"]),
    "repeated_img.html": (_page('<img src="../_images/fig.svg"><img src="../_images/fig.svg">'
                                '<img src="../_images/copy.svg">'),
                          ["2 images shown twice"]),
    "plumbing.html": (_page('<p>numbers glued from a hidden cell</p>'
                            f'<a href="{COLAB}/book/plumbing.ipynb">Colab</a>'),
                      ["1 visible cells only glue/assert/print a verdict: cells [2]"]),
    "bad_tex.html": (_page('<span class="math">\\(\\nosuchmacro x\\)</span>'
                           '<span class="math">\\(\\frac{1}\\)</span>', mathjax=True),
                     ["undefined TeX macros (shown in red): ['\\\\nosuchmacro']", "Missing argument for \\\\frac"]),
    "broken_img.html": (_page('<img src="missing.png">'), ["images did not load", "HTTP 404"]),
    "traceback.html": (_page('<div class="cell_output"><div class="output traceback highlight-ipythontb">'
                             '<pre>Traceback (most recent call last):\nKeyError: 1</pre></div></div>'),
                       ["show a traceback"]),
    "bad_colab.html": (_page(f'<a href="https://colab.research.google.com/github/other/repo-y/blob/main/'
                             f'book/bad_colab.ipynb">Colab</a><a href="{COLAB}/book/nowhere.ipynb">x</a>'
                             f'<a href="https://colab.research.google.com/drive/abc">y</a>'),
                       ["is not for owner-x/repo-y@main", "not in the repository", "malformed Colab link",
                        "no Colab link to"]),
    "script_error.html": (_page("<script>noSuchFunction()</script>"),
                          ["script error: ReferenceError: noSuchFunction is not defined"]),
    "remote.html": (_page("<p>hi</p>", head='<link rel="stylesheet" href="https://cdn.example.org/x.css">'),
                    ["remote resources", "cdn.example.org"]),
}


def _code(source: str, tags: list[str] | None = None) -> dict:
    return {"cell_type": "code", "metadata": {"tags": tags or []}, "source": source, "outputs": []}


PLUMBING_NOTEBOOK = {"cells": [
    {"cell_type": "markdown", "metadata": {}, "source": "# t"},
    _code('res = load()\nglue("a", res["a"], display=False)', ["remove-input"]),  # hidden: fine
    _code('from bn.glue import glue\nres = load()\nglue("a", float(res["a"]), display=False)'),
    _code('fig, ax = new_figure()\nax.plot([1, 2])\nglue("fig", fig, display=False)'),  # a figure: content
]}


def _make_site(root: Path, pages: dict[str, str]) -> Path:
    """A repository folder with _config.yml, notebooks and a built ``_build/html``; returns the html folder."""
    (root / "_config.yml").write_text(
        "repository:\n  url: https://github.com/owner-x/repo-y\n  branch: main\n  path_to_book: ''\n")
    html = root / "_build" / "html"
    (html / "book").mkdir(parents=True)
    (html / "_images").mkdir()
    (html / "_static").mkdir()
    (html / "_static" / "mathjax").symlink_to(_mathjax_dir(), target_is_directory=True)
    (html / "_static" / "ignored.html").write_text("<p>$$ not a page $$</p>")
    (html / "search.html").write_text("<p>$$ skipped $$</p>")
    (html / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=book/good.html" />')
    (html / "_images" / "fig.svg").write_text(SVG)
    (html / "_images" / "copy.svg").write_text(SVG)  # same bytes, another name: the same figure
    (root / "book").mkdir()
    for nb in ("good", "bad_colab"):
        (root / "book" / f"{nb}.ipynb").write_text("{}")
    (root / "book" / "plumbing.ipynb").write_text(json.dumps(PLUMBING_NOTEBOOK))
    for name, text in pages.items():
        (html / "book" / name).write_text(text)
    return html


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    pages = {"good.html": GOOD, **{name: text for name, (text, _) in BAD_PAGES.items()}}
    return root, _make_site(root, pages)


def test_pages_to_check_skips_search_index_and_assets(site):
    _, html = site
    pages = [p.as_posix() for p in check_html.pages_to_check(html)]
    assert pages == sorted(f"book/{n}" for n in ["good.html", *BAD_PAGES])
    assert check_html.root_page(html) == Path("book/good.html")


def test_read_repository(site):
    root, _ = site
    assert check_html.read_repository(root / "_config.yml") == check_html.Repository("owner-x", "repo-y", "main", "")


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_browser_check_flags_every_broken_page(site, capsys):
    root, html = site
    shot = root / "_build" / "screenshot-preface.png"
    reports = {r.page.name: r for r in check_html.check_site(html, root / "_config.yml", CHROMIUM, shot)}
    good = reports.pop("good.html")
    assert good.ok, good.problems
    assert "math 3 typeset" in good.notes and "1 img" in good.notes and "1 expected error cells" in good.notes
    for name, (_, expected) in BAD_PAGES.items():
        text = " | ".join(reports[name].problems)
        assert not reports[name].ok
        for fragment in expected:
            assert fragment in text, f"{name}: {fragment!r} not in {text!r}"
    # each reader count fires on its own page and on no other
    counters = {"wide_math.html": "wide_math", "wide_code.html": "wide_code", "raw_tex_commands.html": "raw_tex",
                "repeated_img.html": "repeated_images", "plumbing.html": "plumbing_cells"}
    for name, key in counters.items():
        fired = {k for k, v in reports[name].counts.items() if v and k != "hidden_code_lines"}
        assert fired == {key}, (name, reports[name].counts)
    assert not any(good.counts.values()), good.counts
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = capsys.readouterr().out
    assert "ok   book/good.html" in out and "FAIL book/remote.html" in out


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_main_exit_codes(tmp_path, capsys):
    html = _make_site(tmp_path, {"good.html": GOOD, "traceback.html": BAD_PAGES["traceback.html"][0]})
    assert check_html.main([str(html), "--config", str(tmp_path / "_config.yml")]) == 1
    captured = capsys.readouterr()
    assert "2 pages checked" in captured.out and "1 failed" in captured.out
    assert "FAILED: book/traceback.html" in captured.err
    # the default screenshot lands beside the html folder, i.e. _build/screenshot-preface.png
    assert (tmp_path / "_build" / "screenshot-preface.png").is_file()
    assert check_html.main([str(tmp_path / "nothing")]) == 2


@pytest.mark.parametrize("source, expected", [
    ('glue("x", 1.0, display=False)', True),
    ('from bn.glue import glue\nr = load_result("x")\nglue("n", len(r["seeds"]), display=False)', True),
    ('assert err < 1e-12\nprint("the checks hold")', True),
    ('for k, v in d.items():\n    glue(k, v, display=False)', True),
    ('if bad:\n    raise AssertionError("no")', True),
    ('print(f"max error {err:.1e}")', False),  # a printed value is something to read
    ('print(err)', False),                     # shows a computed value
    ('x = 1\nx', False),                      # shows its last value
    ('report.sweep_table(res, "no_bn")', False),
    ('fig, ax = new_figure()\nax.plot(x)\nglue("f", fig, display=False)', False),
    ('import numpy as np\nx = np.ones(3)', False),  # nothing glued or asserted: ordinary set-up
    ('%matplotlib inline', False),
    # mixed cells: judged by the share of their lines
    ('print(err)\nglue("a", a, display=False)\nglue("b", b, display=False)', True),
    ('y = f(x)\nax.plot(y)\nprint(y)\nglue("a", 1, display=False)', False),
])
def test_is_plumbing(source, expected):
    assert check_html.is_plumbing(source) is expected
