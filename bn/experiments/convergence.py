"""Experiment 2: does BN alone make the CNN converge in fewer steps? (the paper's BN-Baseline)

The no-BN baseline gets its own best peak rate from a sweep on the validation
split (:func:`bn.experiments.base.select_rate`, with the selection seed, which is
not a reported seed); then both arms run every reported seed at that rate with
the baseline set-up. BN is the only difference, as between the paper's
Inception and BN-Baseline, and equal seeds give both arms the same data order
and augmentations, so the comparison is paired. The chosen rate is the base
rate of experiments 3 to 6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bn.experiments.base import Context, Experiment, ExperimentResult, RunSpec, select_rate
from bn.experiments.settings import baseline_train, cnn_model, cnn_profiles

CLAIM = ("BN alone (BN-Baseline) reaches Inception's accuracy in less than half the training steps "
         "(Ioffe & Szegedy 2015, Sec. 4.2.2 and Fig. 3: 2.3x fewer steps).")


def spec(cfg: dict[str, Any], bn: bool, lr: float, seed: int) -> RunSpec:
    return RunSpec(arm="bn" if bn else "no_bn", label="BN-Baseline" if bn else "Baseline", seed=seed,
                   model=cnn_model(cfg, bn=bn), train=baseline_train(cfg, lr), tags={"bn": bn})


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    selection = select_rate(ctx, lambda lr, seed: spec(cfg, False, lr, seed), cfg["rates"], cfg["select_seed"])
    best = selection["chosen"]
    ctx.run_all([spec(cfg, bn, best, seed) for seed in ctx.seeds for bn in (False, True)])
    return {"baseline_lr": best, "selection": selection}


PROFILES = cnn_profiles(cpu={"rates": [0.01, 0.03, 0.1]}, gpu={"rates": [0.01, 0.03, 0.1]},
                        smoke={"rates": [0.01, 0.1]})



@dataclass(frozen=True)
class ConvergenceSummary:
    """Every number and phrase the chapter on BN alone glues (``conv_`` + field).

    The set-up: the chosen peak rate ``lr`` of the sweep over ``rates`` (selection seed
    ``select_seed``), ``steps`` of ``batch`` images, ``epochs`` of the ``n_fit`` training images,
    ``n_val`` held out, ``n_evals`` evaluations every ``eval_every`` steps on ``eval_examples`` of
    them, a run stopped after ``stall`` evaluations at chance; the network (``widths``, ``dropout``,
    ``params`` without BN) and the baseline training set-up (``wd``, ``crop``, ``warmup``); ``seeds``
    per arm, the data ``copy``, the study's ``cpu_min``.
    The comparison, paired over seeds: the baseline's best (``target_best``, in %), the speedups
    to it in steps (``speedup_best``) and in training seconds (``time_speedup``), where the paper's
    speedup lies (``vs_paper``), the cost of a BN step (``cost_ratio``), the final test accuracies
    (``acc_base``, ``acc_bn``) and their paired difference (``gain``), whether the baseline had
    plateaued (``base_plateau``), the verdict on where training ends (``final_verdict``) and the runs'
    outcomes (``outcomes``).
    ``paper``: the paper's Fig. 3 numbers the chapter quotes (glued ``paper_`` + key). ``verdict``:
    the scorecard's words for this chapter's row (glued ``verdict_`` + key).
    """

    lr: float
    rates: str
    steps: int
    batch: int
    epochs: float
    params: str
    seeds: int
    select_seed: int
    copy: str
    cpu_min: float
    eval_every: int
    n_evals: int
    eval_examples: str
    n_val: str
    n_fit: str
    widths: str
    dropout: float
    wd: float
    crop: int
    warmup: int
    stall: int
    target_best: float
    speedup_best: str
    time_speedup: str
    gain: str
    acc_base: str
    acc_bn: str
    cost_ratio: float
    outcomes: str
    vs_paper: str
    base_plateau: str
    final_verdict: str
    paper: dict[str, float] = field(metadata={"glue": "paper_"})
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})


def summarize(result: ExperimentResult) -> ConvergenceSummary:
    """The chapter's numbers from a convergence result: the set-up it ran, the paired speedup of BN
    to the baseline's best accuracy (in steps and seconds), the final accuracies, the scorecard row."""
    from bn import paper
    from bn.experiments import report, scorecard
    from bn.formatting import data_copy_label
    from bn.models import build_model, count_parameters

    cfg, prov, data = result.config, result.provenance, result.provenance["data"]
    base, bn = report.runs_of(result, "no_bn"), report.runs_of(result, "bn")
    spec = base[0].spec
    best = report.baseline_best(base)
    up = report.paired_speedup(base, bn, best)
    gain, _ = report.paired_final_difference(bn, base)
    steps = paper.FIG3_STEPS_TO_INCEPTION_MAX
    return ConvergenceSummary(
        lr=result.measures["baseline_lr"], rates=", ".join(f"{r:g}" for r in cfg["rates"]), steps=cfg["steps"],
        batch=cfg["batch_size"], epochs=cfg["steps"] * cfg["batch_size"] / data["n_fit"],
        params=f"{count_parameters(build_model(**{**spec.model, 'bn': False})):,}", seeds=len(result.seeds),
        select_seed=cfg["select_seed"], copy=data_copy_label(data["copy"]), cpu_min=prov["cpu_time_s"] / 60,
        eval_every=cfg["eval_every"], n_evals=len(base[0].history.eval_step),
        eval_examples=f"{cfg['eval_examples']:,}", n_val=f"{data['n_val']:,}", n_fit=f"{data['n_fit']:,}",
        widths=", ".join(map(str, cfg["widths"])), dropout=spec.model["dropout"],
        wd=spec.train["weight_decay"], crop=spec.train["crop_pad"], warmup=spec.train["warmup_steps"],
        stall=cfg["stall_window"],
        target_best=best * 100, speedup_best=up.text(),
        time_speedup=report.paired_speedup(base, bn, best, x="train_seconds").text(),
        gain=report.points(gain), acc_base=report.percent(report.final_accuracy(base)),
        acc_bn=report.percent(report.final_accuracy(bn)),
        cost_ratio=report.seconds_per_step(bn) / report.seconds_per_step(base),
        outcomes=report.outcome_text(base + bn),
        vs_paper=report.relative_to(paper.fig3_speedup("BN-Baseline"), up.ratio),
        base_plateau=report.plateau_of(base).text(), final_verdict=report.final_verdict(bn, base, gain),
        paper={"bn_baseline_speedup": paper.fig3_speedup("BN-Baseline"),
               "bnbase_msteps": steps["BN-Baseline"] / 1e6, "inception_msteps": steps["Inception"] / 1e6,
               "x5_speedup_02": paper.fig3_speedup("BN-x5")},
        verdict=scorecard.verdict_words([scorecard.convergence_row(result)]))


EXPERIMENT = Experiment(name="convergence", title="Faster convergence: BN alone at the baseline's best rate",
                        claim=CLAIM, profiles=PROFILES, run=run, summarize=summarize)
