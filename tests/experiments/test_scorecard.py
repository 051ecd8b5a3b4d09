"""Scorecard rows decide through the one rule: a claim about the end of training on runs still rising is
not tested; stability needs all four ratios on one side; Holm's column reads the rows' p-values."""

import pytest

from bn.experiments import scorecard
from bn.statistics import Verdict

from tests.experiments.records import as_record, experiment_result


@as_record
def _run(arm, seed, accs, steps=100, final=0.5, label=None):
    every = steps // (len(accs) - 1)
    return {"spec": {"arm": arm, "seed": seed, "label": label or arm, "tags": {}, "train": {"steps": steps}},
            "history": {"eval_step": [i * every for i in range(len(accs))], "val_acc": list(accs), "test_acc": [],
                        "diverged": False, "stalled": False, "final_test_acc": final, "steps_done": steps}}


def test_an_end_claim_on_rising_runs_is_not_tested():
    rising = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    long = experiment_result({"runs": [_run(a, s, [x + (0.05 if a == "bn_x30" else 0) + 0.01 * s for x in rising])
                                       for a in ("bn_x5", "bn_x30") for s in range(3)]})
    row = scorecard.x30_row(long)
    assert row.verdict.word == "not tested at this budget" and "still rising" in row.ours


def test_an_end_claim_on_plateaued_runs_is_decided():
    flat = [0.1, 0.5, 0.6, 0.6, 0.6, 0.6]
    long = experiment_result({"runs": [
        _run(a, s, [x + (0.03 if a == "bn_x30" else 0) + 0.01 * s * (1 if x > 0.1 else 0) for x in flat])
        for a in ("bn_x5", "bn_x30") for s in range(3)]})
    row = scorecard.x30_row(long)
    assert "both plateaued" in row.ours
    # +3 points in every seed, paper +1.8: the interval (a single value) excludes 0 and the paper's number
    assert row.verdict.text() == "reproduced, larger than the paper"


def test_holm_column_marks_only_rows_that_settle_something():
    rows = [scorecard.Row(str(i), "c", "ch", "p", "o", Verdict(w, None, "", p))
            for i, (w, p) in enumerate([("reproduced", 0.001), ("reproduced", 0.04), ("not resolved", 0.3),
                                        ("not tested at this budget", None)])]
    # family of three tests: 0.001 <= 0.05/3 survives, 0.04 > 0.05/2 does not
    assert scorecard.holm_column(rows) == ["yes", "no", "–", "–"]


def test_stability_needs_every_ratio_on_one_side():
    from bn.experiments import fig1_rates

    def mlp(arm, seed, medians):
        measures = [{"sigmoid_input_units": [[m - 0.5] * 2, [m] * 2, [m + 0.5] * 2]} for m in medians]
        return {"spec": {"arm": arm, "seed": seed, "tags": {}, "train": {"steps": 300}},
                "history": {"eval_step": [0, 100, 200, 300], "measures": measures, "diverged": False,
                            "stalled": False, "final_test_acc": 0.5}}

    runs = []
    for s in range(3):
        runs += [mlp("no_bn_lr0.1", s, [0, 0, 2 + 0.1 * s, 0]), mlp("bn_lr0.1", s, [0, 0, 1, 0]),
                 mlp("no_bn_lr1", s, [0, 0, 1, 0]), mlp("bn_lr1", s, [0, 0, 2 + 0.1 * s, 0])]
    res = experiment_result({"runs": runs, "measures": {"rates": [0.1, 1.0], "drift_after_step": 100}})
    assert [c.ratio["absolute"].low > 1 for c in fig1_rates.comparisons(res)] == [True, False]
    row = scorecard.fig1_stability_row(res)
    assert row.verdict.word == "not resolved" and "rate 0.1" in row.ours


def test_every_row_is_glued_by_the_chapter_it_names():
    for make, _ in scorecard.ROWS:
        assert make.__name__ in scorecard.CHAPTER_OF
    for row, (make, _) in zip(scorecard.rows(), scorecard.ROWS):
        assert scorecard.CHAPTER_OF[make.__name__] == row.chapter


def test_part_vi_scorecard_collects_each_study_rows_and_corrects_over_them(monkeypatch):
    import sys
    import types

    from bn.experiments import scorecard
    from bn.statistics import Verdict

    def module(name, ps):
        m = types.ModuleType(f"bn.experiments.{name}")
        m.claim_rows = lambda result: [scorecard.Row(f"{name}_{i}", f"claim {i}", f"today/{name}", "paper",
                                                     f"ours from {result.measures['tag']}",
                                                     Verdict("reproduced", None, "", p))
                                       for i, p in enumerate(ps)]
        monkeypatch.setitem(sys.modules, m.__name__, m)

    module("fake_a", [0.01, 0.04])
    module("fake_b", [0.001])
    rs = scorecard.today_rows({"fake_a": experiment_result({"measures": {"tag": "a"}}),
                               "fake_b": experiment_result({"measures": {"tag": "b"}})}, ("fake_a", "fake_b"))
    assert [r.key for r in rs] == ["fake_a_0", "fake_a_1", "fake_b_0"] and rs[2].ours == "ours from b"
    # Holm over three tests: 0.001 <= 0.05/3, 0.01 <= 0.05/2, 0.04 <= 0.05/1: all survive; a p of 0.03
    # for the first would stop at the second step (0.03 > 0.025) and so fail the third too.
    assert scorecard.holm_column(rs) == ["yes", "yes", "yes"]
    table = scorecard.today_table(rs)
    headers, rows = table.header, table.rows
    assert headers[0] == "claim (source)" and rows[0][3] == "reproduced" and len(rows) == 3
    results = {"fake_a": experiment_result({"provenance": {"cpu_time_s": 60.0}}),
               "fake_b": experiment_result({"provenance": {"cpu_time_s": 30.0}})}
    rs[1] = scorecard.Row("x", "c", "today/x", "p", "o", Verdict("not resolved", None, "", 0.3))
    s = scorecard.today_summary(rs, results, ("fake_a", "fake_b"))
    assert (s.claims, s.reproduced, s.not_resolved, s.reversed, s.not_tested) == (3, 2, 1, 0, 0)
    assert s.survive_holm == 2 and s.lose_holm == 0 and s.tested == 3 and s.cpu_minutes == 1.5


def test_verdict_words_are_what_glue_chapter_glues(monkeypatch):
    from bn import glue as glue_module
    from bn.experiments import scorecard

    glued = {}
    monkeypatch.setattr(glue_module, "_myst_nb_glue", lambda: lambda name, value, display: glued.update({name: value}))
    rs = scorecard.glue_chapter("02_convergence")
    words = {f"verdict_{k}": v for k, v in scorecard.verdict_words(rs).items()}
    assert rs and words == glued
