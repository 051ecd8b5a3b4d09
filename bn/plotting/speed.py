"""Figures for the speed chapter, drawn from a speed result file."""

from __future__ import annotations

from bn.plotting.style import COLORS, new_figure

__all__ = ["bandwidth_figure"]

# (implementation, threads or None for torch's default, colour key, label)
_LINES = [("numpy", 1, "no_bn", "readable NumPy, 1 thread"),
          ("numpy_fused", 1, "third", "fewer-pass NumPy, 1 thread"),
          ("torch_native", 1, "accent", "torch native, 1 thread"),
          ("torch_native", None, "bn", "torch native, default threads"),
          ("book_function", None, "second", "book's autograd.Function")]


def bandwidth_figure(result: dict):
    """Effective bandwidth (5 arrays / time) per size and implementation, with quartile bars.

    The copy bandwidth is drawn dashed as the practical ceiling. Implementations
    missing from ``result`` (an older file) are skipped. Returns the figure.
    """
    fwd_arrays = result["traffic_convention"]["fwd_bwd_arrays"]
    sizes = result["config"]["elements"]
    copy = {c["elements"]: c["gb_s"] for c in result["copy"]}
    fig, ax = new_figure(width=6.4, height=4.4)
    ax.plot(sizes, [copy[s] for s in sizes], color=COLORS["reference"], ls="--", marker="x",
            label="copy (read + write)")
    for impl, threads, color, label in _LINES:
        threads = result["torch_threads"] if threads is None else threads
        recs = sorted((r for r in result["fwd_bwd"] if r["impl"] == impl and r["threads"] == threads),
                      key=lambda r: r["elements"])
        if not recs:
            continue
        gb = [r["gb_s"] for r in recs]
        # A quartile of the time is a quartile of the bandwidth (the slow run is q75).
        low = [g - fwd_arrays * 4 * r["elements"] / r["q75_s"] / 1e9 for g, r in zip(gb, recs)]
        high = [fwd_arrays * 4 * r["elements"] / r["q25_s"] / 1e9 - g for g, r in zip(gb, recs)]
        ax.errorbar([r["elements"] for r in recs], gb, yerr=[low, high], color=COLORS[color],
                    marker="o", capsize=3, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [f"{s / 2**20:.0f}M" for s in sizes])
    ax.set_xlabel("elements (float32, N x 64 x 32 x 32)")
    ax.set_ylabel("effective GB/s (5 arrays / time)")
    ax.set_yscale("log")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    return fig
