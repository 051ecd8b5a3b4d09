#!/usr/bin/env python3
"""Open every page of the built book in headless Chromium and check that it renders offline.

    python scripts/check_html.py _build/html [--screenshot PATH] [--chromium PATH]

The folder is served on 127.0.0.1 (a random free port) and Debian's
``chromium`` is driven through the Chrome DevTools Protocol over a pipe
(``--remote-debugging-pipe``), so only the standard library is needed. For
every page (all ``.html`` but search, genindex and Sphinx's own folders) it
checks that

* math is typeset: every ``.math`` element holds MathJax output, MathJax
  reported no error and met no undefined macro, and no raw ``$$``, ``$\\``,
  ``\\(``, ``\\[`` or ``$x$`` is left in the visible text (code blocks aside);
* every ``<img>`` loaded (``naturalWidth > 0``) and no local asset gave an
  HTTP error;
* no cell output shows a traceback (cells tagged ``raises-exception`` exist to
  show one and are exempt);
* every Colab link is ``https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/<path>.ipynb``
  for the repository and branch of ``_config.yml``, and names a notebook that
  exists; a page built from a notebook has one;
* no script throws an uncaught error (``KNOWN_SCRIPT_ERRORS`` aside);
* nothing was requested from a host other than 127.0.0.1: a classroom
  without internet sees the same page. Chromium's resolver is told to fail
  every other host, so the check never reaches the network either.

It prints one line per page and a summary, saves a screenshot of the root
page (default ``_build/screenshot-preface.png``, beside the html folder), and
exits 1 if any page fails, 2 if the check itself cannot run.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import functools
import http.server
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
SKIP_PAGES = {"search.html", "genindex.html", "py-modindex.html", "index.html"}
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_panels_static"}
LOCAL_HOSTS = {"127.0.0.1"}
PAGE_TIMEOUT_S = 30.0
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
    "--disable-dev-shm-usage",  # CI containers often have a tiny /dev/shm
    # Fail every host but the local server: the page must render without them,
    # and a check run on a networked CI machine still never leaves it.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-pipe",
]
# Uncaught script errors that are known and harmless. Jupyter Book 1 registers
# sphinx-thebe's inline config script twice, so its second `const THEBE_JS_URL`
# throws; the first already set the value, and thebe is off in _config.yml.
KNOWN_SCRIPT_ERRORS = (re.compile(r"Identifier 'THEBE_JS_URL' has already been declared"),)
VIEWPORT = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}


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


# --------------------------------------------------------------------- CDP
class Browser:
    """Chromium driven over the DevTools pipe: NUL-separated JSON on fds 3 (in) and 4 (out)."""

    def __init__(self, chromium: str):
        self.profile = tempfile.mkdtemp(prefix="bn-check-html-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_pipes() -> None:  # runs in the child before exec
            # Move both ends above 4 first, so neither dup2 can clobber the other.
            high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        # Chromium's log goes to a file: a pipe nobody reads could fill and stall it.
        self._log = open(Path(self.profile) / "chromium.log", "w+b")
        self.proc = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            # close_fds runs after preexec_fn, so 3 and 4 must be listed to survive. They are
            # open in this process too (four pipe fds were just made, lowest numbers first),
            # which subprocess requires of pass_fds.
            preexec_fn=wire_pipes, pass_fds=(3, 4),
            start_new_session=True,  # its own process group, so a hung browser can be killed whole
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except CheckError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    self._log.seek(0)
                    err = self._log.read().decode(errors="replace")[-2000:]
                    raise CheckError(f"chromium exited (code {self.proc.wait(5)}): {err}")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = PAGE_TIMEOUT_S) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._to_child, data):]
        except OSError as exc:
            raise CheckError(f"chromium is gone ({exc}); cannot send {method}") from exc
        deadline = time.monotonic() + timeout
        while True:
            try:
                reply = self._read_message(deadline)
            except TimeoutError:
                raise CheckError(f"no answer to {method} within {timeout:.0f} s") from None
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CheckError(f"{method} failed: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for_event(self, method: str, session: str, timeout: float = PAGE_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["method"] == method and ev.get("sessionId") == session:
                    return self.events.pop(i)
            try:
                ev = self._read_message(deadline)
            except TimeoutError:
                raise CheckError(f"{method} did not arrive within {timeout:.0f} s") from None
            if "method" in ev:
                self.events.append(ev)

    def evaluate(self, expression: str, session: str) -> Any:
        """Evaluate JavaScript in the page (awaiting a promise) and return its JSON value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, session)
        if "exceptionDetails" in result:
            raise CheckError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")


# Waits for MathJax (if the page loads it) to finish typesetting and for every
# image (lazy ones included) to load or fail, then reports what the checks need.
PAGE_PROBE_JS = r"""
(async () => {
  const mjScript = document.querySelector('script[src*="mathjax"], script[src*="MathJax"]');
  // This runs after the load event, so a deferred MathJax has run or failed: without
  // MathJax.startup (the inline config alone is a plain object) there is nothing to wait for.
  if (mjScript && window.MathJax && MathJax.startup) {
    for (let i = 0; i < 200 && !MathJax.startup.promise; i++)
      await new Promise(r => setTimeout(r, 50));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  }
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(img => { img.loading = 'eager'; return img.decode().catch(() => null); }));
  const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'MJX-CONTAINER']);
  const article = document.querySelector('article, main, [role=main]') || document.body;
  let text = '';
  const walk = node => {
    if (node.nodeType === Node.TEXT_NODE) { text += node.textContent + ' '; return; }
    if (node.nodeType !== Node.ELEMENT_NODE || skip.has(node.tagName)) return;
    if (node.matches('.highlight, .cell_input, .output.text_plain, .output.stream')) return;
    for (const child of node.childNodes) walk(child);
  };
  walk(article);
  // $$, $\, \( or \[ anywhere, or $...$ hugging non-space text ("$x^2$" but not "$5 or $10").
  const RAW_TEX = /\$\$|\$\\|\\\(|\\\[|\$[^$\s](?:[^$]{0,80}[^$\s])?\$/g;
  const mathEls = Array.from(document.querySelectorAll('.math'));
  const mjDoc = window.MathJax && MathJax.startup && MathJax.startup.document;
  const mathml = (mjDoc && mjDoc.math) ? Array.from(mjDoc.math).map(item => MathJax.startup.toMML(item.root)) : [];
  // The last line of a traceback names the exception; that is what the report shows.
  const lastLine = el => ((el.querySelector('pre') || el).textContent.trim().split('\n').pop() || '').slice(0, 200);
  const tbEls = Array.from(document.querySelectorAll('.output.traceback, .output.error, [class*="ipythontb"]'))
    .filter(el => !el.closest('.tag_raises-exception'));
  const tracebacks = tbEls.map(lastLine);
  for (const out of document.querySelectorAll('.cell_output')) {
    if (!out.closest('.tag_raises-exception') && !tbEls.some(el => out.contains(el))
        && out.textContent.includes('Traceback (most recent call last)'))
      tracebacks.push(lastLine(out));
  }
  const expectedErrors = document.querySelectorAll('.tag_raises-exception').length;
  const stderrOutputs = document.querySelectorAll('.output.stderr').length;
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
    raw_tex: (text.match(RAW_TEX) || []).length,
    raw_tex_sample: (text.match(new RegExp('.{0,40}(' + RAW_TEX.source + ').{0,40}')) || [''])[0],
    images: imgs.length,
    broken_images: imgs.filter(i => !i.complete || i.naturalWidth === 0)
                       .map(i => (i.getAttribute('src') || '').slice(0, 120)),
    tracebacks: tracebacks,
    expected_errors: expectedErrors,
    stderr_outputs: stderrOutputs,
    colab_links: Array.from(document.querySelectorAll('a[href*="colab.research.google.com"]')).map(a => a.href),
  };
})()
"""


@dataclass
class PageReport:
    page: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        status = "ok  " if self.ok else "FAIL"
        detail = "; ".join(self.problems) if self.problems else ", ".join(self.notes)
        return f"{status} {self.page.as_posix()}: {detail}"


def judge_probe(probe: dict, page: Path, repo: Repository, source_root: Path) -> PageReport:
    """Turn what the page reported into problems (failures) and notes (what was seen)."""
    report = PageReport(page)
    p = report.problems
    if probe["math_elements"] and not probe["mathjax_loaded"]:
        p.append(f"{probe['math_elements']} math elements but MathJax did not load")
    if probe["math_untypeset"]:
        p.append(f"{len(probe['math_untypeset'])} math elements not typeset, e.g. {probe['math_untypeset'][0]!r}")
    if probe["mathjax_errors"]:
        p.append(f"MathJax errors: {probe['mathjax_errors'][:3]}")
    if probe["undefined_macros"]:
        p.append(f"undefined TeX macros (shown in red): {sorted(set(probe['undefined_macros']))[:5]}")
    if probe["raw_tex"]:
        p.append(f"{probe['raw_tex']} raw TeX delimiters in the text, e.g. {probe['raw_tex_sample'].strip()!r}")
    if probe["broken_images"]:
        p.append(f"{len(probe['broken_images'])} images did not load: {probe['broken_images'][:3]}")
    if probe["tracebacks"]:
        p.append(f"{len(probe['tracebacks'])} cell outputs show a traceback: {probe['tracebacks'][:2]}")
    p.extend(colab_problems(probe["colab_links"], page, repo, source_root))
    report.notes = [f"math {probe['mjx_containers']} typeset", f"{probe['images']} img",
                    f"colab {'ok' if probe['colab_links'] else '-'}"]
    if probe["expected_errors"]:
        report.notes.append(f"{probe['expected_errors']} expected error cells")
    if probe["stderr_outputs"]:
        # shown, not failed: a warning in an output is the author's call, but worth seeing
        report.notes.append(f"{probe['stderr_outputs']} stderr outputs")
    return report


def load_problems(events: list[dict], session: str) -> tuple[list[str], int]:
    """Requests to other hosts, local requests that failed, uncaught script errors; plus the number of requests."""
    problems, remote, requests = [], set(), 0
    urls: dict[str, str] = {}
    for ev in events:
        if ev.get("sessionId") != session:
            continue
        params = ev.get("params", {})
        if ev["method"] == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about", "chrome", "devtools"):
                continue
            requests += 1
            if parts.hostname not in LOCAL_HOSTS:
                remote.add(url)
        elif ev["method"] == "Network.responseReceived":
            status = params["response"]["status"]
            # Chromium asks for /favicon.ico on its own; a missing one is not the page's fault.
            path = urlsplit(params["response"]["url"]).path
            if status >= 400 and urlsplit(params["response"]["url"]).hostname in LOCAL_HOSTS \
                    and path != "/favicon.ico":
                problems.append(f"HTTP {status} for {urlsplit(params['response']['url']).path}")
        elif ev["method"] == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = (details.get("exception") or {}).get("description") or details.get("text", "")
            first_line = text.splitlines()[0][:150] if text else "?"
            if not any(known.search(first_line) for known in KNOWN_SCRIPT_ERRORS):
                problems.append(f"script error: {first_line}")
        elif ev["method"] == "Network.loadingFailed" and not params.get("canceled"):
            url = urls.get(params["requestId"], "?")
            if urlsplit(url).hostname in LOCAL_HOSTS:
                problems.append(f"failed to load {urlsplit(url).path} ({params.get('errorText')})")
    if remote:
        problems.append(f"needs {len(remote)} remote resources (offline use breaks): {sorted(remote)[:3]}")
    return problems, requests


def check_page(browser: Browser, session: str, base_url: str, page: Path, repo: Repository,
               source_root: Path) -> PageReport:
    """Load one page in the tab ``session`` and judge it."""
    browser.events.clear()
    browser.send("Page.navigate", {"url": base_url + page.as_posix()}, session)
    browser.wait_for_event("Page.loadEventFired", session)
    probe = browser.evaluate(PAGE_PROBE_JS, session)
    report = judge_probe(probe, page, repo, source_root)
    # A short pause lets late requests (fonts MathJax asks for) show up in the log.
    browser.send("Runtime.evaluate", {"expression": "new Promise(r => setTimeout(r, 100))",
                                      "awaitPromise": True}, session)
    net, requests = load_problems(browser.events, session)
    report.problems.extend(net)
    report.notes.append(f"{requests} requests, all local" if not net else f"{requests} requests")
    return report


def screenshot(browser: Browser, session: str, base_url: str, page: Path, out: Path) -> None:
    """Save a PNG of ``page`` as a reader first sees it (1280 x 900, math typeset)."""
    browser.events.clear()
    browser.send("Page.navigate", {"url": base_url + page.as_posix()}, session)
    browser.wait_for_event("Page.loadEventFired", session)
    browser.evaluate(PAGE_PROBE_JS, session)
    data = browser.send("Page.captureScreenshot", {"format": "png"}, session)["data"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(data))


def open_tab(browser: Browser) -> str:
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for method in ("Page.enable", "Network.enable", "Runtime.enable"):
        browser.send(method, {}, session)
    browser.send("Emulation.setDeviceMetricsOverride", VIEWPORT, session)
    # The HTTP cache would hide repeated asset requests from the network log.
    browser.send("Network.setCacheDisabled", {"cacheDisabled": True}, session)
    return session


def check_site(html_dir: Path, config_path: Path, chromium: str,
               screenshot_path: Path | None = None, log=print) -> list[PageReport]:
    """Check every page of ``html_dir``; return one report per page."""
    repo = read_repository(config_path)
    source_root = config_path.parent
    pages = pages_to_check(html_dir)
    if not pages:
        raise CheckError(f"no pages to check under {html_dir}")
    server, base_url = serve(html_dir)
    browser = Browser(chromium)  # started before the server thread: preexec_fn wants no threads
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    reports = []
    try:
        session = open_tab(browser)
        for page in pages:
            try:
                report = check_page(browser, session, base_url, page, repo, source_root)
            except CheckError as exc:
                report = PageReport(page, problems=[str(exc)])
            reports.append(report)
            log(report.line())
        root = root_page(html_dir)
        if screenshot_path is not None and root is not None and (html_dir / root).is_file():
            screenshot(browser, session, base_url, root, screenshot_path)
            log(f"screenshot of {root.as_posix()}: {screenshot_path}")
        elif screenshot_path is not None:
            why = "there is no index.html" if root is None else f"index.html redirects to missing {root}"
            reports.append(PageReport(Path("index.html"), problems=[f"no root page to screenshot: {why}"]))
            log(reports[-1].line())
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    return reports


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
    if not (shutil.which(args.chromium) or Path(args.chromium).is_file()):
        print(f"check_html: no browser at {args.chromium}; install Debian's chromium "
              f"(apt-get install chromium) or pass --chromium", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        reports = check_site(html_dir, args.config.resolve(), args.chromium, shot)
    except CheckError as exc:
        print(f"check_html: could not run the check: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in reports if not r.ok]
    print(f"check_html: {len(reports)} pages checked in {time.monotonic() - start:.1f} s: "
          f"{len(reports) - len(failed)} ok, {len(failed)} failed")
    if failed:
        print("check_html: FAILED: " + ", ".join(r.page.as_posix() for r in failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
