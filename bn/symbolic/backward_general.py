"""Chapter 2 (and 3) for a *symbolic* batch size m, with SymPy's Sum/Indexed/KroneckerDelta.

What SymPy decides here, step by step (each ``prove_*`` returns a residual that
reduces to exactly 0):

1. d mu_B / d x_i = 1/m (differentiating the Sum gives a Sum of Kronecker deltas);
2. sum_k (x_k - mu_B) = 0 at mu_B = (1/m) sum_k x_k;
3. d sigma^2_B / d x_i = 2 (x_i - mu_B)/m (partial derivatives plus 1. and 2.);
4. dy_j/dx_i = (gamma/sigma)(delta_ij - 1/m - xhat_i xhat_j/m), assembled from 1.-3.;
5. sum_j g_j dy_j/dx_i equals the compact form (the Kronecker delta collapses the Sum);
6. the paper's six equations, composed, equal the compact form;
7. J is symmetric, J 1 = 0 and J xhat = (gamma/sigma) eps/(sigma^2_B + eps) xhat;
8. P = (sigma/gamma) J = I - a a^T - b b^T satisfies P (P - lambda)(P - 1) = 0
   once a^T a = 1, a^T b = 0, b^T b = 1 - lambda (proven in 7.'s lemmas).

What is argued in prose, not by SymPy: the multivariable chain rule that
combines partial derivatives in 4. (we supply the partials, SymPy does the
algebra); that the free index i lies in 1..m (we evaluate SymPy's Piecewise
under that condition); and, in 8., the linear-algebra facts that a symmetric
matrix annihilated by a polynomial has its eigenvalues among the roots, and
that the trace fixes their multiplicities.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from bn.symbolic.batch import BATCH_SIZE


@dataclass(frozen=True)
class GeneralBatch:
    """Symbols for a batch of symbolic size m: x_k, g_k indexed, mu_B and sigma^2_B as symbols.

    ``sigma`` is a positive symbol standing for sqrt(sigma^2_B + eps); proofs
    substitute eps = sigma^2 - sigma^2_B to remove radicals exactly.
    """

    m: sp.Symbol
    i: sp.Symbol
    j: sp.Symbol
    k: sp.Symbol
    x: sp.IndexedBase
    g: sp.IndexedBase
    mu: sp.Symbol
    var: sp.Symbol
    gamma: sp.Symbol
    eps: sp.Symbol
    sigma: sp.Symbol


@lru_cache(maxsize=None)
def general_batch() -> GeneralBatch:
    """The symbols of :class:`GeneralBatch` (cached, so every proof shares them)."""
    i, j, k = sp.symbols("i j k", integer=True, positive=True)
    return GeneralBatch(m=BATCH_SIZE, i=i, j=j, k=k,
                        x=sp.IndexedBase("x", real=True), g=sp.IndexedBase("g", real=True),
                        mu=sp.Symbol("mu_B", real=True), var=sp.Symbol("sigma_B^2", nonnegative=True),
                        gamma=sp.Symbol("gamma", real=True), eps=sp.Symbol("epsilon", positive=True),
                        sigma=sp.Symbol("sigma", positive=True))


def sum_over(gb: GeneralBatch, expr: sp.Expr, index: sp.Symbol | None = None) -> sp.Sum:
    """sum_{index=1}^{m} expr (index defaults to k)."""
    return sp.Sum(expr, (index if index is not None else gb.k, 1, gb.m))


def mean_definition(gb: GeneralBatch) -> sp.Expr:
    """mu_B = (1/m) sum_k x_k."""
    return sum_over(gb, gb.x[gb.k]) / gb.m


def variance_definition(gb: GeneralBatch) -> sp.Expr:
    """sigma^2_B = (1/m) sum_k (x_k - mu_B)^2, with mu_B kept as a symbol."""
    return sum_over(gb, (gb.x[gb.k] - gb.mu) ** 2) / gb.m


def xhat(gb: GeneralBatch, n: sp.Expr) -> sp.Expr:
    """xhat_n = (x_n - mu_B)/sqrt(sigma^2_B + eps)."""
    return (gb.x[n] - gb.mu) / sp.sqrt(gb.var + gb.eps)


def jacobian_entry(gb: GeneralBatch, a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """J_ab = dy_a/dx_b = (gamma/sigma)(delta_ab - 1/m - xhat_a xhat_b/m)."""
    return gb.gamma / sp.sqrt(gb.var + gb.eps) * (
        sp.KroneckerDelta(a, b) - 1 / gb.m - xhat(gb, a) * xhat(gb, b) / gb.m)


def compact_form(gb: GeneralBatch) -> sp.Expr:
    """gamma/(m sigma) (m g_i - sum_j g_j - xhat_i sum_j g_j xhat_j)."""
    return gb.gamma / (gb.m * sp.sqrt(gb.var + gb.eps)) * (
        gb.m * gb.g[gb.i] - sum_over(gb, gb.g[gb.j], gb.j)
        - xhat(gb, gb.i) * sum_over(gb, gb.g[gb.j] * xhat(gb, gb.j), gb.j))


# --- exact reduction of expressions with Sums ---------------------------------------------

def restrict_index(expr: sp.Expr, gb: GeneralBatch) -> sp.Expr:
    """Evaluate SymPy's Piecewise results under the standing assumption 1 <= i <= m."""
    return sp.piecewise_fold(expr).subs(sp.Le(gb.i, gb.m), True)


def linearize_sums(expr: sp.Expr, gb: GeneralBatch) -> sp.Expr:
    """Write every Sum as a combination of canonical Sums over k with index-free factors pulled out.

    sum_j (c a_j + d b_j) becomes c sum_k a_k + d sum_k b_k and sum_j c becomes m c,
    so equal sums become the same SymPy object and cancel in rational arithmetic.
    """
    def split(s: sp.Sum) -> sp.Expr:
        (idx, lo, hi), = s.limits
        out = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(s.function.xreplace({idx: gb.k}))):
            factors = sp.Mul.make_args(term)
            dependent = sp.Mul(*[f for f in factors if f.has(gb.k)])
            constant = sp.Mul(*[f for f in factors if not f.has(gb.k)])
            out += constant * (sp.Sum(dependent, (gb.k, lo, hi)) if dependent != 1 else hi - lo + 1)
        return out

    return expr.replace(lambda e: isinstance(e, sp.Sum), split)


def reduce_general(expr: sp.Expr, gb: GeneralBatch,
                   facts: dict[sp.Expr, sp.Expr] | None = None) -> sp.Expr:
    """Reduce a residual: remove radicals (eps = sigma^2 - sigma^2_B), linearize Sums,
    apply ``facts`` (substitutions for canonical Sums), expand the numerator. 0 proves it."""
    e = linearize_sums(expr.xreplace({gb.eps: gb.sigma ** 2 - gb.var}), gb)
    if facts:
        e = linearize_sums(e.xreplace(facts), gb)
    numer, _ = sp.together(e).as_numer_denom()
    return sp.expand(numer)


def sum_facts(gb: GeneralBatch) -> dict[sp.Expr, sp.Expr]:
    """The definitions of mu_B and sigma^2_B solved for the canonical Sums they contain.

    sum_k x_k = m mu_B and sum_k x_k^2 = m sigma^2_B + m mu_B^2 (the linearized
    definition of the biased variance, solved; :func:`prove_sum_facts` checks both).
    """
    sx = sum_over(gb, gb.x[gb.k])
    sxx = sum_over(gb, gb.x[gb.k] ** 2)
    return {sx: gb.m * gb.mu, sxx: gb.m * gb.var + gb.m * gb.mu ** 2}


def prove_sum_facts() -> dict[str, sp.Expr]:
    """Residuals showing the :func:`sum_facts` substitutions are the definitions (both 0)."""
    gb = general_batch()
    facts = sum_facts(gb)
    sx, sxx = list(facts)
    mean_res = linearize_sums(mean_definition(gb), gb).xreplace({sx: facts[sx]}) - gb.mu
    var_res = linearize_sums(variance_definition(gb), gb).xreplace(facts) - gb.var
    return {"sum_x": sp.expand(mean_res), "sum_x_squared": sp.expand(var_res)}


# --- lemmas 1-3 -----------------------------------------------------------------------------

def mean_derivative(gb: GeneralBatch) -> sp.Expr:
    """d mu_B/d x_i, computed by SymPy from the Sum (a Sum of Kronecker deltas)."""
    return restrict_index(sp.diff(mean_definition(gb), gb.x[gb.i]).doit(), gb)


def prove_mean_derivative() -> sp.Expr:
    """Residual of d mu_B/d x_i = 1/m (0)."""
    gb = general_batch()
    return sp.simplify(mean_derivative(gb) - 1 / gb.m)


def prove_centred_sum_zero() -> sp.Expr:
    """Residual of sum_k (x_k - mu_B) = 0 at mu_B = mean (0)."""
    gb = general_batch()
    centred = linearize_sums(sum_over(gb, gb.x[gb.k] - gb.mu), gb)
    return sp.expand(linearize_sums(centred.xreplace({gb.mu: mean_definition(gb)}), gb))


def variance_derivative(gb: GeneralBatch) -> sp.Expr:
    """d sigma^2_B/d x_i = (partial in x_i) + (partial in mu_B) * d mu_B/d x_i."""
    var = variance_definition(gb)
    partial_x = restrict_index(sp.diff(var, gb.x[gb.i]).doit(), gb)
    partial_mu = sp.diff(var, gb.mu).doit()
    return partial_x + partial_mu * mean_derivative(gb)


def prove_variance_derivative() -> sp.Expr:
    """Residual of d sigma^2_B/d x_i = 2 (x_i - mu_B)/m at mu_B = mean (0)."""
    gb = general_batch()
    residual = variance_derivative(gb) - 2 * (gb.x[gb.i] - gb.mu) / gb.m
    return reduce_general(residual, gb, sum_facts(gb))


# --- 4-6: the Jacobian entry, the compact form, the paper's equations -----------------------

def chain_rule_entry(gb: GeneralBatch) -> sp.Expr:
    """dy_j/dx_i from partials of y_j = gamma (x_j - mu_B)/sqrt(sigma^2_B + eps) + beta.

    dy_j/dx_i = (dy_j/dx_j) delta_ij + (dy_j/dmu_B)(dmu_B/dx_i) + (dy_j/dsigma^2_B)(dsigma^2_B/dx_i);
    the inner derivatives are lemmas 1 and 3 (their proven values are used).
    """
    y = gb.gamma * xhat(gb, gb.j)
    return (sp.diff(y, gb.x[gb.j]) * sp.KroneckerDelta(gb.i, gb.j) + sp.diff(y, gb.mu) / gb.m
            + sp.diff(y, gb.var) * 2 * (gb.x[gb.i] - gb.mu) / gb.m)


def prove_jacobian_entry() -> sp.Expr:
    """Residual of the chain-rule dy_j/dx_i against (gamma/sigma)(delta_ij - 1/m - xhat_i xhat_j/m) (0)."""
    gb = general_batch()
    return reduce_general(chain_rule_entry(gb) - jacobian_entry(gb, gb.j, gb.i), gb)


def prove_compact_form() -> sp.Expr:
    """Residual of sum_j g_j dy_j/dx_i against the compact form, for symbolic m (0)."""
    gb = general_batch()
    grad = restrict_index(sp.expand(sum_over(gb, gb.g[gb.j] * jacobian_entry(gb, gb.j, gb.i), gb.j)).doit(), gb)
    return reduce_general(grad - compact_form(gb), gb)


def paper_equations(gb: GeneralBatch) -> dict[str, sp.Expr]:
    """The six equations of Ioffe & Szegedy (2015, Sec. 3) for symbolic m, as printed.

    ``dmu_second_factor`` is the factor sum_j -2(x_j - mu_B)/m multiplying dl/dsigma^2_B in dl/dmu_B.
    """
    dxhat = lambda n: gb.g[n] * gb.gamma  # noqa: E731 - dl/dxhat_n
    dvar = (sum_over(gb, dxhat(gb.j) * (gb.x[gb.j] - gb.mu), gb.j)
            * sp.Rational(-1, 2) * (gb.var + gb.eps) ** sp.Rational(-3, 2))
    second = sum_over(gb, -2 * (gb.x[gb.j] - gb.mu), gb.j) / gb.m
    dmu = sum_over(gb, -dxhat(gb.j) / sp.sqrt(gb.var + gb.eps), gb.j) + dvar * second
    dx = dxhat(gb.i) / sp.sqrt(gb.var + gb.eps) + dvar * 2 * (gb.x[gb.i] - gb.mu) / gb.m + dmu / gb.m
    return {"dxhat_i": dxhat(gb.i), "dvar": dvar, "dmu": dmu, "dx": dx,
            "dgamma": sum_over(gb, gb.g[gb.j] * xhat(gb, gb.j), gb.j), "dbeta": sum_over(gb, gb.g[gb.j], gb.j),
            "dmu_second_factor": second}


def prove_paper_second_term_zero() -> sp.Expr:
    """Residual of sum_j -2(x_j - mu_B)/m = 0 at mu_B = mean, for symbolic m (0)."""
    gb = general_batch()
    return reduce_general(paper_equations(gb)["dmu_second_factor"], gb, sum_facts(gb))


def prove_paper_equals_compact() -> sp.Expr:
    """Residual of the paper's dl/dx_i against the compact form, for symbolic m (0).

    The paper's second term of dl/dmu_B is kept; the Sum facts (the definition of
    mu_B) make it vanish inside the reduction.
    """
    gb = general_batch()
    return reduce_general(paper_equations(gb)["dx"] - compact_form(gb), gb, sum_facts(gb))


# --- 7-8: the Jacobian for symbolic m --------------------------------------------------------

def prove_jacobian_symmetric() -> sp.Expr:
    """Residual of J_ij - J_ji (0)."""
    gb = general_batch()
    return reduce_general(jacobian_entry(gb, gb.i, gb.j) - jacobian_entry(gb, gb.j, gb.i), gb)


def prove_jacobian_kills_ones() -> sp.Expr:
    """Residual of sum_j J_ij = 0 (0): every input gradient sums to zero."""
    gb = general_batch()
    row_sum = restrict_index(sp.expand(sum_over(gb, jacobian_entry(gb, gb.i, gb.j), gb.j)).doit(), gb)
    return reduce_general(row_sum, gb, sum_facts(gb))


def prove_jacobian_xhat_eigen() -> sp.Expr:
    """Residual of sum_j J_ij xhat_j = (gamma/sigma) eps/(sigma^2_B + eps) xhat_i (0)."""
    gb = general_batch()
    lhs = restrict_index(sp.expand(sum_over(gb, jacobian_entry(gb, gb.i, gb.j) * xhat(gb, gb.j), gb.j)).doit(), gb)
    rhs = gb.gamma / sp.sqrt(gb.var + gb.eps) * gb.eps / (gb.var + gb.eps) * xhat(gb, gb.i)
    return reduce_general(lhs - rhs, gb, sum_facts(gb))


def prove_gram_relations() -> dict[str, sp.Expr]:
    """a = 1/sqrt(m), b = xhat/sqrt(m): residuals of a^T a = 1, a^T b = 0, b^T b = 1 - lambda (all 0),
    lambda = eps/(sigma^2_B + eps)."""
    gb = general_batch()
    lam = gb.eps / (gb.var + gb.eps)
    facts = sum_facts(gb)
    return {
        "a.a": reduce_general(sum_over(gb, sp.Integer(1) / gb.m) - 1, gb),
        "a.b": reduce_general(sum_over(gb, xhat(gb, gb.k) / gb.m), gb, facts),
        "b.b": reduce_general(sum_over(gb, xhat(gb, gb.k) ** 2 / gb.m) - (1 - lam), gb, facts),
    }


def _reduce_rank_two_word(coeff: sp.Expr, word: list[sp.Symbol], A: sp.Symbol, B: sp.Symbol,
                          lam: sp.Symbol) -> sp.Expr:
    """Apply A A = A, B B = (1 - lambda) B, A B = B A = 0 to a product of A's and B's."""
    reduced: list[sp.Symbol] = []
    for letter in word:
        if reduced and reduced[-1] == letter:
            coeff *= 1 if letter == A else (1 - lam)
        elif reduced:
            return sp.Integer(0)
        else:
            reduced.append(letter)
    return coeff * sp.Mul(*reduced)


def reduce_rank_two(expr: sp.Expr, A: sp.Symbol, B: sp.Symbol, lam: sp.Symbol) -> sp.Expr:
    """Normal form of a noncommutative polynomial in A = a a^T, B = b b^T under the Gram relations."""
    out = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(expr)):
        commutative, noncommutative = term.args_cnc()
        word: list[sp.Symbol] = []
        for factor in noncommutative:
            base, exp = factor.as_base_exp()
            word += [base] * int(exp)
        out += _reduce_rank_two_word(sp.Mul(*commutative), word, A, B, lam)
    return sp.expand(out)


def prove_minimal_polynomial_general() -> sp.Expr:
    """Residual of P (P - lambda)(P - 1) with P = 1 - A - B under the Gram relations (0), any m."""
    A, B = sp.symbols("A B", commutative=False)
    lam = sp.Symbol("lambda")
    P = 1 - A - B
    return reduce_rank_two(P * (P - lam) * (P - 1), A, B, lam)
