"""The placement chapter's figures draw what they are given."""

import matplotlib

matplotlib.use("Agg")

from bn.plotting.placement import jacobian_spectra_figure, sigmoid_regime_figure  # noqa: E402


def test_sigmoid_regime_figure_names_the_band_and_densities():
    fig = sigmoid_regime_figure(0.8, scales=(1.0, 4.0))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("tangent within 0.01") and "0.80" in labels[0]
    assert sum("input density" in s for s in labels) == 2
    fig.canvas.draw()


def test_spectra_figure_has_one_panel_per_layer_and_four_curves_each():
    edges = [0.1, 1.0, 10.0]
    summary = {"histogram": [1, 3], "histogram_edges": edges}
    spectra = {f"{p}/layer{k}": {"init": summary, "trained": summary}
               for p in ("before", "none") for k in (1, 2)}
    fig = jacobian_spectra_figure(spectra)
    assert len(fig.axes) == 2
    assert all(len(ax.patches) == 4 for ax in fig.axes)
    fig.canvas.draw()
