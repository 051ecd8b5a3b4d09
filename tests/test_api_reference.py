"""The API appendix documents every module of ``bn`` (scripts/api_reference.py, rendered by autodoc)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import api_reference  # noqa: E402

APPENDIX = ROOT / "book" / "appendix" / "01_api.md"
DIRECTIVE = re.compile(r"^```\{bn-api\} (\S+)\n((?::\w+:.*\n)*)```", re.M)


def directives() -> list[tuple[str, bool]]:
    """``(module, only)`` for every ``{bn-api}`` directive of the appendix."""
    text = APPENDIX.read_text(encoding="utf-8")
    return [(m[1], ":only:" in m[2]) for m in DIRECTIVE.finditer(text)]


def test_the_appendix_documents_every_module_once():
    documented = []
    for name, only in directives():
        documented += [name] if only else api_reference.modules_under(name)
    on_disk = api_reference.modules_under("bn")
    assert sorted(documented) == on_disk, {"missing": set(on_disk) - set(documented),
                                           "twice": {m for m in documented if documented.count(m) > 1}}


def test_modules_are_read_from_the_files(tmp_path):
    pkg = tmp_path / "bn"
    for rel in ("__init__.py", "a.py", "sub/__init__.py", "sub/b.py", "sub/__main__.py"):
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text("")
    assert api_reference.modules_under("bn", pkg) == ["bn", "bn.a", "bn.sub", "bn.sub.b"]
    assert api_reference.modules_under("bn.sub", pkg) == ["bn.sub", "bn.sub.b"]
    assert api_reference.modules_under("bn.a", pkg) == ["bn.a"]
    with pytest.raises(ValueError):
        api_reference.modules_under("bn.missing", pkg)


def test_autodoc_mocks_every_library_the_package_needs():
    """`make book` installs none of bn's dependencies; autodoc must mock each one it imports."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.match(r"[A-Za-z0-9_.-]+", d)[0].lower().replace("-", "_") for d in deps}
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert names <= set(config["autodoc_mock_imports"]), names - set(config["autodoc_mock_imports"])
    book = (ROOT / "requirements-book.txt").read_text().lower()
    assert not any(re.search(rf"^{n}\b", book, re.M) for n in names)
