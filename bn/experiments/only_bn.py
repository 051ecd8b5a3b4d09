"""Training only BN (Frankle, Schwab and Morcos 2020): frozen random convolutions, trained gamma and beta.

    python -m bn.experiments run only_bn [--profile cpu|gpu]

writes ``book/results/only_bn.json``. The deep plain CNN of Part IV
(:class:`bn.models.PlainCNN`) is built at several width multipliers
and trained in the five arms of :func:`bn.training.set_trainable`, on paired
seeds (one seed: the same random convolutions, the same batches in every
arm). Each arm's learning rate is chosen from a small grid on a held-out
validation split of the training set (at one width, the first seed); the
test set is evaluated once per run, at its end.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from bn.formatting import data_copy_label, percent
from bn.statistics import Evidence, Interval, Plateau, all_of, decide, mean_ci, plateau
from bn.experiments.base import Context, Experiment, ExperimentResult, load_tensor_data, record_run_seeds
from bn.experiments.placement import validation_split
from bn.experiments.study_records import nested, read_runs
from bn.experiments.plain_cnn import train_config
from bn.models import PLAIN_WIDTHS, build_model
from bn.results import from_strict_dict
from bn.training import FREEZE_ARMS, TensorData, TrainConfig, evaluate_accuracy, set_trainable, train

__all__ = ["PROFILES", "scaled_widths", "run_arm", "run_only_bn", "ParamCounts", "OnlyBnHistory", "OnlyBnRun",
           "RateTrial", "runs_of", "selection_of", "paired_difference", "summarize", "arm_name", "OnlyBnSummary",
           "chapter_summary", "width_tag", "CHAPTER_PAIRS", "EXPERIMENT"]

PROFILES: dict[str, dict[str, Any]] = {
    # About 4 CPU-minutes at one thread (the machine is shared): 200 steps of 64 images are a
    # quarter of an epoch, and the widest network is the default one; the gpu profile goes wider.
    "cpu": {"width_multipliers": [0.25, 0.5, 1.0], "seeds": [0, 1, 2], "arms": list(FREEZE_ARMS),
            "lr_grid": [0.05, 0.2, 0.8], "select_width": 0.5, "n_train": None, "n_val": 5000,
            "n_test": None, "steps": 200, "batch_size": 64, "peak_lr": 0.05, "eval_every": 50,
            "eval_examples": 1000, "device": "cpu"},
    "gpu": {"width_multipliers": [0.5, 1.0, 2.0, 4.0], "seeds": [0, 1, 2, 3, 4], "arms": list(FREEZE_ARMS),
            "lr_grid": [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2], "select_width": 1.0, "n_train": None,
            "n_val": 5000, "n_test": None, "steps": 5000, "batch_size": 128, "peak_lr": 0.05,
            "eval_every": 1000, "eval_examples": 5000, "device": "cuda"},
    "smoke": {"width_multipliers": [0.25, 0.5], "seeds": [0, 1], "arms": list(FREEZE_ARMS),
              "lr_grid": [0.05, 0.2], "select_width": 0.5, "n_train": None, "n_val": 100, "n_test": None,
              "steps": 4, "batch_size": 16, "peak_lr": 0.05, "eval_every": 2, "eval_examples": 50,
              "device": "cpu"},
}


def scaled_widths(multiplier: float, base: tuple[int, ...] = PLAIN_WIDTHS) -> list[int]:
    """The plain CNN's channel counts times ``multiplier`` (rounded, at least 1)."""
    return [max(1, round(c * multiplier)) for c in base]


def run_arm(fit: TensorData, test: TensorData, p: dict[str, Any], arm: str, multiplier: float,
            seed: int, lr: float) -> dict[str, Any]:
    """Build the plain CNN at ``multiplier`` under ``torch.manual_seed(seed)``, freeze by ``arm``, train.

    No weight decay in any arm: it would move the frozen entries of the
    ``random_params`` arm (see :func:`bn.training.set_trainable`), and the
    other arms keep the same optimizer so that only the trained set differs.
    Returns the run's record: validation accuracy (``fit``'s held-out split,
    all of it), test accuracy (the whole test set), parameter counts and history.
    """
    torch.manual_seed(seed)
    model = build_model("plain", widths=scaled_widths(multiplier), norm="torch")
    counts = set_trainable(model, arm, torch.Generator().manual_seed(1000 + seed))
    cfg = train_config(p, peak_lr=lr, weight_decay=0.0)
    c0 = time.process_time()
    history = train(model, fit, cfg, seed, device=p["device"], progress=False,
                    desc=f"{arm} x{multiplier} s{seed}")
    cpu = time.process_time() - c0
    test_acc = evaluate_accuracy(model, test, None, p["device"]) if not history.diverged else None
    return {"arm": arm, "width_multiplier": multiplier, "widths": scaled_widths(multiplier), "seed": seed,
            "lr": lr, "params": counts.to_dict(), "val_acc": history.final_test_acc, "test_acc": test_acc,
            "diverged": history.diverged, "cpu_seconds": cpu, "train": cfg.to_dict(),
            "history": {k: getattr(history, k) for k in ("eval_step", "test_acc", "train_loss")}}


def run_only_bn(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Select each arm's rate on validation, then train every arm, width and seed; return every run.

    The selection runs (``select_width``, first seed, every rate of the grid) are
    themselves runs of the study: the one at the chosen rate is kept, not rerun.
    """
    n_train = len(data.train_labels) - p["n_val"]
    fit, test = validation_split(data, n_train, p["n_val"])
    first = p["seeds"][0]
    selection, chosen, runs = [], {}, []
    for arm in p["arms"]:
        tried = [run_arm(fit, test, p, arm, p["select_width"], first, lr) for lr in p["lr_grid"]]
        ok = [r for r in tried if r["val_acc"] is not None]
        best = max(ok, key=lambda r: r["val_acc"]) if ok else tried[0]
        chosen[arm] = best["lr"]
        selection += [{k: r[k] for k in ("arm", "lr", "val_acc", "diverged", "cpu_seconds")} for r in tried]
        runs.append(best)
    for seed in p["seeds"]:
        for multiplier in p["width_multipliers"]:
            for arm in p["arms"]:
                if seed == first and multiplier == p["select_width"]:
                    continue
                runs.append(run_arm(fit, test, p, arm, multiplier, seed, chosen[arm]))
    runs.sort(key=lambda r: (r["width_multiplier"], p["arms"].index(r["arm"]), r["seed"]))
    return {"runs": runs, "selection": selection, "chosen_lr": chosen,
            "n_fit": n_train, "n_val": p["n_val"], "n_test": len(test.test_labels)}


@dataclass(frozen=True)
class ParamCounts:
    """A run's parameter counts as :meth:`bn.training.freezing.Trainable.to_dict` stores them: the arm,
    the BN parameters, the classifier's, the others, those trained and all."""

    arm: str
    bn: int
    classifier: int
    other: int
    trainable: int
    total: int


@dataclass(frozen=True)
class OnlyBnHistory:
    """What a run keeps of its history: the evaluation steps, the periodic accuracy on the validation
    split (stored as ``test_acc``, the loop's name for it) and the training loss."""

    eval_step: list[int]
    test_acc: list[float]
    train_loss: list[float | None]


@dataclass(frozen=True)
class OnlyBnRun:
    """One run as :func:`run_arm` records it: arm, width multiplier and channel counts, seed, rate,
    parameter counts, final validation and test accuracy (None for a diverged run), whether it
    diverged, CPU seconds, the training configuration (as stored) and the kept history."""

    arm: str
    width_multiplier: float
    widths: list[int]
    seed: int
    lr: float
    params: ParamCounts
    val_acc: float | None
    test_acc: float | None
    diverged: bool
    cpu_seconds: float
    train: dict[str, Any]
    history: OnlyBnHistory

    def to_dict(self) -> dict[str, Any]:
        """The record as :func:`run_arm` writes it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "only_bn run") -> "OnlyBnRun":
        """The run ``d`` holds; an unknown or a missing key (here, in its counts, history or training
        configuration) is a ValueError that names ``what`` and the key."""
        run = from_strict_dict(cls, d, what)
        nested(TrainConfig.from_dict, run.train, what)
        return replace(run, params=nested(lambda v: from_strict_dict(ParamCounts, v, "parameter counts"),
                                          run.params, what),
                       history=nested(lambda v: from_strict_dict(OnlyBnHistory, v, "run history"),
                                      run.history, what))


@dataclass(frozen=True)
class RateTrial:
    """One run of the rate selection (``measures["selection"]``): arm, rate, final validation
    accuracy (None if it diverged), whether it diverged, CPU seconds."""

    arm: str
    lr: float
    val_acc: float | None
    diverged: bool
    cpu_seconds: float


def runs_of(result: ExperimentResult, source: str | None = None) -> list[OnlyBnRun]:
    """The runs of a result of this study, typed (an error names ``source``, by default the result's file)."""
    return read_runs(result, OnlyBnRun.from_dict, source)


def selection_of(result: ExperimentResult, source: str | None = None) -> list[RateTrial]:
    """The rate-selection runs of a result of this study, typed, in the file's order."""
    from bn.experiments.study_records import result_source

    where = source or result_source(result)
    return [from_strict_dict(RateTrial, t, f"{where}: only_bn selection run {i}")
            for i, t in enumerate(result.measures["selection"])]


def _by_width_arm_seed(result: ExperimentResult) -> dict[tuple[float, str, int], OnlyBnRun]:
    return {(r.width_multiplier, r.arm, r.seed): r for r in runs_of(result)}


def paired_difference(result: ExperimentResult, multiplier: float, arm: str, reference: str) -> Interval:
    """Test accuracy of ``arm`` minus that of ``reference`` at one width: mean over seeds, 95 % interval.

    The arms of a seed share their random convolutions and their batches, so
    the per-seed differences are matched pairs; the interval is the t interval
    of their mean (:func:`bn.statistics.mean_ci`).
    """
    by = _by_width_arm_seed(result)
    pairs = [(by[(multiplier, arm, s)].test_acc, by[(multiplier, reference, s)].test_acc) for s in result.seeds]
    if any(a is None or b is None for a, b in pairs):
        raise ValueError(f"a run of {arm!r} or {reference!r} at width {multiplier} diverged")
    return mean_ci([a - b for a, b in pairs])


def summarize(result: ExperimentResult, reference: str = "linear_only") -> dict[str, Any]:
    """Per width and arm: test accuracy and its paired difference to ``reference``, with 95 % intervals.

    Returns ``{"accuracy": {m: {arm: Interval}}, "versus": {m: {arm: Interval}},
    "params": {m: {arm: ParamCounts}}}`` keyed by the width multiplier (see
    :func:`paired_difference`); an arm with a diverged run has no entry.
    """
    acc: dict[float, dict[str, Interval]] = {}
    vs: dict[float, dict[str, Interval]] = {}
    params: dict[float, dict[str, ParamCounts]] = {}
    seeds = result.seeds
    by = _by_width_arm_seed(result)
    for m in result.config["width_multipliers"]:
        acc[m], vs[m], params[m] = {}, {}, {}
        for arm in result.config["arms"]:
            rows = [by[(m, arm, s)] for s in seeds]
            params[m][arm] = rows[0].params
            if any(r.test_acc is None for r in rows):
                continue
            acc[m][arm] = mean_ci([r.test_acc for r in rows])
            if arm != reference and all(by[(m, reference, s)].test_acc is not None for s in seeds):
                vs[m][arm] = paired_difference(result, m, arm, reference)
    return {"accuracy": acc, "versus": vs, "params": params}


def arm_plateau(result: ExperimentResult, multiplier: float, arm: str) -> Plateau:
    """The plateau rule on the periodic (validation) accuracy of ``arm``'s runs at one width."""
    runs = [r for r in runs_of(result) if r.width_multiplier == multiplier and r.arm == arm
            and r.test_acc is not None]
    return plateau([(r.history.eval_step, r.history.test_acc) for r in runs], int(result.config["steps"]))


def claim_verdicts(result: ExperimentResult) -> dict[str, str]:
    """The rule's verdict (:func:`bn.statistics.decide`) on each claim of Frankle et al. (2021).

    ``"above_chance"``: γ and β alone reach an accuracy above chance (10 %) at every width (a
    lower bound on where training ends, so no plateau is needed). ``"above_random"`` /
    ``"above_linear"``: γ and β alone end above as many random other parameters / above the
    classifier alone, at every width: claims about where training ends, not tested unless both
    arms plateaued. ``"gap_grows"``: the gap to the random parameters is larger at the widest than
    at the narrowest width (per seed, the difference of the two gaps), also about the end.
    """
    widths = result.config["width_multipliers"]
    acc = summarize(result)["accuracy"]
    out = {"above_chance": all_of([decide(Evidence(acc[m]["bn_only"], 0.1)) for m in widths]).word}
    for key, ref in (("above_random", "random_params"), ("above_linear", "linear_only")):
        out[key] = all_of([decide(Evidence(paired_difference(result, m, "bn_only", ref), 0.0, about_end=True,
                                           plateaued=arm_plateau(result, m, "bn_only").plateaued
                                           and arm_plateau(result, m, ref).plateaued)) for m in widths]).word
    lo, hi = min(widths), max(widths)
    by = {k: r.test_acc for k, r in _by_width_arm_seed(result).items()}
    seeds = result.seeds
    grow = mean_ci([(by[hi, "bn_only", s] - by[hi, "random_params", s]) - (by[lo, "bn_only", s] - by[lo, "random_params", s])
                    for s in seeds])
    flat = all(arm_plateau(result, m, a).plateaued for m in (lo, hi) for a in ("bn_only", "random_params"))
    out["gap_grows"] = decide(Evidence(grow, 0.0, about_end=True, plateaued=flat)).word
    return out


# The paired differences the chapter tabulates and glues: (arm, reference).
CHAPTER_PAIRS = (("bn_only", "random_params"), ("bn_only", "linear_only"),
                 ("bn_and_linear", "linear_only"), ("all", "bn_and_linear"))


def width_tag(multiplier: float) -> str:
    """A width multiplier as a glue-name suffix: ``0.25 -> "025"``, ``1.0 -> "1"``."""
    return f"{multiplier:g}".replace(".", "")


@dataclass(frozen=True)
class OnlyBnSummary:
    """Every number and word the chapter states about an only_bn result, glued as ``ob-`` + field.

    Setup: data copy, steps, batch size, seed count, the fit / validation / test split sizes, CPU
    minutes, the width of the rate selection and the widest width (as ``"0.5×"``), epochs trained.
    Parameter counts at width 1× (from the result's runs): all parameters, γ and β, the
    classifier (thousands separated), and γ and β's share of all in percent. ``acc``: test
    accuracy per ``"{arm}-{width tag}"`` (:func:`percent` of the mean over seeds, 95 % t
    interval); ``d``: paired difference in points per ``"{arm}-{reference}-{width tag}"`` over
    :data:`CHAPTER_PAIRS` (:func:`paired_difference`). Rates: the one chosen for training
    everything and the grid's largest. ``verdict``: the rule's word per claim
    (:func:`claim_verdicts`); ``plateau_linear_05`` and ``plateau_linear_1``: the plateau rule on the classifier-only runs at
    0.5× and 1× (the claim over the classifier waits for a plateau at every width).
    """

    copy: str
    steps: int
    batch: int
    nseeds: int
    nfit: int
    nval: int
    ntest: int
    cpu_min: float
    select_width: str
    widest: str
    epochs: float
    total_1x: str
    bn_1x: str
    head_1x: str
    bn_share_1x: float
    acc: dict[str, str]
    d: dict[str, str]
    lr_all: float
    lr_max: float
    verdict: dict[str, str]
    plateau_linear_05: str
    plateau_linear_1: str


def chapter_summary(result: ExperimentResult) -> OnlyBnSummary:
    """The chapter's record of ``result`` (see :class:`OnlyBnSummary`).

    Raises ``ValueError`` where a run diverged (an arm without an accuracy: the chapter states
    every one) or the result has no width 1× (the counts the prose gives).
    """
    cfg, prov, measures = result.config, result.provenance, result.measures
    widths = cfg["width_multipliers"]
    if 1.0 not in widths:
        raise ValueError(f"the chapter's counts are at width 1x, not among {widths}")
    by_arm = summarize(result)
    missing = [f"{arm} x{m:g}" for m in widths for arm in cfg["arms"] if arm not in by_arm["accuracy"][m]]
    if missing:
        raise ValueError(f"runs diverged, no accuracy for: {missing}")
    one = by_arm["params"][1.0]
    return OnlyBnSummary(
        copy=data_copy_label(prov["data"]["copy"]),
        steps=cfg["steps"], batch=cfg["batch_size"], nseeds=len(cfg["seeds"]),
        nfit=measures["n_fit"], nval=measures["n_val"], ntest=measures["n_test"],
        cpu_min=prov["cpu_time_s"] / 60,
        select_width=f"{cfg['select_width']:g}×", widest=f"{max(widths):g}×",
        epochs=cfg["steps"] * cfg["batch_size"] / measures["n_fit"],
        total_1x=f"{one['all'].total:,}", bn_1x=f"{one['bn_only'].trainable:,}",
        head_1x=f"{one['linear_only'].trainable:,}",
        bn_share_1x=100 * one["bn_only"].trainable / one["all"].total,
        acc={f"{arm}-{width_tag(m)}": percent(by_arm["accuracy"][m][arm])
             for m in widths for arm in cfg["arms"]},
        d={f"{a}-{b}-{width_tag(m)}": paired_difference(result, m, a, b).fmt(1, scale=100)
           for m in widths for a, b in CHAPTER_PAIRS},
        lr_all=measures["chosen_lr"]["all"], lr_max=max(cfg["lr_grid"]),
        verdict=claim_verdicts(result),
        plateau_linear_05=arm_plateau(result, 0.5, "linear_only").text(),
        plateau_linear_1=arm_plateau(result, 1.0, "linear_only").text(),
    )


def arm_name(record: dict[str, Any]) -> str:
    """A run record's arm and width (what its seeds are noted under in ``seeds_run``)."""
    return f"{record['arm']} x{record['width_multiplier']:g}"


def load_data(data_dir: str | None, cfg: dict[str, Any]) -> tuple[TensorData, dict[str, Any]]:
    """The profile's CIFAR-10 images; :func:`run_only_bn` holds out its validation split itself."""
    return load_tensor_data(data_dir, cfg["n_train"], cfg["n_test"])


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """The study under ``cfg`` (seeds from ``ctx``): every run, the rate selection and the splits."""
    measures = run_only_bn(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name="only_bn", title="Training only BN: frozen random convolutions, trained gamma and beta",
    claim=("Training only BN's gamma and beta of a deep CNN with frozen random convolutions reaches an "
           "accuracy far above chance, above as many other random parameters and above the classifier "
           "alone, and the gap grows with width (Frankle, Schwab and Morcos 2021)."),
    profiles=PROFILES, run=run, summarize=summarize, load_data=load_data)
