"""Make the student edition of a chapter whose code cells mark their solutions.

    python scripts/make_student_notebook.py book/practice/01_build_your_own_bn.ipynb \
        _build/student/01_build_your_own_bn.ipynb

In the full notebook a solution sits between nbgrader-style markers, inside a
code cell:

    ### BEGIN SOLUTION: compute the per-channel mean and variance, xhat and y
    ...the solution...
    ### END SOLUTION

The student edition replaces each marked block by

    # YOUR CODE HERE
    raise NotImplementedError("Write: compute the per-channel mean and ...")

at the block's indentation (the text after ``BEGIN SOLUTION:`` says what to
write), drops the hidden solutions of the exercises (``{solution}`` blocks in
markdown), and clears every output, so that no solution survives in it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION(?::\s*(?P<hint>.*\S))?\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
# A MyST {solution} directive fenced by three or more backticks, up to its closing fence.
SOLUTION_BLOCK = re.compile(r"^(?P<fence>`{3,})\{solution\}.*?^(?P=fence)[ \t]*\n?", re.M | re.S)


def strip_solutions(source: str) -> tuple[str, int]:
    """``source`` with every marked solution replaced by a stub; returns ``(text, number of stubs)``.

    Raises ValueError on an unmatched, nested or empty marker pair, or on a
    solution without a hint (the stub's message would not say what to write).
    """
    out: list[str] = []
    inside = False
    stubs = 0
    body = 0
    for number, line in enumerate(source.splitlines(), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside:
                raise ValueError(f"line {number}: BEGIN SOLUTION inside a solution")
            if not begin["hint"]:
                raise ValueError(f"line {number}: write what the student should write after "
                                 "'### BEGIN SOLUTION:'")
            indent = begin["indent"]
            hint = begin["hint"].replace("\\", "\\\\").replace('"', '\\"')
            out += [f"{indent}# YOUR CODE HERE", f'{indent}raise NotImplementedError("Write: {hint}")']
            inside, body = True, 0
            stubs += 1
        elif end:
            if not inside:
                raise ValueError(f"line {number}: END SOLUTION without BEGIN SOLUTION")
            if body == 0:
                raise ValueError(f"line {number}: empty solution")
            inside = False
        elif inside:
            body += 1
        else:
            out.append(line)
    if inside:
        raise ValueError("BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out), stubs


def student_notebook(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """The student edition of ``nb`` (a copy) and the number of stubs it has."""
    student = nbformat.from_dict(nb)
    total = 0
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.source, n = strip_solutions(cell.source)
            total += n
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = SOLUTION_BLOCK.sub("", cell.source)
    return student, total


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    src, dst = Path(argv[0]), Path(argv[1])
    student, stubs = student_notebook(nbformat.read(src, as_version=4))
    if stubs == 0:
        raise SystemExit(f"{src} marks no solution (### BEGIN SOLUTION: ...)")
    nbformat.validate(student)
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student, dst)
    print(f"wrote {dst} ({stubs} stubs)")


if __name__ == "__main__":
    main(sys.argv[1:])
