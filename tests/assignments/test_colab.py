"""A chapter and an assignment run the way Colab runs them, so that their setup cell's clone and
install are executed, not only read (tests/test_notebook_setup.py reads them).

Colab is stood in for by:

* a fresh virtual environment with what Colab preinstalls and the book's notebooks use (NumPy,
  torch's CPU build, matplotlib, SymPy, pandas, nbconvert, PyYAML, ipykernel; no ``bn``, no
  otter-grader, no Jupyter Book), whose kernel imports a stand-in ``google.colab`` module at
  start-up, as Colab's does;
* the repository URL of _config.yml redirected by git's ``url.<base>.insteadOf`` to a local
  repository holding this working tree (committed to its own ``main``), so that ``git clone``
  in the setup cell fetches what is being tested, without network;
* ``/content``, Colab's working folder, moved into the test's temporary folder (the only edit
  made to the notebooks), so that two runs never share a clone.

The environment's packages come from the package index as on Colab (torch from the pinned CPU
wheel; an unpinned torch would be the multi-GB CUDA build). About two to four minutes: slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[2]
nbtools = load_script("nbtools")
assignments = load_script("assignments")

# A chapter that reads committed results only (no training, no SymPy proofs): quick on a fresh kernel.
CHAPTER = ROOT / "book" / "implementation" / "05_speed.ipynb"
ASSIGNMENT = "01_forward"
# What Colab has before any setup cell runs (its images preinstall these and much more).
COLAB_PACKAGES = ["numpy", "matplotlib", "sympy", "tqdm", "threadpoolctl", "pandas", "nbconvert",
                  "pyyaml", "ipykernel", "torch==2.13.0"]
STANDIN = '"""Stand-in for Colab\'s google.colab: the setup cells only ask whether it is imported."""\n'


def _run(cmd: list[str], **kw) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"


def _local_repository(tmp: Path) -> Path:
    """A repository at ``tmp/origin`` whose ``main`` is this working tree (tracked files and new
    ones git does not ignore), committed without touching this checkout's own repository."""
    origin = tmp / "origin"
    _run(["git", "init", "--quiet", "--initial-branch=main", str(origin)])
    git = ["git", f"--git-dir={origin / '.git'}", f"--work-tree={ROOT}"]
    _run(git + ["add", "--all", "."], cwd=ROOT)
    _run(git + ["-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "--quiet",
                "-m", "working tree under test"], cwd=ROOT)
    return origin


def _colab_environment(tmp: Path) -> Path:
    """The fresh venv with Colab's preinstalled packages and the google.colab stand-in; its python."""
    venv = tmp / "colab-venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", *COLAB_PACKAGES,
          "-c", str(ROOT / "constraints.txt")])
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text(STANDIN)
    # A .pth line starting with "import" runs at interpreter start-up: the kernel starts with
    # google.colab in sys.modules, as Colab's does.
    (site / "google_colab_standin.pth").write_text("import google.colab\n")
    return python


def _kernel(tmp: Path, python: Path, origin: Path) -> str:
    """A kernelspec running ``python`` with the repository URL redirected to ``origin``."""
    url, _ = nbtools.repository()
    spec = tmp / "jupyter" / "kernels" / "colab-standin"
    spec.mkdir(parents=True)
    env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.file://{origin}.insteadOf",
           "GIT_CONFIG_VALUE_0": url, "PATH": f"{python.parent}:{os.environ['PATH']}"}
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab stand-in", "language": "python", "env": env}))
    return "colab-standin"


def _as_on_colab(nb: nbformat.NotebookNode, content: Path) -> nbformat.NotebookNode:
    """``nb`` with Colab's /content moved to ``content`` in its setup cell (nothing else changes)."""
    setup = [c for c in nb.cells if nbtools.SETUP_TAG in c.metadata.get("tags", [])]
    assert len(setup) == 1 and "/content/" in setup[0].source
    setup[0].source = setup[0].source.replace("/content/", f"{content}/")
    # One cell more at the end: where the kernel found bn.
    nb.cells.append(nbformat.v4.new_code_cell("import bn\nprint('bn from', bn.__file__)"))
    return nb


def _execute(nb: nbformat.NotebookNode, kernel: str, cwd: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    NotebookClient(nb, kernel_name=kernel, timeout=900, resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def _text(cell: nbformat.NotebookNode) -> str:
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", "") if o.get("output_type") == "stream"
                   else o.get("data", {}).get("text/plain", ""))
    return "".join(out)


@pytest.mark.slow
def test_a_chapter_and_an_assignment_run_as_on_colab(tmp_path, monkeypatch):
    origin = _local_repository(tmp_path)
    python = _colab_environment(tmp_path)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    kernel = _kernel(tmp_path, python, origin)
    probe = subprocess.run([str(python), "-c", "import bn"], capture_output=True, cwd=tmp_path)
    assert probe.returncode != 0, "bn is importable before the setup cell: not a fresh environment"

    # The chapter: its setup cell clones, installs bn and moves to the chapter's folder.
    content = tmp_path / "content-chapter"
    content.mkdir()
    chapter = _execute(_as_on_colab(nbformat.read(CHAPTER, as_version=4), content), kernel, content)
    assert (content / "bn-book" / CHAPTER.relative_to(ROOT)).is_file(), "no clone"
    where = _text(chapter.cells[-1])
    assert "bn from" in where and str(python.parent.parent) in where, f"bn not installed in the venv: {where}"

    # The assignment (its solution, so that every public test can pass): the setup cell also
    # installs otter-grader and builds the public tests in the clone.
    # Built into the test's own folder: the grading tests may be using _build/assignments.
    built = tmp_path / "built" / ASSIGNMENT
    assignments.build(ASSIGNMENT, run_tests=False, out=built)
    solution = built / "autograder" / f"{ASSIGNMENT}.ipynb"
    content = tmp_path / "content-assignment"
    content.mkdir()
    done = _execute(_as_on_colab(nbformat.read(solution, as_version=4), content), kernel, content)
    assert (content / "bn-book" / "_build" / "assignments" / ASSIGNMENT / "student" / "tests").is_dir()
    checks = [c for c in done.cells if c.cell_type == "code" and c.source.startswith("grader.check(")]
    assert checks, "no grader.check cell ran"
    for cell in checks:
        text = _text(cell)
        assert "passed" in text and "failed" not in text, f"{cell.source}: {text}"
