"""Three arguments of the paper's Section 3, measured (the placement chapter).

1. Why gamma and beta: a normalized input sits in the sigmoid's near-linear
   regime (:func:`sigmoid_linearity`, exact Gauss-Hermite quadrature, no sampling).
2. Where BN goes (Sec. 3.2): BN on ``Wu`` before the nonlinearity against BN on
   the nonlinearity's output, and no BN, in the same small sigmoid MLP
   (:class:`bn.models.placement.PlacedMLP`), trained with :func:`bn.training.train`.
3. Sec. 3.3's conjecture that BN makes layer Jacobians have singular values
   near 1 (:func:`layer_jacobian_singular_values`), on the trained nets.

``python -m bn.experiments run placement`` runs 2 and 3 (a few CPU-minutes)
and writes ``book/results/placement.json`` with provenance.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from bn.experiments.base import Context, Experiment, ExperimentResult, load_tensor_data, record_run_seeds
from bn.experiments.study_records import read_runs
from bn.formatting import Table, interval, percent
from bn.glue import Md
from bn.models.placement import PLACEMENTS, PlacedMLP
from bn.formatting import data_copy_label
from bn.results import from_strict_dict
from bn.statistics import Evidence, Interval, Plateau, decide, mean_ci, pair_by, paired_difference_ci, plateau
from bn.training import TensorData, TrainConfig, evaluate_accuracy, train

__all__ = ["CONFIG", "sigmoid_linearity", "linear_region_halfwidth", "validation_split",
           "layer_jacobian_singular_values", "run_placement", "PlacementRun", "runs_of", "placement_runs",
           "PlacementSummary", "summarize", "PROFILES", "EXPERIMENT"]

CONFIG: dict[str, Any] = {
    "in_features": 3 * 32 * 32, "hidden": [100, 100, 100], "activation": "sigmoid",
    "n_train": 10000, "n_val": 5000,
    "train": {"steps": 1500, "batch_size": 64, "peak_lr": 0.05, "momentum": 0.9,
              "eval_every": 500, "eval_examples": 2000},
    "seeds": [0, 1, 2],
    "jacobian_examples": 64,
}
# The smoke profile (tests only): a few steps of a narrow net on a few hundred images.
PROFILES: dict[str, dict[str, Any]] = {
    "cpu": CONFIG,
    "smoke": {**CONFIG, "hidden": [16, 16, 16], "n_train": 300, "n_val": 100, "seeds": [0, 1],
              "train": {"steps": 6, "batch_size": 16, "peak_lr": 0.05, "momentum": 0.9, "eval_every": 3,
                        "eval_examples": 50}, "jacobian_examples": 8},
}


# --- 1. the sigmoid's linear regime ---------------------------------------------------------

def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def linear_region_halfwidth(tolerance: float = 0.01) -> float:
    """The largest ``c`` with ``|sigmoid(z) - (1/2 + z/4)| <= tolerance`` for all ``|z| <= c``.

    The tangent at 0 is ``1/2 + z/4``; the gap grows monotonically in ``|z|``
    (the sigmoid is concave for z > 0), so bisection finds ``c``.
    """
    lo, hi = 0.0, 20.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if abs(_sigmoid(np.array(mid)) - (0.5 + mid / 4)) <= tolerance:
            lo = mid
        else:
            hi = mid
    return lo


def sigmoid_linearity(scale: float, shift: float = 0.0, tolerance: float = 0.01,
                      nodes: int = 200) -> dict[str, float]:
    """How linear the sigmoid acts on inputs ``z ~ N(shift, scale^2)``.

    Returns ``r2``, the share of the variance of ``sigmoid(z)`` explained by the
    best affine function of ``z`` (1 = exactly linear), and ``fraction_linear``,
    the probability that ``|z|`` lies within :func:`linear_region_halfwidth`.
    Expectations are taken by Gauss-Hermite quadrature with ``nodes`` nodes.
    """
    if scale <= 0:
        raise ValueError("scale must be > 0")
    t, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    z = shift + scale * t
    s = _sigmoid(z)
    mean_s = float(w @ s)
    cov = float(w @ ((s - mean_s) * (z - shift)))
    var_s = float(w @ (s - mean_s) ** 2)
    c = linear_region_halfwidth(tolerance)
    phi = lambda v: 0.5 * (1 + math.erf(v / math.sqrt(2)))  # noqa: E731
    fraction = phi((c - shift) / scale) - phi((-c - shift) / scale)
    return {"r2": cov ** 2 / (var_s * scale ** 2), "fraction_linear": fraction}


# --- 2. where BN goes ------------------------------------------------------------------------

def validation_split(data: TensorData, n_train: int, n_val: int) -> tuple[TensorData, TensorData]:
    """``(fit, test)``: ``fit`` trains on the first ``n_train`` training images and evaluates
    on the last ``n_val`` (a validation split); ``test`` holds the test set, touched once."""
    fit = TensorData(data.train_images[:n_train], data.train_labels[:n_train],
                     data.train_images[-n_val:], data.train_labels[-n_val:], data.mean, data.std)
    return fit, data


# --- 3. layer Jacobians ----------------------------------------------------------------------

@torch.no_grad()
def _linear_outputs(model: PlacedMLP, x: torch.Tensor) -> list[torch.Tensor]:
    """The output ``Wu (+ b)`` of each hidden linear layer on the batch ``x``.

    BN normalizes with the batch's own statistics here (training-mode arithmetic,
    running averages untouched), the same standardization the Jacobian map uses,
    so that the statistics of every layer match the map being differentiated.
    """
    out, h = [], x.flatten(1)
    for k, lin in enumerate(model.linears):
        z = lin(h)
        out.append(z)
        if model.placement == "before":
            norm = model.norms[k]
            z_hat = (z - z.mean(0)) / z.std(0, unbiased=False)
            h = torch.sigmoid(norm.weight * z_hat + norm.bias)
        else:
            h = model.hidden_step(k, h)
    return out


def layer_jacobian_singular_values(model: PlacedMLP, x: torch.Tensor, layer: int) -> np.ndarray:
    """Singular values of the map between the normalized inputs of two consecutive layers.

    The paper's Sec. 3.3 considers the map ``z_hat = F(x_hat)`` between the
    normalized vectors of consecutive layers. For ``layer = k >= 1``, ``u`` is
    the output of linear layer ``k - 1`` standardized per unit (mean and
    standard deviation over the batch ``x``: BN's ``x_hat`` in training mode).
    The map takes ``u`` to the nonlinearity's input (``gamma * u + beta`` with
    BN before it; ``u`` de-standardized without BN), through the sigmoid and
    linear layer ``k``, and standardizes the result the same way. The
    statistics are held fixed, so this is the per-example Jacobian without the
    coupling through the batch. Returns an ``(examples, units)`` array, one row
    of singular values per example of ``x``.
    """
    if model.placement not in ("before", "none"):
        raise ValueError("Jacobians are defined here for placement 'before' or 'none'")
    if not 1 <= layer < len(model.linears):
        raise ValueError(f"layer must be in 1..{len(model.linears) - 1}")
    model.eval()
    z = _linear_outputs(model, x)
    m0, s0 = z[layer - 1].mean(0), z[layer - 1].std(0, unbiased=False)
    m1, s1 = z[layer].mean(0), z[layer].std(0, unbiased=False)
    lin, prev_norm = model.linears[layer], model.norms[layer - 1]

    def step(v: torch.Tensor) -> torch.Tensor:
        if model.placement == "before":
            a = prev_norm.weight * v + prev_norm.bias
        else:
            a = v * s0 + m0
        return (lin(torch.sigmoid(a)) - m1) / s1

    u = (z[layer - 1] - m0) / s0
    with torch.no_grad():
        jac = torch.func.vmap(torch.func.jacrev(step))(u)
    return torch.linalg.svdvals(jac).numpy()


def _spectrum_summary(sv: np.ndarray) -> dict[str, Any]:
    q25, med, q75 = np.percentile(sv, [25, 50, 75])
    return {"median": float(med), "q25": float(q25), "q75": float(q75),
            "fraction_within_2x": float(np.mean((sv >= 0.5) & (sv <= 2.0))),
            "histogram_edges": np.geomspace(1e-3, 1e2, 31).tolist(),
            "histogram": np.histogram(sv, np.geomspace(1e-3, 1e2, 31))[0].tolist()}


def run_placement(data: TensorData, config: dict[str, Any] = CONFIG, progress: bool = True,
                  stop_at: int | None = None) -> dict[str, Any]:
    """Train every placement for every seed; return accuracies, histories and spectra."""
    fit, test = validation_split(data, config["n_train"], config["n_val"])
    cfg = TrainConfig.from_dict(config["train"])
    probe = fit.normalize(fit.test_images[:config["jacobian_examples"]])
    runs, spectra = [], {}
    for placement in PLACEMENTS:
        for seed in config["seeds"]:
            torch.manual_seed(seed)
            model = PlacedMLP(placement, config["in_features"], tuple(config["hidden"]))
            init_sv = ({k: layer_jacobian_singular_values(model, probe, k)
                        for k in range(1, len(config["hidden"]))}
                       if placement != "after" else {})
            hist = train(model, fit, cfg, seed, stop_at=stop_at, progress=progress,
                         desc=f"{placement} seed {seed}")
            rec = {"placement": placement, "seed": seed, "diverged": hist.diverged,
                   "steps_done": hist.steps_done, "eval_step": hist.eval_step,
                   "val_acc": hist.test_acc, "train_loss": hist.train_loss,
                   "final_val_acc": evaluate_accuracy(model, fit, None),
                   "final_test_acc": evaluate_accuracy(model, test, None)}
            runs.append(rec)
            if placement != "after":
                for k in range(1, len(config["hidden"])):
                    trained = layer_jacobian_singular_values(model, probe, k)
                    key = f"{placement}/layer{k}"
                    spectra.setdefault(key, {"init": [], "trained": []})
                    spectra[key]["init"].append(init_sv[k])
                    spectra[key]["trained"].append(trained)
    summary = {key: {when: _spectrum_summary(np.concatenate(v).ravel()) for when, v in s.items()}
               for key, s in spectra.items()}
    return {"runs": runs, "jacobian_spectra": summary}


# ---------------------------------------------------------------------------------------------
# The chapter's comparisons: runs of one placement, paired differences and the verdict rule.

@dataclass(frozen=True)
class PlacementRun:
    """One run as :func:`run_placement` records it: placement and seed, whether it diverged, the steps
    done, the periodic validation accuracy (``eval_step``, ``val_acc``) and training loss, and the
    final accuracy on the whole validation split and test set."""

    placement: str
    seed: int
    diverged: bool
    steps_done: int
    eval_step: list[int]
    val_acc: list[float]
    train_loss: list[float | None]
    final_val_acc: float
    final_test_acc: float

    def to_dict(self) -> dict[str, Any]:
        """The record as :func:`run_placement` writes it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "placement run") -> "PlacementRun":
        """The run ``d`` holds; an unknown or a missing key is a ValueError that names ``what`` and the key."""
        return from_strict_dict(cls, d, what)


def runs_of(result: ExperimentResult, source: str | None = None) -> list[PlacementRun]:
    """The runs of a result of this study, typed (an error names ``source``, by default the result's file)."""
    return read_runs(result, PlacementRun.from_dict, source)


def placement_runs(result: ExperimentResult, placement: str) -> list[PlacementRun]:
    """The runs of ``placement`` (``"before"``, ``"after"`` or ``"none"``)."""
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; the placements are {', '.join(PLACEMENTS)}")
    return [r for r in runs_of(result) if r.placement == placement]


def paired_final(result: ExperimentResult, a: str, b: str, key: str = "final_test_acc") -> Interval:
    """Mean over seeds of the field ``key`` for placement ``a`` minus ``b``, paired by seed, with its t interval."""
    pairs = pair_by(placement_runs(result, a), placement_runs(result, b), key=lambda r: r.seed)
    return paired_difference_ci([getattr(x, key) for x, _ in pairs], [getattr(y, key) for _, y in pairs])


def placement_plateau(result: ExperimentResult, placement: str) -> Plateau:
    """The plateau rule on the validation curves of ``placement``'s runs (those that did not diverge)."""
    runs = [r for r in placement_runs(result, placement) if not r.diverged]
    return plateau([(r.eval_step, r.val_acc) for r in runs], int(result.config["train"]["steps"]))


def placement_verdict(result: ExperimentResult, a: str, b: str) -> str:
    """The rule's verdict on "placement ``a`` ends with a higher test accuracy than ``b``": a claim about
    where training ends, not tested unless both placements' runs plateaued."""
    flat = placement_plateau(result, a).plateaued and placement_plateau(result, b).plateaued
    return decide(Evidence(paired_final(result, a, b), 0.0, about_end=True, plateaued=flat)).word


def accuracy_table(result: ExperimentResult) -> Table:
    """Per placement: mean validation and test accuracy of the runs that did not diverge, and how many diverged."""
    rows = []
    for placement in ("before", "after", "none"):
        arm = placement_runs(result, placement)
        finished = [r for r in arm if not r.diverged]
        rows.append([placement, percent(mean_ci([r.final_val_acc for r in finished])),
                     percent(mean_ci([r.final_test_acc for r in finished])),
                     f"{len(arm) - len(finished)} of {len(arm)}"])
    return Table(["BN", "validation accuracy (95 % CI)", "test accuracy (95 % CI)", "diverged"], rows)



def sigmoid_curvature_peak(half_range: float = 10.0, points: int = 200001) -> tuple[float, float]:
    """The largest ``|sigmoid''(z)| = |s (1 - s) (1 - 2 s)|`` on a grid of ``points`` over
    ``[-half_range, half_range]`` (spacing 1e-4 by default: the maximum to that precision), and the
    ``|z|`` where it is reached (``ln(2 + sqrt 3)`` exactly)."""
    z = np.linspace(-half_range, half_range, points)
    s = _sigmoid(z)
    curv = np.abs(s * (1 - s) * (1 - 2 * s))
    return float(curv.max()), float(abs(z[np.argmax(curv)]))


@dataclass(frozen=True)
class PlacementSummary:
    """Every number and phrase the placement chapter glues (``place_`` + field).

    The sigmoid's linear regime (no training): ``c``, the half-width of the region where the
    sigmoid is its tangent to within 0.01; ``r2_unit``/``r2_four``, the share of the sigmoid's
    output variance an affine fit explains for ``z ~ N(0, 1)`` / ``N(0, 16)``; ``frac_unit``, the
    percentage of ``N(0, 1)`` inputs within ``c``; ``curv_max`` and ``curv_at``, the sigmoid's largest
    curvature and where. The study's setup, from the result: training and validation images,
    steps, batch, learning rate, seeds, CPU-minutes and the data copy. The comparison of
    placements (final test accuracy, paired by seed): ``diff_ba``/``diff_bn``, BN before the
    sigmoid minus BN after it / no BN, in points with a 95 % interval; their verdicts by
    :func:`placement_verdict`; ``plateau_before``, the plateau rule's reading of the BN-before runs.
    The trained layer Jacobians: ``bn_frac`` (smallest over the two layers, with BN) and
    ``no_frac`` (largest, without) percentages of singular values within a factor 2 of 1;
    ``init_lo``/``init_hi``, that percentage at initialization over all four; ``bn_med_lo``/
    ``bn_med_hi``, BN's trained medians; ``jac_finding`` and ``compare_jac``, the phrases they make.
    """

    c: float
    r2_unit: float
    frac_unit: float
    r2_four: float
    curv_max: float
    curv_at: float
    n_train: int
    n_val: int
    steps: int
    batch: int
    lr: float
    seeds: int
    cpu_min: float
    data: Md
    diff_ba: Md
    diff_bn: Md
    verdict_ba: str
    verdict_bn: str
    plateau_before: str
    bn_frac: float
    no_frac: float
    init_lo: float
    init_hi: float
    bn_med_lo: float
    bn_med_hi: float
    jac_finding: Md
    compare_jac: Md


def summarize(result: ExperimentResult) -> PlacementSummary:
    """The :class:`PlacementSummary` of a placement result (``book/results/placement.json``)."""
    cfg, prov = result.config, result.provenance
    c = linear_region_halfwidth(0.01)
    unit = sigmoid_linearity(1.0)
    curv_max, curv_at = sigmoid_curvature_peak()
    trained = {k: v["trained"] for k, v in result.measures["jacobian_spectra"].items()}
    bn_frac = min(trained[f"before/layer{k}"]["fraction_within_2x"] for k in (1, 2))
    no_frac = max(trained[f"none/layer{k}"]["fraction_within_2x"] for k in (1, 2))
    bn_med = [trained[f"before/layer{k}"]["median"] for k in (1, 2)]
    init_frac = [v["init"]["fraction_within_2x"] for v in result.measures["jacobian_spectra"].values()]
    near_one = bn_frac >= 0.5 and all(0.5 <= m <= 2 for m in bn_med)
    return PlacementSummary(
        c=c, r2_unit=unit["r2"], frac_unit=100 * unit["fraction_linear"],
        r2_four=sigmoid_linearity(4.0)["r2"], curv_max=curv_max, curv_at=curv_at,
        n_train=cfg["n_train"], n_val=cfg["n_val"], steps=cfg["train"]["steps"],
        batch=cfg["train"]["batch_size"], lr=cfg["train"]["peak_lr"], seeds=len(cfg["seeds"]),
        cpu_min=prov["cpu_time_s"] / 60, data=Md(data_copy_label(prov["data"]["copy"])),
        diff_ba=Md(interval(paired_final(result, "before", "after"), 1, scale=100)),
        diff_bn=Md(interval(paired_final(result, "before", "none"), 1, scale=100)),
        verdict_ba=placement_verdict(result, "before", "after"),
        verdict_bn=placement_verdict(result, "before", "none"),
        plateau_before=placement_plateau(result, "before").text(),
        bn_frac=100 * bn_frac, no_frac=100 * no_frac,
        init_lo=100 * min(init_frac), init_hi=100 * max(init_frac),
        bn_med_lo=min(bn_med), bn_med_hi=max(bn_med),
        jac_finding=Md("most of them lie within a factor 2 of 1" if near_one
                       else "most of them do not lie within a factor 2 of 1"),
        compare_jac=Md("more" if bn_frac > no_frac else "no more"))

def arm_name(record: dict[str, Any]) -> str:
    """A run record's arm: its placement."""
    return record["placement"]


def load_data(data_dir: str | None, cfg: dict[str, Any]) -> tuple[TensorData, dict[str, Any]]:
    """All of CIFAR-10: :func:`validation_split` takes the first ``n_train`` images and the last ``n_val``."""
    return load_tensor_data(data_dir)


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """Every placement for every seed of ``ctx``: the run records and the Jacobian spectra (the measures)."""
    measures = run_placement(ctx.data, {**cfg, "seeds": list(ctx.seeds)}, progress=ctx.progress,
                             stop_at=ctx.stop_at)
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name="placement", title="Where BN goes: before or after the nonlinearity, and layer Jacobians",
    claim=("BN belongs on Wu, before the nonlinearity, rather than on the layer input u; and BN makes the "
           "singular values of layer Jacobians close to 1 (Ioffe & Szegedy 2015, Sec. 3.2 and 3.3)."),
    profiles=PROFILES, run=run, summarize=summarize, load_data=load_data)
