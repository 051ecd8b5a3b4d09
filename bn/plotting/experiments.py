"""Figures of the training experiments, in the book's style.

Each curve is the mean over seeds with a shaded 95 % t interval; BN arms
use ``COLORS["bn"]``, the no-BN baseline ``COLORS["no_bn"]``; every figure
names the data copy in its title.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from bn.experiments.report import failed, final_accuracy, mean_curve, outcome_counts
from bn.plotting.style import COLORS, data_copy_label, new_figure

if TYPE_CHECKING:  # for annotations only: bn.experiments.base loads torch, which a figure does not need
    from bn.experiments.base import ExperimentResult, RunRecord


def copy_title(result: ExperimentResult) -> str:
    """The data copy of a result, for a figure title (e.g. ``"CIFAR-10, JPEG-q75 rebuild"``)."""
    return data_copy_label(result.provenance["data"]["copy"])


def accuracy_curves(ax, groups: Sequence[tuple], x: str = "eval_step", percent: bool = True) -> None:
    """Mean accuracy curve and interval band for each ``(label, colour, runs[, linestyle])``.

    The periodic accuracy is the validation accuracy where the runs had a validation split.
    Runs that diverged or stalled at chance are left out of the mean and counted in the legend.
    """
    scale = 100 if percent else 1
    on_val = any(r.history.val_acc for _, _, runs, *_ in groups for r in runs)
    for label, color, runs, *style in groups:
        ls = style[0] if style else "-"
        live = [r for r in runs if not failed(r)]
        c = outcome_counts(runs)
        lost = ", ".join(f"{c[k]} {'at chance' if k == 'stalled' else k}" for k in ("diverged", "stalled") if c[k])
        if not live:
            ax.plot([], [], color=color, linestyle=ls, label=f"{label} (none trained: {lost})")
            continue
        xs, m, lo, hi = mean_curve(live, x=x)
        text = label + (f" ({lost} of {len(runs)})" if lost else "")
        ax.plot(xs, m * scale, color=color, linestyle=ls, label=text)
        if len(live) > 1:
            # an accuracy lies in [0, 1]; a t interval over 3 seeds need not, so clip the band
            ax.fill_between(xs, np.clip(lo, 0, 1) * scale, np.clip(hi, 0, 1) * scale, color=color, alpha=0.2,
                            linewidth=0)
    ax.set_xlabel("training step" if x == "eval_step" else "training time (s, evaluation excluded)")
    name = "validation accuracy" if on_val else "test accuracy"
    ax.set_ylabel(f"{name} (%)" if percent else name)
    ax.legend()


def layer_health_figure(groups: Sequence[tuple], title: str):
    """The diagnostics behind a failure: for each ``(label, colour, runs)``, every run as a thin line.

    (a) gradient norm of the first convolution's weight, (b) of the classifier's weight (log
    scale; a vanishing or exploding gradient shows here), (c) mean over the nonlinearities of
    the fraction of saturated outputs on the probe batch (``bn.diagnostics.saturated_fraction``).
    A run that diverged or stalled ends where it was stopped, marked with a cross.
    """
    fig, axes = new_figure(1, 3, width=12.0, height=3.4)
    for label, color, runs, *_ in groups:
        for i, r in enumerate(runs):
            h = r.history
            if not h.health:
                continue
            steps = np.array(h.eval_step[:len(h.health)], dtype=float)
            first = [np.nan if e["grad_norm"][0] is None else e["grad_norm"][0] for e in h.health]
            last = [np.nan if e["grad_norm"][-1] is None else e["grad_norm"][-1] for e in h.health]
            sat = [float(np.mean(e["saturated"])) for e in h.health]
            kw = {"color": color, "linewidth": 0.9, "alpha": 0.8, "label": label if i == 0 else None}
            for ax, ys in zip(axes, (first, last, sat)):
                ax.plot(steps, ys, **kw)
                if failed(r):
                    ax.plot(steps[-1:], np.asarray(ys)[-1:], "x", color=color, markersize=6)
    axes[0].set_title("(a) grad. norm, first conv")
    axes[1].set_title("(b) grad. norm, classifier")
    axes[2].set_title("(c) saturated, mean of layers")
    for ax in axes[:2]:
        ax.set_yscale("log")
    for ax in axes:
        ax.set_xlabel("training step")
    axes[2].set_ylim(0, 1)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    return fig, axes


def percentile_bands(ax, runs: Sequence[RunRecord], key: str, color: str, label: str) -> None:
    """15th/50th/85th percentiles over training of one measure (``"xhat"`` or ``"sigmoid_input"``), mean over
    the seeds that completed (a run that diverged or stalled is left out, as from every mean)."""
    live = [r for r in runs if not failed(r)]
    if not live:
        return
    n = min(len(r.history.measures) for r in live)
    steps = np.array(live[0].history.eval_step[:n], dtype=float)
    per_seed = np.array([[m[key] for m in r.history.measures[:n]] for r in live], dtype=float)
    mean = per_seed.mean(0)  # (evaluations, 3 percentiles)
    ax.plot(steps, mean[:, 1], color=color, label=f"{label}: median")
    ax.plot(steps, mean[:, 0], color=color, linestyle="--", linewidth=1, label=f"{label}: 15th/85th")
    ax.plot(steps, mean[:, 2], color=color, linestyle="--", linewidth=1)
    ax.set_xlabel("training step")


def fig1_figure(result: ExperimentResult, no_bn: Sequence[RunRecord], bn: Sequence[RunRecord]):
    """The Fig. 1 analog: (a) validation accuracy, (b) input of one sigmoid without BN, (c) with BN.

    In (b) and (c) a dotted line marks ``result.measures["drift_after_step"]``, where the
    chapter starts counting the drift of the percentiles (where the result names one).
    """
    fig, axes = new_figure(1, 3, width=12.0, height=3.6)
    accuracy_curves(axes[0], [("without BN", COLORS["no_bn"], no_bn), ("with BN", COLORS["bn"], bn)])
    on_val = any(r.history.val_acc for r in list(no_bn) + list(bn))
    axes[0].set_title(f"(a) {'validation' if on_val else 'test'} accuracy")
    percentile_bands(axes[1], no_bn, "sigmoid_input", COLORS["no_bn"], "sigmoid input")
    axes[1].set_title("(b) without BN: sigmoid input")
    percentile_bands(axes[2], bn, "sigmoid_input", COLORS["bn"], "γx̂+β")
    percentile_bands(axes[2], bn, "xhat", COLORS["grey"], "x̂")
    axes[2].set_title("(c) with BN: x̂ and γx̂+β")
    lo = min(a.get_ylim()[0] for a in axes[1:])
    hi = max(a.get_ylim()[1] for a in axes[1:])
    after = result.measures.get("drift_after_step")
    for a in axes[1:]:
        a.set_ylim(lo, hi)
        if after is not None:
            a.axvline(after, color=COLORS["grey"], linestyle=":", linewidth=1)
        a.legend(fontsize=8)
    fig.suptitle(f"3×100 sigmoid MLP — {copy_title(result)}")
    return fig, axes


def final_accuracy_chart(ax, rows: Sequence[tuple[str, str, Sequence[RunRecord]]]) -> None:
    """Horizontal dot-and-interval chart of final test accuracy per ``(label, colour, runs)``; diverged runs noted."""
    for i, (label, color, runs) in enumerate(rows):
        iv = final_accuracy(runs)
        n_div = sum(failed(r) for r in runs)
        if iv is None:
            ax.text(0.5, i, f"all {n_div} runs failed", va="center", color=color, transform=ax.get_yaxis_transform())
            continue
        accs = [r.history.final_test_acc * 100 for r in runs if not failed(r)]
        ax.plot(accs, [i] * len(accs), "o", color=color, alpha=0.4, markersize=4)
        lo, hi = max(iv.low, 0.0), min(iv.high, 1.0)
        ax.errorbar(iv.estimate * 100, i, xerr=[[(iv.estimate - lo) * 100], [(hi - iv.estimate) * 100]],
                    fmt="D", color=color, capsize=3)
        if n_div:
            ax.annotate(f"  {n_div} failed", (iv.estimate * 100, i), fontsize=8, color=color, va="bottom")
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("final test accuracy (%), mean and 95 % interval over seeds (dots: seeds)")


def ladder_chart(ax, result: ExperimentResult, base_lr: float, key: str = "final_test_acc") -> None:
    """Accuracy against peak rate for the rate ladder's two arms: each seed a dot, the mean a line;
    a run that failed is drawn at the bottom as a cross (x: diverged, +: at chance)."""
    from bn.experiments.report import outcome, runs_of

    mults = sorted(result.config["multipliers"])
    for bn, color, name in ((False, COLORS["no_bn"], "no BN"), (True, COLORS["bn"], "BN")):
        means = []
        for m in mults:
            runs = runs_of(result, f"{'bn' if bn else 'no_bn'}_x{m:g}")
            lr = m * base_lr
            ok = [getattr(r.history, key) * 100 for r in runs if outcome(r) == "completed"]
            ax.plot([lr] * len(ok), ok, "o", color=color, alpha=0.45, markersize=4)
            for r in runs:
                if outcome(r) != "completed":
                    ax.plot([lr], [2], "x" if outcome(r) == "diverged" else "+", color=color, markersize=7)
            means.append(np.mean(ok) if len(ok) == len(runs) and ok else np.nan)
        ax.plot([m * base_lr for m in mults], means, "-", color=color, label=f"{name} (mean of seeds, all trained)")
    ax.set_xscale("log")
    ax.set_xticks([m * base_lr for m in mults], [f"×{m:g}\n{m * base_lr:g}" for m in mults])
    ax.minorticks_off()
    ax.set_xlabel("peak learning rate (multiple of the base rate)")
    ax.set_ylabel("final test accuracy (%)" if key == "final_test_acc" else key)
    ax.set_ylim(0, None)
    ax.axhline(10, color=COLORS["grey"], linewidth=0.8, linestyle=":")
    ax.legend(fontsize=8)


def gradient_profile(ax, groups: Sequence[tuple], index: int = 1) -> None:
    """Gradient norm of every conv and linear weight, input side to classifier, at evaluation ``index``.

    One thin line per run for each ``(label, colour, runs[, linestyle])`` (log scale): a
    gradient that vanishes towards the input falls to the left. Runs whose health record
    ends before ``index`` (stopped earlier) are left out and counted in the legend.
    """
    n_layers = 0
    step = None
    for label, color, runs, *style in groups:
        ls = style[0] if style else "-"
        drawn = 0
        for r in runs:
            health = r.history.health
            if len(health) <= index or any(g is None for g in health[index]["grad_norm"]):
                continue
            g = health[index]["grad_norm"]
            n_layers = max(n_layers, len(g))
            step = r.history.eval_step[index]
            ax.plot(range(1, len(g) + 1), g, color=color, linestyle=ls, linewidth=0.9, alpha=0.8, marker=".",
                    label=label if drawn == 0 else None)
            drawn += 1
        if drawn < len(runs):
            ax.plot([], [], color=color, linestyle=ls, label=f"{label} ({len(runs) - drawn} stopped before)")
    ax.set_yscale("log")
    if n_layers:
        ax.set_xticks(range(1, n_layers + 1), [f"conv{i}" for i in range(1, n_layers)] + ["classifier"],
                      rotation=45)
    ax.set_ylabel("gradient norm of the weight")
    ax.set_title(f"gradient norm by layer at step {step}" if step is not None else "gradient norm by layer")
    ax.legend(fontsize=8)


def first_losses(ax, groups: Sequence[tuple]) -> None:
    """The training loss of each of the first steps (``history.first_losses``), one thin line per run.

    For each ``(label, colour, runs[, linestyle])``, log scale: a loss that blows up in the first
    steps, before the first evaluation, shows here; a run that diverged ends with a cross at its
    last finite loss among these steps.
    """
    for label, color, runs, *style in groups:
        ls = style[0] if style else "-"
        for i, r in enumerate(runs):
            h = r.history
            ys = np.array([np.nan if v is None else v for v in h.first_losses], dtype=float)
            xs = np.arange(1, len(ys) + 1)
            finite = np.flatnonzero(np.isfinite(ys))
            # a run that blew up in its first steps has one or two finite losses: show them as dots
            ax.plot(xs, ys, color=color, linestyle=ls, linewidth=0.9, alpha=0.8, label=label if i == 0 else None,
                    marker="o" if len(finite) < 3 else None, markersize=4)
            if h.diverged and len(finite):
                k = finite[-1]
                ax.plot(xs[k:k + 1], ys[k:k + 1], "x", color=color, markersize=8)
    ax.axhline(np.log(10), color=COLORS["grey"], linewidth=0.8, linestyle=":", label="ln 10 (uniform guess)")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss of the batch")
    ax.legend(fontsize=8)


def effect_chart(ax, rows: Sequence[tuple], null: float = 0.0, log: bool = False, scale: float = 1.0,
                 span: float = 3.0) -> None:
    """Horizontal dot-and-interval chart of paired effects, one row per ``(label, colour, interval, per_seed,
    censored)``.

    ``interval`` (``bn.statistics.Interval`` or None) is drawn as a diamond and bar, ``per_seed``
    (one value per seed pair) as dots, hollow where ``censored`` marks a bound rather than a
    value. A vertical line marks ``null`` (0 for a difference, 1 for a ratio, with ``log``).
    The view spans the dots and estimates, widened ``span`` times around them; an interval
    reaching beyond it is cut at the edge and ends in an arrowhead there. Values are
    multiplied by ``scale`` (100 for points of accuracy).
    """
    def tr(v: float) -> float:
        return float(np.log(v)) if log else v * scale

    def back(v: float) -> float:
        return float(np.exp(v)) if log else v

    seen = [tr(null)] + [tr(v) for *_, iv, vals, _ in rows for v in vals]
    seen += [tr(iv.estimate) for *_, iv, _, _ in rows if iv is not None]
    mid, half = (max(seen) + min(seen)) / 2, max((max(seen) - min(seen)) / 2, 1e-3)
    lo_view, hi_view = mid - span * half, mid + span * half
    for i, (label, color, iv, vals, censored) in enumerate(rows):
        for v, c in zip(vals, censored):
            ax.plot(back(tr(v)) if log else tr(v), i, "o", markersize=5, alpha=0.6,
                    color=color, markerfacecolor="none" if c else color)
        if iv is None:
            continue
        est = tr(iv.estimate)
        lo = tr(iv.low) if iv.low > 0 or not log else -np.inf
        hi = tr(iv.high) if np.isfinite(iv.high) else np.inf
        lo_c, hi_c = max(lo, lo_view), min(hi, hi_view)
        xs = [back(lo_c), back(hi_c)] if log else [lo_c, hi_c]
        ax.plot(xs, [i, i], color=color, linewidth=1.5)
        ax.plot(back(est) if log else est, i, "D", color=color, markersize=6)
        for cut, end, marker in ((lo < lo_view, xs[0], "<"), (hi > hi_view, xs[1], ">")):
            if cut:
                ax.plot(end, i, marker, color=color, markersize=6)
    ax.axvline(back(tr(null)) if log else tr(null), color=COLORS["reference"], linewidth=0.8)
    if log:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_xscale("log")
        ax.set_xlim(back(lo_view), back(hi_view))
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.set_xlim(lo_view, hi_view)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)


def accuracy_by_width(widths: Sequence[float], arms: Mapping[str, Sequence[tuple[float, float, float]]],
                      labels: Mapping[str, str], chance: float | None = None):
    """Test accuracy (%) against the width multiplier, one line per arm with interval bars.

    ``arms`` maps an arm to one ``(estimate, low, high)`` accuracy (fractions)
    per entry of ``widths``; ``labels`` gives each arm's legend text. Arms are
    drawn slightly apart along the width axis so that their bars do not hide
    each other. ``chance`` draws the accuracy of guessing as a dotted line.
    """
    fig, ax = new_figure(height=3.8)
    palette = [COLORS["bn"], COLORS["accent"], COLORS["second"], COLORS["no_bn"], COLORS["grey"]]
    offsets = np.linspace(-0.06, 0.06, len(arms)) if len(arms) > 1 else [0.0]
    for color, shift, (arm, points) in zip(palette, offsets, arms.items()):
        est, low, high = (100 * np.array(v) for v in zip(*points))
        x = np.asarray(widths, dtype=float) * 2.0 ** shift
        ax.errorbar(x, est, yerr=[est - low, high - est], fmt="o-", color=color, capsize=3,
                    label=labels[arm])
    if chance is not None:
        ax.axhline(100 * chance, color=COLORS["reference"], linestyle=":", linewidth=1, label="chance")
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(widths), [f"{w:g}×" for w in widths])
    ax.minorticks_off()
    ax.set_xlabel("width multiplier (channels of every conv layer)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig, ax
