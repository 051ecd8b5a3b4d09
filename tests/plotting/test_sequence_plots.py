"""The sequence-norms figures draw from plain numbers and mark an exact zero."""

from __future__ import annotations

from bn.plotting import new_figure
from bn.plotting.sequence import leakage_bars, loss_curves, padding_curves

LABELS = {"bn": "BN", "ln": "LayerNorm"}


def test_figures_draw_and_mark_exact_zeros():
    import matplotlib.pyplot as plt

    fig, axes = new_figure(1, 3, width=12)
    steps = {"bn": [0, 50, 100], "ln": [0, 50, 100]}
    loss_curves(axes[0], steps, {"bn": [4.6, 2.5, 2.0], "ln": [4.6, 2.4, 1.9]},
                {"bn": [4.6, 2.4, 1.95], "ln": [4.6, 2.4, 1.9]}, LABELS)
    assert len(axes[0].lines) == 3  # BN in both modes, LayerNorm in its one mode
    padding_curves(axes[1], [0, 0.25, 0.5], {"bn": [2.0, 2.1, 2.3], "ln": [1.9, 1.9, 1.9]}, LABELS)
    assert [list(l.get_xdata()) for l in axes[1].lines][0] == [0, 25, 50]
    leakage_bars(axes[2], {"bn": [1e-3, 2e-3, 5e-4], "ln": [0.0, 0.0, 0.0]}, LABELS)
    assert sum(t.get_text() == "0" for t in axes[2].texts) == 3
    plt.close(fig)
