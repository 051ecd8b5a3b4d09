"""Chapter 2 proofs, explicit m = 2..8 and symbolic m: residuals reduce to exactly 0."""

import pytest
import sympy as sp

from bn.symbolic import backward as B
from bn.symbolic import backward_general as G

MS = range(2, 9)


def sizes(slow_from: int) -> list:
    """MS, the sizes from ``slow_from`` on marked slow (SymPy's time grows fast with m)."""
    return [pytest.param(m, marks=pytest.mark.slow) if m >= slow_from else m for m in MS]


@pytest.mark.parametrize("m", MS)
def test_graph_derivation_equals_paper_equations(m):
    residuals = B.prove_graph_equals_paper(m)
    assert set(residuals) == {"dxhat", "dvar", "dmu", "dx", "dgamma", "dbeta"}
    for key, values in residuals.items():
        assert values == [0] * len(values), key


@pytest.mark.parametrize("m", sizes(7))
def test_every_dx_form_equals_direct_differentiation(m):
    residuals = B.prove_dx_forms(m)
    assert set(residuals) == {"graph", "paper", "compact", "staged", "unbiased"}
    for name, values in residuals.items():
        assert values == [0] * m, name


@pytest.mark.parametrize("m", MS)
def test_node_gradients_equal_direct_differentiation(m):
    residuals = B.prove_node_gradients_direct(m)
    for key, values in residuals.items():
        assert values == [0] * len(values), key


def test_node_check_can_fail_without_the_second_dmu_term():
    """With mu_B free, dropping the paper's second term of dl/dmu_B is detected."""
    b, nodes = B.make_batch(3), B.graph_nodes(3)
    paper, direct = B.paper_gradients(b, nodes), B.direct_node_gradients(b, nodes)
    first_term_only = sp.Add(*[-gi * b.gamma / sp.sqrt(nodes.var + b.eps) for gi in b.g])
    residual = (first_term_only - direct["dmu"]).xreplace({nodes.var: direct["var_of_mu"]})
    point = {b.x[0]: 1, b.x[1]: 2, b.x[2]: 4, nodes.mu: 0, b.g[0]: 1, b.g[1]: -1, b.g[2]: 3,
             b.gamma: 1, b.eps: sp.Rational(1, 10)}
    assert abs(sp.N(residual.xreplace(point), 30)) > 1e-6
    assert paper["dmu"] != first_term_only


@pytest.mark.parametrize("m", MS)
def test_parameter_gradients(m):
    assert B.prove_parameter_gradients(m) == {"dgamma": 0, "dbeta": 0}


@pytest.mark.parametrize("m", MS)
def test_dmu_second_term_vanishes(m):
    assert B.dmu_second_term_factor(B.make_batch(m)) == 0


def test_dmu_second_term_is_not_zero_off_the_mean():
    """On the graph mu_B is its own node; the term vanishes only at mu_B = mean(x)."""
    b, nodes = B.make_batch(3), B.graph_nodes(3)
    factor = sp.Add(*[-2 * (xi - nodes.mu) for xi in b.x]) / 3
    assert sp.expand(factor) != 0


@pytest.mark.parametrize("m", [2, 5, 8])
def test_forgotten_bessel_factor_is_a_different_function(m):
    for r in B.forgotten_bessel_residual(m):
        assert abs(sp.N(r, 30)) > 1e-6


def test_wrong_compact_sign_is_detected():
    b = B.make_batch(3)
    direct = B.direct_gradients(b)["dx"][0]
    wrong = B.compact_dx(b)[0] + 2 * b.gamma * b.g[0] * b.xhat[0] ** 2 / b.sigma
    assert B.reduce_residual(wrong - direct, b) != 0


# --- symbolic m -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "prove_mean_derivative", "prove_centred_sum_zero", "prove_variance_derivative",
    "prove_jacobian_entry", "prove_compact_form", "prove_paper_second_term_zero",
    "prove_paper_equals_compact",
])
def test_general_m(name):
    assert getattr(G, name)() == 0


def test_general_sum_facts():
    assert G.prove_sum_facts() == {"sum_x": 0, "sum_x_squared": 0}


def test_general_derivatives_have_no_piecewise_left():
    gb = G.general_batch()
    assert not G.mean_derivative(gb).has(sp.Piecewise)
    assert not G.variance_derivative(gb).has(sp.Piecewise)


def test_general_proofs_use_the_sum_facts():
    """Without the definition of mu_B the paper's form differs from the compact one: the facts matter."""
    gb = G.general_batch()
    assert G.reduce_general(G.paper_equations(gb)["dx"] - G.compact_form(gb), gb) != 0
