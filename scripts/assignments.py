"""The graded course assignments: build them with otter-grader and grade a submission.

  python scripts/assignments.py list
      the assignments (folders under assignments/), one per line
  python scripts/assignments.py build [NAME ...] [--no-run-tests]
      run `otter assign` on each master notebook (all by default), writing
      _build/assignments/NAME/student/ (the student notebook and its public tests),
      _build/assignments/NAME/autograder/ (the solution notebook, all tests) and
      _build/assignments/NAME/NAME-autograder.zip (for `otter run` and Gradescope);
      without --no-run-tests, otter assign also grades the solution and stops unless
      it scores full marks
  python scripts/assignments.py grade SUBMISSION.ipynb [--assignment NAME] [--json OUT]
                                      [--timeout SECONDS]
      grade one submission locally (`otter run`, no Docker) and print the score of each
      question; builds the assignment first if its zip is missing or older than its master

Each assignment is a folder ``assignments/NAME/`` holding the master notebook
``NAME.ipynb`` in otter-grader's format (questions, solutions, public and hidden
tests) and ``planted_bugs.yml``, the classic mistakes the hidden tests must catch
(``tests/assignments/test_grading.py`` grades each one).

Grading never stops at a bad submission: a file that is not JSON or not a notebook,
a notebook of another assignment, one whose kernel dies or that runs past the time
limit, each gets every question scored 0 with the reason, and exit status 0. Only a
usage mistake (no such file, an unknown assignment) exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nbtools import repository  # noqa: E402  (the one reader of the repository's URL)

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "assignments"
BUILD = ROOT / "_build" / "assignments"
CONFIG_MARK = "# ASSIGNMENT CONFIG"
USAGE_ERROR = 2
# A submission that runs longer than this is stopped; the solutions take seconds.
DEFAULT_TIMEOUT_S = 600


class UsageError(Exception):
    """A mistake in the command line: a missing file, an unknown assignment."""


def names() -> list[str]:
    """The assignments, in order: the folders of ``assignments/`` that hold ``NAME/NAME.ipynb``."""
    return sorted(p.name for p in SOURCE.iterdir() if (p / f"{p.name}.ipynb").is_file())


def master(name: str) -> Path:
    """The master notebook of assignment ``name``; UsageError if there is none."""
    if name not in names():
        raise UsageError(f"unknown assignment {name!r}; expected one of {', '.join(names())}")
    return SOURCE / name / f"{name}.ipynb"


def grading_requirements() -> list[str]:
    """What the autograder installs on top of otter-grader: the book's ``bn`` package.

    The hidden tests compare with ``bn`` and torch. The CPU index keeps Gradescope's image
    small: its ``+cpu`` builds sort above PyPI's CUDA builds of the same version.
    """
    url, branch = repository()
    return ["--extra-index-url https://download.pytorch.org/whl/cpu",
            f"bn-book @ git+{url}@{branch}"]


def _config_cell(nb: dict) -> dict:
    cells = [c for c in nb["cells"] if c["cell_type"] == "raw"
             and "".join(c["source"]).lstrip().startswith(CONFIG_MARK)]
    if len(cells) != 1:
        raise ValueError(f"the master notebook needs one raw cell starting {CONFIG_MARK!r}, "
                         f"found {len(cells)}")
    return cells[0]


def assignment_config(nb: dict) -> dict:
    """The ASSIGNMENT CONFIG of a master notebook (the notebook as a JSON dict), as a dict."""
    return yaml.safe_load("".join(_config_cell(nb)["source"]))


def staged_master(name: str, staging: Path) -> Path:
    """Copy assignment ``name``'s folder to ``staging`` with the grading requirements added.

    The requirements name the repository, whose URL lives only in _config.yml, so they are
    written into the copy's config here rather than typed into each master notebook.
    """
    src = master(name)
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(src.parent, staging, ignore=shutil.ignore_patterns("planted_bugs.yml",
                                                                       ".ipynb_checkpoints"))
    nb = json.loads(src.read_text())
    cell = _config_cell(nb)
    config = assignment_config(nb)
    config["requirements"] = grading_requirements()
    cell["source"] = CONFIG_MARK + "\n" + yaml.safe_dump(config, sort_keys=False)
    out = staging / src.name
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return out


def zip_path(name: str) -> Path:
    """Where ``build`` leaves the autograder zip of ``name`` (a name without otter's timestamp)."""
    return BUILD / name / f"{name}-autograder.zip"


def build(name: str, run_tests: bool = True, out: Path | None = None) -> Path:
    """Run ``otter assign`` on ``name``'s master into ``out`` (default ``BUILD/name``); return the
    autograder zip, ``out/NAME-autograder.zip``.

    Raises RuntimeError with otter's output if otter assign fails (with ``run_tests``:
    also if the solution notebook does not score full marks).
    """
    out = BUILD / name if out is None else Path(out)
    staged = staged_master(name, out.parent / ".staging" / name)
    for sub in ("student", "autograder"):
        shutil.rmtree(out / sub, ignore_errors=True)
    cmd = [sys.executable, "-m", "otter", "assign", str(staged), str(out)]
    if not run_tests:
        cmd.append("--no-run-tests")
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=staged.parent)
    if done.returncode != 0:
        raise RuntimeError(f"otter assign {name} failed:\n{done.stdout[-4000:]}{done.stderr[-4000:]}")
    made = sorted((out / "autograder").glob(f"{name}-autograder_*.zip"))
    if len(made) != 1:
        raise RuntimeError(f"otter assign {name} wrote {len(made)} autograder zips, expected 1")
    zip_file = out / f"{name}-autograder.zip"
    shutil.copyfile(made[0], zip_file)
    shutil.rmtree(staged.parent)
    return zip_file


def _newest_source_mtime(name: str) -> float:
    return max(p.stat().st_mtime for p in (SOURCE / name).rglob("*") if p.is_file())


def ensure_built(name: str) -> Path:
    """The autograder zip of ``name``, built first if missing or older than the assignment's files."""
    zp = zip_path(name)
    if not zp.is_file() or zp.stat().st_mtime < _newest_source_mtime(name):
        build(name, run_tests=False)
    return zp


@dataclass
class Question:
    """One question's grade: its points, and the messages of the tests it failed."""

    name: str
    possible: float
    score: float = 0.0
    messages: list[str] = field(default_factory=list)


def questions_of(zip_file: Path) -> dict[str, float]:
    """Question name -> points, read from the test files in an autograder zip."""
    import zipfile

    from otter.test_files import ExceptionTestFile

    points = {}
    with zipfile.ZipFile(zip_file) as zf:
        for entry in sorted(zf.namelist()):
            if re.fullmatch(r"tests/[^/]+\.py", entry):
                tf = ExceptionTestFile.from_string(zf.read(entry).decode(), path=entry)
                points[tf.name] = float(sum(tc.points for tc in tf.test_cases))
    return points


def _all_zero(points: dict[str, float], reason: str) -> list[Question]:
    return [Question(q, p, 0.0, [reason]) for q, p in points.items()]


def check_submission_file(path: Path) -> str | None:
    """Why ``path`` cannot be graded as a notebook (not JSON, not a notebook), or None if it can."""
    import nbformat

    try:
        raw = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return f"the submission is not a valid notebook file (not JSON: {e})"
    try:
        nb = nbformat.from_dict(raw)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises several types, all meaning "not a notebook"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return f"the submission is JSON but not a Jupyter notebook ({first})"
    if not any(c.get("cell_type") == "code" and c.get("source") for c in nb.cells):
        return "the submission has no code, so no answer to grade"
    return None


def _otter_failure(stdout: str, stderr: str) -> str:
    """One line on why otter run stopped, from the end of its output."""
    for text in (stderr, stdout):
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        for line in reversed(lines):
            if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b", line):
                return line
    return "the grader stopped without results"


def grade(submission: Path, name: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> list[Question]:
    """Grade ``submission`` against assignment ``name`` with ``otter run``; one entry per question.

    Never raises for a bad submission: every failure to grade becomes score 0 on every
    question, with the reason as its message.
    """
    zp = ensure_built(name)
    points = questions_of(zp)
    problem = check_submission_file(submission)
    if problem:
        return _all_zero(points, problem)
    with tempfile.TemporaryDirectory(prefix="bn-grade-") as tmp:
        # otter run grades the copy in a folder of its own; a separate process group lets a
        # timeout stop the kernel that otter started as well.
        copy = Path(tmp) / "submission" / submission.name
        copy.parent.mkdir()
        shutil.copyfile(submission, copy)
        cmd = [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(zp), "-o", tmp,
               str(copy)]
        try:
            proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, start_new_session=True)
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.communicate()
            return _all_zero(points, f"the submission ran longer than {timeout_s:g} s and was stopped")
        results = Path(tmp) / "results.json"
        if proc.returncode != 0 or not results.is_file():
            return _all_zero(points, f"grading stopped: {_otter_failure(stdout, stderr)}")
        tests = json.loads(results.read_text())["tests"]
    graded = {q: Question(q, p) for q, p in points.items()}
    for t in tests:
        # otter reports one entry per question ("q1") or per test case ("q1 - 2", hidden ones
        # as well); add them up per question.
        q = t["name"].split(" - ")[0].strip()
        if q not in graded:
            continue
        graded[q].score += float(t.get("score", 0.0))
        if float(t.get("score", 0.0)) < float(t.get("max_score", 0.0)):
            graded[q].messages += failed_cases(t.get("output", ""))
    return list(graded.values())


def failed_cases(output: str) -> list[str]:
    """``"q1 - 2: AssertionError: ..."`` for each failed test case in otter's output of a question."""
    failed = []
    # otter writes "q1 - 2 result:" and, under it, the failure and its exception's last line.
    for case, body in re.findall(r"^\s*(\S+ - \d+) result:\n(.*?)(?=^\s*\S+ - \d+ (?:result|message):|\Z)",
                                 output, flags=re.M | re.S):
        if "failed" not in body:
            continue
        errors = [ln.strip() for ln in body.splitlines()
                  if re.match(r"^\s*[\w.]*(Error|Exception)\b", ln)]
        failed.append(f"{case}: {errors[-1] if errors else 'failed'}")
    return failed or ["failed"]


def assignment_of(submission: Path, given: str | None) -> str:
    """The assignment a submission belongs to: ``given``, its metadata, or its file name."""
    if given:
        master(given)
        return given
    try:
        meta = json.loads(submission.read_bytes()).get("metadata", {})
        name = meta.get("otter", {}).get("assignment_name")
        if name in names():
            return name
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        pass
    for name in names():
        if submission.stem.startswith(name):
            return name
    raise UsageError(f"cannot tell which assignment {submission} is for: pass --assignment "
                     f"(one of {', '.join(names())})")


def report(questions: list[Question]) -> str:
    """The grade as a table: one line per question, then the failed tests' messages, then the total."""
    lines = []
    for q in questions:
        lines.append(f"{q.name:6s} {q.score:5.1f} / {q.possible:4.1f}")
        lines += [f"         {m}" for m in q.messages]
    total = sum(q.score for q in questions)
    possible = sum(q.possible for q in questions)
    lines.append(f"total  {total:5.1f} / {possible:4.1f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """The command line (see the module docstring); returns the exit status."""
    parser = argparse.ArgumentParser(prog="assignments.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    b = sub.add_parser("build")
    b.add_argument("names", nargs="*")
    b.add_argument("--no-run-tests", action="store_true")
    g = sub.add_parser("grade")
    g.add_argument("submission", type=Path)
    g.add_argument("--assignment")
    g.add_argument("--json", type=Path)
    g.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            print("\n".join(names()))
        elif args.command == "build":
            for name in args.names or names():
                master(name)
            for name in args.names or names():
                print(f"{name}: {build(name, run_tests=not args.no_run_tests).relative_to(ROOT)}",
                      flush=True)
        else:
            if not args.submission.is_file():
                raise UsageError(f"no such file: {args.submission}")
            name = assignment_of(args.submission, args.assignment)
            questions = grade(args.submission, name, timeout_s=args.timeout)
            print(f"{args.submission} graded as {name}")
            print(report(questions))
            if args.json:
                args.json.write_text(json.dumps(
                    {"assignment": name,
                     "questions": {q.name: {"score": q.score, "possible": q.possible,
                                            "messages": q.messages} for q in questions}},
                    indent=1) + "\n")
    except UsageError as e:
        print(f"assignments.py: error: {e}", file=sys.stderr)
        return USAGE_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
