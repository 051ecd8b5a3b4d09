"""Chapter 2: backpropagation through BN for an explicit batch size m.

The loss enters only through the upstream gradients g_i = dl/dy_i. Because the
chain rule gives dl/dx_i = sum_j g_j dy_j/dx_i for *any* scalar loss, direct
differentiation uses the surrogate l = sum_j g_j y_j with g held constant.

Forms of dl/dx_i proven equal here (each against direct differentiation):

* ``graph``:   reverse-mode chain rule on the computational graph of Algorithm 1
  (nodes mu_B, sigma^2_B, xhat_i, y_i), derived by SymPy node by node;
* ``paper``:   the six equations of Ioffe & Szegedy (2015, Sec. 3) as printed;
* ``compact``: gamma/(m sigma) (m g_i - sum_j g_j - xhat_i sum_j g_j xhat_j);
* ``staged``:  the step-by-step backward of the staged forward pass
  (mean, centre, square, variance, sqrt, invert, multiply), as in CS231n and
  Kratzert's write-up;
* ``unbiased``: the compact form written with the unbiased variance
  s^2 = m/(m-1) sigma^2_B, with the Bessel factor put back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

from bn.symbolic.batch import (SymbolicBatch, eliminate_sqrt, make_batch, normalize_radicands,
                               reduce_rational, reduce_residual)


# The batch sizes the chapter proves every identity for, and those of its slower proofs (the tests
# run those for m up to 8 as well).
PROVEN_SIZES = range(2, 9)
QUICK_SIZES = range(2, 6)


@dataclass(frozen=True)
class BackpropSummary:
    """The numbers the backpropagation chapter glues (``bp-`` + field, hyphens for underscores):
    the largest batch size of its explicit proofs (``sizes_max``) and of its slower proofs of every
    form of dl/dx (``quick_max``)."""

    quick_max: int
    sizes_max: int


def summarize_backward(sizes: range = PROVEN_SIZES, quick: range = QUICK_SIZES) -> BackpropSummary:
    """The :class:`BackpropSummary` of the chapter's proofs, run for ``sizes`` and ``quick``."""
    return BackpropSummary(quick_max=max(quick), sizes_max=max(sizes))


# --- the computational graph -------------------------------------------------------------

@dataclass(frozen=True)
class GraphNodes:
    """Independent symbols for the graph's intermediate nodes (mu_B, sigma^2_B, xhat_i)."""

    mu: sp.Symbol
    var: sp.Symbol
    xhat: tuple[sp.Symbol, ...]


def graph_nodes(m: int) -> GraphNodes:
    """Fresh node symbols; on the graph each node is a variable of its own."""
    return GraphNodes(mu=sp.Symbol("mu_B", real=True), var=sp.Symbol("sigma_B^2", positive=True),
                      xhat=sp.symbols(f"xhat_1:{m + 1}", real=True))


def forward_graph(batch: SymbolicBatch, nodes: GraphNodes) -> list[tuple[sp.Symbol, sp.Expr]]:
    """Algorithm 1 as (node, local definition in terms of earlier nodes), in forward order."""
    m, x = batch.m, batch.x
    graph = [(nodes.mu, sp.Add(*x) / m),
             (nodes.var, sp.Add(*[(xi - nodes.mu) ** 2 for xi in x]) / m)]
    graph += [(xh, (xi - nodes.mu) / sp.sqrt(nodes.var + batch.eps)) for xh, xi in zip(nodes.xhat, x)]
    return graph


def reverse_mode(graph: list[tuple[sp.Symbol, sp.Expr]],
                 seeds: dict[sp.Symbol, sp.Expr]) -> dict[sp.Symbol, sp.Expr]:
    """Adjoints dl/dv of every variable by the chain rule, sweeping ``graph`` backwards.

    ``seeds`` holds the adjoints of the graph's outputs. Each node passes
    adjoint * (local partial derivative) to every symbol its definition uses.
    """
    adjoint: dict[sp.Symbol, sp.Expr] = dict(seeds)
    for node, definition in reversed(graph):
        upstream = adjoint.get(node, sp.Integer(0))
        for parent in definition.free_symbols:
            adjoint[parent] = adjoint.get(parent, sp.Integer(0)) + upstream * sp.diff(definition, parent)
    return adjoint


def graph_gradients(batch: SymbolicBatch, nodes: GraphNodes) -> dict[str, object]:
    """The six gradients of the paper, derived on the graph (in node symbols).

    Returns a dict with ``dxhat``, ``dvar``, ``dmu``, ``dx`` (tuples/exprs, in terms of
    x, mu_B, sigma^2_B, g, gamma, eps) and ``dgamma``, ``dbeta``.
    """
    graph = forward_graph(batch, nodes)
    outputs = [(sp.Symbol(f"y_{i + 1}"), batch.gamma * xh + batch.beta) for i, xh in enumerate(nodes.xhat)]
    adj = reverse_mode(graph + outputs, {y: gi for (y, _), gi in zip(outputs, batch.g)})
    return {"dxhat": tuple(adj[xh] for xh in nodes.xhat), "dvar": adj[nodes.var], "dmu": adj[nodes.mu],
            "dx": tuple(adj[xi] for xi in batch.x), "dgamma": adj[batch.gamma], "dbeta": adj[batch.beta]}


def paper_gradients(batch: SymbolicBatch, nodes: GraphNodes) -> dict[str, object]:
    """The six backward equations of Ioffe & Szegedy (2015, Sec. 3), transcribed as printed.

    Same keys as :func:`graph_gradients`. The xhat_i inside dl/dgamma are node symbols.
    """
    m, x, g, gam, eps = batch.m, batch.x, batch.g, batch.gamma, batch.eps
    mu, var = nodes.mu, nodes.var
    dxhat = tuple(gi * gam for gi in g)
    dvar = (sp.Add(*[dxh * (xi - mu) for dxh, xi in zip(dxhat, x)])
            * sp.Rational(-1, 2) * (var + eps) ** sp.Rational(-3, 2))
    dmu = (sp.Add(*[dxh * (-1 / sp.sqrt(var + eps)) for dxh in dxhat])
           + dvar * sp.Add(*[-2 * (xi - mu) for xi in x]) / m)
    dx = tuple(dxh / sp.sqrt(var + eps) + dvar * 2 * (xi - mu) / m + dmu / m for dxh, xi in zip(dxhat, x))
    return {"dxhat": dxhat, "dvar": dvar, "dmu": dmu, "dx": dx,
            "dgamma": sp.Add(*[gi * xh for gi, xh in zip(g, nodes.xhat)]), "dbeta": sp.Add(*g)}


def at_forward_values(expr: sp.Expr, batch: SymbolicBatch, nodes: GraphNodes) -> sp.Expr:
    """Substitute the forward-pass values of mu_B, sigma^2_B and xhat_i for the node symbols."""
    values = {nodes.mu: batch.mu, nodes.var: batch.var}
    values.update(dict(zip(nodes.xhat, batch.xhat)))
    return expr.xreplace(values)


def dmu_second_term_factor(batch: SymbolicBatch) -> sp.Expr:
    """sum_i -2 (x_i - mu_B) / m at mu_B = mean(x): the factor multiplying dl/dsigma^2 in dl/dmu."""
    return sp.expand(sp.Add(*[-2 * (xi - batch.mu) for xi in batch.x]) / batch.m)


# --- direct differentiation and the closed forms -----------------------------------------

def surrogate_loss(batch: SymbolicBatch) -> sp.Expr:
    """l = sum_j g_j y_j: its gradient in x equals the chain rule's for any loss with dl/dy = g."""
    return sp.Add(*[gj * yj for gj, yj in zip(batch.g, batch.y)])


def direct_gradients(batch: SymbolicBatch) -> dict[str, object]:
    """dl/dx_i, dl/dgamma, dl/dbeta by differentiating l(x) directly (no graph)."""
    loss = surrogate_loss(batch)
    return {"dx": tuple(sp.diff(loss, xi) for xi in batch.x),
            "dgamma": sp.diff(loss, batch.gamma), "dbeta": sp.diff(loss, batch.beta)}


def compact_dx(batch: SymbolicBatch) -> tuple[sp.Expr, ...]:
    """gamma/(m sigma) (m g_i - sum_j g_j - xhat_i sum_j g_j xhat_j), sigma = sqrt(sigma^2_B + eps)."""
    m, g, xh = batch.m, batch.g, batch.xhat
    sum_g = sp.Add(*g)
    sum_gx = sp.Add(*[gj * xj for gj, xj in zip(g, xh)])
    return tuple(batch.gamma / (m * batch.sigma) * (m * gi - sum_g - xi * sum_gx) for gi, xi in zip(g, xh))


def staged_dx(batch: SymbolicBatch,
              stage: Callable[[sp.Expr], sp.Expr] | None = None) -> tuple[sp.Expr, ...]:
    """Backward of the staged forward pass, one local rule per stage (CS231n / Kratzert style).

    Forward stages: mu = mean(x); xmu = x - mu; sq = xmu^2; var = mean(sq);
    sqrtvar = sqrt(var + eps); ivar = 1/sqrtvar; xhat = xmu * ivar; y = gamma xhat + beta.
    ``stage`` (optional) is applied to every intermediate value, e.g. an exact
    normal form, so shared stages are simplified once instead of once per output.
    """
    f = stage if stage is not None else (lambda e: e)
    m, x, g, gam, eps = batch.m, batch.x, batch.g, batch.gamma, batch.eps
    mu = f(sp.Add(*x) / m)
    xmu = [f(xi - mu) for xi in x]
    var = f(sp.Add(*[d ** 2 for d in xmu]) / m)
    sqrtvar = f(sp.sqrt(var + eps))
    ivar = f(1 / sqrtvar)
    dxhat = [f(gi * gam) for gi in g]
    divar = f(sp.Add(*[a * b for a, b in zip(dxhat, xmu)]))
    dxmu1 = [f(a * ivar) for a in dxhat]
    dsqrtvar = f(-divar / sqrtvar ** 2)
    dvar = f(dsqrtvar / (2 * sqrtvar))
    dsq = [f(dvar / m)] * m
    dxmu2 = [f(2 * d * s) for d, s in zip(xmu, dsq)]
    dx1 = [f(a + b) for a, b in zip(dxmu1, dxmu2)]
    dmu = f(-sp.Add(*dx1))
    return tuple(f(d + dmu / m) for d in dx1)


def unbiased_variance(batch: SymbolicBatch) -> sp.Expr:
    """s^2 = (1/(m-1)) sum_i (x_i - mu_B)^2, the unbiased (Bessel-corrected) variance."""
    return sp.Add(*[(xi - batch.mu) ** 2 for xi in batch.x]) / (batch.m - 1)


def unbiased_form_dx(batch: SymbolicBatch, bessel_factor: bool = True) -> tuple[sp.Expr, ...]:
    """The compact dl/dx_i written with s^2 in place of sigma^2_B.

    Training normalizes with sigma^2_B = (m-1)/m s^2; with ``bessel_factor`` this
    factor is put back. Without it (s^2 used as if it were sigma^2_B) the formula
    is a different function: the tests show the residual is then nonzero.
    """
    m, g = batch.m, batch.g
    s2 = unbiased_variance(batch)
    var = sp.Rational(m - 1, m) * s2 if bessel_factor else s2
    d = [xi - batch.mu for xi in batch.x]
    sum_g = sp.Add(*g)
    sum_gd = sp.Add(*[gj * dj for gj, dj in zip(g, d)])
    return tuple(batch.gamma / (m * sp.sqrt(var + batch.eps)) * (m * gi - sum_g - di * sum_gd / (var + batch.eps))
                 for gi, di in zip(g, d))


# --- proofs --------------------------------------------------------------------------------

def _reduce_graph_residual(expr: sp.Expr, batch: SymbolicBatch, nodes: GraphNodes) -> sp.Expr:
    """Reduce a residual in node symbols: eps = sigma^2 - sigma^2_B removes the radicals exactly."""
    sigma = sp.Symbol("sigma", positive=True)
    return reduce_rational(expr.xreplace({batch.eps: sigma ** 2 - nodes.var}))


def prove_graph_equals_paper(m: int) -> dict[str, list[sp.Expr]]:
    """Residuals graph - paper for each of the six equations, in node symbols (all 0)."""
    b, nodes = make_batch(m), graph_nodes(m)
    graph, paper = graph_gradients(b, nodes), paper_gradients(b, nodes)
    out: dict[str, list[sp.Expr]] = {}
    for key in ("dxhat", "dvar", "dmu", "dx", "dgamma", "dbeta"):
        lhs, rhs = graph[key], paper[key]
        pairs = zip(lhs, rhs) if isinstance(lhs, tuple) else [(lhs, rhs)]
        out[key] = [_reduce_graph_residual(a - c, b, nodes) for a, c in pairs]
    return out


def direct_node_gradients(batch: SymbolicBatch, nodes: GraphNodes) -> dict[str, object]:
    """dl/dxhat_i, dl/dsigma^2_B, dl/dmu_B by differentiating the loss written in those variables.

    Each is the derivative the paper means, obtained without the graph:
    dl/dxhat: l = sum_j g_j (gamma xhat_j + beta) in free xhat;
    dl/dsigma^2_B: l(x, mu_B, sigma^2_B) with xhat_j = (x_j - mu_B)/sqrt(sigma^2_B + eps);
    dl/dmu_B: l(x, mu_B) with sigma^2_B = (1/m) sum_j (x_j - mu_B)^2 (it depends on mu_B too).
    """
    g, gam, beta, eps = batch.g, batch.gamma, batch.beta, batch.eps
    mu, var = nodes.mu, nodes.var
    loss_xhat = sp.Add(*[gj * (gam * xh + beta) for gj, xh in zip(g, nodes.xhat)])
    loss_var = sp.Add(*[gj * (gam * (xj - mu) / sp.sqrt(var + eps) + beta) for gj, xj in zip(g, batch.x)])
    var_of_mu = sp.Add(*[(xj - mu) ** 2 for xj in batch.x]) / batch.m
    loss_mu = loss_var.xreplace({var: var_of_mu})
    return {"dxhat": tuple(sp.diff(loss_xhat, xh) for xh in nodes.xhat), "dvar": sp.diff(loss_var, var),
            "dmu": sp.diff(loss_mu, mu), "var_of_mu": var_of_mu}


def prove_node_gradients_direct(m: int) -> dict[str, list[sp.Expr]]:
    """Residuals of the paper's dl/dxhat_i, dl/dsigma^2_B, dl/dmu_B against :func:`direct_node_gradients`.

    sigma^2_B is set to its definition in terms of x and mu_B in both sides (mu_B stays free),
    so the check holds on the whole graph, not only at mu_B = mean(x). All residuals are 0.
    """
    b, nodes = make_batch(m), graph_nodes(m)
    paper, direct = paper_gradients(b, nodes), direct_node_gradients(b, nodes)
    sigma = sp.Symbol("sigma", positive=True)
    # eps = sigma^2 - sigma^2_B(x, mu_B) removes the radicals exactly, as in reduce_residual
    values = {nodes.var: direct["var_of_mu"]}

    def reduce(e: sp.Expr) -> sp.Expr:
        e = e.xreplace(values).xreplace({b.eps: sigma ** 2 - direct["var_of_mu"]})
        return reduce_rational(normalize_radicands(e))

    return {"dxhat": [reduce(p - d) for p, d in zip(paper["dxhat"], direct["dxhat"])],
            "dvar": [reduce(paper["dvar"] - direct["dvar"])],
            "dmu": [reduce(paper["dmu"] - direct["dmu"])]}


def prove_dx_forms(m: int) -> dict[str, list[sp.Expr]]:
    """Residuals (form - direct differentiation) of dl/dx_i for every form, at the forward values."""
    b, nodes = make_batch(m), graph_nodes(m)
    direct = direct_gradients(b)["dx"]
    forms = {
        "graph": [at_forward_values(e, b, nodes) for e in graph_gradients(b, nodes)["dx"]],
        "paper": [at_forward_values(e, b, nodes) for e in paper_gradients(b, nodes)["dx"]],
        "compact": compact_dx(b),
        # each stage put in normal form once (exact), as a common-subexpression saving
        "staged": staged_dx(b, stage=lambda e: sp.expand(eliminate_sqrt(e, b))),
        "unbiased": unbiased_form_dx(b, bessel_factor=True),
    }
    # Eliminate the radicals of the direct gradient once; every form is compared with it.
    direct_rational = [eliminate_sqrt(d, b) for d in direct]
    return {name: [reduce_rational(eliminate_sqrt(f, b) - d) for f, d in zip(form, direct_rational)]
            for name, form in forms.items()}


def prove_parameter_gradients(m: int) -> dict[str, sp.Expr]:
    """Residuals of the paper's dl/dgamma, dl/dbeta against direct differentiation."""
    b, nodes = make_batch(m), graph_nodes(m)
    paper, direct = paper_gradients(b, nodes), direct_gradients(b)
    return {key: reduce_residual(at_forward_values(paper[key], b, nodes) - direct[key], b)
            for key in ("dgamma", "dbeta")}


def rational_test_point(batch: SymbolicBatch) -> dict[sp.Symbol, sp.Expr]:
    """An exact rational point (x_i = i^2, g_i = (-1)^i i, gamma = 2, eps = 1/10) for disproofs.

    One point where a residual is nonzero proves it is not identically zero.
    """
    point: dict[sp.Symbol, sp.Expr] = {xi: sp.Integer((i + 1) ** 2) for i, xi in enumerate(batch.x)}
    point.update({gi: sp.Integer((-1) ** (i + 1) * (i + 1)) for i, gi in enumerate(batch.g)})
    point.update({batch.gamma: sp.Integer(2), batch.beta: sp.Integer(0), batch.eps: sp.Rational(1, 10)})
    return point


def forgotten_bessel_residual(m: int) -> list[sp.Expr]:
    """Residuals of the unbiased-variance form *without* the factor (m-1)/m, evaluated exactly
    at :func:`rational_test_point`: nonzero, so that form is a different function."""
    b = make_batch(m)
    point = rational_test_point(b)
    direct = direct_gradients(b)["dx"]
    return [sp.radsimp((f - d).xreplace(point))
            for f, d in zip(unbiased_form_dx(b, bessel_factor=False), direct)]
