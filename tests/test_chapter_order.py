"""No chapter depends on one that comes later: every chapter its "Prerequisites" line links to comes
before it in the table of contents (front to back, as a reader meets them)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#]+\.ipynb)")


def toc_order() -> list[Path]:
    """The chapters in reading order, as ``_toc.yml`` lists them (globs sorted, as Jupyter Book sorts them)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = [ROOT / f"{toc['root']}.ipynb"]
    for part in toc["parts"]:
        for entry in part["chapters"]:
            if "glob" in entry:
                out += sorted(ROOT.glob(entry["glob"] + ".ipynb"))
            else:
                out += [p for p in (ROOT / f"{entry['file']}.ipynb", ROOT / f"{entry['file']}.md") if p.exists()]
    return [p.resolve() for p in out]


ORDER = toc_order()


def prerequisites(nb: Path) -> list[Path]:
    """The chapters the first cell's "Prerequisites" paragraph links to (up to the next blank line)."""
    first = "".join(json.loads(nb.read_text())["cells"][0]["source"])
    start = first.find("Prerequisites")
    paragraph = first[start:].split("\n\n")[0] if start >= 0 else ""
    return [(nb.parent / link).resolve() for link in LINK.findall(paragraph)]


@pytest.mark.parametrize("nb", [p for p in ORDER if p.suffix == ".ipynb"], ids=lambda p: p.parent.name + "/" + p.name)
def test_prerequisites_come_earlier(nb):
    here = ORDER.index(nb)
    later = [p.relative_to(ROOT) for p in prerequisites(nb) if p in ORDER and ORDER.index(p) >= here]
    assert not later, f"{nb.relative_to(ROOT)} lists later chapters as prerequisites: {later}"


def test_the_check_reads_links():
    assert any(prerequisites(p) for p in ORDER if p.suffix == ".ipynb")
