"""Figures of the distribution-shift study: accuracy against severity per method, and against test batch size."""

from __future__ import annotations

from typing import Any

import numpy as np

from bn.plotting.style import COLORS, new_figure

METHOD_COLORS = {"source": COLORS["no_bn"], "adabn": COLORS["accent"], "test_batch": COLORS["bn"],
                 "tent": COLORS["second"]}
METHOD_MARKERS = {"source": "o", "adabn": "s", "test_batch": "^", "tent": "D"}


def _errorbar(ax, xs, ivs, color, marker, label) -> None:
    m = np.array([iv.estimate for iv in ivs]) * 100
    lo = np.clip(np.array([iv.low for iv in ivs]), 0, 1) * 100  # a t interval over few seeds may leave [0, 1]
    hi = np.clip(np.array([iv.high for iv in ivs]), 0, 1) * 100
    ax.errorbar(xs, m, yerr=[m - lo, hi - m], color=color, marker=marker, markersize=4, capsize=2, label=label)


def severity_figure(summary: Any, title: str):
    """(a) Accuracy against severity (0 = clean) for each method, averaged over the corruptions, mean over
    seeds with its 95 % interval; (b)-(f) each corruption alone (means over seeds)."""
    from bn.experiments.distribution_shift import METHOD_LABELS, METHODS

    fig, axes = new_figure(2, 3, width=10.0, height=6.0, sharey=True)
    axes = axes.ravel()
    sev = np.arange(0, 6)
    for m in METHODS:
        _errorbar(axes[0], sev, [summary.clean[m], *summary.by_severity[m]], METHOD_COLORS[m], METHOD_MARKERS[m],
                  METHOD_LABELS[m])
    axes[0].set_title("(a) mean of the five corruptions")
    for i, (ax, c) in enumerate(zip(axes[1:], summary.corruptions)):
        for m in METHODS:
            ys = [summary.clean[m].estimate, *summary.by_corruption[m][c]]
            ax.plot(sev, np.array(ys) * 100, color=METHOD_COLORS[m], marker=METHOD_MARKERS[m], markersize=3)
        ax.set_title(f"({'bcdef'[i]}) {c.replace('_', ' ')}")
    for ax in axes:
        ax.set_xticks(sev)
    for ax in axes[3:]:
        ax.set_xlabel("severity (0 = clean)")
    for ax in axes[::3]:
        ax.set_ylabel("test accuracy (%)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=4)
    fig.suptitle(title)
    return fig


def batch_size_figure(summary: Any, title: str):
    """Accuracy of test-batch statistics against the test batch size, on clean images and averaged over the
    corruptions at the sweep's severity; dashed: source statistics, dotted: AdaBN, on the same images."""
    from bn.experiments.distribution_shift import SWEEP_SEVERITY

    fig, ax = new_figure(1, 1, width=6.4, height=4.4)
    sizes = np.array(summary.batch_sizes)
    for ivs, ref, color, label in (
            (summary.batch_clean, summary.clean, COLORS["bn"], "clean"),
            (summary.batch_shift, {m: v[SWEEP_SEVERITY - 1] for m, v in summary.by_severity.items()},
             COLORS["no_bn"], f"corrupted, severity {SWEEP_SEVERITY}")):
        _errorbar(ax, sizes, ivs, color, "o", f"test-batch statistics, {label}")
        ax.axhline(100 * ref["source"].estimate, color=color, linestyle="--", linewidth=1,
                   label=f"source statistics, {label}")
        ax.axhline(100 * ref["adabn"].estimate, color=color, linestyle=":", linewidth=1.2,
                   label=f"AdaBN, {label}")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("test batch size")
    ax.set_ylabel("test accuracy (%)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8)
    ax.set_title(title)
    return fig
