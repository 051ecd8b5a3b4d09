"""Notebook chores for authors.

  python scripts/nbtools.py new book/derivations/01_transform.ipynb "The transform"
      create a chapter notebook that starts with the Colab setup cell and a title
  python scripts/nbtools.py sync
      (re)write the Colab setup cell of every notebook under book/ and of every assignment's
      master notebook (assignments/NAME/NAME.ipynb) from _config.yml
  python scripts/nbtools.py execute [PATH ...]
      re-execute notebooks in place (all under book/ by default), storing outputs; nbclient runs
      each in a fresh kernel under the pinned CPU kernels (scripts/kernels.py pinned), so that
      stored outputs do not depend on the machine that ran them

The setup cell's text is defined here only; tests/test_notebook_setup.py checks it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG = "colab-setup"


def repository() -> tuple[str, str]:
    """(url, branch) from _config.yml, the one place that names the repository."""
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    return cfg["repository"]["url"].rstrip("/"), cfg["repository"].get("branch", "main")


def setup_source(notebook: Path) -> str:
    """The Colab setup cell for ``notebook``: clone, install ``bn``, move to the chapter's folder."""
    url, branch = repository()
    folder = notebook.resolve().parent.relative_to(ROOT).as_posix()
    return (
        "# Colab only: fetch the book's repository, install its `bn` package and move to\n"
        "# this chapter's folder. Elsewhere (locally, in the tests) this cell does nothing.\n"
        "import sys\n"
        "if \"google.colab\" in sys.modules:\n"
        f"    !git clone --quiet --depth 1 --branch {branch} {url} /content/bn-book\n"
        "    %pip install --quiet /content/bn-book\n"
        f"    %cd /content/bn-book/{folder}"
    )


def assignment_setup_source(notebook: Path) -> str:
    """The Colab setup cell of an assignment's master notebook ``assignments/NAME/NAME.ipynb``.

    Besides cloning and installing ``bn`` (with otter-grader, the ``assignments`` extra), it
    builds the assignment's student edition in the clone and moves next to it: otter reads the
    public tests from ``./tests``, and on Colab it cannot read them from the notebook itself.
    """
    url, branch = repository()
    name = notebook.stem
    return (
        "# Colab only: fetch the book's repository, install its `bn` package and otter-grader,\n"
        "# build this assignment's public tests and move next to them. Elsewhere (locally,\n"
        "# in the grader) this cell does nothing.\n"
        "import sys\n"
        "if \"google.colab\" in sys.modules:\n"
        f"    !git clone --quiet --depth 1 --branch {branch} {url} /content/bn-book\n"
        "    %pip install --quiet \"/content/bn-book[assignments]\"\n"
        f"    !{{sys.executable}} /content/bn-book/scripts/assignments.py build {name} --no-run-tests\n"
        f"    %cd /content/bn-book/_build/assignments/{name}/student"
    )


def assignment_masters() -> list[Path]:
    """The master notebook of every assignment: ``assignments/NAME/NAME.ipynb``."""
    return sorted(p for p in (ROOT / "assignments").glob("*/*.ipynb") if p.stem == p.parent.name)


def setup_cell(notebook: Path) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(setup_source(notebook))
    cell.metadata["tags"] = [SETUP_TAG, "remove-cell"]
    return cell


def new(path: Path, title: str) -> None:
    if path.exists():
        raise SystemExit(f"{path} exists")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"), setup_cell(path)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def sync() -> None:
    for path in sorted((ROOT / "book").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        idx = [i for i, c in enumerate(nb.cells) if SETUP_TAG in c.metadata.get("tags", [])]
        if idx:
            nb.cells[idx[0]].source = setup_source(path)
        else:
            first_md = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
            nb.cells.insert(first_md, setup_cell(path))
        nbformat.write(nb, path)
    for path in assignment_masters():
        nb = nbformat.read(path, as_version=4)
        idx = [i for i, c in enumerate(nb.cells) if SETUP_TAG in c.metadata.get("tags", [])]
        if not idx:
            raise SystemExit(f"{path}: no cell tagged {SETUP_TAG}; add one before the first code cell")
        nb.cells[idx[0]].source = assignment_setup_source(path)
        nbformat.write(nb, path)


def kernel_environment() -> dict[str, str]:
    """The environment of an executing kernel: this one, with the pinned CPU kernels."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import kernels
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return {**os.environ, **kernels.pinned()}


def execute(paths: list[Path], timeout: int = 1800) -> None:
    """Run each notebook top to bottom in a fresh kernel (nbclient), in its own folder, and store it."""
    from nbclient import NotebookClient

    env = kernel_environment()
    for path in paths:
        print(f"executing {path}", flush=True)
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
        nbformat.write(nb, path)


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "new" and len(args) == 2:
        new(Path(args[0]), args[1])
    elif cmd == "sync":
        sync()
    elif cmd == "execute":
        targets = [Path(a) for a in args] or sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                                                     if ".ipynb_checkpoints" not in p.parts)
        expanded = []
        for t in targets:
            expanded += sorted(t.rglob("*.ipynb")) if t.is_dir() else [t]
        execute(expanded)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
