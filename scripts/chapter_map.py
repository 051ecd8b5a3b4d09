"""The map of CONTRIBUTING.md: for every chapter, the ``bn`` modules its code cells import.

    python scripts/chapter_map.py            # print the map
    python scripts/chapter_map.py --write    # write it into CONTRIBUTING.md, between its markers

``tests/test_chapter_map.py`` checks that CONTRIBUTING.md holds the map this prints.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- chapter map: begin (scripts/chapter_map.py) -->"
END = "<!-- chapter map: end -->"
# What nearly every chapter uses; the map names them once, above the list, instead of on every line.
EVERYWHERE = ("bn.glue", "bn.formatting", "bn.results", "bn.plotting")


def modules_of(notebook: Path) -> list[str]:
    """The ``bn`` modules (``bn.x.y``, as imported) that the notebook's code cells import, but :data:`EVERYWHERE`."""
    found: set[str] = set()
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        # IPython magics and shell lines are not Python: blank them before parsing.
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                           for line in "".join(cell["source"]).splitlines())
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.split(".")[0] == "bn"}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bn":
                if node.module == "bn":
                    found |= {f"bn.{a.name}" for a in node.names}
                else:
                    found.add(node.module)
    return sorted(found - {"bn", *EVERYWHERE})


def chapters() -> list[Path]:
    """The notebooks of the book in the order of ``_toc.yml`` (its root, then each part's glob)."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    paths = [ROOT / f"{m}.ipynb" for m in re.findall(r"^root:\s*(\S+)", toc, re.M)]
    for entry in re.findall(r"^\s*- (?:glob|file):\s*(\S+)", toc, re.M):
        paths += sorted(ROOT.glob(f"{entry}.ipynb")) if "*" not in entry else sorted(ROOT.glob(f"{entry}.ipynb"))
    return [p for p in paths if p.exists()]


def chapter_map() -> str:
    """The map as markdown lines: ``- `book/part/NN_x` — `bn.a`, `bn.b` ``."""
    lines = []
    for path in chapters():
        name = path.relative_to(ROOT).with_suffix("").as_posix()
        mods = modules_of(path)
        lines.append(f"- `{name}` — " + (", ".join(f"`{m}`" for m in mods) if mods else "(no `bn` module)"))
    return "\n".join(lines)


def write_map(path: Path = ROOT / "CONTRIBUTING.md") -> None:
    """Replace what stands between the markers of ``path`` with the current map."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + chapter_map() + "\n" + text[end:], encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write_map()
    else:
        sys.stdout.write(chapter_map() + "\n")
