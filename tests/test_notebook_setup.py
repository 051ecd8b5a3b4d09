"""Every chapter notebook starts with the same Colab setup cell, naming the repository of _config.yml."""

import re
from pathlib import Path

import nbformat
import pytest

from tests.conftest import load_script
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)

nbtools = load_script("nbtools")


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under book/"


def test_repository_is_named_once_in_config():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = cfg["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), url
    assert cfg["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_first_code_cell_is_the_colab_setup(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path} has no code cell"
    first = code[0]
    assert nbtools.SETUP_TAG in first.metadata.get("tags", []), "first code cell is not tagged colab-setup"
    assert first.source == nbtools.setup_source(path), "setup cell differs: run `python scripts/nbtools.py sync`"
    url, branch = nbtools.repository()
    assert f"--branch {branch} {url} " in first.source
    # Outside Colab the cell must have done nothing.
    assert not first.get("outputs"), "the setup cell printed something outside Colab"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_has_stored_outputs_and_no_errors(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert any(c.get("outputs") for c in code), "no stored outputs: run `make execute NB=...`"
    for c in code:
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                assert "raises-exception" in c.metadata.get("tags", []), "a stored error output"


# What a chapter may import: the standard library, IPython (every notebook kernel has it)
# and what `pip install bn-book` brings. Anything else (myst_nb, for instance) is missing on Colab.
ALLOWED_IMPORTS = {"bn", "numpy", "sympy", "torch", "matplotlib", "tqdm", "IPython", "mpmath"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_imports_only_what_colab_has_after_setup(path):
    import sys

    nb = nbformat.read(path, as_version=4)
    imported = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            imported |= set(re.findall(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", cell.source, re.M))
    foreign = imported - ALLOWED_IMPORTS - set(sys.stdlib_module_names)
    assert not foreign, f"imports not available on Colab after the setup cell: {foreign} (use bn.glue for glue)"
