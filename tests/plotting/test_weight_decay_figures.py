"""The weight-decay chapter's figures draw what they are given."""

import matplotlib
import numpy as np

matplotlib.use("Agg")

from bn.plotting.scale import (  # noqa: E402
    angular_update_panels,
    equilibrium_ratio_by_layer,
    weight_norm_panels,
)

LAYERS = ["conv1", "conv2", "linear"]
STEPS = np.array([0, 10, 20])


def test_norm_panels_one_per_decay_and_curves_start_at_one():
    norms = {lab: np.arange(1.0, 19.0).reshape(2, 3, 3) for lab in ("a", "b")}
    fig, axes = weight_norm_panels(STEPS, norms, LAYERS)
    assert len(axes) == 2
    lines = axes[0].get_lines()
    assert len(lines) == len(LAYERS)
    assert all(line.get_ydata()[0] == 1.0 for line in lines)
    assert lines[-1].get_linestyle() == "--"  # the classifier
    fig.canvas.draw()


def test_update_panels_leave_out_the_empty_first_interval_and_draw_nonzero_predictions():
    upd = np.ones((2, 2, 3))
    upd[:, :, 0] = np.nan
    fig, axes = angular_update_panels(STEPS, {"a": upd, "b": 2 * upd}, {"a": 0.0, "b": 0.5},
                                      {"a": np.ones((2, 2, 3)), "b": np.ones((2, 2, 3))})
    curves = [line for line in axes[0].get_lines() if line.get_linestyle() == "-"]
    assert [list(line.get_xdata()) for line in curves] == [[10, 20], [10, 20]]
    dashed = [line for line in axes[0].get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and dashed[0].get_ydata()[0] == 0.5
    fig.canvas.draw()


def test_ratio_figure_marks_the_seed_mean_per_layer():
    ratios = {"a": np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])}
    fig, ax = equilibrium_ratio_by_layer(LAYERS, ratios)
    marker = ax.get_lines()[0]
    assert list(marker.get_ydata()) == [2.0, 2.0, 2.0]
    fig.canvas.draw()
