"""Internal covariate shift or smoothness: the tests of Santurkar et al. (2018) on the plain CNN.

    python -m bn.experiments run smoothness [--profile cpu|gpu] [--device D]

Three arms of :class:`bn.models.PlainCNN` (8 conv layers) on CIFAR-10,
trained by :func:`bn.training.train` on paired seeds at one learning rate:
no BN, BN, and BN followed by random per-channel noise
(:func:`bn.smoothness.add_noise_after_bn`). The rate is the one of
``lr_candidates`` at which the network *without* BN reaches the best
accuracy on a validation split (the last ``n_val`` training images, which no
run trains on). At every evaluation the run's ``measure`` records, on a fixed
probe batch of training images: the per-channel moments of every conv layer's
input (:func:`bn.smoothness.input_moments`), the gradient ICS of every layer
(:func:`bn.smoothness.gradient_ics`) and the landscape along the gradient
(:func:`bn.smoothness.landscape_along_gradient`).

The cpu profile writes ``book/results/smoothness.json``, the gpu profile
``book/results/smoothness_gpu.json``; a smoke run (tiny, for tests) needs ``--out``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from bn.formatting import Table, data_copy_label, interval, percent, points, resolved, times
from bn.statistics import Evidence, all_of, decide, mean_ci, paired_difference_ci, paired_ratio_ci
from bn.experiments.base import Context, Experiment, ExperimentResult, load_tensor_data, record_run_seeds
from bn.experiments.study_records import nested, read_runs
from bn.experiments.plain_cnn import train_config
from bn.population import precise_statistics, train_batches
from bn.models import PlainCNN
from bn.smoothness import gradient_ics, input_moments, landscape_along_gradient, model_loss, moment_shift
from bn.torch_bn.noisy import add_noise_after_bn, freeze_noise, set_noise
from bn.results import from_strict_dict
from bn.training import History, TensorData, TrainConfig, evaluate_accuracy, train

ARMS: dict[str, str] = {"no_bn": "none", "bn": "torch", "noisy_bn": "torch"}

PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {"seeds": [0, 1, 2], "n_train": None, "n_test": None, "n_val": 5000, "steps": 300,
            "batch_size": 64, "lr_candidates": [0.01, 0.02, 0.05], "lr_seed": 0, "eval_every": 50,
            "eval_examples": 1000, "probe_examples": 64,
            "noise": {"shift_max": 1.0, "scale_max": 2.0},
            "step_multipliers": [0.05, 0.1, 0.2, 0.4, 1.0, 2.0, 4.0], "calibration_batches": 20},
    "gpu": {"seeds": [0, 1, 2, 3, 4], "n_train": None, "n_test": None, "n_val": 5000, "steps": 4000,
            "batch_size": 128, "lr_candidates": [0.005, 0.01, 0.02, 0.05, 0.1], "lr_seed": 0,
            "eval_every": 400, "eval_examples": None, "probe_examples": 512,
            "noise": {"shift_max": 1.0, "scale_max": 2.0},
            "step_multipliers": [0.05, 0.1, 0.2, 0.4, 1.0, 2.0, 4.0], "calibration_batches": 20},
    "smoke": {"seeds": [0, 1], "n_train": 1200, "n_test": 200, "n_val": 200, "steps": 6,
              "batch_size": 16, "lr_candidates": [0.01, 0.05], "lr_seed": 0, "eval_every": 3,
              "eval_examples": 100, "probe_examples": 16,
              "noise": {"shift_max": 1.0, "scale_max": 2.0},
              "step_multipliers": [0.05, 0.4, 4.0], "calibration_batches": 2},
}
# Digits kept of the per-channel moments in the result file (they are compared between
# evaluations to a few per cent; more digits would only grow the file).
MOMENT_DIGITS = 5


def splits(data: TensorData, n_val: int) -> tuple[TensorData, TensorData]:
    """``(choose, run)``: both train on all but the last ``n_val`` training images; ``choose``
    evaluates on those held-out images (the validation split), ``run`` on the test set."""
    n = len(data.train_labels) - n_val
    if n <= 0:
        raise ValueError(f"n_val={n_val} leaves no training images")
    tr_x, tr_y = data.train_images[:n], data.train_labels[:n]
    choose = TensorData(tr_x, tr_y, data.train_images[n:], data.train_labels[n:], data.mean, data.std)
    run = TensorData(tr_x, tr_y, data.test_images, data.test_labels, data.mean, data.std)
    return choose, run


def build(arm: str, seed: int, noise: dict[str, float]) -> nn.Module:
    """The arm's network, initialized under ``torch.manual_seed(seed)`` (the same weights in every arm)."""
    torch.manual_seed(seed)
    model = PlainCNN(norm=ARMS[arm])
    if arm == "noisy_bn":
        add_noise_after_bn(model, noise["shift_max"], noise["scale_max"], seed=10_000 + 100 * seed)
    return model


def layer_groups(model: PlainCNN) -> list[list[nn.Parameter]]:
    """The parameters of each conv unit (conv, and BN's gamma and beta), then the classifier's."""
    return [list(u.parameters()) for u in model.units] + [list(model.classifier.parameters())]


def conv_input_layers(model: PlainCNN) -> list[str]:
    """Names of the convolutions of units 2, 3, ...: their inputs are earlier layers' outputs."""
    units = {id(u) for u in model.units[1:]}
    return [f"{name}.conv" for name, m in model.named_modules() if id(m) in units]


def _rounded(t: torch.Tensor) -> list[float]:
    return [float(f"{v:.{MOMENT_DIGITS}g}") for v in t.tolist()]


def smoothness_measure(x: torch.Tensor, y: torch.Tensor, lr: float, multipliers: list[float]
                       ) -> Callable[[nn.Module], dict[str, Any]]:
    """At each evaluation, on the probe batch ``(x, y)``: input moments, gradient ICS, landscape.

    Everything runs on a deep copy in training mode (BN with batch statistics)
    with the noise of a noisy arm frozen at one fresh draw, so the three
    measurements see the same function and the training run is untouched. The
    ICS step and the landscape's steps ``k * lr`` use the run's peak rate ``lr``.
    """
    def measure(model: nn.Module) -> dict[str, Any]:
        probe = copy.deepcopy(model).train()
        freeze_noise(probe)
        moments = input_moments(probe, conv_input_layers(probe), x)
        loss = model_loss(probe, x, y)
        groups = layer_groups(probe)
        ics = gradient_ics(loss, groups, lr)
        land = landscape_along_gradient(loss, [p for g in groups for p in g], [k * lr for k in multipliers])
        return {"moments": {n: {"mean": _rounded(m), "std": _rounded(s)} for n, (m, s) in moments.items()},
                "ics": ics, "landscape": {"multipliers": list(multipliers), "losses": land.losses,
                                          "grad_change": land.grad_change, "distance": land.distance}}
    return measure


def choose_rate(choose: TensorData, p: dict[str, Any], device: str = "cpu", progress: bool = True
                ) -> dict[str, Any]:
    """Train the no-BN network at every candidate rate (one seed); pick the best validation accuracy."""
    trials = []
    for lr in p["lr_candidates"]:
        model = build("no_bn", p["lr_seed"], p["noise"])
        cfg = train_config({**p, "peak_lr": lr})
        hist = train(model, choose, cfg, p["lr_seed"], device=device, progress=progress, desc=f"lr {lr}")
        acc = None if hist.diverged else evaluate_accuracy(model, choose, None, device)
        trials.append({"lr": lr, "val_acc": acc, "diverged": hist.diverged})
    best = max((t for t in trials if t["val_acc"] is not None), key=lambda t: t["val_acc"])
    return {"arm": "no_bn", "seed": p["lr_seed"], "n_val": len(choose.test_labels), "trials": trials,
            "lr": best["lr"]}


def recomputed_accuracy(model: nn.Module, data: TensorData, p: dict[str, Any], seed: int,
                        device: str = "cpu") -> float:
    """Test accuracy after BN's running statistics are recomputed with the noise switched off.

    Training accumulates the running statistics of every BN layer on inputs that
    the noise of the layers before it has shifted; evaluating without the noise
    then normalizes with statistics of a different network. Recomputing them on
    ``calibration_batches`` training batches of the noiseless network removes
    that mismatch (for plain BN it only replaces the moving average by a plain one).
    """
    quiet = copy.deepcopy(model)
    set_noise(quiet, False)
    batches = train_batches(data, p["calibration_batches"], p["batch_size"], seed=20_000 + seed)
    return evaluate_accuracy(precise_statistics(quiet, [b.to(device) for b in batches]), data, None, device)


@dataclass(frozen=True)
class SmoothnessRun:
    """One run of the study: its arm and seed, training configuration, CPU seconds and history (whose
    measures hold the moments, ICS and landscape at every evaluation), and for a BN arm the test
    accuracy after the running statistics were recomputed without noise."""

    arm: str
    seed: int
    train: dict[str, Any]
    cpu_seconds: float
    history: History
    recomputed_test_acc: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {**{f.name: getattr(self, f.name) for f in fields(self)}, "history": self.history.to_dict()}
        if self.recomputed_test_acc is None:  # the no-BN arm and a failed run have none
            del out["recomputed_test_acc"]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "smoothness run") -> "SmoothnessRun":
        """The run ``d`` holds; an unknown or a missing key (here, in its history or its training
        configuration) is a ValueError that names ``what`` and the key."""
        run = from_strict_dict(cls, d, what)
        nested(TrainConfig.from_dict, run.train, what)
        return replace(run, history=nested(History.from_dict, run.history, what))


def run_smoothness(data: TensorData, p: dict[str, Any], device: str = "cpu", progress: bool = True
                   ) -> dict[str, Any]:
    """Choose the rate, then train every arm on every seed with the measurements along the way."""
    choose, run = splits(data, p["n_val"])
    choice = choose_rate(choose, p, device, progress)
    lr = choice["lr"]
    x = run.normalize(run.train_images[:p["probe_examples"]]).to(device)
    y = run.train_labels[:p["probe_examples"]].to(device)
    cfg = train_config({**p, "peak_lr": lr})
    runs = []
    for seed in p["seeds"]:
        for arm in ARMS:
            model = build(arm, seed, p["noise"])
            c0 = time.process_time()
            hist = train(model, run, cfg, seed, device=device, desc=f"{arm} s{seed}", progress=progress,
                         measure=smoothness_measure(x, y, lr, p["step_multipliers"]))
            cpu = time.process_time() - c0
            recomputed = (recomputed_accuracy(model, run, p, seed, device)
                          if arm != "no_bn" and hist.final_test_acc is not None else None)
            runs.append(SmoothnessRun(arm, seed, cfg.to_dict(), cpu, hist, recomputed).to_dict())
    return {"lr_choice": choice, "lr": lr, "runs": runs}


# --- what the chapter reads -------------------------------------------------------------------

def runs_of(result: ExperimentResult, source: str | None = None) -> list[SmoothnessRun]:
    """The runs of a result of this study, typed (an error names ``source``, by default the result's file)."""
    return read_runs(result, SmoothnessRun.from_dict, source)


def _per_run(result: ExperimentResult, arm: str) -> list[SmoothnessRun]:
    return sorted((r for r in runs_of(result) if r.arm == arm), key=lambda r: r.seed)


def shifts(run: SmoothnessRun) -> dict[str, np.ndarray]:
    """Moment shifts of the conv inputs between consecutive evaluations: ``(intervals, layers)`` arrays."""
    ms = run.history.measures
    layers = list(ms[0]["moments"])
    out = {"mean_shift": [], "std_shift": []}
    for a, b in zip(ms[:-1], ms[1:]):
        rows = [moment_shift(*(tuple(torch.tensor(m["moments"][n][k], dtype=torch.float64)
                                     for k in ("mean", "std")) for m in (a, b))) for n in layers]
        for key in out:
            out[key].append([r[key] for r in rows])
    return {k: np.array(v) for k, v in out.items()}


def landscape_summary(run: SmoothnessRun, k_max: float | None = None) -> dict[str, np.ndarray]:
    """Loss range, gradient predictiveness and effective beta per evaluation, over steps ``k <= k_max``."""
    out = {"loss_range": [], "predictiveness": [], "beta": []}
    for m in run.history.measures:
        land = m["landscape"]
        keep = [i for i, k in enumerate(land["multipliers"]) if k_max is None or k <= k_max + 1e-12]
        losses = [land["losses"][0]] + [land["losses"][i + 1] for i in keep]
        change = [land["grad_change"][i] for i in keep]
        out["loss_range"].append(max(losses) - min(losses))
        out["predictiveness"].append(max(change))
        out["beta"].append(max(land["grad_change"][i] / land["distance"][i] for i in keep))
    return {k: np.array(v) for k, v in out.items()}


def ics_arrays(run: SmoothnessRun) -> dict[str, np.ndarray]:
    """Gradient ICS per evaluation and layer: ``diff``, ``cos``, ``norm`` and ``relative`` = diff / norm."""
    ms = run.history.measures
    out = {k: np.array([[r[k] for r in m["ics"]] for m in ms]) for k in ("diff", "cos", "norm")}
    out["relative"] = out["diff"] / out["norm"]
    return out


def curves(result: ExperimentResult, arm: str, k_max: float | None = None) -> dict[str, np.ndarray]:
    """The arm's measurements over training as ``(seeds, points)`` arrays, for the figures.

    ``test_acc``, the ICS (``ics_relative``, ``ics_cos``: medians over layers) and
    the landscape (``loss_range``, ``predictiveness``, ``beta``) have one column
    per evaluation; ``mean_shift`` and ``std_shift`` (averaged over layers) one
    per interval between evaluations.
    """
    rows: dict[str, list[np.ndarray]] = {}
    for r in _per_run(result, arm):
        sh, ics, land = shifts(r), ics_arrays(r), landscape_summary(r, k_max)
        values = {"test_acc": np.array(r.history.test_acc),
                  "mean_shift": sh["mean_shift"].mean(1), "std_shift": sh["std_shift"].mean(1),
                  "ics_relative": np.median(ics["relative"], 1), "ics_cos": np.median(ics["cos"], 1), **land}
        for k, v in values.items():
            rows.setdefault(k, []).append(v)
    return {k: np.stack(v) for k, v in rows.items()}


def summarize(result: ExperimentResult, k_max: float | None = None) -> dict[str, Any]:
    """Per arm and seed: final accuracy, mean shifts, median ICS and landscape measures; paired intervals.

    Averages over training skip the evaluation at step 0 for the ICS and the
    landscape (the untrained network) and use every interval for the shifts.
    ``train_loss`` is the mean training loss over the last interval; a
    landscape measure's ``_spread`` is the standard deviation over the
    evaluations of its logarithm (how much it varies along training).
    """
    arms: dict[str, dict[str, list[float]]] = {}
    for arm in ARMS:
        rows: dict[str, list[float]] = {}
        for r in _per_run(result, arm):
            sh, ics, land = shifts(r), ics_arrays(r), landscape_summary(r, k_max)
            acc = r.history.final_test_acc
            values = {"acc": acc,
                      "acc_recomputed": acc if r.recomputed_test_acc is None else r.recomputed_test_acc,
                      "mean_shift": float(sh["mean_shift"].mean()), "std_shift": float(sh["std_shift"].mean()),
                      "ics_diff": float(np.median(ics["diff"][1:])), "ics_cos": float(np.median(ics["cos"][1:])),
                      "ics_relative": float(np.median(ics["relative"][1:])),
                      "train_loss": r.history.train_loss[-1],
                      **{k: float(np.median(v[1:])) for k, v in land.items()},
                      **{f"{k}_spread": float(np.log(v[1:]).std()) for k, v in land.items()}}
            for k, v in values.items():
                rows.setdefault(k, []).append(v)
        arms[arm] = rows
    keys = list(arms["bn"])
    pairs = {"noisy_bn-bn": ("noisy_bn", "bn"), "no_bn-bn": ("no_bn", "bn"), "noisy_bn-no_bn": ("noisy_bn", "no_bn")}
    diffs = {name: {k: paired_difference_ci(arms[a][k], arms[b][k]) for k in keys} for name, (a, b) in pairs.items()}
    ratios = {name: {k: paired_ratio_ci(arms[a][k], arms[b][k]) for k in keys
                  if k not in ("acc", "acc_recomputed", "ics_cos", "train_loss")}
              for name, (a, b) in pairs.items()}
    means = {arm: {k: mean_ci(v) for k, v in rows.items()} for arm, rows in arms.items()}
    return {"per_seed": arms, "means": means, "differences": diffs, "ratios": ratios}


LANDSCAPE = ("loss_range", "predictiveness", "beta")


def claim_verdicts(summary: dict[str, Any]) -> dict[str, str]:
    """The rule's verdict (:func:`bn.statistics.decide`) on each claim of Santurkar et al. (2018), from
    :func:`summarize`'s paired intervals.

    ``"stable_inputs"``: BN's benefit does not come from stable inputs: noisy BN, whose inputs move
    as much as no BN's, reaches a lower training loss than no BN (difference claimed below 0).
    ``"gradient_ics"``: BN does not reduce internal covariate shift in the gradient sense: the
    ratio no BN / BN of the relative gradient change is claimed at most 1 (BN's no smaller).
    ``"smoother"``: BN makes the landscape smoother: every landscape ratio no BN / BN claimed
    above 1; reproduced only if all three are, reversed only if all three are reversed.
    """
    d, r = summary["differences"], summary["ratios"]
    out = {"stable_inputs": decide(Evidence(d["noisy_bn-no_bn"]["train_loss"], 0.0, claimed="below")).word,
           "gradient_ics": decide(Evidence(r["no_bn-bn"]["ics_relative"], 1.0, claimed="below")).word}
    out["smoother"] = all_of([decide(Evidence(r["no_bn-bn"][k], 1.0)) for k in LANDSCAPE]).word
    return out


# --- the chapter's record and tables ----------------------------------------------------------

LABELS: dict[str, str] = {"no_bn": "no BN", "bn": "BN", "noisy_bn": "noisy BN"}
NEAR_K = 0.4  # the "near" landscape summary: steps up to 0.4 training steps (shorter than one step)
PAIRS = ("noisy_bn-bn", "noisy_bn-no_bn", "no_bn-bn")


@dataclass(frozen=True)
class SmoothnessSummary:
    """Every number and word the smoothness chapter states, glued with prefix ``sm-`` (hyphens for
    underscores; a field whose metadata names its glue prefix keeps the underscores of its keys).

    Settings and cost: ``copy``, ``steps``, ``batch``, ``nseeds``, ``ntrain`` (images trained on),
    ``nval`` (validation images), ``lr`` (the chosen rate), ``eval_every``, ``eval_examples``
    (thousands separator), ``nevals`` (measurements per run), ``probe`` (probe-batch size), ``nm``
    and ``ns`` (noise limits), ``ks`` (step multipliers, as text) and ``kmax``, ``cpu_min``,
    ``calib`` (recomputation batches), ``lr_trials`` (each candidate rate's validation accuracy).
    Accuracy in eval mode with running statistics: ``acc_noisy_bn``, ``acc_nobn_bn`` and
    ``acc_noisy_nobn``, paired differences (noisy BN - BN, no BN - BN, noisy BN - no BN) in points,
    with ``*_res`` whether the interval excludes 0; ``acc[arm]`` each arm's mean (95 % t interval).
    ``accr`` (statistics recomputed without noise) and ``tl`` (training loss over the last
    interval): per arm its mean, per pair ``a-b`` the paired difference and per ``a-b-res``
    whether it excludes 0. Ratios (geometric mean of per-seed ratios, log-scale interval), per
    pair: ``mean_shift`` and ``std_shift`` (moves of the conv inputs' moments), ``ics_relative``
    and ``ics_diff`` (gradient ICS); ``ics_cos``: the cosine's paired difference and its ``-res``.
    Landscape, per ``quantity-pair`` (loss_range, predictiveness, beta; no_bn-bn, noisy_bn-bn):
    ``all`` over every step size, ``near`` over steps up to :data:`NEAR_K`; ``spread[quantity]``
    the no BN / BN ratio of the spread over training of its logarithm. ``spiky``: the no-BN seeds
    whose largest loss range exceeds twice the largest of any BN run, ``spiky_factor`` the largest
    such excess (0 if none). ``verdict[claim]``: :func:`claim_verdicts`.
    """

    copy: str
    steps: int
    batch: int
    nseeds: int
    ntrain: int
    nval: int
    lr: float
    eval_every: int
    eval_examples: str
    nevals: int
    probe: int
    nm: float
    ns: float
    ks: str
    kmax: float
    cpu_min: float
    calib: int
    lr_trials: str
    acc_noisy_bn: str
    acc_noisy_bn_res: str
    acc_nobn_bn: str
    acc_nobn_bn_res: str
    acc_noisy_nobn: str
    acc_noisy_nobn_res: str
    acc: dict[str, str]
    accr: dict[str, str]
    tl: dict[str, str]
    mean_shift: dict[str, str] = field(metadata={"glue": "sm-mean_shift-"})
    std_shift: dict[str, str] = field(metadata={"glue": "sm-std_shift-"})
    ics_relative: dict[str, str] = field(metadata={"glue": "sm-ics_relative-"})
    ics_diff: dict[str, str] = field(metadata={"glue": "sm-ics_diff-"})
    ics_cos: dict[str, str] = field(metadata={"glue": "sm-ics_cos-"})
    all: dict[str, str] = field(metadata={"glue": "sm-all-"})
    near: dict[str, str] = field(metadata={"glue": "sm-near-"})
    spread: dict[str, str]
    spiky: int
    spiky_factor: float
    verdict: dict[str, str]


def spiky_seeds(result: ExperimentResult) -> tuple[int, float]:
    """No-BN seeds whose largest loss range over training (the untrained start left out) exceeds twice
    the largest of any BN run: their number, and the largest such peak over BN's (0.0 if none)."""
    peak = {arm: curves(result, arm)["loss_range"][:, 1:].max(1) for arm in ("no_bn", "bn")}
    ceiling = peak["bn"].max()
    spiky = peak["no_bn"][peak["no_bn"] > 2 * ceiling]
    return len(spiky), float(spiky.max() / ceiling) if len(spiky) else 0.0


def chapter_summary(result: ExperimentResult) -> SmoothnessSummary:
    """The chapter's record (see :class:`SmoothnessSummary`) from a result of this study."""
    cfg, prov, measures = result.config, result.provenance, result.measures
    summary, near = summarize(result), summarize(result, k_max=NEAR_K)
    m, d, r = summary["means"], summary["differences"], summary["ratios"]

    def with_res(values: dict[str, Any], fmt: Callable[[Any], str]) -> dict[str, str]:
        return {**{p: fmt(values[p]) for p in values}, **{f"{p}-res": resolved(values[p]) for p in values}}

    def family(key: str, mean: Callable[[Any], str], difference: Callable[[Any], str]) -> dict[str, str]:
        """A quantity's arms (``mean``) and pairs (``difference``, and whether it excludes 0)."""
        return {**{arm: mean(m[arm][key]) for arm in ARMS}, **with_res({p: d[p][key] for p in PAIRS}, difference)}

    ics_pairs = ("no_bn-bn", "noisy_bn-bn")
    spiky, factor = spiky_seeds(result)
    ks = cfg["step_multipliers"]
    return SmoothnessSummary(
        copy=data_copy_label(prov["data"]["copy"]), steps=cfg["steps"], batch=cfg["batch_size"],
        nseeds=len(cfg["seeds"]), ntrain=prov["data"]["n_train"] - cfg["n_val"], nval=cfg["n_val"],
        lr=measures["lr"], eval_every=cfg["eval_every"], eval_examples=f"{cfg['eval_examples']:,}",
        nevals=len(runs_of(result)[0].history.eval_step), probe=cfg["probe_examples"],
        nm=cfg["noise"]["shift_max"], ns=cfg["noise"]["scale_max"], ks=", ".join(f"{k:g}" for k in ks),
        kmax=max(ks), cpu_min=prov["cpu_time_s"] / 60, calib=cfg["calibration_batches"],
        lr_trials="; ".join(f"{t['lr']:g}: {100 * t['val_acc']:.1f}%" for t in measures["lr_choice"]["trials"]),
        acc_noisy_bn=points(d["noisy_bn-bn"]["acc"]), acc_noisy_bn_res=resolved(d["noisy_bn-bn"]["acc"]),
        acc_nobn_bn=points(d["no_bn-bn"]["acc"]), acc_nobn_bn_res=resolved(d["no_bn-bn"]["acc"]),
        acc_noisy_nobn=points(d["noisy_bn-no_bn"]["acc"]),
        acc_noisy_nobn_res=resolved(d["noisy_bn-no_bn"]["acc"]),
        acc={arm: percent(m[arm]["acc"]) for arm in ARMS},
        accr=family("acc_recomputed", percent, points),
        tl=family("train_loss", lambda iv: interval(iv, 2), lambda iv: interval(iv, 2)),
        mean_shift={p: times(r[p]["mean_shift"], 1) for p in PAIRS},
        std_shift={p: times(r[p]["std_shift"], 1) for p in PAIRS},
        ics_relative={p: times(r[p]["ics_relative"], 2) for p in ics_pairs},
        ics_diff={p: times(r[p]["ics_diff"], 2) for p in ics_pairs},
        ics_cos=with_res({p: d[p]["ics_cos"] for p in ics_pairs}, lambda iv: interval(iv, 3)),
        all={f"{k}-{p}": times(summary["ratios"][p][k], 2) for k in LANDSCAPE for p in ics_pairs},
        near={f"{k}-{p}": times(near["ratios"][p][k], 2) for k in LANDSCAPE for p in ics_pairs},
        spread={k: times(r["no_bn-bn"][f"{k}_spread"], 1) for k in LANDSCAPE},
        spiky=spiky, spiky_factor=factor, verdict=claim_verdicts(summary))


def outcome_table(summary: dict[str, Any]) -> Table:
    """Per arm: training loss over the last interval, test accuracy with running statistics and with
    statistics recomputed without noise (means over seeds, 95 % t intervals; :func:`summarize`)."""
    def row(arm: str) -> list[str]:
        m = summary["means"][arm]
        return [LABELS[arm], interval(m["train_loss"], 3, low_min=0), percent(m["acc"]),
                percent(m["acc_recomputed"])]
    return Table(["arm", "training loss", "test accuracy", "recomputed statistics"], [row(arm) for arm in ARMS])


def ics_table(summary: dict[str, Any]) -> Table:
    """Per arm: the gradient ICS, relative and absolute, and the cosine (:func:`summarize`)."""
    def row(arm: str) -> list[str]:
        m = summary["means"][arm]
        return [LABELS[arm], interval(m["ics_relative"], 3, low_min=0), interval(m["ics_diff"], 3, low_min=0),
                interval(m["ics_cos"], 3, high_max=1)]
    return Table(["arm", "‖G − G′‖ / ‖G‖", "‖G − G′‖", "cos(G, G′)"], [row(arm) for arm in ARMS])


def landscape_table(summary: dict[str, Any], near: dict[str, Any], k_max: float) -> Table:
    """Per arm: loss range, gradient change and effective K over every step (``summary``, steps up to
    ``k_max``) and over the near steps (``near``, steps up to :data:`NEAR_K`)."""
    def row(arm: str, s: dict[str, Any]) -> list[str]:
        m = s["means"][arm]
        return [interval(m["loss_range"], 3, low_min=0), interval(m["predictiveness"], 2, low_min=0),
                interval(m["beta"], 1, low_min=0)]
    return Table([f"arm, k ≤ {k_max:g}", "loss range", "gradient change", "effective K"],
                 [[LABELS[arm], *row(arm, summary)] for arm in ARMS]
                 + [[f"{LABELS[arm]}, k ≤ {NEAR_K:g}", *row(arm, near)] for arm in ARMS])


def arm_name(record: dict[str, Any]) -> str:
    """A run record's arm (what its seeds are noted under in ``seeds_run``)."""
    return record["arm"]


def load_data(data_dir: str | None, cfg: dict[str, Any]) -> tuple[TensorData, dict[str, Any]]:
    """The profile's CIFAR-10 images; :func:`splits` holds out the validation images itself."""
    return load_tensor_data(data_dir, cfg["n_train"], cfg["n_test"])


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """Choose the rate, then train every arm on every seed of ``ctx`` (the result's measures)."""
    measures = run_smoothness(ctx.data, {**cfg, "seeds": list(ctx.seeds)}, ctx.device, ctx.progress)
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name="smoothness", title="Internal covariate shift or smoothness: no BN, BN and noisy BN",
    claim=("BN's benefit does not come from stabilizing the distributions of layer inputs: BN with injected "
           "noise trains as well as BN; BN does not reduce internal covariate shift in the gradient sense; "
           "it makes the loss landscape smoother (Santurkar et al. 2018)."),
    profiles=PROFILES, run=run, summarize=summarize, load_data=load_data)
