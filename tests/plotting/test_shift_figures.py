"""The distribution-shift figures draw every method, every corruption and every batch size."""

import matplotlib

matplotlib.use("Agg")

from bn.experiments import distribution_shift as ds  # noqa: E402
from bn.plotting.shift import batch_size_figure, severity_figure  # noqa: E402
from tests.experiments.test_distribution_shift import GOOD, _fix, fake_result  # noqa: E402


def test_figures_draw_what_the_summary_holds():
    import matplotlib.pyplot as plt

    s = ds.summarize(_fix(fake_result(GOOD), [0, 1, 2, 1, 0]))
    fig = severity_figure(s, "title")
    axes = fig.axes
    assert len(axes) == 6 and [len(ax.lines) for ax in axes[1:]] == [len(ds.METHODS)] * 5
    assert axes[1].get_title() == "(b) gaussian noise"
    # panel (a): each method's means over severities 0-5, in percent
    src = [c for c in axes[0].containers][0].lines[0].get_ydata()
    assert len(src) == 6 and abs(src[0] - 100 * s.clean["source"].estimate) < 1e-9
    plt.close(fig)
    fig = batch_size_figure(s, "title")
    ax = fig.axes[0]
    xs = ax.containers[0].lines[0].get_xdata()
    assert list(xs) == list(ds.BATCH_SIZES) and len(ax.containers) == 2
    plt.close(fig)
