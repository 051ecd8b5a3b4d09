"""bn.plotting.experiments.accuracy_by_width draws one line per arm with its interval bars."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from bn.plotting.experiments import accuracy_by_width  # noqa: E402


def test_one_line_per_arm_in_percent_with_the_chance_line():
    arms = {"a": [(0.5, 0.4, 0.6), (0.6, 0.55, 0.65)], "b": [(0.3, 0.2, 0.4), (0.35, 0.3, 0.4)]}
    fig, ax = accuracy_by_width([0.5, 1.0], arms, {"a": "A", "b": "B"}, chance=0.1)
    assert [c.get_label() for c in ax.containers] == ["A", "B"]
    lines = [c.lines[0] for c in ax.containers]
    np.testing.assert_allclose(lines[0].get_ydata(), [50.0, 60.0])
    assert any(line.get_label() == "chance" and line.get_ydata()[0] == 10.0 for line in ax.get_lines())
    # The arms sit slightly apart along the (log) width axis, around the true widths.
    assert lines[0].get_xdata()[0] < 0.5 < lines[1].get_xdata()[0]
