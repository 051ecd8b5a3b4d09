"""BN, LayerNorm, GroupNorm, ghost-batch BN and Batch Renormalization trained side by side.

    python -m bn.experiments run norm_family [--profile cpu|gpu] [--seeds 0,1,2] [--workers N]

trains the deep plain CNN of Part IV (:class:`bn.models.PlainCNN`) on
CIFAR-10 with each normalization at each batch size, with the book's one loop
(:func:`bn.training.train`), and writes ``book/results/norm_family.json``
(``norm_family_gpu.json`` for the gpu profile). The committed cpu result was run
in parts, a seed each, side by side, and joined by :func:`merge_parts`.

The design, the same for every arm:

- *Equal examples.* Every run sees ``examples`` training examples, so a batch
  of ``B`` takes ``examples / B`` steps: smaller batches take more, smaller steps.
- *Linear rate scaling.* The peak rate is ``base_lr * B / 128``; 5 % of the
  steps warm up linearly, and the rate halves once over the run.
- *Paired seeds.* For one seed, every arm starts from the same convolution
  weights (the norm layers draw no random numbers) and, at one batch size,
  sees the same examples in the same order with the same flips.
- *Eval mode.* Test accuracy is measured in eval mode, with the running
  statistics for the BN-type layers. For those, the accuracy with each test
  batch of ``B`` normalized by its own statistics (training-mode arithmetic,
  :func:`bn.population.batch_statistics_accuracy`) is recorded next to it:
  the train/eval gap.

Arms: ``bn`` (``BatchNorm2d``), ``group`` (``GroupNorm``), ``layer``
(``GroupNorm(1, C)``), ``ghost`` (:class:`bn.normalization.layers.GhostBatchNorm2d`,
only at batch sizes above its ghost size) and ``renorm``
(:class:`bn.normalization.layers.BatchRenorm2d` with the paper's limits, BN for the first
5 % of steps, relaxed linearly over the next 25 %). Every BN-type layer
averages its running statistics with momentum 0.1.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from bn.formatting import Table, data_copy_label, percent, points, resolved
from bn.statistics import Interval, mean_ci, paired_difference_ci
from bn.experiments.base import (Context, Experiment, ExperimentResult, load_tensor_data, record_run_seeds,
                                 seeds_by_arm)
from bn.experiments.study_records import nested, read_runs
from bn.population import batch_statistics_accuracy
from bn.models import build_model
from bn.results import from_strict_dict
from bn.training import History, TensorData, TrainConfig, train

__all__ = ["ARMS", "LABELS", "PROFILES", "arm_norm", "arms_at", "train_config", "run_arm", "run_norm_family",
           "merge_parts", "NormFamilyRun", "runs_of", "accuracy_grid", "accuracy_changes", "accuracy_change",
           "NormFamilySummary", "summarize", "accuracy_table", "gap_table", "arm_name", "EXPERIMENT"]

ARMS = ("bn", "group", "layer", "ghost", "renorm")
BATCH_NORM_TYPE = ("bn", "ghost", "renorm")
REFERENCE_BATCH = 128  # the batch size at which the rate is base_lr
LABELS = {"bn": "BatchNorm", "group": "GroupNorm", "layer": "LayerNorm", "ghost": "ghost-batch BN",
          "renorm": "Batch Renorm"}

_COMMON: dict[str, Any] = {"arms": list(ARMS), "base_lr": 0.1, "groups": 4, "ghost_size": 8,
                           "r_max": 3.0, "d_max": 5.0, "renorm_warmup": 0.05, "renorm_ramp": 0.25,
                           "weight_decay": 5e-4, "evals": 2, "eval_examples": 1000,
                           "pool_after": [0, 3, 5]}

PROFILES: dict[str, dict[str, Any]] = {
    # A narrow 8-layer net, 4,096 examples per run drawn from 10,000 training
    # images, and 2,000 test images keep three seeds of 18 runs near 8 CPU-minutes;
    # the batches of 2, 2,048 steps each, take most of it.
    "cpu": {**_COMMON, "seeds": [0, 1, 2], "batch_sizes": [2, 8, 32, 128], "examples": 4096,
            "widths": [8, 8, 8, 16, 16, 16, 32, 32], "n_train": 10000, "n_test": 2000,
            "gap_examples": 500, "device": "cpu"},
    # The book's default widths, two epochs per run, more batch sizes.
    "gpu": {**_COMMON, "seeds": [0, 1, 2], "batch_sizes": [2, 4, 8, 16, 32, 64, 128], "examples": 100000,
            "widths": [16, 16, 16, 32, 32, 32, 64, 64], "n_train": None, "n_test": None,
            "gap_examples": None, "device": "cuda"},
    "smoke": {**_COMMON, "seeds": [0], "batch_sizes": [2, 8, 16], "examples": 64, "widths": [4, 8],
              "pool_after": [0], "n_train": 200, "n_test": 100, "gap_examples": 40, "eval_examples": 50,
              "device": "cpu"},
}


def arm_norm(arm: str, p: dict[str, Any], steps: int) -> tuple[str, dict[str, Any]]:
    """``(norm, norm_options)`` for :func:`bn.models.make_norm` of ``arm`` in a run of ``steps`` steps."""
    if arm == "bn":
        return "torch", {}
    if arm == "group":
        return "group", {"groups": p["groups"]}
    if arm == "layer":
        return "layer", {}
    if arm == "ghost":
        return "ghost", {"ghost_size": p["ghost_size"]}
    if arm == "renorm":
        return "renorm", {"r_max": p["r_max"], "d_max": p["d_max"],
                          "warmup": round(p["renorm_warmup"] * steps), "ramp": round(p["renorm_ramp"] * steps)}
    raise ValueError(f"unknown arm {arm!r} (expected one of {ARMS})")


def train_config(p: dict[str, Any], batch_size: int) -> TrainConfig:
    """Equal examples and linear rate scaling: ``examples / B`` steps at ``base_lr * B / 128``."""
    steps = p["examples"] // batch_size
    return TrainConfig(steps=steps, batch_size=batch_size, peak_lr=p["base_lr"] * batch_size / REFERENCE_BATCH,
                       warmup_steps=max(1, steps // 20), half_life=float(steps), weight_decay=p["weight_decay"],
                       flip=True, eval_every=max(1, steps // p["evals"]), eval_examples=p["eval_examples"],
                       checkpoint_every=10**9)


def arms_at(p: dict[str, Any], batch_size: int) -> list[str]:
    """The arms trained at ``batch_size``: ghost-batch BN only where the batch holds more than one ghost batch."""
    return [a for a in p["arms"] if a != "ghost" or batch_size > p["ghost_size"]]


def run_arm(data: TensorData, p: dict[str, Any], arm: str, batch_size: int, seed: int,
            progress: bool = False) -> dict[str, Any]:
    """Train one arm at one batch size from one seed; return its record."""
    cfg = train_config(p, batch_size)
    norm, options = arm_norm(arm, p, cfg.steps)
    model_args = {"kind": "plain", "norm": norm, "norm_options": options, "widths": p["widths"],
                  "pool_after": p["pool_after"]}
    torch.manual_seed(seed)
    args = dict(model_args)
    model = build_model(args.pop("kind"), **args)
    c0 = time.process_time()
    history = train(model, data, cfg, seed, device=p["device"], progress=progress,
                    desc=f"{arm} B={batch_size} s{seed}")
    rec: dict[str, Any] = {"arm": arm, "batch_size": batch_size, "seed": seed, "model": model_args,
                           "train": cfg.to_dict(), "history": history.to_dict(),
                           "final_test_acc": history.final_test_acc}
    if arm in BATCH_NORM_TYPE and not history.diverged:
        model.cpu()
        rec["batch_stats_test_acc"] = batch_statistics_accuracy(model, data, batch_size, p["gap_examples"])
        rec["gap_examples"] = p["gap_examples"] or len(data.test_labels)
    rec["cpu_seconds"] = time.process_time() - c0
    return rec


def run_norm_family(data: TensorData, p: dict[str, Any], seeds: list[int], batch_sizes: list[int],
                    arms: list[str], progress: bool = False) -> list[dict[str, Any]]:
    """Every arm of ``arms`` trained at a batch size of ``batch_sizes`` (see :func:`arms_at`), for every seed."""
    runs = []
    for seed in seeds:
        for batch_size in batch_sizes:
            for arm in [a for a in arms_at(p, batch_size) if a in arms]:
                rec = run_arm(data, p, arm, batch_size, seed, progress)
                runs.append(rec)
                print(f"seed {seed} B={batch_size:4d} {arm:7s} acc {rec['final_test_acc']} "
                      f"({rec['cpu_seconds']:.0f} CPU s)", flush=True)
    return runs


def merge_parts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One payload from parts of one profile's grid.

    The parts must share the profile's settings (its default ``seeds`` aside:
    the merged ``config["seeds"]`` is the seeds the parts ran) and the data
    files. The runs are joined, ``cpu_time_s`` is the sum over the parts and
    ``wall_time_s`` the longest part (they ran side by side); the rest of the
    provenance is the first part's, and every part's, with its code commit, is
    kept under ``parts``.
    """
    first = parts[0]

    def settings(part: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        return ({k: v for k, v in part["config"].items() if k != "seeds"},
                part["provenance"].get("data", {}).get("files_md5"))

    for part in parts[1:]:
        if settings(part) != settings(first):
            raise ValueError("parts of one result need the same profile and the same data")
    keys = [(r["seed"], r["batch_size"], r["arm"]) for part in parts for r in part["measures"]["runs"]]
    if len(set(keys)) != len(keys):
        raise ValueError("a run (seed, batch size, arm) is in more than one part")
    seeds = sorted({s for part in parts for s in part["seeds"]})
    prov = {**first["provenance"], "seeds": seeds,
            "cpu_time_s": sum(part["provenance"]["cpu_time_s"] for part in parts),
            "wall_time_s": max(part["provenance"]["wall_time_s"] for part in parts),
            "parts": [part["provenance"] for part in parts]}
    order = {arm: k for k, arm in enumerate(ARMS)}
    runs = sorted((r for part in parts for r in part["measures"]["runs"]),
                  key=lambda r: (r["seed"], r["batch_size"], order[r["arm"]]))
    seeds_run = seeds_by_arm(runs, arm_name)
    return {**first, "config": {**first["config"], "seeds": seeds}, "seeds": seeds, "seeds_run": seeds_run,
            "measures": {**first["measures"], "runs": runs}, "provenance": prov}


@dataclass(frozen=True)
class NormFamilyRun:
    """One run of the study as :func:`run_arm` records it: the arm, batch size and seed, the model's
    arguments and the training configuration (as stored), the history, the final test accuracy in
    eval mode and CPU seconds; for a BN-type arm that did not diverge, the accuracy with each test
    batch normalized by its own statistics (``batch_stats_test_acc``) on ``gap_examples`` images."""

    arm: str
    batch_size: int
    seed: int
    model: dict[str, Any]
    train: dict[str, Any]
    history: History
    final_test_acc: float | None
    cpu_seconds: float
    batch_stats_test_acc: float | None = None
    gap_examples: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as :func:`run_arm` writes it (no batch-statistics keys where it measured none)."""
        out = {**asdict(self), "history": self.history.to_dict()}
        for key in ("batch_stats_test_acc", "gap_examples"):
            if out[key] is None:
                del out[key]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "norm_family run") -> "NormFamilyRun":
        """The run ``d`` holds; an unknown or a missing key (here, in its history or its training
        configuration) is a ValueError that names ``what`` and the key."""
        run = from_strict_dict(cls, d, what)
        nested(TrainConfig.from_dict, run.train, what)
        return replace(run, history=nested(History.from_dict, run.history, what))


def runs_of(result: ExperimentResult, source: str | None = None) -> list[NormFamilyRun]:
    """The runs of a result of this study, typed (an error names ``source``, by default the result's file)."""
    return read_runs(result, NormFamilyRun.from_dict, source)


def accuracy_grid(result: ExperimentResult, key: str = "final_test_acc") -> dict[str, dict[int, list[float]]]:
    """``{arm: {batch size: [value per seed, in the order of result.seeds]}}`` for the field ``key`` of
    each run (:class:`NormFamilyRun`).

    ``key="batch_stats_test_acc"`` gives the training-mode accuracies of the BN-type arms.
    """
    by_key = {(r.arm, r.batch_size, r.seed): getattr(r, key) for r in runs_of(result)}
    grid: dict[str, dict[int, list[float]]] = {}
    for arm in ARMS:
        for b in result.config["batch_sizes"]:
            values = [by_key.get((arm, b, s)) for s in result.seeds]
            if all(v is not None for v in values):
                grid.setdefault(arm, {})[b] = [float(v) for v in values]
    return grid


def arm_name(record: dict[str, Any]) -> str:
    """A run record's arm and batch size (what its seeds are noted under in ``seeds_run``)."""
    return f"{record['arm']} B={record['batch_size']}"


# --- the chapter's record and tables ----------------------------------------------------------

CHANGE_ARMS = ("bn", "group", "layer", "renorm")  # the arms trained at every batch size


def accuracy_changes(grid: dict[str, dict[int, list[float]]], arm: str, small: int, ref: int) -> list[float]:
    """Per seed: ``arm``'s accuracy at batch ``small`` minus at batch ``ref`` (the same seed's runs)."""
    return [a - b for a, b in zip(grid[arm][small], grid[arm][ref], strict=True)]


def accuracy_change(grid: dict[str, dict[int, list[float]]], arm: str, small: int, ref: int) -> Interval:
    """The mean of :func:`accuracy_changes` with its 95 % t interval (a paired difference over seeds)."""
    return paired_difference_ci(grid[arm][small], grid[arm][ref])


@dataclass(frozen=True)
class NormFamilySummary:
    """Every number the normalization-family chapter states, glued as ``nf-`` + field (hyphens for
    underscores; a mapping entry as field + ``-`` + key). Accuracies are fractions of the test images
    in eval mode, shown in per cent; differences are paired by seed, in points with a 95 % t interval,
    and a ``-res`` entry says whether the interval excludes 0.

    Design and cost: ``copy``, ``examples`` (per run), ``ntrain``, ``ntest``, ``nconv``, ``wmin`` and
    ``wmax`` (widths), ``steps_small`` and ``steps_large`` (steps at the smallest and largest batch
    ``small``, ``large``), ``base_lr`` (at batch 128) and ``lr_small``, ``groups``, ``ghost`` (ghost
    size), ``rmax``, ``dmax``, ``warm`` and ``ramp`` (Batch Renorm's schedule, per cent of the steps),
    ``nseeds``, ``cpu_min``, ``gap_n`` (test images of the train/eval comparison).
    ``acc["arm-B"]``: mean accuracy of ``arm`` at batch ``B``, per cent. ``change["arm-ref"]``: the
    change from batch ``ref`` (the ghost size or the largest batch) to the smallest;
    ``change_bn_vs["arm-ref"]``: BN's change minus ``arm``'s. ``bn_minus["arm-B"]``: BN minus ``arm``
    at batch ``B``. Train against eval mode: ``bn_eval_small`` and ``bn_batch_small`` (BN at the
    smallest batch in eval mode and with batch statistics, per cent), ``bn_gap_small`` and
    ``bn_gap_large`` (eval minus batch statistics). Ghost batches at the largest batch:
    ``acc_ghost_large``, ``ghost_vs_bn_large`` (minus BN), and ``acc_bn_ghostsize``, BN trained with
    batches of the ghost size.
    """

    copy: str
    examples: int
    ntrain: int
    ntest: int
    nconv: int
    wmin: int
    wmax: int
    steps_small: int
    steps_large: int
    small: int
    large: int
    base_lr: float
    lr_small: float
    groups: int
    ghost: int
    rmax: float
    dmax: float
    warm: int
    ramp: int
    nseeds: int
    cpu_min: float
    gap_n: int
    acc: dict[str, float]
    change: dict[str, str]
    change_bn_vs: dict[str, str]
    bn_minus: dict[str, str]
    bn_eval_small: float
    bn_batch_small: float
    bn_gap_small: str
    bn_gap_small_res: str
    bn_gap_large: str
    acc_ghost_large: float
    ghost_vs_bn_large: str
    acc_bn_ghostsize: float


def summarize(result: ExperimentResult) -> NormFamilySummary:
    """The chapter's record (see :class:`NormFamilySummary`) from a result of this study."""
    cfg, prov = result.config, result.provenance
    grid, batch_grid = accuracy_grid(result), accuracy_grid(result, "batch_stats_test_acc")
    sizes = cfg["batch_sizes"]
    small, large, mid = min(sizes), max(sizes), cfg["ghost_size"]

    def mean(values: list[float]) -> float:
        return 100 * mean_ci(values).estimate

    change_bn_vs: dict[str, str] = {}
    for arm in ("group", "layer"):
        for ref in (mid, large):
            diff = paired_difference_ci(accuracy_changes(grid, "bn", small, ref),
                                        accuracy_changes(grid, arm, small, ref))
            change_bn_vs |= {f"{arm}-{ref}": points(diff), f"{arm}-{ref}-res": resolved(diff)}
    bn_minus: dict[str, str] = {}
    for arm in ("group", "layer", "renorm"):
        for b in (small, mid):
            diff = paired_difference_ci(grid["bn"][b], grid[arm][b])
            bn_minus |= {f"{arm}-{b}": points(diff), f"{arm}-{b}-res": resolved(diff)}
    gap_small = paired_difference_ci(grid["bn"][small], batch_grid["bn"][small])
    return NormFamilySummary(
        copy=data_copy_label(prov["data"]["copy"]), examples=cfg["examples"], ntrain=prov["data"]["n_train"],
        ntest=prov["data"]["n_test"], nconv=len(cfg["widths"]), wmin=min(cfg["widths"]),
        wmax=max(cfg["widths"]), steps_small=cfg["examples"] // small, steps_large=cfg["examples"] // large,
        small=small, large=large, base_lr=cfg["base_lr"], lr_small=cfg["base_lr"] * small / REFERENCE_BATCH,
        groups=cfg["groups"], ghost=cfg["ghost_size"], rmax=cfg["r_max"], dmax=cfg["d_max"],
        warm=round(100 * cfg["renorm_warmup"]), ramp=round(100 * cfg["renorm_ramp"]),
        nseeds=len(result.seeds), cpu_min=prov["cpu_time_s"] / 60, gap_n=cfg["gap_examples"],
        acc={f"{arm}-{b}": mean(grid[arm][b]) for arm in CHANGE_ARMS for b in sizes},
        change={f"{arm}-{ref}": points(accuracy_change(grid, arm, small, ref))
                for arm in CHANGE_ARMS for ref in (mid, large)},
        change_bn_vs=change_bn_vs, bn_minus=bn_minus,
        bn_eval_small=mean(grid["bn"][small]), bn_batch_small=mean(batch_grid["bn"][small]),
        bn_gap_small=points(gap_small), bn_gap_small_res=resolved(gap_small),
        bn_gap_large=points(paired_difference_ci(grid["bn"][large], batch_grid["bn"][large])),
        acc_ghost_large=mean(grid["ghost"][large]),
        ghost_vs_bn_large=points(paired_difference_ci(grid["ghost"][large], grid["bn"][large])),
        acc_bn_ghostsize=mean(grid["bn"][mid]))


def accuracy_table(result: ExperimentResult) -> Table:
    """Mean test accuracy (95 % t interval over seeds) per normalization and batch size; a dash where
    the arm was not trained."""
    grid, sizes = accuracy_grid(result), result.config["batch_sizes"]
    return Table(["normalization", *[f"B = {b}" for b in sizes]],
                 [[LABELS[arm], *[percent(mean_ci(grid[arm][b])) if b in grid[arm] else "–" for b in sizes]]
                  for arm in grid])


def gap_table(result: ExperimentResult) -> Table:
    """For the BN-type arms at every batch size: test accuracy in eval mode, with batch statistics,
    and eval minus batch statistics (paired by seed)."""
    grid, batch_grid = accuracy_grid(result), accuracy_grid(result, "batch_stats_test_acc")
    rows = [[LABELS[arm], b, percent(mean_ci(grid[arm][b])), percent(mean_ci(batch_grid[arm][b])),
             points(paired_difference_ci(grid[arm][b], batch_grid[arm][b]))]
            for arm in BATCH_NORM_TYPE for b in result.config["batch_sizes"] if b in batch_grid.get(arm, {})]
    return Table(["layer", "B", "eval mode", "batch statistics", "eval − batch"], rows)


def load_data(data_dir: str | None, cfg: dict[str, Any]) -> tuple[TensorData, dict[str, Any]]:
    """The profile's CIFAR-10 images (the runs report on the test set; no validation split)."""
    return load_tensor_data(data_dir, cfg["n_train"], cfg["n_test"])


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """Every arm at every batch size for every seed of ``ctx``: the run records (the result's measures)."""
    runs = run_norm_family(ctx.data, cfg, list(ctx.seeds), list(cfg["batch_sizes"]), list(cfg["arms"]),
                           ctx.progress)
    record_run_seeds(ctx, runs, arm_name)
    return {"runs": runs}


EXPERIMENT = Experiment(
    name="norm_family", title="BN, LayerNorm, GroupNorm, ghost-batch BN and Batch Renorm across batch sizes",
    claim=("BN's accuracy falls at small batches while LayerNorm and GroupNorm, which do not normalize over "
           "the batch, do not depend on it; Batch Renormalization and ghost batches narrow BN's gap between "
           "training and evaluation (Wu and He 2018; Ioffe 2017; Hoffer et al. 2017)."),
    profiles=PROFILES, run=run, summarize=summarize, load_data=load_data)
