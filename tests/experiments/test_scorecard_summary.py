"""The set-up chapter of the training experiments: its summary (``scorecard.method_summary``) of the
verdict rule's constants, the shared set-up and the committed results of the paper's claims."""

import json
import math
from pathlib import Path

import pytest

from bn.experiments import PAPER_CLAIMS
from bn.experiments.base import ExperimentResult
from bn.experiments.scorecard import method_summary
from bn.glue import glue_record

RESULTS = Path(__file__).resolve().parents[2] / "book" / "results"


@pytest.fixture(scope="module")
def raw():
    return {n: json.loads((RESULTS / f"{n}.json").read_text()) for n in PAPER_CLAIMS
            if (RESULTS / f"{n}.json").exists()}


@pytest.fixture(scope="module")
def summary(raw):
    return method_summary({n: ExperimentResult.from_dict(d) for n, d in raw.items()})


def test_summary_against_the_raw_results(raw, summary):
    # By hand from the JSON files: a sum of a handful of float64 CPU times, the same numbers in the
    # same order, so equal to rounding (rel 1e-12).
    assert summary.n_results == len(raw) == 8
    assert summary.cpu_total == pytest.approx(sum(d["provenance"]["cpu_time_s"] for d in raw.values()) / 60,
                                              rel=1e-12)
    assert {d["provenance"]["data"]["copy"] for d in raw.values()} == {"jpeg-q75-rebuild"}
    assert summary.copy == "CIFAR-10, JPEG-q75 rebuild"
    # The profile the chapter describes is the one the committed convergence runs used.
    conv = raw["convergence"]
    cfg, run = conv["config"], conv["runs"][-1]
    assert (summary.steps, summary.batch, summary.eval_every, summary.stall, summary.select_seed) == (
        cfg["steps"], cfg["batch_size"], cfg["eval_every"], cfg["stall_window"], cfg["select_seed"])
    assert summary.widths == ", ".join(map(str, cfg["widths"])) == "16, 32, 64, 128"
    assert summary.eval_examples == f"{cfg['eval_examples']:,}" == "2,000"
    assert summary.n_evals == len(run["history"]["eval_step"])  # counted from a run, not from the formula
    assert summary.seeds == len(conv["seeds"])
    assert (summary.n_val, summary.n_fit) == (f"{conv['provenance']['data']['n_val']:,}",
                                              f"{conv['provenance']['data']['n_fit']:,}")
    assert summary.eval_se == pytest.approx(100 * 0.5 / math.sqrt(2000), rel=1e-12)


def test_chance_and_learning_margins_are_three_standard_errors(summary):
    # Protects "at chance (at most {setup_chance} %, three binomial standard errors above 10 %)" and
    # "more than three binomial standard errors ({setup_sustain_margin} points) above 10 %": at p = 0.1
    # on the 2,000 evaluation images one standard error is 0.67 points; the margins are its rounding.
    se = 100 * math.sqrt(0.1 * 0.9 / 2000)
    assert summary.chance - 10 == pytest.approx(3 * se, abs=0.05)
    assert summary.sustain_margin == pytest.approx(3 * se, abs=0.05)


def test_rule_constants(summary):
    # Protects the rule as stated: a 95 % interval, a 2.5 % one-sided level per side (the interval's
    # error rate per side), the last 20 % of the steps.
    assert (summary.level, summary.late) == (95.0, 20.0)
    assert summary.alpha_side == pytest.approx((100 - summary.level) / 2, rel=1e-12)


def test_a_missing_result_or_a_second_copy_shows(raw, summary):
    fewer = {n: ExperimentResult.from_dict(d) for n, d in raw.items() if n != "convergence"}
    s = method_summary(fewer)
    assert s.n_results == 7 and s.cpu_total < summary.cpu_total
    mixed = json.loads(json.dumps(raw["fig1_mlp"]))
    mixed["provenance"]["data"]["copy"] = "official"
    s = method_summary({**{n: ExperimentResult.from_dict(d) for n, d in raw.items()},
                            "fig1_mlp": ExperimentResult.from_dict(mixed)})
    assert s.copy == "CIFAR-10, JPEG-q75 rebuild, CIFAR-10, official release"  # both copies named


def test_one_glue_call_gives_the_chapter_names(summary, monkeypatch):
    monkeypatch.setattr("bn.glue.glue", lambda *a, **k: None)
    names = glue_record(summary, "setup_")
    assert len(names) == 25 and {"setup_level", "setup_copy", "setup_div_factor"} <= set(names)
