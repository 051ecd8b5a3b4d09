"""The computational-graph figure of the backpropagation chapter."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from bn.plotting.graph import (BN_GRAPH_EDGES, BN_GRAPH_POSITIONS, GraphEdge,  # noqa: E402
                               batch_norm_graph_figure, draw_graph)
from bn.plotting.style import new_figure  # noqa: E402


def test_every_node_and_edge_of_the_bn_graph_is_drawn():
    fig, drawn = batch_norm_graph_figure()
    assert set(drawn["nodes"]) == set(BN_GRAPH_POSITIONS)
    assert len(drawn["edges"]) == len(BN_GRAPH_EDGES) == len(drawn["labels"])
    shown = {t.get_text() for t in drawn["labels"]}
    assert shown == {e.local for e in BN_GRAPH_EDGES}
    fig.canvas.draw()  # mathtext in every label must parse


def test_graph_follows_algorithm_1():
    # The forward pass of Algorithm 1: mu and sigma^2 feed x_hat, x_hat feeds y, y feeds the loss.
    targets = {}
    for e in BN_GRAPH_EDGES:
        targets.setdefault(e.target, set()).add(e.source)
    assert targets[r"$\hat{x}_i$"] == {r"$x_i$", r"$\mu_{\mathcal{B}}$", r"$\sigma^2_{\mathcal{B}}$"}
    assert targets[r"$y_i$"] == {r"$\hat{x}_i$", r"$\gamma$", r"$\beta$"}
    assert targets[r"$\ell$"] == {r"$y_i$"}


def test_local_derivative_labels_can_be_hidden():
    _, drawn = batch_norm_graph_figure(show_local=False)
    assert drawn["labels"] == []


def test_edge_to_an_unplaced_node_is_an_error():
    _, ax = new_figure()
    with pytest.raises(KeyError, match="no position"):
        draw_graph(ax, {"a": (0, 0)}, [GraphEdge("a", "b", "1")])
