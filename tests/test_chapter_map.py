"""CONTRIBUTING.md's map of which ``bn`` modules each chapter uses is the one the chapters' imports give."""

from pathlib import Path

from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
chapter_map = load_script("chapter_map")


def test_contributing_holds_the_current_map():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    start, end = text.index(chapter_map.BEGIN) + len(chapter_map.BEGIN), text.index(chapter_map.END)
    assert text[start:end].strip() == chapter_map.chapter_map(), \
        "CONTRIBUTING.md's chapter map is stale: paste `python scripts/chapter_map.py` between its markers"


def test_every_chapter_is_on_the_map_and_every_module_exists():
    import importlib.util

    lines = chapter_map.chapter_map().splitlines()
    assert len(lines) == len(chapter_map.chapters()) > 30
    for path in chapter_map.chapters():
        for module in chapter_map.modules_of(path):
            assert importlib.util.find_spec(module) is not None, f"{path.name} imports {module}, which does not exist"


def test_the_map_reads_every_import_form(tmp_path):
    import json

    cells = [{"cell_type": "code", "source": ["import bn.models\n", "%matplotlib inline\n",
                                               "from bn import glue, functional\n"]},
             {"cell_type": "code", "source": ["from bn.population import ema_update\n"]},
             {"cell_type": "markdown", "source": ["from bn.symbolic import x\n"]}]
    nb = tmp_path / "x.ipynb"
    nb.write_text(json.dumps({"cells": cells}))
    assert chapter_map.modules_of(nb) == ["bn.functional", "bn.models", "bn.population"]
