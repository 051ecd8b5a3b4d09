"""Part IV's chapters: at least three exercises each, every solution hidden, a rerun cell that is skipped."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "book" / "practice").glob("[0-9][0-9]_*.ipynb"))


def test_part_five_has_its_four_chapters():
    assert [p.name[:2] for p in CHAPTERS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_three_exercises_with_hidden_solutions(path):
    nb = nbformat.read(path, as_version=4)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    exercises = re.findall(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)", md)
    solutions = dict(re.findall(r"```\{solution\} ([\w-]+)\n((?::[^\n]*\n)*)", md))
    assert len(exercises) >= 3
    assert set(exercises) <= set(solutions)
    assert all(":class: dropdown" in opts for opts in solutions.values())


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_a_skipped_rerun_cell_and_short_code_lines(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    rerun = [c for c in code if "python -m bn.experiments run" in c.source]
    assert rerun and all({"nbval-skip", "skip-execution"} <= set(c.metadata.get("tags", [])) for c in rerun)
    for c in code:
        if "colab-setup" in c.metadata.get("tags", []):
            continue
        assert all(len(line) <= 80 for line in c.source.splitlines()), c.source[:60]


def _summaries():
    from bn.experiments import layer_vs_torch, pitfalls, population_statistics, training_diagnostics
    from bn.experiments.base import load_experiment_result as load

    return {"01": (lambda: layer_vs_torch.summarize(load("layer_vs_torch"), load("population_statistics")),
                   "byo-"),
            "02": (lambda: training_diagnostics.summarize(load("training_diagnostics")), "watch-"),
            "03": (lambda: population_statistics.summarize(load("population_statistics")), "pop-"),
            "04": (lambda: pitfalls.summarize(load("pitfalls")), "pit-")}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_pasted_number_comes_from_the_chapter_summary(path):
    # The chapter's prose pastes {glue:...}`name`; every such name but the figures' must be a
    # field of the one summary record, glued by glue_record under the chapter's prefix.
    from unittest import mock

    from bn import glue as glue_module

    nb = nbformat.read(path, as_version=4)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    pasted = {n for n in re.findall(r"\{glue:\w+\}`([\w-]+)", md) if not n.startswith("fig-")}
    make, prefix = _summaries()[path.name[:2]]
    with mock.patch.object(glue_module, "_myst_nb_glue", lambda: lambda name, value, display=True: None):
        glued = set(glue_module.glue_record(make(), prefix, sep="-"))
    assert pasted <= glued, sorted(pasted - glued)
    # And the notebook glues it with exactly one call.
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert code.count("glue_record(") == 1
