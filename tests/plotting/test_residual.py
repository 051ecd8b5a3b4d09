"""Figures of residual networks without BN: what is drawn is the data given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from bn.plotting import new_figure  # noqa: E402
from bn.plotting.residual import accuracy_by_rate, variance_by_depth  # noqa: E402

LABELS = {"bn": "BN", "skipinit": "SkipInit", "nf": "NF"}


def test_variance_lines_are_the_ratios_and_identity_blocks_are_named():
    ratios = {"bn": [2.0, 1.0, 0.5], "skipinit": [0.0, 0.0, 0.0], "nf": [0.05, 0.04, 0.03]}
    fig, ax = new_figure()
    variance_by_depth(ax, ratios, LABELS, reference=2.0)
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_array_equal(lines["BN"].get_ydata(), ratios["bn"])
    np.testing.assert_array_equal(lines["∝ 1 / block index"].get_ydata(), [2.0, 1.0, 2.0 / 3])
    assert len(lines["SkipInit: 0 at every block"].get_xdata()) == 0  # named, not drawn at log(0)
    assert ax.get_xscale() == ax.get_yscale() == "log"


def test_rate_sweep_draws_completed_runs_and_marks_failures_and_the_choice():
    sweeps = {"bn": {"0.03": 0.4, "0.1": 0.45, "0.3": None}}
    fig, ax = new_figure()
    accuracy_by_rate(ax, sweeps, LABELS, {"bn": 0.1})
    curve, failed, chosen = ax.get_lines()
    np.testing.assert_allclose(curve.get_ydata(), [40.0, 45.0])
    assert list(failed.get_xdata()) == [0.3] and list(failed.get_ydata()) == [10.0]
    assert list(chosen.get_xdata()) == [0.1] and list(chosen.get_ydata()) == [45.0]
