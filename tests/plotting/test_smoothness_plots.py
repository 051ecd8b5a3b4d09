"""The smoothness chapter's figures draw one mean line per arm, at the values given."""

import matplotlib
import numpy as np

matplotlib.use("Agg")

from bn.plotting.smoothness import ics_figure, landscape_figure, shift_figure  # noqa: E402

STEPS = [0, 50, 100]
ARMS = ("no_bn", "bn", "noisy_bn")


def per_arm(points, offset=1.0):
    return {a: np.array([[offset + i + k for k in range(points)] for i in range(3)]) for a in ARMS}


def test_shift_figure_draws_each_arm_mean_on_three_panels():
    fig, axes = shift_figure(STEPS, per_arm(3, 0.1), per_arm(2), per_arm(2))
    assert len(axes) == 3
    assert [len(ax.lines) for ax in axes] == [3, 3, 3]
    # accuracy is drawn in percent; the mean over the three seeds is offset + 1 + k
    assert np.allclose(axes[0].lines[0].get_ydata(), 100 * (0.1 + 1 + np.arange(3)))
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["no BN", "BN", "noisy BN"]
    assert axes[1].get_yscale() == "log" and list(axes[1].lines[0].get_xdata()) == STEPS[1:]
    fig.canvas.draw()


def test_ics_and_landscape_figures_have_their_panels():
    fig, axes = ics_figure(STEPS, per_arm(3), per_arm(3, 0.0))
    assert len(axes) == 2 and axes[1].get_yscale() == "linear"
    fig.canvas.draw()
    fig, axes = landscape_figure(STEPS, per_arm(3), per_arm(3), per_arm(3))
    assert len(axes) == 3 and all(ax.get_yscale() == "log" for ax in axes)
    fig.canvas.draw()
