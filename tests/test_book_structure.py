"""The book's structural promises: exercises with hidden solutions, captions, results with provenance."""

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Part folder -> minimum number of exercises per chapter.
MIN_EXERCISES = {"derivations": 3, "implementation": 3, "beyond": 3, "experiments": 2, "practice": 3, "today": 2}
CHAPTERS = sorted(p for part in MIN_EXERCISES for p in (ROOT / "book" / part).glob("[0-9][0-9]_*.ipynb")
                  if not p.name.startswith("00_"))


def _markdown(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_chapter_has_exercises_with_hidden_solutions(path):
    md = _markdown(path)
    exercises = re.findall(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)", md)
    solutions = re.findall(r"```\{solution\} ([\w-]+)\n((?::[^\n]*\n)*)", md)
    assert len(exercises) >= MIN_EXERCISES[path.parent.name]
    solved = {label for label, _ in solutions}
    assert set(exercises) <= solved, f"exercises without a solution: {set(exercises) - solved}"
    for label, options in solutions:
        assert ":class: dropdown" in options, f"solution {label} is not hidden"


@pytest.mark.parametrize("path", sorted((ROOT / "book" / "results").glob("*.json")), ids=lambda p: p.name)
def test_result_file_carries_provenance(path):
    prov = json.loads(path.read_text())["provenance"]
    assert prov["code"]["commit"], "no code commit"
    assert prov["libraries"]["torch"] and prov["libraries"]["numpy"]
    assert prov["device"]["cpu_model"]
    assert prov["created_utc"]


# Studies whose comparison needs no spread over seeds of their own: the book's layer is paired with the
# torch.nn runs of population_statistics (same network, schedule and seeds), which give the spread; the
# diagnostics chapter shows one run's trace per arm.
ONE_SEED = {"layer_vs_torch", "training_diagnostics"}
EXPERIMENT_RESULTS = sorted(p for p in (ROOT / "book" / "results").glob("*.json")
                            if "experiment" in json.loads(p.read_text()))


def test_all_six_experiments_have_committed_results():
    names = {json.loads(p.read_text())["experiment"] for p in EXPERIMENT_RESULTS}
    assert names >= {"fig1_mlp", "convergence", "learning_rates", "sigmoid", "initialization", "recipe"}


@pytest.mark.parametrize("path", EXPERIMENT_RESULTS, ids=lambda p: p.name)
def test_experiment_result_names_seeds_data_copy_and_time(path):
    result = json.loads(path.read_text())
    prov = result["provenance"]
    assert result["profile"] in {"cpu", "gpu"}, "a smoke or shortened run is never a committed result"
    assert result["max_steps"] is None
    # the seeds recorded are those the reported runs used (at least two: one alone has no interval);
    # a study with its own run records keeps them, each with its arm and seed, in its measures
    runs = result["runs"] or result["measures"]["runs"]
    used = sorted({r["spec"]["seed"] if "spec" in r else r["seed"] for r in runs
                   if "spec" not in r or not r["spec"]["tags"].get("sweep")})
    # arms measured outside the runs (ctx.record_seeds) add their seeds to those of the runs
    recorded = sorted({s for seeds in (result.get("seeds_run") or {}).values() for s in seeds}) or used
    assert set(used) <= set(recorded) and result["seeds"] == recorded
    if "converted" in prov:  # a converted file keeps its provenance: its seeds named the profile's then
        assert set(recorded) <= set(prov["seeds"])
    else:
        assert set(prov["seeds"]) == set(recorded)
    assert len(recorded) >= 2 or path.stem in ONE_SEED, path.name
    if result["config"].get("data") == "none":  # a study that makes its own data says where it came from
        assert prov["data"]["copy"].startswith("none") and result["measures"]
    else:
        assert prov["data"]["copy"] in {"official", "jpeg-q75-rebuild"}
        assert set(prov["data"]["files_md5"]) >= {f"data_batch_{i}" for i in range(1, 6)} | {"test_batch"}
    assert prov["wall_time_s"] > 0
    assert "torch_threads" in prov


ALL_NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_an_uncompared_cell_says_why_and_checks_its_values(path):
    """No blanket ignores: a cell whose output nbval does not compare states why and asserts its claims."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(cells):
        if "nbval-ignore-output" not in cell.get("metadata", {}).get("tags", []):
            continue
        src = "".join(cell["source"])
        following = "".join(cells[i + 1]["source"]) if i + 1 < len(cells) else ""
        assert src.startswith("# Output not compared by nbval:"), f"{path.name} code cell {i}: say why first"
        assert "assert " in src or "assert " in following, f"{path.name} code cell {i}: values not checked"


def test_the_bibliography_parses_and_names_each_key_once():
    """A merge can drop a closing brace or repeat an entry; the build would fail far from the cause."""
    import collections

    import pybtex.database

    text = (ROOT / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,\s]+),", text, re.M)
    assert [k for k, n in collections.Counter(keys).items() if n > 1] == []
    assert len(pybtex.database.parse_string(text, "bibtex").entries) == len(keys)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.name)
def test_a_directive_that_holds_a_code_block_is_fenced_with_more_backticks(path):
    """A code block's ``` inside a ```{solution} closes the solution: the rest of the page is swallowed."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if re.match(r"^```\{", line):  # a directive opened with exactly three backticks
                for inner in lines[i + 1:]:
                    if inner.strip() == "```":
                        break
                    assert not re.match(r"^```\w", inner), f"{path.name}: {line} holds a code block"
