"""The computational graph of BN's forward pass, drawn with matplotlib alone.

The backpropagation chapter derives the gradient on this graph: every edge
carries the local partial derivative that the backward pass multiplies by.
Drawing it in code (no graphviz binary) keeps the figure in step with the
derivation's notation.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.patches import FancyArrowPatch

from bn.plotting.style import COLORS, new_figure

__all__ = ["GraphEdge", "BN_GRAPH_POSITIONS", "BN_GRAPH_EDGES", "draw_graph",
           "batch_norm_graph_figure"]


@dataclass(frozen=True)
class GraphEdge:
    """An edge ``source -> target`` with the local partial d(target)/d(source)."""

    source: str
    target: str
    local: str
    # Curvature of the arrow (matplotlib's arc3 radius), to keep labels apart.
    bend: float = 0.0


# Node label -> (x, y) in axes coordinates, inputs on the left, the loss on the right.
BN_GRAPH_POSITIONS: dict[str, tuple[float, float]] = {
    r"$x_i$": (0.06, 0.50),
    r"$\mu_{\mathcal{B}}$": (0.27, 0.72),
    r"$\sigma^2_{\mathcal{B}}$": (0.47, 0.72),
    r"$\hat{x}_i$": (0.62, 0.50),
    r"$\gamma$": (0.62, 0.12),
    r"$\beta$": (0.80, 0.12),
    r"$y_i$": (0.80, 0.50),
    r"$\ell$": (0.96, 0.50),
}

# sigma stands for sqrt(sigma^2_B + eps); the mu -> sigma^2 partial vanishes at the forward value.
BN_GRAPH_EDGES: tuple[GraphEdge, ...] = (
    GraphEdge(r"$x_i$", r"$\mu_{\mathcal{B}}$", r"$\frac{1}{m}$"),
    GraphEdge(r"$x_i$", r"$\sigma^2_{\mathcal{B}}$", r"$\frac{2(x_i-\mu_{\mathcal{B}})}{m}$", bend=-0.5),
    GraphEdge(r"$\mu_{\mathcal{B}}$", r"$\sigma^2_{\mathcal{B}}$", r"$0$"),
    GraphEdge(r"$x_i$", r"$\hat{x}_i$", r"$\frac{1}{\sigma}$", bend=0.15),
    GraphEdge(r"$\mu_{\mathcal{B}}$", r"$\hat{x}_i$", r"$-\frac{1}{\sigma}$"),
    GraphEdge(r"$\sigma^2_{\mathcal{B}}$", r"$\hat{x}_i$", r"$-\frac{\hat{x}_i}{2\sigma^2}$"),
    GraphEdge(r"$\hat{x}_i$", r"$y_i$", r"$\gamma$"),
    GraphEdge(r"$\gamma$", r"$y_i$", r"$\hat{x}_i$"),
    GraphEdge(r"$\beta$", r"$y_i$", r"$1$"),
    GraphEdge(r"$y_i$", r"$\ell$", r"$g_i$"),
)


def draw_graph(ax, positions: dict[str, tuple[float, float]],
               edges: tuple[GraphEdge, ...] | list[GraphEdge],
               show_local: bool = True) -> dict[str, object]:
    """Draw nodes as labelled circles and edges as arrows on ``ax``.

    Args:
        ax: a matplotlib axes; its frame and ticks are turned off.
        positions: node label -> (x, y) in axes coordinates.
        edges: the edges; each source and target must be in ``positions``.
        show_local: write each edge's local partial derivative next to it.

    Returns:
        ``{"nodes": {label: Text}, "edges": [FancyArrowPatch], "labels": [Text]}``.

    Raises:
        KeyError: an edge names a node that has no position.
    """
    for e in edges:
        for end in (e.source, e.target):
            if end not in positions:
                raise KeyError(f"edge {e.source} -> {e.target}: no position for {end}")
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    nodes = {}
    for label, (x, y) in positions.items():
        nodes[label] = ax.text(x, y, label, ha="center", va="center", fontsize=15,
                               transform=ax.transAxes, zorder=3,
                               bbox={"boxstyle": "circle,pad=0.35", "fc": "white",
                                     "ec": COLORS["bn"], "lw": 1.5})
    arrows, labels = [], []
    width, height = ax.figure.get_size_inches() * ax.get_position().size
    aspect = width / height
    for e in edges:
        (x0, y0), (x1, y1) = positions[e.source], positions[e.target]
        arrow = FancyArrowPatch((x0, y0), (x1, y1), transform=ax.transAxes,
                                connectionstyle=f"arc3,rad={e.bend}", arrowstyle="-|>",
                                mutation_scale=14, color=COLORS["reference"], lw=1.1,
                                shrinkA=20, shrinkB=20, zorder=2)
        ax.add_patch(arrow)
        arrows.append(arrow)
        if show_local:
            # Label at the arc's midpoint: arc3 bends in display units, hence the aspect.
            mx, my = (x0 + x1) / 2, (y0 + y1) / 2
            mx += e.bend * (y1 - y0) / (2 * aspect)
            my -= e.bend * (x1 - x0) * aspect / 2
            labels.append(ax.text(mx, my, e.local, ha="center", va="center", fontsize=13,
                                  color=COLORS["no_bn"], transform=ax.transAxes, zorder=4,
                                  bbox={"boxstyle": "round,pad=0.1", "fc": "white",
                                        "ec": "none"}))
    return {"nodes": nodes, "edges": arrows, "labels": labels}


def batch_norm_graph_figure(show_local: bool = True):
    """The BN forward graph of one feature, local partial derivatives on the edges.

    Returns ``(fig, drawn)`` with ``drawn`` as returned by :func:`draw_graph`.
    """
    fig, ax = new_figure(width=6.4, height=3.6)
    drawn = draw_graph(ax, BN_GRAPH_POSITIONS, BN_GRAPH_EDGES, show_local=show_local)
    return fig, drawn
