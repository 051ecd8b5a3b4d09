"""Every verdict the book states comes from the one rule (``bn.statistics.decide``) and is glued, never typed.

Two checks. (1) No chapter types a verdict: in headings and in bold text, with the glued values
taken out, none of the verdict words appears (nor the words of the verdict styles the book used
before it had one rule). (2) The verdicts a chapter glued, and stored with its outputs, are
those the rule gives now on the committed results: the scorecard's rows, and the claim verdicts
of the Part V chapters and of derivations/07.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from bn.statistics import VERDICTS

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.rglob("*.ipynb"))
GLUE_ROLE = re.compile(r"\{glue(?::[a-z]*)?\}`[^`]*`")
WORDS = re.compile(r"\b(reproduced|reversed|not resolved|not tested at this budget|not reproduced|agrees|"
                   r"disagrees|shown|confirmed|refuted)\b", re.IGNORECASE)
BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def _markdown(nb: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]


def typed_verdicts(text: str) -> list[str]:
    """Verdict words written by hand in a heading or in bold (glued values removed first)."""
    text = GLUE_ROLE.sub("X", text)  # a placeholder, so that *{glue}`x`* stays an italic, not bold
    spans = [line for line in text.splitlines() if line.lstrip().startswith("#")] + BOLD.findall(text)
    return [m.group(0) for s in spans for m in WORDS.finditer(s)]


def test_the_check_sees_a_typed_verdict():
    assert typed_verdicts("## Verdict: reproduced") == ["reproduced"]
    assert typed_verdicts("- **Trains faster: reproduced.** With BN") == ["reproduced"]
    assert typed_verdicts("**Trains faster: {glue:text}`verdict_fig1_speed`.**") == []
    assert typed_verdicts("A verdict is *reproduced* when the interval lies on the paper's side") == []


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: str(p.relative_to(BOOK)))
def test_no_chapter_types_a_verdict(nb):
    found = [(i, w) for i, text in enumerate(_markdown(nb)) for w in typed_verdicts(text)]
    assert not found, f"{nb.name}: verdict words typed by hand (markdown cell, word): {found}"


def stored_glue(nb: Path) -> dict[str, str]:
    """Every text value ``nb`` glued, as stored with its outputs."""
    out = {}
    for cell in json.loads(nb.read_text())["cells"]:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            data = o.get("data", {})
            markdown = data.get("application/papermill.record/text/markdown")
            if name and markdown is not None:  # glued Markdown: its text, not the object's repr
                out[name] = markdown
                continue
            text = data.get("application/papermill.record/text/plain")
            if name and text is not None:
                try:
                    out[name] = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    out[name] = text
    return out


@pytest.mark.slow
def test_glued_scorecard_verdicts_are_the_rules():
    from bn.experiments import scorecard

    for row in scorecard.rows():
        assert row.verdict.word in VERDICTS
        glued = stored_glue(BOOK / "experiments" / f"{row.chapter}.ipynb")
        assert glued.get(f"verdict_{row.key}") == row.verdict.text(), (row.chapter, row.key)
        assert glued.get(f"verdict_{row.key}_ours") == row.ours, (row.chapter, row.key)


@pytest.mark.slow
def test_glued_part_iv_and_placement_verdicts_are_the_rules():
    from bn.experiments import load_experiment_result, only_bn, placement, smoothness

    glued = stored_glue(BOOK / "beyond" / "04_training_only_bn.ipynb")
    for claim, word in only_bn.claim_verdicts(load_experiment_result("only_bn")).items():
        assert glued[f"ob-verdict-{claim}"] == word, claim
    glued = stored_glue(BOOK / "beyond" / "06_smoothness.ipynb")
    summary = smoothness.summarize(load_experiment_result("smoothness"))
    for claim, word in smoothness.claim_verdicts(summary).items():
        assert glued[f"sm-verdict-{claim}"] == word, claim
    glued = stored_glue(BOOK / "derivations" / "07_placement.ipynb")
    res = load_experiment_result("placement")
    assert glued["place_verdict_ba"] == placement.placement_verdict(res, "before", "after")
    assert glued["place_verdict_bn"] == placement.placement_verdict(res, "before", "none")


# The speed chapter's glued "verdicts" say whether the book's own performance goals were met
# (bn.benchmark.report: met / not met); they judge no claim of a paper, so the rule does not apply.
GOALS = re.compile(r"^speed_verdict_")


def test_every_glued_verdict_uses_the_vocabulary():
    """Any glued value named like a verdict is one of the four words (with the paper relation at most)."""
    for nb in NOTEBOOKS:
        for name, value in stored_glue(nb).items():
            if GOALS.match(name):
                continue
            if "verdict" in name and not name.endswith("_ours") and isinstance(value, str):
                assert value.split(",")[0] in VERDICTS, (nb.name, name, value)


def test_glued_fine_tuning_verdicts_are_the_rules():
    """Part VI, fine-tuning: the verdicts and our numbers its chapter glued are those of its claim rows now."""
    from bn.experiments import fine_tuning
    from bn.experiments.base import load_experiment_result

    for row in fine_tuning.claim_rows(load_experiment_result("fine_tuning")):
        glued = stored_glue(BOOK / f"{row.chapter}.ipynb")
        assert glued.get(f"verdict_{row.key}") == row.verdict.text(), row.key
        assert glued.get(f"verdict_{row.key}_ours") == row.ours, row.key


def test_glued_part_vi_verdicts_are_the_rules():
    """Every claim of Part VI: its chapter glues the verdict (and our numbers) the rule gives now."""
    from bn.experiments import scorecard

    rows = scorecard.today_rows()
    assert {r.chapter for r in rows} == {f"today/{p.stem}" for p in (BOOK / "today").glob("0[1-9]_*.ipynb")}
    for row in rows:
        assert row.verdict.word in VERDICTS
        glued = stored_glue(BOOK / f"{row.chapter}.ipynb")
        assert glued.get(f"verdict_{row.key}") == row.verdict.text(), (row.chapter, row.key)
