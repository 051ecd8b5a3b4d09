"""The graded assignments (scripts/assignments.py, assignments/NAME/): each is built with otter
assign and graded with otter run as an instructor would, and the grades mean what they say.

* the solution notebook scores full marks, the untouched student notebook zero;
* each classic mistake of ``planted_bugs.yml``, planted into the solution, loses points on the
  question it belongs to and on no other;
* the student notebook holds no solution and no hidden test;
* a submission that is not JSON, not a notebook, has no answers, raises, kills its kernel, runs
  forever or belongs to another assignment is graded 0 per question with the reason, and the
  grader itself never fails.

Building and grading take about 6 s per notebook (a fresh kernel each), a few minutes in all.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from tests.conftest import load_script

assignments = load_script("assignments")
nbtools = load_script("nbtools")

NAMES = assignments.names()
# The classic mistakes issue 22 names; each must be planted in some assignment.
CLASSIC = {"unbiased_variance_in_normalization", "momentum_reversed", "eps_outside_the_square_root",
           "wrong_axes_for_conv_bn", "missing_mean_term_in_dx", "statistics_updated_in_eval_mode",
           "biased_running_variance"}


def bugs_of(name: str) -> dict[str, dict]:
    return yaml.safe_load((assignments.SOURCE / name / "planted_bugs.yml").read_text())


BUGS = [(name, bug) for name in NAMES for bug in bugs_of(name)]


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    """Every assignment built once (otter assign; the solution is graded by the tests below)."""
    return {name: assignments.build(name, run_tests=False) for name in NAMES}


def _grade(path: Path, name: str, **kw) -> dict[str, assignments.Question]:
    return {q.name: q for q in assignments.grade(path, name, **kw)}


def solution(name: str) -> Path:
    return assignments.BUILD / name / "autograder" / f"{name}.ipynb"


def student(name: str) -> Path:
    return assignments.BUILD / name / "student" / f"{name}.ipynb"


def test_there_are_at_least_five_assignments_and_every_classic_mistake_is_planted():
    assert len(NAMES) >= 5, NAMES
    planted = {bug for _, bug in BUGS}
    assert CLASSIC <= planted, f"not planted anywhere: {CLASSIC - planted}"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_solution_scores_full_marks(built, name):
    graded = _grade(solution(name), name)
    assert graded, "no question graded"
    lost = {q: (g.score, g.possible, g.messages) for q, g in graded.items() if g.score < g.possible}
    assert not lost, f"the solution loses points: {lost}"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_untouched_student_notebook_scores_zero(built, name):
    graded = _grade(student(name), name)
    scored = {q: g.score for q, g in graded.items() if g.score > 0}
    assert not scored, f"the student notebook, unanswered, scores points: {scored}"
    # Every question's failure says why, per test case.
    assert all(g.messages for g in graded.values())


def plant(nb: nbformat.NotebookNode, bug: dict) -> nbformat.NotebookNode:
    """A copy of ``nb`` with ``bug["replace"]`` (found exactly once in its code) replaced."""
    planted = nbformat.from_dict(json.loads(json.dumps(nb)))
    hits = [c for c in planted.cells if c.cell_type == "code" and bug["replace"] in c.source]
    count = sum(c.source.count(bug["replace"]) for c in hits)
    assert count == 1, f"the text to replace occurs {count} times in the solution: {bug['replace']!r}"
    hits[0].source = hits[0].source.replace(bug["replace"], bug["with"])
    return planted


@pytest.mark.slow
@pytest.mark.parametrize("name, bug", BUGS, ids=[f"{n}-{b}" for n, b in BUGS])
def test_planted_bug_loses_points_on_its_question_only(built, tmp_path, name, bug):
    spec = bugs_of(name)[bug]
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(plant(nbformat.read(solution(name), as_version=4), spec), path)
    graded = _grade(path, name)
    lost = {q for q, g in graded.items() if g.score < g.possible}
    assert lost == set(spec["loses"]), (
        f"{bug}: lost points on {sorted(lost)}, expected {spec['loses']}: "
        + str({q: graded[q].messages for q in lost}))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_holds_no_solution_and_no_hidden_test(built, name):
    stu = nbformat.read(student(name), as_version=4)
    code = "\n".join(c.source for c in stu.cells if c.cell_type == "code")
    assert "SOLUTION" not in code
    sol = nbformat.read(solution(name), as_version=4)
    answers = [c for c in sol.cells if c.cell_type == "code"
               and "otter_assign_solution_cell" in c.metadata.get("tags", [])]
    stubs = [c for c in stu.cells if c.cell_type == "code"
             and "otter_answer_cell" in c.metadata.get("tags", [])]
    assert answers and len(answers) == len(stubs)
    for a, s in zip(answers, stubs):
        assert "..." in s.source and a.source != s.source
    # Markdown solutions (a derivation, a written answer) are not in the student notebook.
    written = [c.source for c in sol.cells if c.cell_type == "markdown"
               and "otter_assign_solution_cell" in c.metadata.get("tags", [])]
    markdown = "\n".join(c.source for c in stu.cells if c.cell_type == "markdown")
    assert not any(w in markdown for w in written)
    public = "\n".join(p.read_text() for p in (student(name).parent / "tests").glob("*.py"))
    assert "hidden=True" not in public and "hidden=False" in public


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_question_has_public_and_hidden_tests(built, name):
    for path in sorted((solution(name).parent / "tests").glob("*.py")):
        text = path.read_text()
        assert "hidden=False" in text and "hidden=True" in text, f"{path.name}: public and hidden tests"


@pytest.mark.parametrize("name", NAMES)
def test_master_states_its_time_and_starts_with_the_colab_setup(name):
    path = assignments.master(name)
    nb = nbformat.read(path, as_version=4)
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    hours = re.search(r"\*\*Time:\*\* about (\d+(?:\.\d+)?) hours?", first_md.source)
    assert hours and 1 <= float(hours[1]) <= 3, "the first page says 'Time: about N hours', 1 to 3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert nbtools.SETUP_TAG in code[0].metadata.get("tags", [])
    assert code[0].source == nbtools.assignment_setup_source(path)
    url, branch = nbtools.repository()
    assert f"--branch {branch} {url} " in code[0].source
    assert not any(c.get("outputs") for c in code), "master notebooks are stored without outputs"


# ---- Submissions that cannot be graded normally: reported per question, never a crash.

FIRST = NAMES[0]


def _assert_all_zero_because(graded: dict, pattern: str) -> None:
    assert graded and all(g.score == 0 for g in graded.values())
    for g in graded.values():
        assert any(re.search(pattern, m) for m in g.messages), (pattern, g.messages)


@pytest.mark.slow
def test_a_file_that_is_not_json(built, tmp_path):
    bad = tmp_path / f"{FIRST}.ipynb"
    bad.write_text('{"cells": [')
    _assert_all_zero_because(_grade(bad, FIRST), "not JSON")


@pytest.mark.slow
def test_json_that_is_not_a_notebook(built, tmp_path):
    bad = tmp_path / f"{FIRST}.ipynb"
    bad.write_text('{"answer": 42}')
    _assert_all_zero_because(_grade(bad, FIRST), "not a Jupyter notebook")


@pytest.mark.slow
def test_a_notebook_without_answers(built, tmp_path):
    nb = nbformat.read(student(FIRST), as_version=4)
    nb.cells = [c for c in nb.cells if c.cell_type == "markdown"]
    path = tmp_path / f"{FIRST}.ipynb"
    nbformat.write(nb, path)
    _assert_all_zero_because(_grade(path, FIRST), "no code")


@pytest.mark.slow
def test_a_cell_that_raises_costs_only_what_depends_on_it(built, tmp_path):
    nb = nbformat.read(solution(FIRST), as_version=4)
    answers = [c for c in nb.cells if c.cell_type == "code"
               and "otter_assign_solution_cell" in c.metadata.get("tags", [])]
    # The first answer raises before it defines anything: its question gets 0, the others
    # (graded with their own definitions) keep their points.
    answers[0].source = 'raise RuntimeError("unfinished")\n' + answers[0].source
    path = tmp_path / f"{FIRST}.ipynb"
    nbformat.write(nb, path)
    graded = _grade(path, FIRST)
    first = list(graded)[0]
    assert graded[first].score == 0
    assert all(g.score == g.possible for q, g in graded.items() if q != first)


@pytest.mark.slow
def test_a_kernel_that_dies(built, tmp_path):
    nb = nbformat.read(solution(FIRST), as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    path = tmp_path / f"{FIRST}.ipynb"
    nbformat.write(nb, path)
    _assert_all_zero_because(_grade(path, FIRST), "grading stopped: .*(Dead|died|Error)")


@pytest.mark.slow
def test_a_submission_that_never_ends(built, tmp_path):
    nb = nbformat.read(solution(FIRST), as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("while True:\n    pass"))
    path = tmp_path / f"{FIRST}.ipynb"
    nbformat.write(nb, path)
    # 20 s: the solution itself is graded in about 6 s on a loaded 2-core machine.
    _assert_all_zero_because(_grade(path, FIRST, timeout_s=20), "longer than 20 s")


@pytest.mark.slow
def test_a_notebook_of_another_assignment(built, tmp_path):
    other = NAMES[1]
    path = tmp_path / "submission.ipynb"
    path.write_bytes(solution(other).read_bytes())
    _assert_all_zero_because(_grade(path, FIRST), "grading stopped: .*assignment")


@pytest.mark.slow
def test_command_line_reports_per_question_and_usage_errors_in_one_line(built, tmp_path, capsys):
    bad = tmp_path / f"{FIRST}.ipynb"
    bad.write_text("not json")
    out = tmp_path / "grade.json"
    assert assignments.main(["grade", str(bad), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"graded as {FIRST}" in printed and "total" in printed
    report = json.loads(out.read_text())
    assert report["assignment"] == FIRST and all(q["score"] == 0 for q in report["questions"].values())
    assert assignments.main(["grade", str(tmp_path / "missing.ipynb")]) == 2
    assert assignments.main(["grade", str(bad), "--assignment", "99_nothing"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("assignments.py: error: ") for line in err)


def _question_points(name: str) -> tuple[float, float]:
    """(autograded, manual) points of an assignment, from its master's BEGIN QUESTION cells."""
    nb = nbformat.read(assignments.master(name), as_version=4)
    auto = manual = 0.0
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(cell.source)
            points = config["points"]
            total = sum(points) if isinstance(points, list) else float(points)
            if config.get("manual"):
                manual += total
            else:
                auto += total
    return auto, manual


def test_instructors_page_lists_each_assignment_with_its_time_and_points():
    page = (assignments.ROOT / "book" / "appendix" / "02_instructors.md").read_text()
    rows = {m[1]: m for m in re.finditer(
        r"^\| `(\w+)`: [^|]+\| about ([\d.]+) hours? \| (\d+)(?: \(\+(\d+) by hand\))? \|", page, re.M)}
    assert set(rows) == set(NAMES), f"the table lists {sorted(rows)}, the assignments are {NAMES}"
    for name, row in rows.items():
        nb = nbformat.read(assignments.master(name), as_version=4)
        first_md = next(c for c in nb.cells if c.cell_type == "markdown").source
        assert f"**Time:** about {row[2]} hour" in first_md, f"{name}: time differs from its first page"
        auto, manual = _question_points(name)
        assert float(row[3]) == auto and float(row[4] or 0) == manual, f"{name}: points differ"

    in_toc = (assignments.ROOT / "_toc.yml").read_text()
    assert "glob: book/appendix/*" in in_toc, "the page is in the book through the appendix glob"


@pytest.mark.parametrize("name", NAMES)
def test_each_question_states_the_points_of_its_config(name):
    nb = nbformat.read(assignments.master(name), as_version=4)
    config = None
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(cell.source)
        elif config and cell.cell_type == "markdown":
            m = re.match(r"\*\*Question (\d+) \((\d+) points", cell.source)
            assert m and f"q{m[1]}" == config["name"], f"{name}: {cell.source[:60]!r}"
            points = config["points"]
            assert int(m[2]) == (sum(points) if isinstance(points, list) else points)
            config = None
