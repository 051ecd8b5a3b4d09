"""Residual networks without BN: SkipInit, Fixup, WS + GroupNorm and NF with AGC against BN.

The network is Part IV's small residual network (:class:`bn.models.resnet.SmallResNet`,
narrowed to 16 channels) and its variants of :mod:`bn.models.normalizer_free`. Two parts:

*At initialization* (no training). On one real batch of training images, for a deep
version of each network (``variance_blocks`` blocks), the variance of each block's
residual branch relative to its input (the skip path), block by block, for several
initialization seeds. De & Smith (2020) argue that BN divides the branch by a factor of
order the square root of the depth, so with BN the ratio falls like 1/depth; SkipInit and
Fixup make every block exactly the identity (the ratio is 0).

*Training*. Each method's peak rate is chosen on the validation split with the selection
seed (:func:`bn.experiments.base.select_rate`: one run per rate of a coarse grid, at batch
128); the reported seeds then train each method at its own rate and at BN's rate
(batch 128), and at its own rate scaled to a small batch (the linear scaling rule, same
number of steps). A last pair trains the NF network at a high rate with and without AGC.

The rules, fixed before the runs:

* *BN biases blocks toward the identity* (De & Smith 2020): per initialization seed, the
  least-squares slope of log(branch/skip variance ratio) against log(block index + 1) in
  the BN network; *reproduced* if the 95 % t interval over seeds lies below 0 (the ratio
  falls with depth); the paper's exponent is -1 (variance ratio ~ 1/depth).
* *SkipInit matches BN at small batch* (De & Smith 2020), *Fixup matches BN* (Zhang et al.
  2019, batch 128), *WS + GN matches or beats BN at small batch* (Qiao et al. 2019): the
  paired difference (method - BN) of final test accuracy, each at its own rate; claims about
  where training ends, so *not tested at this budget* unless both arms plateaued
  (:func:`bn.statistics.plateau`). A "match" is judged on the side the paper takes (the
  method not below BN): reversed if the interval lies below 0, reproduced only above it.
* *AGC lets an NF network train at a large rate* (Brock et al. 2021b): how many runs
  complete at the high rate with AGC against without it (Fisher's exact test, :class:`bn.statistics.Outcomes`).

The pairing: runs of two arms with the same seed share the order of the training batches
and their flips and crops (the data generator is seeded by the run's seed); the initial
weights differ, since the networks differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from bn.experiments.base import Context, Experiment, ExperimentResult, RunRecord, RunSpec, select_rate
from bn.formatting import Table, percent, points
from bn.statistics import Interval

CLAIM = ("At initialization BN downscales the residual branch relative to the skip connection by a factor of "
         "order sqrt(depth) (De & Smith 2020); SkipInit, Fixup, WS + GN and NF networks with AGC train residual "
         "networks without BN and match it (De & Smith 2020; Zhang et al. 2019; Qiao et al. 2019; Brock et al. 2021).")

METHODS = ("bn", "skipinit", "fixup", "ws_gn", "nf")
LABELS = {"bn": "BN", "skipinit": "SkipInit", "fixup": "Fixup", "ws_gn": "WS + GN", "nf": "NF + AGC",
          "nf_noclip": "NF, no AGC"}
BASE_BATCH = 128
WEIGHT_DECAY = 5e-4


def model_args(cfg: dict[str, Any], method: str, agc: bool = True, blocks: int | None = None) -> dict[str, Any]:
    """Arguments of ``build_model("residual", ...)`` for ``method`` (the NF network with or without AGC)."""
    model: dict[str, Any] = {"kind": "residual", "method": method, "width": cfg["width"],
                             "blocks": cfg["blocks"] if blocks is None else blocks}
    if method == "ws_gn":
        model["groups"] = cfg["groups"]
    if method == "nf":
        model.update(nf_alpha=cfg["nf_alpha"], agc=cfg["agc"] if agc else 0.0)
    return model


def train_args(cfg: dict[str, Any], lr: float, batch_size: int) -> dict[str, Any]:
    """The shared schedule: 5 % warm-up, the rate halves once over the run, Nesterov momentum, light weight
    decay, flips; the rate scales with the batch (linear scaling rule) from its value at batch 128."""
    steps = cfg["steps"]
    return {"steps": steps, "batch_size": batch_size, "peak_lr": float(f"{lr * batch_size / BASE_BATCH:.4g}"),
            "warmup_steps": max(1, steps // 20), "half_life": float(steps), "momentum": 0.9, "nesterov": True,
            "weight_decay": WEIGHT_DECAY, "flip": True, "crop_pad": cfg["crop_pad"],
            "eval_every": cfg["eval_every"], "eval_examples": cfg["eval_examples"],
            "eval_batch_size": cfg["eval_batch_size"], "stall_window": cfg["stall_window"]}


def arm_name(method: str, batch_size: int, rate: str) -> str:
    """``"fixup_b128_own"``: method, batch size, and whose rate (``own``, ``bn`` or ``high``)."""
    return f"{method}_b{batch_size}_{rate}"


def spec(cfg: dict[str, Any], method: str, lr: float, batch_size: int, rate: str, seed: int,
         agc: bool = True) -> RunSpec:
    """One training run of ``method`` at base rate ``lr`` (given at batch 128) and ``batch_size``."""
    name = "nf_noclip" if method == "nf" and not agc else method
    return RunSpec(arm=arm_name(name, batch_size, rate), label=f"{LABELS[name]}, batch {batch_size}, {rate} rate",
                   seed=seed, model=model_args(cfg, method, agc), train=train_args(cfg, lr, batch_size),
                   tags={"method": name, "batch_size": batch_size, "rate": rate, "base_lr": lr})


@dataclass(frozen=True)
class InitVariance:
    """One network at initialization: per block, Var(branch) / Var(block input) on a real batch, for one seed."""

    method: str
    seed: int
    ratios: list[float]


def init_variances(data: Any, cfg: dict[str, Any], seeds: Sequence[int]) -> list[InitVariance]:
    """:class:`InitVariance` of every method's deep network (``variance_blocks`` blocks) for each seed, on
    the first ``probe_examples`` training images, in train mode (BN uses the batch's statistics)."""
    import torch

    from bn.models import build_model
    from bn.models.normalizer_free import branch_skip_variance

    x = data.normalize(data.train_images[:cfg["probe_examples"]])
    out = []
    for method in METHODS:
        for seed in seeds:
            torch.manual_seed(seed)
            args = model_args(cfg, method, blocks=cfg["variance_blocks"])
            model = build_model(args.pop("kind"), **args).train()
            out.append(InitVariance(method, int(seed), [float(f"{r:.6g}") for r in branch_skip_variance(model, x)]))
    return out


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    measures: dict[str, Any] = {}
    # The measurement at initialization reads one batch of real images; a plan made without data has none.
    if ctx.data is not None:
        measures["init_variance"] = [vars(v) for v in init_variances(ctx.data, cfg, cfg["variance_seeds"])]
        measures["init_probe"] = (f"the first {cfg['probe_examples']} training images, networks of "
                                  f"{cfg['variance_blocks']} blocks in train mode")
        for method in METHODS:
            ctx.record_seeds(f"{method}_init", cfg["variance_seeds"])
    chosen, selection = {}, {}
    for method in METHODS:
        sel = select_rate(ctx, lambda lr, seed, m=method: spec(cfg, m, lr, BASE_BATCH, "own", seed), cfg["rates"],
                          cfg["select_seed"], max_extensions=cfg["max_extensions"])
        chosen[method], selection[method] = sel["chosen"], sel
    base = chosen["bn"]
    specs = []
    for seed in ctx.seeds[:cfg["arm_seeds"]]:
        for method in METHODS:
            specs.append(spec(cfg, method, chosen[method], BASE_BATCH, "own", seed))
            if chosen[method] != base:  # at BN's rate; where the rates agree the own-rate runs are those runs
                specs.append(spec(cfg, method, base, BASE_BATCH, "bn", seed))
            for b in cfg["small_batches"]:
                specs.append(spec(cfg, method, chosen[method], b, "own", seed))
    for seed in cfg["high_seeds"]:
        for agc in (True, False):
            specs.append(spec(cfg, "nf", cfg["high_lr"], BASE_BATCH, "high", seed, agc=agc))
    ctx.run_all(specs)
    measures.update(chosen_lr=chosen, selection=selection, base_lr=base, high_lr=cfg["high_lr"])
    return measures


_COMMON = {"select_seed": 100, "n_train": None, "n_test": None, "n_val": 5000, "nf_alpha": 0.2, "agc": 0.01,
           "groups": 4, "crop_pad": 0, "eval_batch_size": 500, "max_extensions": 1}

# cpu: 16 channels, 3 blocks, 200 steps (0.57 epoch of the 45,000 training images at batch 128), evaluated
# every 20 steps on 2,000 validation images; a grid of 3 rates, not extended; the first 3 seeds
# (all 4 for the outcome pair at the high rate: the fewest whose exact test can settle 4 of 4
# against 0 of 4).
PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {**_COMMON, "seeds": [0, 1, 2, 3], "arm_seeds": 3, "width": 16, "blocks": 3, "steps": 200,
            "eval_every": 20, "eval_examples": 2000, "stall_window": 4, "rates": [0.03, 0.1, 0.3],
            "max_extensions": 0, "small_batches": [16], "high_lr": 1.0, "high_seeds": [0, 1, 2, 3],
            "variance_blocks": 16, "variance_seeds": [0, 1, 2, 3], "probe_examples": 128},
    "gpu": {**_COMMON, "seeds": [0, 1, 2, 3, 4, 5], "arm_seeds": 5, "width": 64, "blocks": 8, "steps": 6000,
            "eval_every": 100, "eval_examples": 5000, "stall_window": 10, "crop_pad": 4,
            "rates": [0.01, 0.03, 0.1, 0.3, 1.0], "max_extensions": 2, "small_batches": [8, 32], "high_lr": 3.0,
            "high_seeds": [0, 1, 2, 3, 4, 5], "variance_blocks": 64, "variance_seeds": [0, 1, 2, 3, 4, 5],
            "probe_examples": 256},
    "smoke": {**_COMMON, "seeds": [0, 1], "arm_seeds": 2, "n_train": 600, "n_test": 200, "n_val": 100, "width": 8,
              "blocks": 2, "steps": 8, "eval_every": 4, "eval_examples": 100, "eval_batch_size": 100,
              "stall_window": 0, "rates": [0.03, 0.1], "max_extensions": 0, "small_batches": [8], "high_lr": 1.0,
              "high_seeds": [0, 1], "variance_blocks": 4, "variance_seeds": [0, 1], "probe_examples": 32},
}


# ---------------------------------------------------------------------------------------------
# Analysis

def depth_slope(ratios: Sequence[float]) -> float:
    """Least-squares slope of log(ratio) against log(block index + 1) (-1: the ratio falls like 1/depth)."""
    r = np.asarray(ratios, dtype=float)
    if len(r) < 2 or np.any(r <= 0):
        raise ValueError("a slope needs at least two blocks with positive ratios")
    x = np.log(np.arange(1, len(r) + 1))
    return float(np.polyfit(x, np.log(r), 1)[0])


@dataclass(frozen=True)
class MethodRow:
    """One method at one batch size and rate: its arm, outcomes, plateau reading and accuracies."""

    method: str
    batch_size: int
    rate: str
    lr: float
    outcomes: str
    plateaued: bool | None
    final_test: Interval | None
    best_val: Interval | None


@dataclass(frozen=True)
class Summary:
    """Every number the chapter shows."""

    chosen_lr: dict[str, float]
    base_lr: float
    high_lr: float
    sweep: dict[str, dict[str, float | None]]
    init_mean: dict[str, list[float]]
    bn_slope: Interval                # over initialization seeds
    slopes: dict[str, Interval]       # methods whose ratios are positive at every block
    identity_max: dict[str, float]    # method -> the largest ratio over blocks and seeds (0 for SkipInit, Fixup)
    rows: list[MethodRow]
    versus_bn: dict[str, Interval | None]  # "METHOD_bBATCH_own" -> paired final test accuracy, method - BN
    high: dict[str, tuple[int, int]]  # "nf", "nf_noclip" -> (completed, runs) at the high rate
    cpu_minutes: float
    seeds: int
    variance_seeds: int
    variance_blocks: int
    steps: int
    small_batch: int


def results_table(s: Summary) -> Table:
    """Per method, batch size and rate: the runs' outcomes, the plateau rule, best validation and final test
    accuracy (mean and 95 % t interval over the completed seeds)."""
    flat = {True: "plateaued", False: "still rising", None: "–"}
    rows = [[LABELS[r.method], str(r.batch_size), {"own": "its own", "bn": "BN's"}[r.rate] + f" ({r.lr:g})",
             r.outcomes, flat[r.plateaued], percent(r.best_val), percent(r.final_test)] for r in s.rows]
    return Table(["method", "batch", "rate", "runs", "plateau rule", "best validation accuracy",
                  "final test accuracy"], rows)


def sweep_table(s: Summary) -> Table:
    """The selection sweeps: per method, the selection seed's final validation accuracy at each rate."""
    rates = sorted({float(r) for sc in s.sweep.values() for r in sc})
    def cell(m: str, r: float) -> str:
        v = s.sweep[m].get(f"{r:g}", "–")
        mark = " (chosen)" if r == s.chosen_lr[m] else ""
        return ("failed" if v is None else v if isinstance(v, str) else f"{100 * v:.1f} %") + mark
    return Table(["method", *[f"rate {r:g}" for r in rates]], [[LABELS[m], *[cell(m, r) for r in rates]]
                                                               for m in s.sweep])


def claims_table(rows: Sequence[Any]) -> Table:
    """The literature claims this study tests: claim, the paper's number, ours, the rule's verdict."""
    return Table(["claim", "paper", "ours", "verdict"], [[r.claim, r.paper, r.ours, r.verdict.text()] for r in rows])


def _arm_runs(result: ExperimentResult, method: str, batch: int, rate: str) -> list[RunRecord]:
    from bn.experiments.report import runs_of

    runs = runs_of(result, arm_name(method, batch, rate))
    if not runs and rate == "bn":  # the method chose BN's rate: its own-rate runs are these
        runs = runs_of(result, arm_name(method, batch, "own"))
    return runs


def _plateaued(runs: list[RunRecord]) -> bool:
    """The plateau rule on an arm; an arm with fewer than two completed runs has not plateaued."""
    from bn.experiments.report import failed, plateau_of

    return sum(not failed(r) for r in runs) >= 2 and plateau_of(runs).plateaued


def _row(result: ExperimentResult, method: str, batch: int, rate: str) -> MethodRow:
    from bn.experiments.report import best_accuracy, failed, final_accuracy, outcome_text
    from bn.statistics import mean_ci

    runs = _arm_runs(result, method, batch, rate)
    done = [r for r in runs if not failed(r)]
    return MethodRow(method, batch, rate, float(runs[0].spec.train["peak_lr"]), outcome_text(runs),
                     _plateaued(runs) if len(done) >= 2 else None, final_accuracy(runs),
                     mean_ci([best_accuracy(r) for r in done]) if len(done) >= 2 else None)


def batches(result: ExperimentResult) -> list[int]:
    """The batch sizes trained at each method's own rate: 128 and the profile's small ones."""
    return [BASE_BATCH, *result.config["small_batches"]]


def summarize(result: ExperimentResult) -> Summary:
    """The chapter's numbers from a ``without_bn`` result."""
    from bn.experiments.report import failed, paired_final_difference, runs_of
    from bn.statistics import mean_ci

    m = result.measures
    init = [InitVariance(**v) for v in m["init_variance"]]
    by_method = {meth: [v for v in init if v.method == meth] for meth in METHODS}
    init_mean = {meth: np.mean([v.ratios for v in vs], axis=0).tolist() for meth, vs in by_method.items()}
    slopes = {meth: mean_ci([depth_slope(v.ratios) for v in vs]) for meth, vs in by_method.items()
              if all(min(v.ratios) > 0 for v in vs)}
    rows, versus = [], {}
    for meth in METHODS:
        for b in batches(result):
            rows.append(_row(result, meth, b, "own"))
        if meth != "bn":
            rows.append(_row(result, meth, BASE_BATCH, "bn"))
    for meth in METHODS[1:]:
        for b in batches(result):
            versus[f"{meth}_b{b}_own"], _ = paired_final_difference(_arm_runs(result, meth, b, "own"),
                                                                    _arm_runs(result, "bn", b, "own"))
    high = {}
    for name in ("nf", "nf_noclip"):
        runs = runs_of(result, arm_name(name, BASE_BATCH, "high"))
        high[name] = (sum(not failed(r) for r in runs), len(runs))
    return Summary(chosen_lr={k: float(v) for k, v in m["chosen_lr"].items()}, base_lr=float(m["base_lr"]),
                   high_lr=float(m["high_lr"]), sweep={k: dict(v["scores"]) for k, v in m["selection"].items()},
                   init_mean=init_mean, bn_slope=slopes["bn"], slopes=slopes,
                   identity_max={meth: float(max(max(v.ratios) for v in vs)) for meth, vs in by_method.items()},
                   rows=rows, versus_bn=versus, high=high,
                   cpu_minutes=float(result.provenance["cpu_time_s"]) / 60,
                   seeds=int(result.config["arm_seeds"]), variance_seeds=len(result.config["variance_seeds"]),
                   variance_blocks=int(result.config["variance_blocks"]), steps=int(result.config["steps"]),
                   small_batch=int(result.config["small_batches"][0]))


EXPERIMENT = Experiment(name="without_bn", title="Residual networks without BN: SkipInit, Fixup, WS + GN, NF + AGC",
                        claim=CLAIM, profiles=PROFILES, run=run, summarize=summarize)

PAPER_SLOPE = -1.0
"""De & Smith's scaling on our scale: the branch is downscaled by ~sqrt(depth), so its variance ratio ~ 1/depth."""

END_CLAIMS = (("skipinit", "small"), ("fixup", "base"), ("ws_gn", "small"))
"""The claims about where training ends: (method, at which batch size) against BN at the same batch size."""


def claim_rows(result: ExperimentResult) -> list:
    """One :class:`bn.experiments.scorecard.Row` per literature claim this study tests."""
    from bn.experiments.report import Row
    from bn.statistics import Evidence, Outcomes, decide

    s = summarize(result)
    chapter = "today/04_without_bn"
    rows = [Row("nobn_identity", "At initialization BN downscales the residual branch relative to the skip path "
                "by a factor of order sqrt(depth) (De & Smith 2020)", chapter,
                "a factor of order sqrt(depth): variance ratio ~ 1/depth (slope −1 on log–log axes)",
                f"slope {s.bn_slope.fmt(2)} over {s.variance_seeds} initializations",
                decide(Evidence(s.bn_slope, 0.0, claimed="below", paper=PAPER_SLOPE)))]
    texts = {"skipinit": ("nobn_skipinit_small_batch", "SkipInit matches BN when the batch is small (De & Smith 2020)",
                          "qualitative: BN has minimal benefits when the batch size is small"),
             "fixup": ("nobn_fixup", "Fixup trains a residual network without normalization as well as BN "
                       "(Zhang et al. 2019)", "qualitative: same rate, same speed, generalizes equally well"),
             "ws_gn": ("nobn_wsgn_small_batch", "WS + GN matches or beats BN at small batch (Qiao et al. 2019)",
                       "qualitative: WS + GN at 1 image per GPU matches or beats BN at large batch")}
    small = result.config["small_batches"][0]
    for method, where in END_CLAIMS:
        b = small if where == "small" else BASE_BATCH
        key, claim, paper_text = texts[method]
        a, ref = _arm_runs(result, method, b, "own"), _arm_runs(result, "bn", b, "own")
        diff = s.versus_bn[f"{method}_b{b}_own"]
        flat = all(_plateaued(x) for x in (a, ref))
        v = decide(Evidence(diff, 0.0, about_end=True, plateaued=flat))
        ours = (f"{LABELS[method]} − BN at batch {b}: " + (points(diff) if diff is not None else "no pair completed")
                + ("" if flat else "; not all arms plateaued"))
        rows.append(Row(key, claim, chapter, paper_text, ours, v))
    (k1, n1), (k2, n2) = s.high["nf"], s.high["nf_noclip"]
    rows.append(Row("nobn_nf_agc_high_rate", "Adaptive gradient clipping lets an NF network train at large rates "
                    "(Brock et al. 2021)", chapter, "qualitative (larger batches and rates)",
                    f"rate {s.high_lr:g}: {k1}/{n1} runs completed with AGC, {k2}/{n2} without",
                    decide(Outcomes((k1, n1), (k2, n2)))))
    return rows


@dataclass(frozen=True)
class WithoutBnChapter:
    """Every number the chapter pastes, glued by one ``glue_record(record, "nobn-", sep="-")``.

    At initialization: ``vblocks`` blocks, ``vseeds`` initializations on ``probe`` images; the
    ratio of branch to skip variance at BN's first and last block (``bn_first``, ``bn_last``) and
    the NF network's (``nf_first``, ``nf_last``); BN's log-log slope (``slope``, interval, and
    ``slope_est``) and WS + GN's (``wsgn_slope``). The training set-up (from the result's config and
    run specs): ``width``, ``blocks``, ``groups``, NF's ``alpha`` and AGC's ``agc``; ``steps``, the
    optimizer's ``momentum`` and ``warmup`` (percent of the steps), ``nval`` held-out images
    (thousands separated), ``eval`` of them every ``every`` steps, the data ``copy``; the rate grid's
    size in words (``grid_points``), the ``select_seed``, ``seeds`` per arm and ``hseeds`` at the high
    rate; ``base_batch`` and the ``small`` batch, the rate's scale ``small_scale`` and in words the
    factor (``scale_down``) and the share of the examples (``fraction``). Rates: each method's chosen
    ``lr`` (``nobn-lr-METHOD``), BN's ``base_lr`` and the ``high_lr``. Results: paired differences
    with BN ``vs`` (``nobn-vs-METHOD_bBATCH_own``), the outcomes of each method at BN's rate
    ``bnrate`` and of the NF pair at the high rate ``high``; ``cpu_min``; ``verdict``, the
    scorecard's words of :func:`claim_rows`. The exercises (``ex_*``): the skip path's variance at
    block 1 in branch units, the linear prediction at the last block, the measured growth, the NF
    predictions, and AGC's clipped gradient norms (``ex_agc``, per unit).
    """

    base_lr: float
    high_lr: float
    cpu_min: float
    seeds: int
    vseeds: int
    vblocks: int
    steps: int
    small: int
    small_scale: float
    slope: str
    slope_est: float
    bn_first: float
    bn_last: float
    nf_first: float
    nf_last: float
    wsgn_slope: str
    lr: dict[str, float]
    vs: dict[str, str]
    high: dict[str, str]
    copy: str
    width: int
    blocks: int
    probe: int
    alpha: float
    agc: float
    groups: int
    eval: int
    every: int
    select_seed: int
    hseeds: int
    momentum: float
    warmup: str
    nval: str
    base_batch: int
    scale_down: str
    fraction: str
    grid_points: str
    bnrate: dict[str, str]
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})
    ex_v0: float
    ex_pred_last: float
    ex_prod_last: float
    ex_growth: float
    ex_nf_pred_first: float
    ex_nf_pred_last: float
    ex_agc: dict[int, float]


AGC_EXERCISE = ((0.5, 0.02), (0.0004, 0.001), 0.01)
"""The AGC exercise: (weight norm, gradient norm) of two units, and the clipping threshold lambda."""


def agc_exercise() -> list[float]:
    """The norms of the two units' gradients after AGC (:func:`bn.models.normalizer_free.agc_clipped`),
    for the units and threshold of :data:`AGC_EXERCISE`."""
    import torch

    from bn.models.normalizer_free import agc_clipped

    *units, clip = AGC_EXERCISE
    weight, grad = torch.zeros(len(units), 4), torch.zeros(len(units), 4)
    for i, (w, g) in enumerate(units):
        weight[i, 0], grad[i, 0] = w, g
    clipped = agc_clipped(grad, weight, clip)
    return [float(clipped[i].norm()) for i in range(len(units))]


def chapter_summary(result: ExperimentResult) -> WithoutBnChapter:
    """The chapter's record of ``result`` (see :class:`WithoutBnChapter`)."""
    from bn.experiments.scorecard import verdict_words
    from bn.formatting import data_copy_label, fraction_word, number_word
    from bn.models.normalizer_free import nf_betas

    s = summarize(result)
    cfg = result.config
    train = result.runs[0].spec.train
    out = {(r.method, r.batch_size, r.rate): r for r in s.rows}
    r_bn = s.init_mean["bn"]
    v0 = 1 / r_bn[0]  # the skip path's variance at block 1, in branch units
    betas = nf_betas(len(s.init_mean["nf"]), cfg["nf_alpha"])
    scale = BASE_BATCH // s.small_batch
    return WithoutBnChapter(
        base_lr=s.base_lr, high_lr=s.high_lr, cpu_min=round(s.cpu_minutes, 1), seeds=s.seeds,
        vseeds=s.variance_seeds, vblocks=s.variance_blocks, steps=s.steps, small=s.small_batch,
        small_scale=s.small_batch / BASE_BATCH, slope=s.bn_slope.fmt(2), slope_est=round(s.bn_slope.estimate, 2),
        bn_first=round(r_bn[0], 2), bn_last=round(r_bn[-1], 3), nf_first=round(s.init_mean["nf"][0], 3),
        nf_last=round(s.init_mean["nf"][-1], 3), wsgn_slope=s.slopes["ws_gn"].fmt(2), lr=dict(s.chosen_lr),
        vs={k: points(iv) if iv is not None else "no pair completed" for k, iv in s.versus_bn.items()},
        high={name: f"{k} of {n}" for name, (k, n) in s.high.items()},
        copy=data_copy_label(result.provenance["data"]["copy"]), width=cfg["width"], blocks=cfg["blocks"],
        probe=cfg["probe_examples"], alpha=cfg["nf_alpha"], agc=cfg["agc"], groups=cfg["groups"],
        eval=cfg["eval_examples"], every=cfg["eval_every"], select_seed=cfg["select_seed"],
        hseeds=len(cfg["high_seeds"]), momentum=float(train["momentum"]),
        warmup=f"{100 * train['warmup_steps'] / train['steps']:g}", nval=f"{cfg['n_val']:,}",
        base_batch=BASE_BATCH, scale_down=number_word(scale), fraction=fraction_word(scale),
        grid_points=number_word(len(cfg["rates"])),
        bnrate={m: out[(m, BASE_BATCH, "bn")].outcomes for m in METHODS[1:]},
        verdict=verdict_words(claim_rows(result)),
        ex_v0=round(v0, 2), ex_pred_last=round(1 / (v0 + len(r_bn) - 1), 3),
        ex_prod_last=round(r_bn[-1] * len(r_bn), 2), ex_growth=round(1 / (r_bn[-1] * len(r_bn)), 2),
        ex_nf_pred_first=round(cfg["nf_alpha"] ** 2 / betas[0] ** 2, 3),
        ex_nf_pred_last=round(cfg["nf_alpha"] ** 2 / betas[-1] ** 2, 3),
        ex_agc={i: round(v, 6) for i, v in enumerate(agc_exercise())})
