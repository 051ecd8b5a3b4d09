"""Where training ends: the CNN arms of Fig. 3 trained four times longer than experiments 2-4.

The paper's claims that BN-x30 ends *higher* than BN-x5, and that BN-Baseline
ends above the baseline, are about where long training ends; a run of 1.4
epochs whose curves still climb cannot test them. This experiment trains the
baseline (no BN), BN-Baseline, BN-x5 and BN-x30 (the recipe at 5 and 30 times
the base rate), and the sigmoid CNN without BN, for four times the steps of
the ``cpu`` profile of experiments 2-4, with every schedule scaled with the
run (warm-up 5 %, the decay's half-life a fixed fraction of the run). The
rates are not chosen again: the base rate is the convergence experiment's
choice, the sigmoid's rate the sigmoid experiment's (both read from their
result files and recorded in this one).

Whether a run has *plateaued* decides whether a claim about where training
ends is tested at all (:func:`bn.statistics.plateau`, a rule stated before the
results). The sigmoid arm runs without the stop at chance, so "does not train"
rests on a whole run, not on a cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bn.experiments import sigmoid
from bn.experiments.base import Context, Experiment, ExperimentResult, RunRecord, RunSpec
from bn.experiments.settings import base_rate, baseline_train, cnn_model, cnn_profiles, recipe_setup
from bn.statistics import LATE_FRACTION

CLAIM = ("Trained to the end, BN-x30 reaches a higher accuracy than BN-x5 (74.8 % against 73.0 %), BN-Baseline "
         "ends above the baseline, and the sigmoid network without BN never trains "
         "(Ioffe & Szegedy 2015, Sec. 4.2.2 and Fig. 3).")

ARMS = ("no_bn", "bn", "bn_x5", "bn_x30", "no_bn_sigmoid")
LABELS = {"no_bn": "Baseline", "bn": "BN-Baseline", "bn_x5": "BN-x5", "bn_x30": "BN-x30",
          "no_bn_sigmoid": "Sigmoid, no BN"}


def sigmoid_rate(cfg: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """The sigmoid network's rate: the choice of the sigmoid result ``cfg["sigmoid_lr"]`` names
    (``"sigmoid"``, ``"sigmoid_gpu"``), or a number (the smoke profile's stand-in)."""
    if not isinstance(cfg["sigmoid_lr"], str):
        return float(cfg["sigmoid_lr"]), {"value": float(cfg["sigmoid_lr"])}
    from bn.results import load_result

    res = load_result(cfg["sigmoid_lr"])
    lr = float(res["measures"]["no_bn_lr"])
    return lr, {"file": f"{cfg['sigmoid_lr']}.json", "commit": res["provenance"]["code"]["commit"],
                "profile": res["profile"], "no_bn_lr": lr}


def spec(cfg: dict[str, Any], arm: str, base_lr: float, sigmoid_lr: float, seed: int) -> RunSpec:
    """One run of ``arm`` (see :data:`ARMS`) under the long profile ``cfg``."""
    if arm in ("no_bn", "bn"):
        model, train = cnn_model(cfg, bn=arm == "bn"), baseline_train(cfg, base_lr)
    elif arm in ("bn_x5", "bn_x30"):
        train, dropout = recipe_setup(cfg, base_lr, lr_multiplier=int(arm[4:]))
        model = cnn_model(cfg, bn=True, dropout=dropout)
    elif arm == "no_bn_sigmoid":
        s = sigmoid.no_bn_spec(cfg, sigmoid_lr, seed)
        model, train = s.model, {**s.train, "stall_window": 0}  # the whole run, no stop at chance
    else:
        raise ValueError(f"unknown arm {arm!r}; the arms are {', '.join(ARMS)}")
    return RunSpec(arm=arm, label=LABELS[arm], seed=seed, model=model, train=train, tags={"long": True})


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    base = base_rate(ctx, cfg)
    sig_lr, sig_source = sigmoid_rate(cfg)
    ctx.run_all([spec(cfg, arm, base, sig_lr, seed) for seed in ctx.seeds for arm in ARMS])
    return {"base_lr": base, "sigmoid_lr": sig_lr, "sigmoid_lr_source": sig_source,
            "steps_factor": cfg["steps_factor"]}


# Four times the cpu profile's 500 steps (5.7 epochs of the 45,000 training images), evaluated as
# often relative to the run (every 48 steps: 42 evaluations); three seeds, to fit about 90 CPU-minutes.
PROFILES = cnn_profiles(
    cpu={"base_lr": "convergence", "sigmoid_lr": "sigmoid", "steps": 2000, "eval_every": 48,
         "seeds": [0, 1, 2], "steps_factor": 4},
    gpu={"base_lr": "convergence", "sigmoid_lr": "sigmoid_gpu", "steps": 24000, "eval_every": 400,
         "steps_factor": 4},
    smoke={"base_lr": 0.03, "sigmoid_lr": 0.03, "steps": 48, "eval_every": 4, "seeds": [0, 1],
           "steps_factor": 1})


# ---------------------------------------------------------------------------------------------
# Analysis

# The rule that tells a run that learns from one that stays at chance is the sigmoid claim's; it is
# kept importable from here, where the longer runs it judges are made.
SUSTAIN_MARGIN = sigmoid.SUSTAIN_MARGIN
sustains_learning = sigmoid.sustains_learning


def sustain_table(runs: list[RunRecord], fraction: float = LATE_FRACTION) -> "Table":
    """Per run: outcome, best validation accuracy at any evaluation, the median over the last ``fraction``
    of its steps, and whether it sustains learning (:func:`sustains_learning`)."""
    from statistics import median

    from bn.experiments.report import Table, outcome

    rows = []
    for r in runs:
        h = r.history
        cut = (1 - fraction) * r.spec.train["steps"]
        late = [a for s, a in zip(h.eval_step, h.eval_acc) if s > cut]
        rows.append([str(r.spec.seed), outcome(r), str(h.steps_done), f"{100 * max(h.eval_acc[1:]):.1f} %",
                     f"{100 * median(late):.1f} %" if late else "–", "yes" if sustains_learning(r, fraction) else "no"])
    return Table(["seed", "outcome", "steps", "best validation accuracy", f"median, last {100 * fraction:.0f} %",
                  "sustains learning"], rows)


RELU_ARMS = ("no_bn", "bn", "bn_x5", "bn_x30")
"""The arms of Fig. 3 (ReLU); the sigmoid arm is read in its own chapter."""

END_CLAIMS = (("bn", "no_bn"), ("bn_x30", "bn_x5"))
"""The claims about where training ends: (better arm, reference arm) as the paper has them."""


def plateau_table(result: ExperimentResult) -> "Table":
    """Per ReLU arm: outcomes, where each seed's best validation accuracy came (steps), the plateau rule's
    reading, the mean best validation accuracy and the final test accuracy."""
    from bn.experiments.report import (Table, best_accuracy, failed, final_accuracy, outcome_text, percent,
                                       plateau_of, runs_of)
    from bn.statistics import mean_ci

    rows = []
    for arm in RELU_ARMS:
        runs = runs_of(result, arm)
        done = [r for r in runs if not failed(r)]
        p = plateau_of(runs)
        rows.append([LABELS[arm], outcome_text(runs), ", ".join(map(str, p.best_steps)), p.text(),
                     percent(mean_ci([best_accuracy(r) for r in done])) if done else "–",
                     percent(final_accuracy(runs))])
    return Table(["arm", "runs", "step of the best (per seed)", "plateau rule", "best validation accuracy",
                  "final test accuracy"], rows)


def end_table(result: ExperimentResult) -> "Table":
    """The two claims about where training ends: paired best validation accuracy (the paper's measure)
    and final test accuracy, each with the rule's verdict (not tested unless both arms plateaued)."""
    from bn.experiments.report import (Table, final_verdict, paired_best_difference, paired_final_difference,
                                       plateau_of, points, runs_of)
    from bn.statistics import Evidence, decide

    rows = []
    for better, ref in END_CLAIMS:
        a, b = runs_of(result, better), runs_of(result, ref)
        best, _ = paired_best_difference(a, b)
        final, _ = paired_final_difference(a, b)
        flat = plateau_of(a).plateaued and plateau_of(b).plateaued
        rows.append([f"{LABELS[better]} − {LABELS[ref]}", points(best),
                     decide(Evidence(best, 0.0, about_end=True, plateaued=flat)).word, points(final),
                     final_verdict(a, b, final)])
    return Table(["paired over seeds", "best validation accuracy", "verdict", "final test accuracy", "verdict"],
                 rows)


@dataclass(frozen=True)
class LongSummary:
    """What the chapter on four times longer training states, glued under ``long_``.

    The paper's Fig. 3 maximum accuracies in percent (``paper_*``); the set-up: the plateau rule's late
    window in percent of the steps (``late``), the base rate, the steps as printed, the shorter runs'
    steps (``short_steps``), their ratio (``factor``), the epochs, seeds, evaluation interval, CPU
    minutes and data copy. Per ReLU arm (keyed by arm): the plateau rule's reading, the final test
    accuracy and the runs' outcomes. Per claim about where training ends (keyed ``BETTER_REFERENCE``):
    the paired difference of best validation (``best``) and of final test accuracy (``final``). The
    baseline's best in percent (``target``), BN-Baseline's paired speedup to it and its verdict. The
    scorecard's words for the chapter's rows (``verdict``, glued ``verdict_KEY``).
    """

    paper_x30: float
    paper_x5: float
    paper_bnbase: float
    paper_inception: float
    late: float
    base_lr: str
    steps: str
    short_steps: str
    factor: int
    epochs: float
    seeds: str
    eval_every: int
    cpu_min: float
    copy: str
    plateau: dict[str, str]
    best: dict[str, str]
    final: dict[str, str]
    acc: dict[str, str]
    outcome: dict[str, str]
    target: float
    speedup: str
    speedup_verdict: str
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})


def summarize(result: ExperimentResult, convergence: ExperimentResult | None = None) -> LongSummary:
    """The chapter's numbers from a ``long_training`` result and the ``convergence`` result whose shorter
    runs it lengthens (the committed one when not given)."""
    from bn import paper
    from bn.experiments import report, scorecard
    from bn.formatting import data_copy_label

    if convergence is None:
        from bn.experiments.base import load_experiment_result

        convergence = load_experiment_result("convergence")
    cfg, prov, meas = result.config, result.provenance, result.measures
    arm = {a: report.runs_of(result, a) for a in RELU_ARMS}
    best, final = {}, {}
    for better, ref in END_CLAIMS:
        best[f"{better}_{ref}"] = report.points(report.paired_best_difference(arm[better], arm[ref])[0])
        final[f"{better}_{ref}"] = report.points(report.paired_final_difference(arm[better], arm[ref])[0])
    target = report.baseline_best(arm["no_bn"])
    up = report.paired_speedup(arm["no_bn"], arm["bn"], target)
    rows = [scorecard.bn_baseline_end_row(result), scorecard.x30_row(result)]
    return LongSummary(
        paper_x30=100 * paper.FIG3_MAX_ACCURACY["BN-x30"], paper_x5=100 * paper.FIG3_MAX_ACCURACY["BN-x5"],
        paper_bnbase=100 * paper.FIG3_MAX_ACCURACY["BN-Baseline"],
        paper_inception=100 * paper.FIG3_MAX_ACCURACY["Inception"], late=100 * LATE_FRACTION,
        base_lr=f"{meas['base_lr']:g}", steps=f"{cfg['steps']:,}", short_steps=f"{convergence.config['steps']:,}",
        factor=meas["steps_factor"], epochs=cfg["steps"] * cfg["batch_size"] / prov["data"]["n_fit"],
        seeds=", ".join(map(str, sorted({r.spec.seed for r in arm["bn"]}))), eval_every=cfg["eval_every"],
        cpu_min=prov["cpu_time_s"] / 60, copy=data_copy_label(prov["data"]["copy"]),
        plateau={a: report.plateau_of(runs).text() for a, runs in arm.items()}, best=best, final=final,
        acc={a: report.percent(report.final_accuracy(runs)) for a, runs in arm.items()},
        outcome={a: report.outcome_text(runs) for a, runs in arm.items()},
        target=100 * target, speedup=up.text(), speedup_verdict=report.verdict(up.ratio, bound=up.bound),
        verdict=scorecard.verdict_words(rows))


EXPERIMENT = Experiment(name="long_training", title="Where training ends: the Fig. 3 arms trained four times longer",
                        claim=CLAIM, profiles=PROFILES, run=run, summarize=summarize)
