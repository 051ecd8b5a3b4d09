"""scripts/make_student_notebook.py: stubs replace the solutions, and the full edition passes its checks."""

import re
from pathlib import Path

import nbformat
import pytest

from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "book" / "practice" / "01_build_your_own_bn.ipynb"
TAG = "build-layer"

tool = load_script("make_student_notebook")


def test_strip_solutions_replaces_the_block_by_a_stub_at_its_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION: return twice x\n    y = 2 * x\n    return y\n    ### END SOLUTION\n"
    out, n = tool.strip_solutions(src)
    assert n == 1
    assert out == ('def f(x):\n    # YOUR CODE HERE\n'
                   '    raise NotImplementedError("Write: return twice x")')
    namespace = {}
    exec(out, namespace)
    with pytest.raises(NotImplementedError, match="Write: return twice x"):
        namespace["f"](1)


@pytest.mark.parametrize("src, message", [
    ("### BEGIN SOLUTION: a\nx = 1\n", "without END"),
    ("x = 1\n### END SOLUTION\n", "without BEGIN"),
    ("### BEGIN SOLUTION: a\n### BEGIN SOLUTION: b\n", "inside a solution"),
    ("### BEGIN SOLUTION: a\n### END SOLUTION\n", "empty solution"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "what the student should write"),
])
def test_strip_solutions_rejects_broken_markers(src, message):
    with pytest.raises(ValueError, match=message):
        tool.strip_solutions(src)


def test_quotes_in_a_hint_stay_a_valid_string():
    out, _ = tool.strip_solutions('### BEGIN SOLUTION: say "hi"\nx = 1\n### END SOLUTION\n')
    with pytest.raises(NotImplementedError, match='say "hi"'):
        exec(out, {})


def _solution_blocks(nb):
    """Every non-blank line between the markers of the full edition."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.splitlines():
            if tool.BEGIN.match(line):
                inside = True
            elif tool.END.match(line):
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


def _run_tagged(nb):
    namespace = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and (TAG in cell.metadata.get("tags", []) or "import numpy" in cell.source):
            exec(cell.source, namespace)
    return namespace


def test_chapter_student_edition_has_stubs_and_no_solution_code():
    full = nbformat.read(CHAPTER, as_version=4)
    student, stubs = tool.student_notebook(full)
    assert stubs == 2
    nbformat.validate(student)
    code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    assert "BEGIN SOLUTION" not in code and "END SOLUTION" not in code
    solution_lines = _solution_blocks(full)
    assert solution_lines
    student_lines = {line.strip() for line in code.splitlines()}
    leaked = [line for line in solution_lines if line in student_lines and not line.startswith("return")]
    assert not leaked, f"solution lines left in the student edition: {leaked}"
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    md = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert "{solution}" not in md and "{exercise}" in md
    messages = re.findall(r'raise NotImplementedError\("Write: ([^"]+)"\)', code)
    assert len(messages) == 2 and all(len(m) > 10 for m in messages)


def test_full_edition_passes_its_own_checks_and_the_student_edition_stops_at_the_stubs():
    full = nbformat.read(CHAPTER, as_version=4)
    ns = _run_tagged(full)  # the checks are asserts: this raises if the solutions are wrong
    assert {"bn_forward", "bn_backward"} <= set(ns)
    student, _ = tool.student_notebook(full)
    with pytest.raises(NotImplementedError, match="Write: "):
        _run_tagged(student)


def test_command_line_writes_the_student_edition(tmp_path):
    out = tmp_path / "student.ipynb"
    tool.main([str(CHAPTER), str(out)])
    nb = nbformat.read(out, as_version=4)
    assert any("NotImplementedError" in c.source for c in nb.cells if c.cell_type == "code")
