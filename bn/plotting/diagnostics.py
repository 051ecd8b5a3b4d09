"""Figures of what to watch while a network trains: curves per arm and seed, layer histograms, per-layer
values, update ratios (the measurements are :mod:`bn.diagnostics`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from bn.plotting.style import COLORS

if TYPE_CHECKING:  # the record types only: plotting never loads torch
    from bn.experiments.pitfalls import PitfallsSeed
    from bn.experiments.population_statistics import AfterTraining
    from bn.experiments.plain_cnn import PlainRun
    from bn.experiments.training_diagnostics import WatchRun

SEED_STYLES = ("-", "--", ":", "-.")


def curves_by_arm(ax, runs: Sequence["PlainRun"], arms: dict[str, tuple[str, str]],
                  key: str = "test_acc", percent: bool = True) -> None:
    """One line per run of its history's ``key`` against the step; colour by arm, line style by seed.

    ``arms`` maps an arm name to ``(legend label, colour)``; other arms are skipped.
    """
    scale = 100 if percent and key == "test_acc" else 1
    seeds = sorted({r.seed for r in runs})
    for r in runs:
        if r.arm not in arms:
            continue
        label, color = arms[r.arm]
        pairs = [(s, v) for s, v in zip(r.history.eval_step, getattr(r.history, key)) if v is not None]
        style = SEED_STYLES[seeds.index(r.seed) % len(SEED_STYLES)]
        ax.plot([s for s, _ in pairs], [scale * v for _, v in pairs], color=color, linestyle=style,
                label=f"{label}, seed {r.seed}")
    ax.set_xlabel("training step")
    ax.set_ylabel({"test_acc": "test accuracy (%)" if percent else "test accuracy",
                   "train_loss": "training loss"}.get(key, key))
    ax.legend(fontsize=8)


def layer_histograms(ax, snapshot: dict[str, Any], kind: str = "act", names: Sequence[str] | None = None
                     ) -> None:
    """One histogram line per layer of a :func:`bn.diagnostics.diagnostics_measure` snapshot.

    ``kind`` is ``"act"`` (the ReLU outputs) or ``"grad"`` (the loss gradient
    with respect to them); darker lines are deeper layers. Counts are shown as
    a density, so layers of different sizes compare.
    """
    import matplotlib

    layers = snapshot["layers"]
    cmap = matplotlib.colormaps["viridis"]
    for i, row in enumerate(layers):
        h = row[f"{kind}_hist"]
        edges, counts = np.asarray(h["edges"]), np.asarray(h["counts"], dtype=float)
        centers = (edges[:-1] + edges[1:]) / 2
        density = counts / (counts.sum() * np.diff(edges))
        label = names[i] if names is not None else f"layer {i + 1}"
        ax.plot(centers, density, color=cmap(i / max(len(layers) - 1, 1)), label=label, linewidth=1.2)
    ax.set_yscale("log")
    ax.set_xlabel("ReLU output" if kind == "act" else "gradient of the loss w.r.t. the ReLU output")
    ax.set_ylabel("density")


def histogram_grid(runs: dict[str, "WatchRun"], names: dict[str, str], kind: str = "act",
                   arms: Sequence[str] = ("bn", "no_bn")):
    """A 2 x 2 figure of :func:`layer_histograms`: one column per arm of ``runs`` (arm -> run record of
    :mod:`bn.experiments.training_diagnostics`, titled ``names[arm]``), its first evaluation on top and
    its last below (rows share their y axis)."""
    from bn.plotting.style import new_figure

    fig, axes = new_figure(2, 2, width=11.0, height=6.4, sharey="row")
    for col, arm in enumerate(arms):
        history = runs[arm].history
        for row, idx in enumerate((0, -1)):
            ax = axes[row, col]
            layer_histograms(ax, history.measures[idx], kind)
            ax.set_title(f"{names[arm]}, step {history.eval_step[idx]}")
    axes[0, 0].legend(fontsize=7, ncol=2)
    return fig


def per_layer(ax, values: Sequence[Sequence[float]], labels: Sequence[str], colors: Sequence[str],
              ylabel: str, log: bool = False) -> None:
    """Lines of one number per layer (x: layer 1..L), one line per ``values`` row."""
    for row, label, color in zip(values, labels, colors):
        ax.plot(range(1, len(row) + 1), row, marker="o", color=color, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("conv layer")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)


def update_ratios(ax, run: "WatchRun", smooth: int = 10, reference: float = 1e-3) -> None:
    """log10 of the update-to-data ratio of each conv weight over training (moving average of ``smooth`` steps)."""
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    ratios = run.update_ratios
    for i, (name, r) in enumerate(ratios.items()):
        r = np.log10(np.maximum(np.asarray(r, dtype=float), 1e-12))
        kernel = np.ones(smooth) / smooth
        smoothed = np.convolve(r, kernel, mode="valid")
        ax.plot(np.arange(len(smoothed)) + smooth, smoothed, color=cmap(i / max(len(ratios) - 1, 1)),
                linewidth=1.0, label=f"layer {i + 1}")
    ax.axhline(np.log10(reference), color=COLORS["reference"], linestyle="--", linewidth=0.8)
    ax.set_xlabel("training step")
    ax.set_ylabel(r"$\log_{10}$ std($\Delta w$) / std($w$)")


def eval_mode_figure(per_seed: Sequence["PitfallsSeed"]) -> Any:
    """Test accuracy of the trained network left in training mode, by test batch size, against the
    same network in eval mode (a band: its interval); means over the seeds with 95 % t intervals,
    in per cent (the pitfalls study's per-seed measurements, :func:`bn.experiments.pitfalls.pitfalls_seeds`)."""
    from bn.plotting.style import new_figure
    from bn.statistics import mean_ci

    sizes = sorted(int(b) for b in per_seed[0].acc_train_mode)
    train_mode = [mean_ci([s.acc_train_mode[str(b)] for s in per_seed]) for b in sizes]
    eval_mode = mean_ci([s.acc_eval for s in per_seed])
    est = np.array([100 * iv.estimate for iv in train_mode])
    err = np.array([[100 * (iv.estimate - iv.low) for iv in train_mode],
                    [100 * (iv.high - iv.estimate) for iv in train_mode]])
    fig, ax = new_figure(1, 1, width=6.4, height=3.4)
    ax.errorbar(sizes, est, yerr=err, marker="o", capsize=3, color=COLORS["third"],
                label="training mode (batch statistics)")
    ax.axhspan(100 * eval_mode.low, 100 * eval_mode.high, color=COLORS["bn"], alpha=0.2)
    ax.axhline(100 * eval_mode.estimate, color=COLORS["bn"], label="model.eval() (running statistics)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("test batch size")
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    return fig


def population_training_figure(runs: Sequence["PlainRun"], initial_weight: Sequence[float]) -> Any:
    """Over training, per seed (a line style each): (a) test accuracy with the running averages
    (EMA), with statistics recomputed from 10 batches and with batch statistics; (b) how far the EMA
    is from the recomputed statistics, mean over layers (``|mu_hat - mu| / sigma`` and
    ``|log sigma_hat^2 / sigma^2|``), against ``initial_weight[t]``, the weight the running average
    still gives its initial value after ``t`` steps. ``runs``: the population-statistics study's
    runs, whose measures hold ``acc_*`` and ``gap`` at each evaluation."""
    from bn.plotting.style import new_figure

    fig, axes = new_figure(1, 2, width=11.0, height=3.6)
    ways = (("acc_ema", "EMA (model.eval())", COLORS["bn"]),
            ("acc_precise", "recomputed, 10 batches", COLORS["accent"]),
            ("acc_batch", "batch statistics", COLORS["third"]))
    for r, ls in zip(runs, ("-", "--")):
        h = r.history
        for key, label, color in ways:
            axes[0].plot(h.eval_step, [100 * m[key] for m in h.measures], color=color, linestyle=ls,
                         label=f"{label}, seed {r.seed}")
        mean_shift = [np.mean([g["mean_shift"] for g in m["gap"]]) for m in h.measures]
        log_var = [np.mean([g["log_var_ratio"] for g in m["gap"]]) for m in h.measures]
        axes[1].plot(h.eval_step, mean_shift, color=COLORS["bn"], linestyle=ls,
                     label=f"mean: $|\\hat\\mu - \\mu|/\\sigma$, seed {r.seed}")
        axes[1].plot(h.eval_step, log_var, color=COLORS["second"], linestyle=ls,
                     label=f"variance: $|\\log \\hat\\sigma^2/\\sigma^2|$, seed {r.seed}")
    axes[1].plot(np.arange(len(initial_weight)), initial_weight, color=COLORS["grey"], linestyle=":",
                 label="weight of the initial value, $0.9^t$")
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].legend(fontsize=7)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("training step")
    axes[1].set_ylabel("EMA vs recomputed (mean over layers)")
    axes[1].legend(fontsize=7)
    return fig


def calibration_figure(after: Sequence["AfterTraining"], batch_size: int) -> Any:
    """Per seed (a line style each): test accuracy of the trained network with its statistics
    recomputed from k training batches (log axis), against the EMA statistics it ended training
    with (horizontal lines); ``after``: the population-statistics study's after-training records."""
    from bn.plotting.style import new_figure

    ks = sorted(int(k) for k in after[0].calibration_batches)
    fig, ax = new_figure(1, 1, width=6.4, height=3.4)
    for a, ls in zip(after, ("-", "--")):
        ax.plot(ks, [100 * a.calibration_batches[str(k)] for k in ks], marker="o", color=COLORS["accent"],
                linestyle=ls, label=f"recomputed, seed {a.seed}")
        ax.axhline(100 * a.acc_ema, color=COLORS["bn"], linestyle=ls, label=f"EMA, seed {a.seed}")
    ax.set_xscale("log")
    ax.set_xlabel(f"batches of {batch_size} images used to recompute")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    return fig
