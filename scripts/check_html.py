#!/usr/bin/env python3
"""Open every page of the built book in headless Chromium and check what a reader sees.

    python scripts/check_html.py _build/html [--screenshot PATH] [--chromium PATH]

The folder is served on 127.0.0.1 (a random free port) and Debian's
``chromium`` is driven by Playwright for Python (``executable_path``; Playwright's
own browser downloads are never used). Each page is read at 1280 px with every
dropdown opened, and it fails when

* **display math is cut off**: a MathJax display (``mjx-container[display]``)
  is wider than its box (``scrollWidth > clientWidth``) or ends right of the
  content column;
* **code is cut off**: a ``pre`` block (code or output) scrolls sideways; the
  report also counts the lines that do not fit;
* **raw TeX shows**: a text node outside MathJax output and code (code blocks,
  inline code, the signatures of the API appendix) holds ``$``,
  ``\\(``, ``\\[``, ``\\frac`` or another backslash command;
* **a figure is shown twice**: two ``<img>`` in the page have the same source
  or the same bytes;
* **plumbing is visible**: a code cell of the page's notebook that is shown
  (not tagged ``remove-cell``/``remove-input``) does nothing but glue numbers,
  assert or print a verdict (read from the ``.ipynb``: see ``plumbing_cells``);

and, as before, when math is not typeset (MathJax missing, an error, an
undefined macro), an image does not load or a local asset gives an HTTP error,
a cell output shows a traceback (cells tagged ``raises-exception`` exist to
show one), a Colab link is wrong or missing, a script throws, or anything is
requested from a host other than 127.0.0.1 (such requests are aborted, so the
check never reaches the network: a classroom without internet sees the same page).

It prints one line per page (the five reader counts first) and a summary,
saves a screenshot of the root page (default ``_build/screenshot-preface.png``,
beside the html folder), and exits 1 if any page fails, 2 if the check itself
cannot run.
"""

from __future__ import annotations

import argparse
import ast
import base64
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
SKIP_PAGES = {"search.html", "genindex.html", "py-modindex.html", "index.html"}
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_panels_static"}
LOCAL_HOSTS = {"127.0.0.1"}
PAGE_TIMEOUT_S = 30.0
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",  # CI containers often have a tiny /dev/shm
    # Belt and braces beside the request routing: every host but the local server fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# Uncaught script errors that are known and harmless. Jupyter Book 1 registers
# sphinx-thebe's inline config script twice, so its second `const THEBE_JS_URL`
# throws; the first already set the value, and thebe is off in _config.yml.
KNOWN_SCRIPT_ERRORS = (re.compile(r"Identifier 'THEBE_JS_URL' has already been declared"),)
VIEWPORT = {"width": 1280, "height": 900}
# Tags that take a cell's code off the page.
HIDING_TAGS = {"remove-cell", "remove-input"}


class CheckError(RuntimeError):
    """The check could not run (no browser, no pages, browser died)."""


# --------------------------------------------------------------------- pages
def pages_to_check(html_dir: Path) -> list[Path]:
    """Every built page, relative to ``html_dir``, without Sphinx's search/index pages and asset folders."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir)
        if rel.parts[0] in SKIP_DIRS or (len(rel.parts) == 1 and rel.name in SKIP_PAGES):
            continue
        pages.append(rel)
    return pages


def root_page(html_dir: Path) -> Path | None:
    """The page ``index.html`` redirects to (Jupyter Book's root chapter), if any."""
    index = html_dir / "index.html"
    if not index.is_file():
        return None
    m = re.search(r'url=([^"\'>\s]+)', index.read_text(errors="replace"))
    return Path(m.group(1)) if m else Path("index.html")


# --------------------------------------------------------------------- colab
@dataclass(frozen=True)
class Repository:
    owner: str
    name: str
    branch: str
    path_to_book: str


def read_repository(config_path: Path) -> Repository:
    """Owner, name, branch and book path from ``_config.yml``'s ``repository`` section."""
    import yaml  # PyYAML comes with jupyter-book, which built the pages being checked

    repo = (yaml.safe_load(config_path.read_text()) or {}).get("repository") or {}
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", str(repo.get("url", "")))
    if not m:
        raise CheckError(f"{config_path}: repository.url {repo.get('url')!r} is not https://github.com/OWNER/REPO")
    return Repository(m.group(1), m.group(2), str(repo.get("branch", "main")),
                      str(repo.get("path_to_book") or "").strip("/"))


def colab_problems(links: list[str], page: Path, repo: Repository, source_root: Path) -> list[str]:
    """What is wrong with a page's Colab links (empty when all is well).

    A page built from ``X.ipynb`` must link to exactly that notebook; any
    Colab link must name a notebook that exists in the repository.
    """
    problems = []
    pattern = re.compile(r"https://colab\.research\.google\.com/github/([^/]+)/([^/]+)/blob/([^/]+)/(.+\.ipynb)")
    book_dir = source_root / repo.path_to_book
    notebook = page.with_suffix(".ipynb")
    prefix = f"{repo.path_to_book}/" if repo.path_to_book else ""
    expected = (f"https://colab.research.google.com/github/{repo.owner}/{repo.name}/blob/"
                f"{repo.branch}/{prefix}{notebook.as_posix()}")
    for link in sorted(set(links)):
        m = pattern.fullmatch(link)
        if not m:
            problems.append(f"malformed Colab link {link}")
        elif (m.group(1), m.group(2), m.group(3)) != (repo.owner, repo.name, repo.branch):
            problems.append(f"Colab link {link} is not for {repo.owner}/{repo.name}@{repo.branch} (_config.yml)")
        elif not (source_root / m.group(4)).is_file():
            problems.append(f"Colab link {link} names {m.group(4)}, which is not in the repository")
    if (book_dir / notebook).is_file() and expected not in links:
        problems.append(f"no Colab link to {expected}")
    return problems


# --------------------------------------------------------------------- server
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def serve(html_dir: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Bind a server for ``html_dir`` on 127.0.0.1 (free port); start it with ``serve_forever``."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    return server, f"http://127.0.0.1:{server.server_address[1]}/"



# --------------------------------------------------------------------- plumbing
# Calls that only move a value into the prose or tell the reader a check passed.
_GLUE_CALLS = {"glue"}
_VERDICT_CALLS = {"print", "display"}


def _call_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        f = node.func
        return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
    return None


def _is_verdict(call: ast.Call) -> bool:
    """``print("all checks hold")``: fixed text only; a printed value (``f"{err:.1e}"``) is content."""
    return bool(call.args) and all(isinstance(a, ast.Constant) for a in call.args)


def _plumbing_kind(stmt: ast.stmt) -> str | None:
    """'glue', 'assert', 'verdict', 'quiet' (allowed beside them) or None (real content)."""
    if isinstance(stmt, ast.Assert):
        return "assert"
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass)):
        return "quiet"
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        name = _call_name(stmt.value)
        if name in _GLUE_CALLS:
            # Gluing a figure is how the page shows it: neither plumbing nor a reason to keep the cell.
            value = stmt.value.args[1] if len(stmt.value.args) > 1 else None
            return "quiet" if value is not None and "fig" in ast.unparse(value).lower() else "glue"
        if name in _VERDICT_CALLS and _is_verdict(stmt.value):
            return "verdict"
        return None
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        # Loading or computing what is glued shows the reader nothing by itself.
        return "quiet"
    if isinstance(stmt, ast.Raise):
        return "assert"
    if isinstance(stmt, (ast.For, ast.If, ast.With)):
        kinds = [_plumbing_kind(s) for s in [*stmt.body, *getattr(stmt, "orelse", [])]]
        if None in kinds:
            return None
        return next((k for k in kinds if k != "quiet"), "quiet")
    return None


def _statement_lines(stmt: ast.stmt, source_lines: list[str]) -> int:
    """Lines of code a statement spans (blank and comment lines inside it not counted)."""
    span = source_lines[stmt.lineno - 1:stmt.end_lineno]
    return sum(1 for ln in span if ln.strip() and not ln.lstrip().startswith("#"))


def is_plumbing(source: str) -> bool:
    """True when a code cell is mostly what a reader does not need: glue, asserts, verdict prints.

    A cell is plumbing when it shows nothing (only imports and assignments beside
    its glue/asserts), or when glue, asserts and verdict prints fill a third or
    more of its lines (a page of glue calls with one print at the end). Anything else
    that shows something (a value on its last line, a plot call, a print of a
    computed value) is content.
    """
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return False
    kinds = [_plumbing_kind(s) for s in tree.body]
    plumbing = [s for s, k in zip(tree.body, kinds) if k not in (None, "quiet")]
    if not plumbing:
        return False
    if None not in kinds:
        return True
    total = sum(_statement_lines(s, lines) for s in tree.body)
    return 3 * sum(_statement_lines(s, lines) for s in plumbing) >= total


def plumbing_cells(notebook: Path) -> list[int]:
    """Indices of the notebook's code cells that are shown on the page and are only plumbing."""
    cells = json.loads(notebook.read_text()).get("cells", [])
    found = []
    for i, cell in enumerate(cells):
        tags = set(cell.get("metadata", {}).get("tags", []))
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "code" and not tags & HIDING_TAGS and is_plumbing(source):
            found.append(i)
    return found


# --------------------------------------------------------------------- probe
# Runs after the load event: waits for MathJax and every image, opens every
# dropdown (a reader may), then measures the page.
PAGE_PROBE_JS = r"""
async () => {
  const mjScript = document.querySelector('script[src*="mathjax"], script[src*="MathJax"]');
  if (mjScript && window.MathJax && MathJax.startup) {
    for (let i = 0; i < 200 && !MathJax.startup.promise; i++)
      await new Promise(r => setTimeout(r, 50));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  }
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(img => { img.loading = 'eager'; return img.decode().catch(() => null); }));
  for (const d of document.querySelectorAll('details')) d.open = true;
  for (const el of document.querySelectorAll('.toggle-hidden')) el.classList.remove('toggle-hidden');
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));

  const article = document.querySelector('article') || document.querySelector('main, [role=main]') || document.body;
  const visible = el => el.getClientRects().length > 0;
  const colStyle = getComputedStyle(article);
  const colRight = article.getBoundingClientRect().right - parseFloat(colStyle.paddingRight || 0);
  const snippet = el => el.textContent.replace(/\s+/g, ' ').trim().slice(0, 80);

  // Display math: wider than its own box (clipped or scrolling) or past the column's right edge.
  const wideMath = [];
  for (const c of article.querySelectorAll('mjx-container[display]')) {
    if (!visible(c)) continue;
    const inner = c.querySelector('mjx-math') || c;
    const right = inner.getBoundingClientRect().right;
    if (c.scrollWidth > c.clientWidth + 1 || right > colRight + 1) {
      const tex = (window.MathJax && MathJax.startup && MathJax.startup.document) ?
        (Array.from(MathJax.startup.document.math).find(m => m.typesetRoot === c) || {}).math : null;
      wideMath.push({px: Math.round(Math.max(c.scrollWidth - c.clientWidth, right - colRight)),
                     tex: (tex || snippet(c)).replace(/\s+/g, ' ').trim().slice(0, 80)});
    }
  }

  // Code and output blocks that scroll sideways, and how many of their lines do not fit.
  const canvas = document.createElement('canvas').getContext('2d');
  const wideCode = [];
  let codeLines = 0, hiddenLines = 0;
  for (const pre of article.querySelectorAll('pre')) {
    if (!visible(pre)) continue;
    const st = getComputedStyle(pre);
    canvas.font = `${st.fontStyle} ${st.fontWeight} ${st.fontSize} ${st.fontFamily}`;
    const room = pre.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight);
    const lines = pre.textContent.replace(/\n$/, '').split('\n');
    codeLines += lines.length;
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const cut = lines.filter(l => canvas.measureText(l).width > room + 1);
      hiddenLines += cut.length;
      wideCode.push({lines: cut.length, sample: (cut[0] || lines[0]).trim().slice(0, 80)});
    }
  }

  // Raw TeX in text nodes outside math output and code.
  const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'MJX-CONTAINER', 'KBD', 'SAMP']);
  const RAW_TEX = /\$|\\[()\[\]]|\\[A-Za-z]{2,}|\\[{}_^]/;
  const rawTex = [];
  const walk = node => {
    if (node.nodeType === Node.TEXT_NODE) {
      if (RAW_TEX.test(node.textContent)) {
        const t = node.textContent, i = t.search(RAW_TEX);
        rawTex.push(t.slice(Math.max(0, i - 40), i + 40).replace(/\s+/g, ' ').trim());
      }
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE || skip.has(node.tagName)) return;
    // .sig: a signature the API appendix documents (code: a default may be a TeX string)
    if (node.matches('.highlight, .cell_input, .output.text_plain, .output.stream, .headerlink, .sig')) return;
    for (const child of node.childNodes) walk(child);
  };
  walk(article);

  const mathEls = Array.from(document.querySelectorAll('.math'));
  const mjDoc = window.MathJax && MathJax.startup && MathJax.startup.document;
  const mathml = (mjDoc && mjDoc.math) ? Array.from(mjDoc.math).map(item => MathJax.startup.toMML(item.root)) : [];
  const lastLine = el => ((el.querySelector('pre') || el).textContent.trim().split('\n').pop() || '').slice(0, 200);
  const tbEls = Array.from(document.querySelectorAll('.output.traceback, .output.error, [class*="ipythontb"]'))
    .filter(el => !el.closest('.tag_raises-exception'));
  const tracebacks = tbEls.map(lastLine);
  for (const out of document.querySelectorAll('.cell_output')) {
    if (!out.closest('.tag_raises-exception') && !tbEls.some(el => out.contains(el))
        && out.textContent.includes('Traceback (most recent call last)'))
      tracebacks.push(lastLine(out));
  }
  return {
    title: document.title,
    mathjax_loaded: !!(window.MathJax && MathJax.startup),
    math_elements: mathEls.length,
    math_untypeset: mathEls.filter(el => !el.querySelector('mjx-container') && el.tagName !== 'MJX-CONTAINER')
                           .map(el => el.textContent.trim().slice(0, 80)),
    mjx_containers: document.querySelectorAll('mjx-container').length,
    mathjax_errors: Array.from(document.querySelectorAll('mjx-merror'))
                         .map(el => (el.getAttribute('data-mjx-error') || el.textContent).slice(0, 120)),
    // MathJax's noundefined extension shows an unknown macro as red text instead of failing.
    // Read it from MathJax's own MathML: CHTML draws glyphs with CSS, so the DOM has no text.
    undefined_macros: mathml.flatMap(m => Array.from(m.matchAll(/<mtext mathcolor="red">([^<]*)<\/mtext>/g), x => x[1])),
    column_px: Math.round(colRight - article.getBoundingClientRect().left - parseFloat(colStyle.paddingLeft || 0)),
    wide_math: wideMath,
    wide_code: wideCode,
    code_lines: codeLines,
    hidden_code_lines: hiddenLines,
    raw_tex: rawTex,
    images: imgs.length,
    article_images: Array.from(article.querySelectorAll('img')).map(i => i.currentSrc || i.src),
    broken_images: imgs.filter(i => !i.complete || i.naturalWidth === 0)
                       .map(i => (i.getAttribute('src') || '').slice(0, 120)),
    tracebacks: tracebacks,
    expected_errors: document.querySelectorAll('.tag_raises-exception').length,
    stderr_outputs: document.querySelectorAll('.output.stderr').length,
    colab_links: Array.from(document.querySelectorAll('a[href*="colab.research.google.com"]')).map(a => a.href),
  };
}
"""


def image_key(src: str, html_dir: Path, base_url: str) -> str:
    """What makes two images the same figure: their bytes where they can be read, else their source."""
    if src.startswith("data:"):
        head, _, payload = src.partition(",")
        data = base64.b64decode(payload) if head.endswith(";base64") else unquote(payload).encode()
        return hashlib.sha256(data).hexdigest()
    if src.startswith(base_url):
        path = html_dir / unquote(urlsplit(src).path).lstrip("/")
        if path.is_file():
            return hashlib.sha256(path.read_bytes()).hexdigest()
    return src


def repeated_images(srcs: list[str], html_dir: Path, base_url: str) -> list[str]:
    """The images of a page beyond the first of each figure (same source or same bytes)."""
    seen: set[str] = set()
    repeats = []
    for src in srcs:
        key = image_key(src, html_dir, base_url)
        if key in seen:
            repeats.append(src.rsplit("/", 1)[-1][:60])
        seen.add(key)
    return repeats


@dataclass
class PageReport:
    page: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        status = "ok  " if self.ok else "FAIL"
        c = self.counts
        counts = (f"[math {c.get('wide_math', 0)} / code {c.get('wide_code', 0)} / tex {c.get('raw_tex', 0)} / "
                  f"img {c.get('repeated_images', 0)} / plumbing {c.get('plumbing_cells', 0)}] ") if c else ""
        detail = "; ".join(self.problems) if self.problems else ", ".join(self.notes)
        return f"{status} {self.page.as_posix()}: {counts}{detail}"


def judge_probe(probe: dict, page: Path, repo: Repository, source_root: Path,
                repeats: list[str] | None = None) -> PageReport:
    """Turn what the page reported into counts, problems (failures) and notes (what was seen)."""
    report = PageReport(page)
    p = report.problems
    repeats = repeats or []
    notebook = source_root / repo.path_to_book / page.with_suffix(".ipynb")
    plumbing = plumbing_cells(notebook) if notebook.is_file() else []
    report.counts = {"wide_math": len(probe["wide_math"]), "wide_code": len(probe["wide_code"]),
                     "hidden_code_lines": probe["hidden_code_lines"], "raw_tex": len(probe["raw_tex"]),
                     "repeated_images": len(repeats), "plumbing_cells": len(plumbing)}
    if probe["wide_math"]:
        w = probe["wide_math"][0]
        p.append(f"{len(probe['wide_math'])} display equations wider than the column "
                 f"({probe['column_px']} px), e.g. {w['px']} px over: {w['tex']!r}")
    if probe["wide_code"]:
        p.append(f"{len(probe['wide_code'])} code blocks scroll sideways ({probe['hidden_code_lines']} lines cut), "
                 f"e.g. {probe['wide_code'][0]['sample']!r}")
    if probe["raw_tex"]:
        p.append(f"{len(probe['raw_tex'])} text nodes with raw TeX, e.g. {probe['raw_tex'][0]!r}")
    if repeats:
        p.append(f"{len(repeats)} images shown twice: {repeats[:3]}")
    if plumbing:
        p.append(f"{len(plumbing)} visible cells only glue/assert/print a verdict: cells {plumbing[:8]} of "
                 f"{notebook.name} (tag them remove-input/remove-cell)")
    if probe["math_elements"] and not probe["mathjax_loaded"]:
        p.append(f"{probe['math_elements']} math elements but MathJax did not load")
    if probe["math_untypeset"]:
        p.append(f"{len(probe['math_untypeset'])} math elements not typeset, e.g. {probe['math_untypeset'][0]!r}")
    if probe["mathjax_errors"]:
        p.append(f"MathJax errors: {probe['mathjax_errors'][:3]}")
    if probe["undefined_macros"]:
        p.append(f"undefined TeX macros (shown in red): {sorted(set(probe['undefined_macros']))[:5]}")
    if probe["broken_images"]:
        p.append(f"{len(probe['broken_images'])} images did not load: {probe['broken_images'][:3]}")
    if probe["tracebacks"]:
        p.append(f"{len(probe['tracebacks'])} cell outputs show a traceback: {probe['tracebacks'][:2]}")
    p.extend(colab_problems(probe["colab_links"], page, repo, source_root))
    report.notes = [f"math {probe['mjx_containers']} typeset", f"{probe['images']} img",
                    f"{probe['code_lines']} code lines", f"colab {'ok' if probe['colab_links'] else '-'}"]
    if probe["expected_errors"]:
        report.notes.append(f"{probe['expected_errors']} expected error cells")
    if probe["stderr_outputs"]:
        # shown, not failed: a warning in an output is the author's call, but worth seeing
        report.notes.append(f"{probe['stderr_outputs']} stderr outputs")
    return report


# --------------------------------------------------------------------- browser
class PageLog:
    """What one page load asked the network for and what went wrong there."""

    def __init__(self) -> None:
        self.requests = 0
        self.remote: set[str] = set()
        self.problems: list[str] = []

    def on_request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about", "chrome", "devtools"):
            return
        self.requests += 1
        if parts.hostname not in LOCAL_HOSTS:
            self.remote.add(request.url)

    def on_response(self, response: Any) -> None:
        parts = urlsplit(response.url)
        # Chromium asks for /favicon.ico on its own; a missing one is not the page's fault.
        if response.status >= 400 and parts.hostname in LOCAL_HOSTS and parts.path != "/favicon.ico":
            self.problems.append(f"HTTP {response.status} for {parts.path}")

    def on_request_failed(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.hostname in LOCAL_HOSTS and parts.path != "/favicon.ico":
            self.problems.append(f"failed to load {parts.path} ({request.failure})")

    def on_page_error(self, error: Any) -> None:
        text = f"{getattr(error, 'name', '') or 'Error'}: {getattr(error, 'message', error)}"
        first_line = text.splitlines()[0][:150]
        if not any(known.search(first_line) for known in KNOWN_SCRIPT_ERRORS):
            self.problems.append(f"script error: {first_line}")

    def results(self) -> list[str]:
        out = list(self.problems)
        if self.remote:
            out.append(f"needs {len(self.remote)} remote resources (offline use breaks): {sorted(self.remote)[:3]}")
        return out


def _route(route: Any) -> None:
    # Only the local server is reached; the page is judged as an offline reader sees it.
    if urlsplit(route.request.url).hostname in LOCAL_HOSTS or route.request.url.startswith("data:"):
        route.continue_()
    else:
        route.abort("internetdisconnected")


def check_page(page_obj: Any, base_url: str, html_dir: Path, page: Path, repo: Repository,
               source_root: Path) -> PageReport:
    """Load one page in the Playwright page ``page_obj`` and judge it."""
    log = PageLog()
    handlers = {"request": log.on_request, "response": log.on_response,
                "requestfailed": log.on_request_failed, "pageerror": log.on_page_error}
    for event, handler in handlers.items():
        page_obj.on(event, handler)
    try:
        page_obj.goto(base_url + page.as_posix(), wait_until="load", timeout=PAGE_TIMEOUT_S * 1000)
        probe = page_obj.evaluate(PAGE_PROBE_JS)
        # A short pause lets late requests (fonts MathJax asks for) show up in the log.
        page_obj.wait_for_timeout(100)
    except Exception as exc:  # Playwright's TimeoutError and Error: the page, not the check, failed
        raise CheckError(f"could not load {page}: {str(exc).splitlines()[0]}") from exc
    finally:
        for event, handler in handlers.items():
            page_obj.remove_listener(event, handler)
    report = judge_probe(probe, page, repo, source_root,
                         repeated_images(probe["article_images"], html_dir, base_url))
    net = log.results()
    report.problems.extend(net)
    report.notes.append(f"{log.requests} requests, all local" if not net else f"{log.requests} requests")
    return report


def check_site(html_dir: Path, config_path: Path, chromium: str,
               screenshot_path: Path | None = None, log=print) -> list[PageReport]:
    """Check every page of ``html_dir``; return one report per page."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    repo = read_repository(config_path)
    source_root = config_path.parent
    pages = pages_to_check(html_dir)
    if not pages:
        raise CheckError(f"no pages to check under {html_dir}")
    server, base_url = serve(html_dir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    reports = []
    try:
        with sync_playwright() as pw:
            try:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            except PlaywrightError as exc:
                raise CheckError(f"chromium at {chromium} did not start: {str(exc).splitlines()[0]}") from exc
            # Routing also turns off the HTTP cache, so every asset request is seen.
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
            context.route("**/*", _route)
            tab = context.new_page()
            for page in pages:
                try:
                    report = check_page(tab, base_url, html_dir, page, repo, source_root)
                except CheckError as exc:
                    report = PageReport(page, problems=[str(exc)])
                reports.append(report)
                log(report.line())
            root = root_page(html_dir)
            if screenshot_path is not None and root is not None and (html_dir / root).is_file():
                tab.goto(base_url + root.as_posix(), wait_until="load")
                tab.evaluate(PAGE_PROBE_JS)
                screenshot_path.parent.mkdir(parents=True, exist_ok=True)
                tab.screenshot(path=str(screenshot_path))
                log(f"screenshot of {root.as_posix()}: {screenshot_path}")
            elif screenshot_path is not None:
                why = "there is no index.html" if root is None else f"index.html redirects to missing {root}"
                reports.append(PageReport(Path("index.html"), problems=[f"no root page to screenshot: {why}"]))
                log(reports[-1].line())
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return reports


def summary(reports: list[PageReport]) -> str:
    """The five reader counts summed over the site."""
    total = {k: sum(r.counts.get(k, 0) for r in reports)
             for k in ("wide_math", "wide_code", "hidden_code_lines", "raw_tex", "repeated_images", "plumbing_cells")}
    return (f"display math cut {total['wide_math']} / code blocks cut {total['wide_code']} "
            f"({total['hidden_code_lines']} lines) / raw TeX {total['raw_tex']} / "
            f"repeated images {total['repeated_images']} / plumbing cells {total['plumbing_cells']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html_dir", type=Path, help="the built site, e.g. _build/html")
    ap.add_argument("--config", type=Path, default=REPO_ROOT / "_config.yml",
                    help="the book's _config.yml (repository for Colab links); default: this repository's")
    ap.add_argument("--screenshot", type=Path, default=None,
                    help="PNG of the root page; default: screenshot-preface.png beside the html folder")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = ap.parse_args(argv)
    html_dir = args.html_dir.resolve()
    shot = args.screenshot or html_dir.parent / "screenshot-preface.png"
    if not html_dir.is_dir():
        print(f"check_html: {html_dir} does not exist; build the book first (make book)", file=sys.stderr)
        return 2
    chromium = shutil.which(args.chromium) or args.chromium
    if not Path(chromium).is_file():
        print(f"check_html: no browser at {args.chromium}; install Debian's chromium "
              f"(apt-get install chromium) or pass --chromium", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        reports = check_site(html_dir, args.config.resolve(), chromium, shot)
    except CheckError as exc:
        print(f"check_html: could not run the check: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in reports if not r.ok]
    print(f"check_html: {summary(reports)}")
    print(f"check_html: {len(reports)} pages checked in {time.monotonic() - start:.1f} s: "
          f"{len(reports) - len(failed)} ok, {len(failed)} failed")
    if failed:
        print("check_html: FAILED: " + ", ".join(r.page.as_posix() for r in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
