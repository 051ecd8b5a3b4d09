"""The family figure: one line per normalization, means at the batch sizes, bars that are the t intervals."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bn.statistics import mean_ci  # noqa: E402
from bn.plotting.normalization import accuracy_by_batch_size  # noqa: E402


def test_lines_are_the_means_and_bars_the_intervals():
    grid = {"bn": {2: [0.2, 0.3, 0.25], 128: [0.5, 0.52, 0.51]},
            "group": {2: [0.4, 0.42, 0.41], 128: [0.45, 0.44, 0.46]}}
    fig, ax = accuracy_by_batch_size(grid, {"bn": "BatchNorm"})
    containers = ax.containers
    assert len(containers) == 2
    line = containers[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), [100 * np.mean(grid["bn"][2]), 100 * np.mean(grid["bn"][128])])
    # the error bar of the first point spans the 95 % t interval
    seg = containers[0].lines[2][0].get_segments()[0]
    iv = mean_ci(grid["bn"][2])
    assert seg[0][1] == pytest.approx(100 * iv.low) and seg[1][1] == pytest.approx(100 * iv.high)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["BatchNorm", "group"]
