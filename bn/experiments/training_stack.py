"""BN in the modern training stack: gradient accumulation, bfloat16 autocast, compiled inference, weight averaging.

Four practices that were not part of the 2015 setting, each meeting BN where it differs from
every other layer: BN's output for an example depends on the other examples of its batch,
and its running statistics are a second set of numbers, next to the weights, that the
network carries into inference.

1. Gradient accumulation. The effective batch is fixed at 128 = k x (128 / k) for k = 1, 4
   and 16: the optimizer sees the same batches, the same rate and the same number of
   steps; BN sees micro-batches of 128, 32 or 8. A control network without BN, for which
   accumulation is exact up to rounding (``tests/training/test_accumulation.py``), runs at
   k = 1 and 16.
2. bfloat16 under CPU autocast: which dtypes torch gives BN, the error of the batch
   statistics and of the output against float64, and the running statistics over many
   updates (:mod:`bn.precision.autocast`, which reuses :mod:`bn.precision.errors`).
3. Inference of the trained network: eager (NCHW and channels_last), BN folded by hand
   (:func:`bn.functional.fold_batch_norm`), ``torch.compile`` without and with inductor's
   freezing (:mod:`bn.benchmark.compiled`): whether BN is folded, the time, the error.
4. Weight averaging after training: 100 further steps at a constant rate, an SWA average
   and an EMA of the weights (``torch.optim.swa_utils``), evaluated with the running
   statistics they carry and after ``update_bn`` (:mod:`bn.training.averaging`).

Verdict rules, fixed before the runs (paired over seeds, 95 % t intervals, ``bn.statistics.decide``):

* ``micro_batch`` (Wu & He 2018: BN's error grows as the batch it normalizes over shrinks):
  final test accuracy of BN at k = 16 minus k = 1, claimed below 0. About where training
  ends: judged only if both arms plateaued (:func:`bn.statistics.plateau`).
* ``ghost_batch`` (Hoffer et al. 2017: normalizing over smaller "ghost" batches inside a large
  one generalizes better): k = 4 (ghost batches of 32) minus k = 1, claimed above 0; about
  where training ends, same condition.
* ``swa_update_bn`` (Izmailov et al. 2018: the averaged weights need BN statistics recomputed):
  test accuracy of the SWA average after ``update_bn`` minus with the statistics it carries,
  claimed above 0. Both are the same weights: not a claim about where training ends.
* ``bf16_statistics`` (Micikevicius et al. 2018: batch-norm statistics are accumulated and
  kept in float32): the late error of the running variance with bfloat16 buffers over that
  with float32 buffers (autocast's), a ratio over the paired draws, claimed above 1.

What a pair shares: for accumulation, the seed fixes the initial weights, the order of the
examples and their augmentation, so k = 1, 4, 16 train on the same images in the same steps
and differ only in what BN normalizes over; the averaging variants of a seed share the same
trained network and the same further steps; the drift draws share the same batches.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from bn.experiments.base import Context, Experiment, ExperimentResult, RunRecord, RunSpec, register_after
from bn.experiments.settings import baseline_train, base_rate, cnn_model, cnn_profiles

CLAIM = ("Gradient accumulation leaves BN with the micro-batch's statistics (Wu & He 2018; Hoffer et al. 2017); "
         "mixed precision keeps BN's statistics in float32 (Micikevicius et al. 2018); averaged weights need their "
         "BN statistics recomputed (Izmailov et al. 2018).")

ACCUMULATION = (1, 4, 16)
CONTROL_ACCUMULATION = (1, 16)
AFTER = "training_stack_after"


def arm_name(bn: bool, k: int) -> str:
    """``"bn_k4"``, ``"no_bn_k16"``."""
    return f"{'bn' if bn else 'no_bn'}_k{k}"


def label(bn: bool, k: int) -> str:
    return f"{'BN' if bn else 'no BN'}, k = {k}"


def spec(cfg: dict[str, Any], lr: float, bn: bool, k: int, seed: int) -> RunSpec:
    """One run: the Part III network (no dropout), baseline training at ``lr``, ``k`` micro-batches per step.

    The k = 1 BN runs also carry the after-training measurements: weight averaging, and on the
    first seed the inference comparison.
    """
    train = baseline_train(cfg, lr)
    if k != 1:
        train["accumulation_steps"] = k
    tags: dict[str, Any] = {"accumulation_steps": k}
    after = None
    if bn and k == 1:
        after = AFTER
        tags["average"] = dict(cfg["average"])
        if seed == cfg["seeds"][0]:
            tags["inference"] = dict(cfg["inference"])
    return RunSpec(arm=arm_name(bn, k), label=label(bn, k), seed=seed, model=cnn_model(cfg, bn=bn, dropout=0.0),
                   train=train, tags=tags, after=after)


def averaging_config(a: dict[str, Any], train: dict[str, Any]) -> "AveragingConfig":
    """The averaging phase ``a`` (a spec's ``tags["average"]``) at the rate where the run's schedule ended."""
    from bn.training.averaging import AveragingConfig
    from bn.training.schedules import learning_rate

    lr = learning_rate(train["steps"] - 1, train["peak_lr"], train["warmup_steps"], train["half_life"])
    return AveragingConfig(steps=a["steps"], lr=float(lr), swa_every=a["swa_every"], ema_decay=a["ema_decay"],
                           batch_size=train["batch_size"], bn_batches=a["bn_batches"],
                           weight_decay=train["weight_decay"], flip=train["flip"], crop_pad=train["crop_pad"])


AVERAGE_VARIANTS = ("sgd", "swa_stale", "swa_update_bn", "ema", "ema_update_bn")


@register_after(AFTER)
def after_training(model, data, spec: RunSpec) -> dict[str, Any]:
    """On the trained network: the inference comparison (first seed only), then the averaging phase.

    Accuracies on the whole test set: the network after the phase (``sgd``), the SWA average
    with the statistics it carries and after ``update_bn``, the EMA (buffers averaged too) and
    the EMA after ``update_bn``.
    """
    import torch

    from bn.benchmark.compiled import compare_inference
    from bn.training import evaluate_accuracy
    from bn.training.averaging import average_weights, recompute_bn, statistics_batches

    out: dict[str, Any] = {}
    bs = spec.train.get("eval_batch_size", 1000)
    inf = spec.tags.get("inference")
    if inf:
        images = data.normalize(data.test_images[:inf["images"]])
        out["inference"] = compare_inference(copy.deepcopy(model).cpu(), images, batch_size=inf["batch"],
                                             repeats=inf["repeats"])
    acfg = averaging_config(spec.tags["average"], spec.train)
    av = average_weights(model, data, acfg, spec.seed)
    acc = lambda m: evaluate_accuracy(m, data, None, next(m.parameters()).device.type, bs)  # noqa: E731
    accs = {"sgd": acc(av.model), "swa_stale": acc(av.swa), "ema": acc(av.ema)}
    batches = statistics_batches(data, acfg.bn_batches, acfg.batch_size)
    bn_layers = [m for m in av.swa.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    stale = torch.cat([m.running_var.clone() for m in bn_layers])
    accs["swa_update_bn"] = acc(recompute_bn(av.swa, batches))
    fresh = torch.cat([m.running_var for m in bn_layers])
    accs["ema_update_bn"] = acc(recompute_bn(av.ema, batches))
    out["averaging"] = {"config": acfg.__dict__, "test_acc": accs,
                        "swa_var_change": float(((fresh - stale).abs() / stale).median())}
    return out


def precision_measures(cfg: dict[str, Any]) -> dict[str, Any]:
    """Part 2: autocast's dtypes, single-batch errors per mode and data offset, running-statistics drift."""
    from bn.precision.autocast import MODES, autocast_dtypes, batch_errors, running_drift
    from bn.precision.errors import PrecisionCase

    p = cfg["precision"]
    errors = [{"mode": mode, "mean_over_std": m, **batch_errors(PrecisionCase(n=64, channels=8, length=64, mean=m),
                                                                 mode)}
              for m in p["offsets"] for mode in MODES]
    drift = {mode: [running_drift(mode, updates=p["updates"], mean=p["drift_mean"], batch=p["batch"],
                                  length=p["length"], seed=s) for s in p["seeds"]] for mode in MODES}
    every = p["keep_every"]
    return {"dtypes": autocast_dtypes().__dict__, "batch_errors": errors,
            "drift": {mode: [{"seed": s, "mean_error": d.mean_error[every - 1::every],
                              "var_error": d.var_error[every - 1::every], "late": list(d.late())}
                             for s, d in zip(p["seeds"], ds)] for mode, ds in drift.items()},
            "drift_setup": {**p, "population": f"N({p['drift_mean']}, 1) per channel, drawn in float64 "
                                               "(numpy default_rng(seed)), rounded to BN's input dtype"}}


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    lr = base_rate(ctx, cfg)
    measures = {"lr": lr, "precision": precision_measures(cfg)}
    specs = [spec(cfg, lr, True, k, seed) for seed in ctx.seeds for k in ACCUMULATION]
    specs += [spec(cfg, lr, False, k, seed) for seed in ctx.seeds[:cfg["control_seeds"]] for k in CONTROL_ACCUMULATION]
    # the inference timing last: nothing else runs in the process while it is measured
    specs.sort(key=lambda s: bool(s.tags.get("inference")))
    ctx.run_all(specs)
    return measures


# 300 steps of 128 (0.85 epoch of the 45,000 training images), evaluated 10 times on 2,000 validation
# images; BN at k = 1, 4, 16 and the control without BN at k = 1, 16, three seeds each (the budget's choice).
_AVERAGE = {"steps": 100, "swa_every": 10, "ema_decay": 0.98, "bn_batches": 50}
_PRECISION = {"offsets": [0.0, 3.0], "updates": 400, "drift_mean": 3.0, "batch": 128, "length": 64,
              "seeds": [0, 1, 2, 3, 4], "keep_every": 10}
PROFILES = cnn_profiles(
    cpu={"base_lr": "convergence", "steps": 300, "eval_every": 30, "diagnostics": False, "seeds": [0, 1, 2],
         "stall_window": 0, "control_seeds": 3, "average": _AVERAGE, "precision": _PRECISION,
         "inference": {"images": 1000, "batch": 250, "repeats": 11}},
    gpu={"base_lr": "convergence", "steps": 6000, "eval_every": 100, "diagnostics": False,
         "control_seeds": 5, "average": {**_AVERAGE, "steps": 1000, "swa_every": 100, "ema_decay": 0.998,
                                         "bn_batches": 200},
         "precision": _PRECISION, "inference": {"images": 2000, "batch": 250, "repeats": 21}},
    smoke={"base_lr": 0.03, "control_seeds": 2, "diagnostics": False,
           "average": {"steps": 4, "swa_every": 2, "ema_decay": 0.9, "bn_batches": 2},
           "precision": {**_PRECISION, "updates": 20, "seeds": [0, 1], "keep_every": 5},
           "inference": {"images": 64, "batch": 32, "repeats": 2}})

EXPERIMENT = Experiment(name="training_stack", title="BN in the modern training stack", claim=CLAIM,
                        profiles=PROFILES, run=run)


# ---------------------------------------------------------------------------------------------
# Analysis: everything the chapter shows comes from summarize(result)

@dataclass(frozen=True)
class Speedup:
    """Eager NCHW time over a variant's, medians, with the quartile interval ``q25/q75 .. q75/q25``."""

    ratio: float
    low: float
    high: float

    def text(self) -> str:
        return f"{self.ratio:.2f}× [{self.low:.2f}, {self.high:.2f}]"


@dataclass(frozen=True)
class StackSummary:
    """Every number of the chapter (accuracies are fractions, intervals 95 % t over paired seeds)."""

    lr: float
    steps: int
    batch_size: int
    epochs: float
    seeds_bn: list[int]
    seeds_control: list[int]
    accuracy: dict[str, Any]          # arm -> Interval of final test accuracy
    versus_k1: dict[str, Any]         # arm (k > 1) -> Interval of its paired difference to k = 1
    plateau: dict[str, str]           # arm -> the plateau rule's reading
    plateaued: dict[str, bool]
    control_loss_gap: float           # max |loss(k=16) - loss(k=1)| over the first logged steps, no BN
    control_first_gap: float          # max over seeds of that gap at the first step, relative to the loss
    control_rounding: float           # what rounding alone allows at the first step (CONTROL_ROUNDING)
    control_loss_steps: int
    averaging: dict[str, Any]         # variant -> Interval of test accuracy
    averaging_diffs: dict[str, Any]   # "a-b" -> paired Interval
    averaging_steps: int
    averaging_lr: float
    swa_var_change: float             # median relative change of the SWA average's running variances by update_bn
    dtypes: dict[str, str]
    batch_errors: list[dict[str, Any]]
    drift_late: dict[str, dict[str, Any]]   # mode -> {"mean": Interval, "var": Interval}
    drift_ratio: dict[str, Any]             # "mean"/"var" -> paired ratio bf16 / float32
    drift_updates: int
    inference_speedup: dict[str, Speedup]   # variant -> eager time / variant time
    inference_errors: dict[str, float]      # variant -> max |diff| / max |logit| against eager float32
    inference_tolerance: float
    inference_sqrt: dict[str, int | None]   # compiled, compiled_frozen -> square roots in the generated code
    inference_folded: dict[str, int]        # binary_folding_conv counter
    inference_compile_s: dict[str, float]
    inference_errors_text: dict[str, str | None]
    batch_norms: int
    inference_batch: int
    inference_threads: int
    inference_load: float | None
    frozen_over_compiled: Speedup           # time of compile without freezing over compile with it
    running_share: dict[int, float]         # k -> share of the running statistics from the last step
    control_first_over: list[int | None]    # per control seed: first logged step with a loss gap > 1e-4
    cpu_minutes: float


def _runs(result: ExperimentResult, arm: str) -> list[RunRecord]:
    from bn.experiments.report import runs_of

    return runs_of(result, arm)


def _after(result: ExperimentResult) -> list[RunRecord]:
    return [r for r in _runs(result, arm_name(True, 1)) if r.after]


def accumulation_arms(result: ExperimentResult) -> list[tuple[bool, int, str, str, list[RunRecord]]]:
    """``(bn, k, arm name, label, runs)`` for every accumulation arm, BN first, k ascending (the figure's input)."""
    return [(bn, k, arm_name(bn, k), label(bn, k), _runs(result, arm_name(bn, k)))
            for bn, ks in ((True, ACCUMULATION), (False, CONTROL_ACCUMULATION)) for k in ks]


def averaging_accuracies(result: ExperimentResult) -> dict[str, list[float]]:
    """Per averaging variant (:data:`AVERAGE_VARIANTS`): test accuracy per seed, in seed order."""
    recs = sorted(_after(result), key=lambda r: r.spec.seed)
    return {v: [r.after["averaging"]["test_acc"][v] for r in recs] for v in AVERAGE_VARIANTS}


def drift_late(result: ExperimentResult, mode: str, stat: str) -> list[float]:
    """Late error of the running ``stat`` ("mean" or "var") per drift seed, in ``mode``."""
    i = {"mean": 0, "var": 1}[stat]
    return [d["late"][i] for d in result.measures["precision"]["drift"][mode]]


def inference_record(result: ExperimentResult) -> dict[str, Any]:
    """The inference comparison (the first seed's k = 1 BN run)."""
    recs = [r for r in _after(result) if "inference" in r.after]
    if len(recs) != 1:
        raise ValueError(f"expected one run with the inference comparison, found {len(recs)}")
    return recs[0].after["inference"]


def speedups(inf: dict[str, Any]) -> dict[str, Speedup]:
    """Eager (NCHW) median time over each other variant's, with the quartile interval."""
    e = inf["timings"]["eager"]
    return {k: Speedup(e["median_s"] / t["median_s"], e["q25_s"] / t["q75_s"], e["q75_s"] / t["q25_s"])
            for k, t in inf["timings"].items() if k != "eager"}


def summarize(result: ExperimentResult) -> StackSummary:
    """The chapter's numbers from a ``training_stack`` result."""
    from bn.experiments.report import final_accuracy, paired_final_difference, plateau_of
    from bn.statistics import mean_ci, paired_difference_ci, paired_ratio_ci

    cfg = result.config
    arms = [arm_name(True, k) for k in ACCUMULATION] + [arm_name(False, k) for k in CONTROL_ACCUMULATION]
    runs = {a: _runs(result, a) for a in arms}
    acc = {a: final_accuracy(r) for a, r in runs.items()}
    versus = {}
    for bn in (True, False):
        for k in (ACCUMULATION if bn else CONTROL_ACCUMULATION)[1:]:
            versus[arm_name(bn, k)] = paired_final_difference(runs[arm_name(bn, k)], runs[arm_name(bn, 1)])[0]
    plateaus = {a: plateau_of(r) for a, r in runs.items()}
    c1 = {r.spec.seed: r.history.first_losses for r in runs[arm_name(False, 1)]}
    c16 = {r.spec.seed: r.history.first_losses for r in runs[arm_name(False, CONTROL_ACCUMULATION[-1])]}
    n_loss = min(len(c1[s]) for s in c1)
    gap = max(abs(a - b) for s in c1 for a, b in zip(c1[s][:n_loss], c16[s][:n_loss]))
    first_gap = max(abs(c1[s][0] - c16[s][0]) / abs(c1[s][0]) for s in c1)
    av = averaging_accuracies(result)
    averaging = {v: mean_ci(x) for v, x in av.items()}
    diffs = {"swa_update_bn-swa_stale": paired_difference_ci(av["swa_update_bn"], av["swa_stale"]),
             "ema_update_bn-ema": paired_difference_ci(av["ema_update_bn"], av["ema"]),
             "swa_update_bn-sgd": paired_difference_ci(av["swa_update_bn"], av["sgd"]),
             "ema-sgd": paired_difference_ci(av["ema"], av["sgd"])}
    first_after = _after(result)[0].after["averaging"]
    prec = result.measures["precision"]
    modes = list(prec["drift"])
    late = {m: {s: mean_ci(drift_late(result, m, s)) for s in ("mean", "var")} for m in modes}
    ratio = {s: paired_ratio_ci(drift_late(result, "bfloat16", s), drift_late(result, "float32", s))
             for s in ("mean", "var")}
    inf = inference_record(result)
    t = inf["timings"]
    frozen = (Speedup(t["compiled"]["median_s"] / t["compiled_frozen"]["median_s"],
                      t["compiled"]["q25_s"] / t["compiled_frozen"]["q75_s"],
                      t["compiled"]["q75_s"] / t["compiled_frozen"]["q25_s"])
              if {"compiled", "compiled_frozen"} <= set(t) else Speedup(float("nan"), float("nan"), float("nan")))
    first_over = [next((i for i, (a, b) in enumerate(zip(c1[s], c16[s])) if abs(a - b) > CONTROL_GAP), None)
                  for s in sorted(c1)]
    return StackSummary(
        lr=float(result.measures["lr"]), steps=int(cfg["steps"]), batch_size=int(cfg["batch_size"]),
        epochs=cfg["steps"] * cfg["batch_size"] / result.provenance["data"].get("n_fit", 45_000),
        seeds_bn=sorted(r.spec.seed for r in runs[arm_name(True, 1)]),
        seeds_control=sorted(r.spec.seed for r in runs[arm_name(False, 1)]),
        accuracy=acc, versus_k1=versus, plateau={a: p.text() for a, p in plateaus.items()},
        plateaued={a: p.plateaued for a, p in plateaus.items()}, control_loss_gap=float(gap), control_loss_steps=n_loss,
        control_first_gap=float(first_gap), control_rounding=control_rounding(int(cfg["batch_size"])),
        averaging=averaging, averaging_diffs=diffs, averaging_steps=int(first_after["config"]["steps"]),
        averaging_lr=float(first_after["config"]["lr"]),
        swa_var_change=float(sorted(r.after["averaging"]["swa_var_change"] for r in _after(result))[
            len(_after(result)) // 2]),
        dtypes=dict(prec["dtypes"]), batch_errors=list(prec["batch_errors"]), drift_late=late, drift_ratio=ratio,
        drift_updates=int(prec["drift_setup"]["updates"]), inference_speedup=speedups(inf),
        inference_errors={k: e["max_abs_over_max_logit"] for k, e in inf["errors"].items()},
        inference_tolerance=float(inf["tolerance"]),
        inference_sqrt={k: r["sqrt_in_code"] for k, r in inf["inductor"].items()},
        inference_folded={k: r["binary_folding_conv"] for k, r in inf["inductor"].items()},
        inference_compile_s={k: r["compile_seconds"] for k, r in inf["inductor"].items()},
        inference_errors_text={k: r["error"] for k, r in inf["inductor"].items()},
        batch_norms=int(inf["batch_norms"]), inference_batch=int(inf["batch_size"]),
        inference_threads=int(inf["threads"]), inference_load=inf["load_average_1min"],
        frozen_over_compiled=frozen, running_share={k: 1 - (1 - BN_MOMENTUM) ** k for k in ACCUMULATION},
        control_first_over=first_over, cpu_minutes=result.provenance["cpu_time_s"] / 60)


CHAPTER = "today/05_training_stack"
def control_rounding(batch_size: int, side: int = 32) -> float:
    """What rounding alone may change in the first step's loss when a batch is split (relative): the
    first convolution's sums run over the batch and every pixel, n = batch * side^2 terms, whose
    rounding errors accumulate like a random walk, sqrt(n) * u32; 4 times that for the tails (the
    bound ``tests/training/test_accumulation.py`` checks gradients against)."""
    return 4 * (batch_size * side * side) ** 0.5 * 2.0 ** -24


BN_MOMENTUM = 0.1  # torch's default, the networks' BN layers
PAPER_ERROR = {32: 23.6, 2: 34.7}
"""ImageNet error (%) of a ResNet-50 with BN at 32 and at 2 images per worker (Wu & He 2018, Figure 1)."""
CONTROL_GAP = 1e-4  # a loss gap between the control's runs past rounding (a loss near 2 has u32 * 2 = 1e-7)


def claim_rows(result: ExperimentResult) -> list["Row"]:
    """One row per literature claim, verdicts by :func:`bn.statistics.decide` (rules in the module docstring)."""
    from bn.experiments.report import Row
    from bn.formatting import points, times
    from bn.statistics import Evidence, decide

    s = summarize(result)
    k16, k4, k1 = (arm_name(True, k) for k in (16, 4, 1))
    rows = []
    for key, arm, claimed, claim, paper in (
            ("micro_batch", k16, "below",
             "BN's error grows as the batch it normalizes over shrinks; under accumulation that is the micro-batch "
             "(Wu & He 2018, Fig. 1)", f"ResNet-50 on ImageNet: {PAPER_ERROR[32]:g} % error at 32 images per worker, "
             f"{PAPER_ERROR[2]:g} % at 2"),
            ("ghost_batch", k4, "above",
             "Normalizing over small ghost batches inside a large batch generalizes better (Hoffer et al. 2017, "
             "Sec. 4.1)", "qualitative (ghost batches of 128 inside batches of 4096)")):
        flat = s.plateaued[arm] and s.plateaued[k1]
        v = decide(Evidence(s.versus_k1[arm], 0.0, claimed=claimed, about_end=True, plateaued=flat))
        rows.append(Row(key, claim, CHAPTER, paper, f"{points(s.versus_k1[arm])} (k = {arm[4:]} − k = 1)", v))
    d = s.averaging_diffs["swa_update_bn-swa_stale"]
    rows.append(Row("swa_update_bn", "After averaging the weights, BN's statistics must be recomputed "
                    "(Izmailov et al. 2018, Sec. 3.2)", CHAPTER, "qualitative (a pass over the data)",
                    f"{points(d)} (update_bn − carried statistics)", decide(Evidence(d, 0.0, claimed="above"))))
    r = s.drift_ratio["var"]
    rows.append(Row("bf16_statistics", "Batch-norm statistics are kept in float32 under mixed precision "
                    "(Micikevicius et al. 2018, Sec. 3.3)", CHAPTER, "qualitative",
                    f"{times(r)} (running-variance error, bfloat16 over float32 buffers)",
                    decide(Evidence(r, 1.0, claimed="above"))))
    return rows


def claim_table(result: ExperimentResult) -> "Table":
    """The claim rows as a table: claim, the paper's number, ours, the verdict."""
    from bn.formatting import Table

    return Table(["claim", "paper", "ours", "verdict"],
                 [[r.claim, r.paper, r.ours, r.verdict.text()] for r in claim_rows(result)])


def accumulation_table(result: ExperimentResult) -> "Table":
    """Per arm: micro-batch, outcomes, final test accuracy, the paired difference to k = 1, the plateau rule."""
    from bn.experiments.report import outcome_text
    from bn.formatting import Table, percent, points

    s = summarize(result)
    rows = []
    for bn, ks in ((True, ACCUMULATION), (False, CONTROL_ACCUMULATION)):
        for k in ks:
            a = arm_name(bn, k)
            rows.append([label(bn, k), str(s.batch_size // k), outcome_text(_runs(result, a)), percent(s.accuracy[a]),
                         points(s.versus_k1[a]) if a in s.versus_k1 else "–", s.plateau[a]])
    return Table(["arm", "micro-batch", "runs", "final test accuracy", "minus k = 1 (paired)", "plateau rule"], rows)


AVERAGE_LABELS = {"sgd": "last weights (SGD)", "swa_stale": "SWA, statistics carried",
                  "swa_update_bn": "SWA, update_bn", "ema": "EMA, buffers averaged", "ema_update_bn": "EMA, update_bn"}


def averaging_table(result: ExperimentResult) -> "Table":
    """Per averaging variant: the test accuracy over seeds."""
    from bn.formatting import Table, percent

    s = summarize(result)
    return Table(["network", "test accuracy"], [[AVERAGE_LABELS[v], percent(s.averaging[v])] for v in AVERAGE_VARIANTS])


def precision_table(result: ExperimentResult) -> "Table":
    """Single-batch errors against float64 per mode and data offset (mean / std)."""
    from bn.formatting import Table, format_sci

    rows = [[e["mode"], f"{e['mean_over_std']:g}", format_sci(e["mean"]), format_sci(e["var"]), format_sci(e["y"])]
            for e in result.measures["precision"]["batch_errors"]]
    return Table(["mode", "mean / std", "error of the mean (/ std)", "error of the variance (rel.)",
                  "error of the output (rel.)"], rows)


def inference_table(result: ExperimentResult) -> "Table":
    """Per inference variant: median time of one batch (quartiles), speed-up over eager, error, BN kernels left."""
    from bn.formatting import Table, below

    s = summarize(result)
    inf = inference_record(result)
    names = {"eager": "eager, NCHW", "eager_channels_last": "eager, channels_last",
             "folded": "BN folded by hand", "compiled": "torch.compile", "compiled_frozen": "torch.compile, freezing"}
    rows = []
    for k, t in inf["timings"].items():
        sqrt = s.inference_sqrt.get(k)
        rows.append([names[k], f"{1e3 * t['median_s']:.1f} [{1e3 * t['q25_s']:.1f}, {1e3 * t['q75_s']:.1f}]",
                     "1" if k == "eager" else s.inference_speedup[k].text(),
                     "reference" if k == "eager" else below(s.inference_errors[k], s.inference_tolerance),
                     str(s.batch_norms if k in ("eager", "eager_channels_last") else 0 if k == "folded" else sqrt)])
    return Table(["variant", "ms per batch, median [q25, q75]", "speed-up over eager", "error / max logit",
                  "BN computations left"], rows)


@dataclass(frozen=True)
class StackChapter:
    """Every number and word the chapter pastes, glued by one ``glue_record(record, "ts_")``.

    The set-up: the rate ``lr``, ``steps`` of ``batch`` images (``epochs``), the accumulation steps
    ``ks`` and their micro-batches ``micro`` (prose lists), the control's ``control_ks``, the seeds
    (``nseeds_bn``, ``nseeds_control``), ``cpu_min``. Accumulation: per arm (mappings keyed by arm)
    the final accuracy ``acc``, the paired difference to k = 1 ``vs`` and the plateau rule's reading;
    the control's loss gaps (``control_first_gap``, a bound; ``control_gap``; ``control_steps``;
    ``control_first_over``, per seed). Averaging: its ``avg_steps`` at ``avg_lr``, SWA's period in
    words (``swa_every``), the EMA's ``ema_decay``, per variant the accuracy ``avg`` and the paired
    differences ``avgdiff``, the running variances' change ``swa_var_change`` (percent). bfloat16:
    autocast's ``dtype`` per tensor, the drift's ``drift_updates`` from a population of mean
    ``pop_mean`` and variance ``pop_var`` over ``drift_channels`` channels with BN's momentum
    ``bn_momentum`` (``bn_keep`` = 1 - momentum), the late errors ``drift`` (``MODE_STAT``) and their
    ratio ``drift_ratio``; the single-batch errors' data offsets ``offset_low``, ``offset_high``.
    Inference: the batch, the BN layers, the tolerance, per variant the speed-up, the error (a
    bound), the square roots in the generated code and the folded operations, the machine's load,
    and compile with freezing over without (``frozen_over_compiled``). The sources' errors
    ``paper_err`` (:data:`PAPER_ERROR`), ``verdict`` (the scorecard's words of :func:`claim_rows`),
    and the momentum exercise's shares per k (``ex_share``).
    """

    lr: str
    steps: int
    batch: int
    epochs: float
    nseeds_bn: int
    nseeds_control: int
    cpu_min: float
    ks: str
    micro: str
    control_ks: str
    control_gap: str
    control_first_gap: str
    control_steps: int
    control_first_over: str
    avg_steps: int
    avg_lr: str
    swa_every: str
    ema_decay: float
    swa_var_change: float
    drift_updates: int
    pop_mean: str
    pop_var: str
    drift_channels: int
    bn_momentum: float
    bn_keep: float
    offset_low: str
    offset_high: str
    tolerance: str
    batch_norms: int
    inf_batch: int
    frozen_over_compiled: str
    inf_load: float
    ex_share: dict[int, float]
    acc: dict[str, str]
    vs: dict[str, str]
    plateau: dict[str, str]
    avg: dict[str, str]
    avgdiff: dict[str, str]
    dtype: dict[str, str]
    drift: dict[str, str]
    drift_ratio: dict[str, str]
    speed: dict[str, str]
    err: dict[str, str]
    sqrt: dict[str, int]
    folded: dict[str, int]
    paper_err: dict[int, float]
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})


def chapter_summary(result: ExperimentResult) -> StackChapter:
    """The chapter's record of ``result`` (see :class:`StackChapter`)."""
    import inspect

    from bn.experiments.scorecard import verdict_words
    from bn.formatting import below, ordinal_word, percent, points, times
    from bn.precision.autocast import running_drift

    s = summarize(result)
    drift_defaults = inspect.signature(running_drift).parameters
    setup = result.measures["precision"]["drift_setup"]
    average = _after(result)[0].after["averaging"]["config"]  # what the phase ran with
    micro = [s.batch_size // k for k in ACCUMULATION]
    offsets = [f"{o:g}" for o in setup["offsets"]]
    return StackChapter(
        lr=f"{s.lr:g}", steps=s.steps, batch=s.batch_size, epochs=s.epochs, nseeds_bn=len(s.seeds_bn),
        nseeds_control=len(s.seeds_control), cpu_min=s.cpu_minutes,
        ks=", ".join(map(str, ACCUMULATION)), micro=", ".join(map(str, micro[:-1])) + f" and {micro[-1]}",
        control_ks=" and ".join(map(str, CONTROL_ACCUMULATION)),
        control_gap=f"{s.control_loss_gap:.1g}", control_first_gap=below(s.control_first_gap, s.control_rounding),
        control_steps=s.control_loss_steps,
        control_first_over=", ".join("none" if t is None else str(t) for t in s.control_first_over),
        avg_steps=s.averaging_steps, avg_lr=f"{s.averaging_lr:.3g}", swa_every=ordinal_word(average["swa_every"]),
        ema_decay=float(average["ema_decay"]), swa_var_change=100 * s.swa_var_change,
        drift_updates=s.drift_updates, pop_mean=f"{setup['drift_mean']:g}",
        pop_var=f"{drift_defaults['std'].default ** 2:g}", drift_channels=int(drift_defaults["channels"].default),
        bn_momentum=BN_MOMENTUM, bn_keep=round(1 - BN_MOMENTUM, 12), offset_low=offsets[0], offset_high=offsets[-1],
        tolerance=f"{s.inference_tolerance:.1e}", batch_norms=s.batch_norms, inf_batch=s.inference_batch,
        frozen_over_compiled=s.frozen_over_compiled.text(),
        inf_load=float("nan") if s.inference_load is None else s.inference_load,
        ex_share=dict(s.running_share), acc={a: percent(iv) for a, iv in s.accuracy.items()},
        vs={a: points(iv) for a, iv in s.versus_k1.items()}, plateau=dict(s.plateau),
        avg={n: percent(iv) for n, iv in s.averaging.items()},
        avgdiff={n: points(iv) for n, iv in s.averaging_diffs.items()}, dtype=dict(s.dtypes),
        drift={f"{mode}_{stat}": f"{iv.estimate:.3f} [{iv.low:.3f}, {iv.high:.3f}]"
               for mode, d in s.drift_late.items() for stat, iv in d.items()},
        drift_ratio={stat: times(iv) for stat, iv in s.drift_ratio.items()},
        speed={n: sp.text() for n, sp in s.inference_speedup.items()},
        err={n: below(e, s.inference_tolerance) for n, e in s.inference_errors.items()},
        sqrt={n: -1 if c is None else c for n, c in s.inference_sqrt.items()}, folded=dict(s.inference_folded),
        paper_err=dict(PAPER_ERROR), verdict=verdict_words(claim_rows(result)))
