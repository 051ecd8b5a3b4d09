"""Scale invariance meets weight decay: the equilibrium of ||W|| in a deep BN network (Part V).

Every conv layer of :class:`bn.models.PlainCNN` (``norm="torch"``) is
followed by BN, so the loss depends on each filter only through its
direction. Trained by ``torch.optim.SGD`` with heavy-ball momentum and coupled
weight decay at a constant rate, ``||W||`` of such a layer settles where the
relative update per step is ``sqrt(2 eta lambda / (1 + mu))``
(:func:`bn.scale_dynamics.equilibrium_angular_update`). This module trains the
network at several ``lambda`` on paired seeds through :func:`bn.training.train`,
records per layer and evaluation interval the norm, the update and the angle
(:class:`bn.diagnostics.AngularUpdateTracker`), and summarizes measured against
predicted at the end of training (:func:`summarize`).

    python -m bn.experiments run weight_decay [--profile cpu|gpu]

writes ``book/results/weight_decay.json`` (``weight_decay_gpu.json`` for the
gpu profile; a smoke run is for tests and needs ``--out``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from bn.formatting import Table, data_copy_label, interval
from bn.statistics import Interval, mean_ci
from bn.diagnostics import AngularUpdateTracker, conv_weights
from bn.experiments.base import Context, Experiment, ExperimentResult, load_tensor_data, record_run_seeds
from bn.experiments.study_records import nested, read_runs
from bn.models import PlainCNN
from bn.scale_dynamics import ToyBalance, ToyConfig, equilibrium_angular_update, toy_balance
from bn.results import from_strict_dict
from bn.training import History, TensorData, TrainConfig, train

__all__ = ["CLASSIFIER", "PROFILES", "train_config", "watched_weights", "run_weight_decay", "summarize",
           "summarize_runs", "layer_curves", "arm_name", "runs_of", "WeightDecayRun", "WeightDecaySummary",
           "chapter_summary", "equilibrium_table", "stored_interval", "verdict_decays", "mean_norm_change", "EXPERIMENT"]

CLASSIFIER = "classifier.weight"

# The rate is constant after the warm-up (no decay), so that ||W|| has a fixed point to reach.
# The norm's time constant is about (1 - mu) / (4 eta lambda) steps: 50 at lambda = 5e-3 and
# 500 at 5e-4, so the cpu profile's 1000 steps settle the first and not the second (the gpu
# profile's 20000 steps settle both).
PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {"seeds": [0, 1, 2], "weight_decays": [0.0, 5e-4, 5e-3], "n_train": None, "n_test": 2000,
            "steps": 1000, "batch_size": 32, "lr": 0.1, "momentum": 0.9, "warmup_steps": 50,
            "eval_every": 50, "eval_examples": 250, "window_steps": 200, "device": "cpu"},
    "gpu": {"seeds": [0, 1, 2, 3, 4], "weight_decays": [0.0, 1e-4, 5e-4, 5e-3], "n_train": None,
            "n_test": None, "steps": 20000, "batch_size": 128, "lr": 0.1, "momentum": 0.9,
            "warmup_steps": 500, "eval_every": 250, "eval_examples": 2000, "window_steps": 2500,
            "device": "cuda"},
    "smoke": {"seeds": [0, 1], "weight_decays": [0.0, 5e-3], "n_train": 2000, "n_test": 200,
              "steps": 12, "batch_size": 32, "lr": 0.1, "momentum": 0.9, "warmup_steps": 2,
              "eval_every": 4, "eval_examples": 100, "window_steps": 8, "device": "cpu"},
}


def train_config(p: dict[str, Any], weight_decay: float) -> TrainConfig:
    """Heavy-ball SGD (``nesterov=False``: the case the prediction is exact for), constant rate after warm-up."""
    return TrainConfig(steps=p["steps"], batch_size=p["batch_size"], peak_lr=p["lr"],
                       warmup_steps=p["warmup_steps"], half_life=None, momentum=p["momentum"],
                       nesterov=False, weight_decay=weight_decay, flip=True, eval_every=p["eval_every"],
                       eval_examples=p["eval_examples"], checkpoint_every=10**9)


def watched_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """Every conv kernel (each followed by BN: scale-invariant) and the classifier's weight (not)."""
    return {**conv_weights(model), CLASSIFIER: model.classifier.weight}


@dataclass(frozen=True)
class WeightDecayRun:
    """One run of the study: its weight decay and seed, its training configuration (as stored), CPU
    seconds, and its history, whose measures hold the tracker's intervals per layer
    (:meth:`bn.diagnostics.AngularUpdateTracker.measure`: ``{"steps", "layers": {name: ...}}``)."""

    weight_decay: float
    seed: int
    train: dict[str, Any]
    cpu_seconds: float
    history: History

    def to_dict(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "history": self.history.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "weight-decay run") -> "WeightDecayRun":
        """The run ``d`` holds; an unknown or a missing key (here, in its history or its training
        configuration) is a ValueError that names ``what`` and the key."""
        run = from_strict_dict(cls, d, what)
        nested(TrainConfig.from_dict, run.train, what)
        return replace(run, history=nested(History.from_dict, run.history, what))


def runs_of(result: ExperimentResult, source: str | None = None) -> list[WeightDecayRun]:
    """The runs of a result of this study, typed (an error names ``source``, by default the result's file)."""
    return read_runs(result, WeightDecayRun.from_dict, source)


def run_weight_decay(data: TensorData, p: dict[str, Any], progress: bool = True) -> list[dict[str, Any]]:
    """Train the plain CNN once per seed and weight decay; the same seed gives the same init and batches."""
    runs = []
    for seed in p["seeds"]:
        for wd in p["weight_decays"]:
            torch.manual_seed(seed)
            model = PlainCNN(norm="torch")
            cfg = train_config(p, wd)
            tracker = AngularUpdateTracker(watched_weights(model))
            c0 = time.process_time()
            with tracker:
                history = train(model, data, cfg, seed, device=p["device"], measure=tracker.measure,
                                progress=progress, desc=f"wd {wd:g} s{seed}")
            runs.append(WeightDecayRun(wd, seed, cfg.to_dict(), time.process_time() - c0, history).to_dict())
    return runs


def _window(run: WeightDecayRun, name: str, window_steps: int, drift_weight: float) -> dict[str, float]:
    """A layer's intervals within the last ``window_steps`` steps, combined exactly (step-weighted).

    ``drift_ratio`` is ``1 + drift_weight (A_end - A_start) / sum_t A_t``: by
    :func:`bn.scale_dynamics.window_update_identity`, the factor by which a norm
    that still moves raises ``sum ||dW||^2`` above its equilibrium value (the
    O(||dW||^2) boundary terms left out), with ``drift_weight = (1 - mu) / (2 eta lambda)``.
    """
    h = run.history
    end = h.eval_step[-1]
    a = d = ang = n = 0.0
    start_norm = None
    for step, m in zip(h.eval_step, h.measures):
        if step <= end - window_steps:
            start_norm = m["layers"][name]["norm"]
        elif m["steps"]:
            rec, k = m["layers"][name], m["steps"]
            a, d = a + k * rec["mean_norm_sq"], d + k * rec["mean_update_sq"]
            ang, n = ang + k * rec["mean_angle"], n + k
    end_norm = h.measures[-1]["layers"][name]["norm"]
    drift = drift_weight * (end_norm**2 - start_norm**2) / a
    return {"rms_update": math.sqrt(d / a), "mean_angle": ang / n, "steps": int(n), "drift_ratio": 1.0 + drift}


def _norm_change(run: WeightDecayRun, name: str, window_steps: int) -> float:
    """Relative change of ``||W||`` over the window: ``||W||_end / ||W||_(end - window) - 1``."""
    h = run.history
    steps = np.asarray(h.eval_step)
    norms = np.asarray([m["layers"][name]["norm"] for m in h.measures])
    start = int(np.searchsorted(steps, steps[-1] - window_steps))
    return float(norms[-1] / norms[start] - 1.0)


def _ci(values: list[float]) -> dict[str, float]:
    iv = mean_ci(values)
    return {"mean": iv.estimate, "low": iv.low, "high": iv.high, "n": iv.n}


def summarize(result: ExperimentResult | dict[str, Any]) -> dict[str, Any]:
    """Measured against predicted at the end of training, and test accuracy, per weight decay
    (:func:`summarize_runs` of the result's configuration and typed runs).

    ``result`` is the typed result, or, while :func:`run` writes it, the ``{"config", "measures"}``
    it summarizes into the result's stored ``measures["summary"]`` (its run records read through
    :meth:`WeightDecayRun.from_dict` all the same).
    """
    if isinstance(result, ExperimentResult):
        return summarize_runs(result.config, runs_of(result))
    return summarize_runs(result["config"], [WeightDecayRun.from_dict(r, f"weight_decay run {i} (being written)")
                                             for i, r in enumerate(result["measures"]["runs"])])


def summarize_runs(p: dict[str, Any], runs: list[WeightDecayRun]) -> dict[str, Any]:
    """Measured against predicted at the end of training, and test accuracy, per weight decay, of
    ``runs`` trained under the configuration ``p``.

    For each ``lambda`` and layer: the window's root-mean-square relative update
    and mean angle divided by :func:`equilibrium_angular_update` (``None`` at
    ``lambda = 0``, where the prediction is 0), per seed. ``conv_ratio`` averages
    the eight conv layers within a seed and gives the mean over seeds with a t
    interval (the seed is the independent unit); ``conv_ratio_range`` the
    smallest and largest per-layer mean over seeds; ``conv_ratio_drift_corrected``
    compares with the finite-window balance instead, which keeps the change of
    ``||W||^2`` over the window (see :func:`_window`). The classifier is reported
    separately: it is not followed by BN, so nothing ties it to the prediction.
    """
    names = list(runs[0].history.measures[0]["layers"])
    convs = [n for n in names if n != CLASSIFIER]
    win = p["window_steps"]
    out: dict[str, Any] = {"layers": names, "by_weight_decay": {}}
    base_acc = {r.seed: r.history.final_test_acc for r in runs if r.weight_decay == 0.0}
    for wd in p["weight_decays"]:
        sel = sorted((r for r in runs if r.weight_decay == wd), key=lambda r: r.seed)
        pred = equilibrium_angular_update(p["lr"], wd, p["momentum"])
        weight = (1 - p["momentum"]) / (2 * p["lr"] * wd) if wd > 0 else 0.0
        per_layer = {n: [_window(r, n, win, weight) for r in sel] for n in names}
        entry: dict[str, Any] = {
            "predicted": pred, "seeds": [r.seed for r in sel],
            "rms_update": {n: [w["rms_update"] for w in per_layer[n]] for n in names},
            "mean_angle": {n: [w["mean_angle"] for w in per_layer[n]] for n in names},
            "norm_change": {n: [_norm_change(r, n, win) for r in sel] for n in names},
            "final_test_acc": _ci([r.history.final_test_acc for r in sel])}
        if base_acc and wd != 0.0:
            entry["acc_gain_over_no_decay"] = _ci([r.history.final_test_acc - base_acc[r.seed]
                                                   for r in sel])
        if pred > 0:
            ratio = {n: [v / pred for v in entry["rms_update"][n]] for n in names}
            angle_ratio = {n: [v / pred for v in entry["mean_angle"][n]] for n in names}
            entry["ratio"] = ratio
            entry["conv_ratio"] = _ci([float(np.mean([ratio[n][i] for n in convs])) for i in range(len(sel))])
            entry["conv_angle_ratio"] = _ci([float(np.mean([angle_ratio[n][i] for n in convs]))
                                             for i in range(len(sel))])
            layer_means = [float(np.mean(ratio[n])) for n in convs]
            entry["conv_ratio_range"] = [min(layer_means), max(layer_means)]
            entry["classifier_ratio"] = _ci(ratio[CLASSIFIER])
            # The prediction with the window's norm drift put back (the finite-window balance).
            corrected = {n: [v / math.sqrt(w["drift_ratio"]) for v, w in zip(ratio[n], per_layer[n])]
                         for n in names}
            entry["conv_ratio_drift_corrected"] = _ci([float(np.mean([corrected[n][i] for n in convs]))
                                                       for i in range(len(sel))])
            entry["classifier_ratio_drift_corrected"] = _ci(corrected[CLASSIFIER])
        out["by_weight_decay"][str(wd)] = entry
    return out


def layer_curves(result: ExperimentResult, key: str) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """``(steps, {weight decay: array (seeds, layers, evaluations)})`` of one recorded quantity.

    ``key`` is a field of :meth:`AngularUpdateTracker.interval` (``norm``,
    ``rms_update``, ``mean_angle``, ...) or ``effective_lr``, the rate per filter
    ``eta C / ||W||^2`` (``C`` filters) at the evaluation's rate. Missing values
    (no steps yet) are NaN; layers in the order of ``summary["layers"]``.
    """
    runs = runs_of(result)
    names = list(runs[0].history.measures[0]["layers"])
    steps = np.asarray(runs[0].history.eval_step)
    out: dict[float, np.ndarray] = {}
    for wd in result.config["weight_decays"]:
        sel = sorted((r for r in runs if r.weight_decay == wd), key=lambda r: r.seed)
        arr = np.full((len(sel), len(names), len(steps)), np.nan)
        for i, r in enumerate(sel):
            h = r.history
            for j, name in enumerate(names):
                for t, (lr, m) in enumerate(zip(h.lr, h.measures)):
                    rec = m["layers"][name]
                    value = lr * rec["filters"] / rec["norm"] ** 2 if key == "effective_lr" else rec[key]
                    arr[i, j, t] = np.nan if value is None else value
        out[wd] = arr
    return steps, out


def arm_name(record: dict[str, Any]) -> str:
    """A run record's arm: its weight decay."""
    return f"wd={record['weight_decay']:g}"


@dataclass(frozen=True)
class WeightDecaySummary:
    """Every number the weight-decay chapter states, glued as ``wd-`` + field (hyphens for underscores).

    ``toy``: the toy run's check of the balance (``wd-toy-...``); ``mu_factor``, ``sqrt(1 + mu)``
    at the toy's momentum, and ``nesterov_excess``, the per cent by which Nesterov's equilibrium
    update (uncorrelated gradients) exceeds the heavy-ball one at that momentum.
    The CNN runs' settings and cost: ``copy`` (data copy), ``nseeds``, ``steps``, ``window``
    (end-of-training window, steps), ``every`` (steps per evaluation), ``lr``, ``ntest`` (test
    images), ``cpu_min``, ``gpu_steps`` (the gpu profile's steps, with a thousands separator).
    ``big`` and ``small``: the largest and the smallest nonzero weight decay, which carry the
    verdict; each mapping below has one entry per ``"big"``/``"small"`` (``acc`` also ``"0"``,
    no decay): ``tau`` the norm's time constant in steps; ``ratio`` the conv layers' measured
    over predicted update (mean over seeds, 95 % t interval), ``angle`` the same for the mean
    angle, ``lin`` the classifier's ratio, ``drift`` and ``lin_drift`` those ratios against the
    finite-window balance; ``range`` the smallest and largest per-layer mean ratio; ``change``
    the conv layers' mean relative change of ``||W||`` over the window, in per cent; ``acc`` the
    final test accuracy and ``gain`` its paired difference to no decay, in points.
    Without decay: ``nodecay_fall``, the factor by which the conv layers' update falls from the
    first evaluation interval to the last; ``eff_fall``, the factor by which their effective
    rate falls from the end of the warm-up (the second evaluation) to the end of the run.
    """

    toy: ToyBalance
    mu_factor: float
    nesterov_excess: float
    copy: str
    nseeds: int
    steps: int
    window: int
    every: int
    lr: float
    ntest: int
    cpu_min: float
    gpu_steps: str
    big: float
    small: float
    tau: dict[str, float]
    ratio: dict[str, str]
    angle: dict[str, str]
    lin: dict[str, str]
    drift: dict[str, str]
    lin_drift: dict[str, str]
    range: dict[str, str]
    change: dict[str, float]
    acc: dict[str, str]
    gain: dict[str, str]
    nodecay_fall: float
    eff_fall: float


def stored_interval(d: dict[str, float]) -> Interval:
    """An interval of the stored summary (``{"mean", "low", "high", "n"}``) as an :class:`Interval`."""
    return Interval(d["mean"], d["low"], d["high"], d["n"])


def verdict_decays(result: ExperimentResult) -> dict[str, float]:
    """The weight decays that carry the verdict: ``{"big": largest, "small": smallest nonzero}``."""
    decays = sorted(result.config["weight_decays"])
    nonzero = [wd for wd in decays if wd > 0]
    if not nonzero:
        raise ValueError("the result has no nonzero weight decay")
    return {"big": nonzero[-1], "small": nonzero[0]}


def mean_norm_change(entry: dict[str, Any], convs: list[str]) -> float:
    """The conv layers' mean (over layers, of the mean over seeds) relative change of ``||W||`` in the window."""
    return float(np.mean([np.mean(entry["norm_change"][n]) for n in convs]))


def chapter_summary(result: ExperimentResult, toy: ToyConfig) -> WeightDecaySummary:
    """The chapter's record from a result of this study and the toy run ``toy`` (see
    :class:`WeightDecaySummary`); the result's stored summary (:func:`summarize`) is read as stored."""
    cfg, prov = result.config, result.provenance
    stored = result.measures["summary"]
    names = stored["layers"]
    convs = [n for n in names if n != CLASSIFIER]
    by = {wd: stored["by_weight_decay"][str(wd)] for wd in cfg["weight_decays"]}
    tags = verdict_decays(result)
    mu = toy.momentum

    def per_tag(key: str, digits: int, scale: float = 1.0) -> dict[str, str]:
        return {tag: interval(stored_interval(by[wd][key]), digits, scale) for tag, wd in tags.items()}

    _, updates = layer_curves(result, "rms_update")
    _, eff = layer_curves(result, "effective_lr")
    conv = slice(0, len(convs))
    first, last = (float(np.nanmean(updates[0.0][:, conv, k])) for k in (1, -1))
    eff0 = np.nanmean(eff[0.0][:, conv], axis=(0, 1))
    return WeightDecaySummary(
        toy=toy_balance(toy), mu_factor=float(np.sqrt(1 + mu)),
        # Nesterov's equilibrium E D / E A = 2 eta lambda (1 + 2 mu - 2 mu^3) / (1 + mu): the
        # update is sqrt(1 + 2 mu - 2 mu^3) times the heavy-ball one.
        nesterov_excess=float(100 * (np.sqrt(1 + 2 * mu - 2 * mu**3) - 1)),
        copy=data_copy_label(prov["data"]["copy"]), nseeds=len(cfg["seeds"]), steps=cfg["steps"],
        window=cfg["window_steps"], every=cfg["eval_every"], lr=cfg["lr"], ntest=prov["data"]["n_test"],
        cpu_min=prov["cpu_time_s"] / 60, gpu_steps=f"{PROFILES['gpu']['steps']:,}",
        big=tags["big"], small=tags["small"],
        tau={tag: (1 - cfg["momentum"]) / (4 * cfg["lr"] * wd) for tag, wd in tags.items()},
        ratio=per_tag("conv_ratio", 2), angle=per_tag("conv_angle_ratio", 2),
        lin=per_tag("classifier_ratio", 2), drift=per_tag("conv_ratio_drift_corrected", 3),
        lin_drift=per_tag("classifier_ratio_drift_corrected", 2),
        range={tag: "{:.2f} to {:.2f}".format(*by[wd]["conv_ratio_range"]) for tag, wd in tags.items()},
        change={tag: 100 * mean_norm_change(by[wd], convs) for tag, wd in tags.items()},
        acc={"0": interval(stored_interval(by[0.0]["final_test_acc"]), 1, 100),
             **per_tag("final_test_acc", 1, 100)},
        gain=per_tag("acc_gain_over_no_decay", 1, 100),
        nodecay_fall=first / last, eff_fall=float(eff0[1] / eff0[-1]))


def equilibrium_table(result: ExperimentResult) -> Table:
    """The end-of-training window per weight decay: predicted and measured update, the ratios
    (conv, conv with the window's drift, classifier), the norm's change and the test accuracy."""
    cfg, stored = result.config, result.measures["summary"]
    convs = [n for n in stored["layers"] if n != CLASSIFIER]
    cols = []
    for wd in cfg["weight_decays"]:
        e = stored["by_weight_decay"][str(wd)]
        measured = np.mean([np.mean(e["rms_update"][n]) for n in convs])

        def ratio(key: str, digits: int) -> str:
            return interval(stored_interval(e[key]), digits) if wd > 0 else "–"

        cols.append([f"{e['predicted']:.2e}" if wd > 0 else "0", f"{measured:.2e}",
                     ratio("conv_ratio", 2), ratio("conv_ratio_drift_corrected", 3),
                     ratio("classifier_ratio", 2), f"{100 * mean_norm_change(e, convs):+.1f} %",
                     interval(stored_interval(e["final_test_acc"]), 1, 100)])
    quantities = ["predicted update", "measured, conv", "ratio, conv", "ratio, conv, with drift",
                  "ratio, linear", "Δ‖W‖ in window", "test accuracy, %"]
    return Table(["", *(f"ω = {wd:g}" for wd in cfg["weight_decays"])],
                 [[q, *(c[i] for c in cols)] for i, q in enumerate(quantities)])


def load_data(data_dir: str | None, cfg: dict[str, Any]) -> tuple[TensorData, dict[str, Any]]:
    """The profile's CIFAR-10 images (the runs report on the test set; no validation split)."""
    return load_tensor_data(data_dir, cfg["n_train"], cfg["n_test"])


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """Train once per seed of ``ctx`` and weight decay; the run records and their summary (the measures)."""
    runs = run_weight_decay(ctx.data, {**cfg, "seeds": list(ctx.seeds)}, ctx.progress)
    record_run_seeds(ctx, runs, arm_name)
    measures: dict[str, Any] = {"runs": runs}
    measures["summary"] = summarize({"config": cfg, "measures": measures})
    return measures


EXPERIMENT = Experiment(
    name="weight_decay", title="Scale invariance meets weight decay: the equilibrium of ||W||",
    claim=("With BN after every convolution, SGD with momentum and weight decay drives each filter's norm to "
           "an equilibrium where the relative update per step is sqrt(2 eta lambda / (1 + mu)) "
           "(van Laarhoven 2017; Wan et al. 2021)."),
    profiles=PROFILES, run=run, summarize=summarize, load_data=load_data)
