"""Scale invariance of BN and what it does to learning rates (paper, Section 3.3), with SymPy.

Setting: a linear layer with weights W (k x d) maps each example u_i (d values)
to x_i = W u_i; BN normalizes each of the k features over the batch of m
examples. The paper states, for a scalar a:

* BN((aW)u) = BN(Wu),
* dBN((aW)u)/du = dBN(Wu)/du,
* dBN((aW)u)/d(aW) = (1/a) dBN(Wu)/dW.

These hold exactly at epsilon = 0 and a > 0. Here they are proven for explicit
(m, k, d) with fully symbolic W, u, gamma, beta and upstream gradients, and the
deviation at epsilon > 0 is the factor rho(a) of :mod:`bn.symbolic.transform`, read
as a function of the scale of the weights. Two consequences follow:
the gradient with respect to each row of W is orthogonal to that row (Euler's
theorem for a function homogeneous of degree 0), so a plain SGD step can only
increase ||W||; and a step of size eta on W moves the direction W/||W|| like a
step of size eta/||W||^2 (the "effective learning rate" of van Laarhoven 2017,
Hoffer et al. 2018 and Arora et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from bn.scale_dynamics import ToyConfig, run_toy
from bn.symbolic.batch import BATCH_SIZE, batch_norm_expr
from bn.symbolic.transform import scale_deviation_factor


@dataclass(frozen=True)
class LinearBNSetting:
    """Symbols for BN(W u): W (k x d), inputs U (m x d), per-feature gamma, beta, upstream g (m x k)."""

    m: int
    W: sp.Matrix
    U: sp.Matrix
    gamma: tuple[sp.Symbol, ...]
    beta: tuple[sp.Symbol, ...]
    G: sp.Matrix
    eps: sp.Symbol
    a: sp.Symbol


def make_setting(m: int = 3, k: int = 2, d: int = 2) -> LinearBNSetting:
    """Fully symbolic W, U, gamma, beta, upstream gradients; epsilon and the scale a positive."""
    return LinearBNSetting(
        m=m,
        W=sp.Matrix(k, d, lambda r, c: sp.Symbol(f"W_{r + 1}{c + 1}", real=True)),
        U=sp.Matrix(m, d, lambda i, c: sp.Symbol(f"u_{i + 1}{c + 1}", real=True)),
        gamma=sp.symbols(f"gamma_1:{k + 1}", real=True),
        beta=sp.symbols(f"beta_1:{k + 1}", real=True),
        G=sp.Matrix(m, k, lambda i, r: sp.Symbol(f"g_{i + 1}{r + 1}", real=True)),
        eps=sp.Symbol("epsilon", positive=True),
        a=sp.Symbol("a", positive=True),
    )


def bn_of_linear(s: LinearBNSetting, W: sp.Matrix, eps: sp.Expr) -> sp.Matrix:
    """Y (m x k): feature r of example i is BN over the batch of x_{ir} = (W u_i)_r."""
    X = s.U * W.T
    cols = [batch_norm_expr(list(X[:, r]), s.gamma[r], s.beta[r], eps) for r in range(W.rows)]
    return sp.Matrix(s.m, W.rows, lambda i, r: cols[r][i])


def linear_loss(s: LinearBNSetting, Y: sp.Matrix) -> sp.Expr:
    """l = sum_{i,r} g_{ir} Y_{ir}: any loss has this gradient locally, with g = dl/dY."""
    return sp.Add(*[s.G[i, r] * Y[i, r] for i in range(Y.rows) for r in range(Y.cols)])


def weight_gradient(s: LinearBNSetting, W: sp.Matrix, eps: sp.Expr) -> sp.Matrix:
    """dl/dW (k x d), by SymPy differentiation of :func:`linear_loss` with respect to W's entries."""
    loss = linear_loss(s, bn_of_linear(s, W, eps))
    return sp.Matrix(W.rows, W.cols, lambda r, c: sp.diff(loss, W[r, c]))


def _simplify_all(M: sp.Matrix) -> list[sp.Expr]:
    return [sp.simplify(e) for e in M]


def prove_output_invariance(s: LinearBNSetting) -> list[sp.Expr]:
    """Residuals BN((aW)u) - BN(Wu) at epsilon = 0 (all 0)."""
    return _simplify_all(bn_of_linear(s, s.a * s.W, 0) - bn_of_linear(s, s.W, 0))


def prove_input_jacobian_invariance(s: LinearBNSetting) -> list[sp.Expr]:
    """Residuals dY/du for aW minus dY/du for W, every output against every input entry (0)."""
    Ya, Y = bn_of_linear(s, s.a * s.W, 0), bn_of_linear(s, s.W, 0)
    return [sp.simplify(sp.diff(Ya[idx], u) - sp.diff(Y[idx], u)) for idx in range(len(Y)) for u in s.U]


def scale_weights(expr: sp.Expr, W: sp.Matrix, a: sp.Expr) -> sp.Expr:
    """expr with every W entry replaced by a*W (evaluate a function of W at aW)."""
    return expr.subs({w: a * w for w in W}, simultaneous=True)


def prove_weight_gradient_scaling(s: LinearBNSetting) -> list[sp.Expr]:
    """Residuals (dl/dW evaluated at aW) - (1/a)(dl/dW at W) at epsilon = 0 (all 0)."""
    grad = weight_gradient(s, s.W, 0)
    return [sp.simplify(scale_weights(g, s.W, s.a) - g / s.a) for g in grad]


def prove_gradient_orthogonal_to_weights(s: LinearBNSetting) -> list[sp.Expr]:
    """Per row r: sum_c W_rc dl/dW_rc (0 at epsilon = 0; so the Frobenius product is 0 too)."""
    grad = weight_gradient(s, s.W, 0)
    return [sp.simplify(sum(s.W[r, c] * grad[r, c] for c in range(s.W.cols))) for r in range(s.W.rows)]


def sgd_norm_change(W: sp.Matrix, grad: sp.Matrix, eta: sp.Expr) -> sp.Expr:
    """||W - eta grad||^2 - ||W||^2 - eta^2 ||grad||^2, expanded: equals -2 eta <W, grad>."""
    step = W - eta * grad
    frob = lambda M: sp.Add(*[e**2 for e in M])  # noqa: E731
    return sp.expand(frob(step) - frob(W) - eta**2 * frob(grad))


def prove_sgd_norm_growth(s: LinearBNSetting) -> dict[str, sp.Expr]:
    """The SGD step increases ||W||^2 by exactly eta^2 ||grad||^2 (epsilon = 0).

    Returns two residuals, both 0: the identity for an arbitrary matrix ``grad``
    (pure algebra: the change is -2 eta <W, grad>), and the change for BN's actual
    gradient, where <W, grad> vanishes by orthogonality.
    """
    eta = sp.Symbol("eta", positive=True)
    generic = sp.Matrix(s.W.rows, s.W.cols, lambda r, c: sp.Symbol(f"G_{r + 1}{c + 1}", real=True))
    inner = sp.Add(*[w * g for w, g in zip(s.W, generic)])
    algebra = sp.expand(sgd_norm_change(s.W, generic, eta) + 2 * eta * inner)
    actual = weight_gradient(s, s.W, 0)
    bn_change = sp.simplify(-2 * eta * sp.Add(*[w * g for w, g in zip(s.W, actual)]))
    return {"algebra": algebra, "bn_gradient": bn_change}


def prove_effective_learning_rate(s: LinearBNSetting) -> list[sp.Expr]:
    """With W = rho V (rho > 0): (W - eta grad(W))/rho = V - (eta/rho^2) grad(V). Residuals (0).

    Read with V of unit norm: one SGD step of size eta on W moves the direction
    like a step of size eta/||W||^2 taken at the unit-norm weights. The only fact
    about BN used is grad(rho V) = grad(V)/rho, which
    :func:`prove_weight_gradient_scaling` proves; here it enters as a substitution
    into generic gradient symbols, so SymPy checks the remaining algebra.
    """
    eta, rho = sp.Symbol("eta", positive=True), sp.Symbol("rho", positive=True)
    grad_at_v = sp.Matrix(s.W.rows, s.W.cols, lambda r, c: sp.Symbol(f"G_{r + 1}{c + 1}", real=True))
    grad_at_w = grad_at_v / rho  # the proven scaling law, evaluated at W = rho V
    step_on_scaled = (rho * s.W - eta * grad_at_w) / rho
    step_on_direction = s.W - eta / rho**2 * grad_at_v
    return [sp.simplify(p - q) for p, q in zip(step_on_scaled, step_on_direction)]


# --- a symbolic batch size ---------------------------------------------------------------------

# One summation index for every Sum: SymPy combines Sums over the same index when simplifying
# (with a fresh Dummy per Sum its sum_simplify fails).
SUM_INDEX = sp.Symbol("j", integer=True)


def general_feature() -> tuple[sp.Symbol, sp.Symbol, sp.IndexedBase]:
    """(m, i, x): one feature's pre-activations x[1..m] for a *symbolic* batch size m.

    Scaling W by a scales every pre-activation x_i = (W u_i)_r by a, so statements
    about one feature of BN(Wu) under W -> aW are statements about x -> a x.
    """
    return (BATCH_SIZE, sp.Symbol("i", integer=True),
            sp.IndexedBase("x", real=True))


def general_xhat(values: sp.Lambda, m: sp.Symbol, i: sp.Symbol, eps: sp.Expr) -> sp.Expr:
    """xhat_i for values v(1..m) written with SymPy Sums (biased variance, floor eps)."""
    j = SUM_INDEX
    mu = sp.Sum(values(j), (j, 1, m)) / m
    var = sp.Sum((values(j) - mu) ** 2, (j, 1, m)) / m
    return (values(i) - mu) / sp.sqrt(var + eps)


def general_batch_variance(m: sp.Symbol, x: sp.IndexedBase) -> sp.Expr:
    """sigma^2_B = (1/m) sum_j (x_j - mu_B)^2 with SymPy Sums."""
    j = SUM_INDEX
    mu = sp.Sum(x[j], (j, 1, m)) / m
    return sp.Sum((x[j] - mu) ** 2, (j, 1, m)) / m


def prove_output_invariance_general_m() -> sp.Expr:
    """Residual xhat_i(a x) - xhat_i(x) at epsilon = 0 for symbolic m (0; y = gamma xhat + beta follows)."""
    m, i, x = general_feature()
    a = sp.Symbol("a", positive=True)
    k = sp.Symbol("k", integer=True)
    scaled = general_xhat(sp.Lambda(k, a * x[k]), m, i, 0)
    plain = general_xhat(sp.Lambda(k, x[k]), m, i, 0)
    return sp.simplify(scaled - plain)


def prove_epsilon_ratio_general_m() -> sp.Expr:
    """Residual xhat_i(a x) - rho(a) xhat_i(x) at epsilon > 0 for symbolic m (0).

    rho is :func:`bn.symbolic.transform.scale_deviation_factor`, proven there for explicit m.
    """
    m, i, x = general_feature()
    eps = sp.Symbol("epsilon", positive=True)
    a = sp.Symbol("a", positive=True)
    k = sp.Symbol("k", integer=True)
    scaled = general_xhat(sp.Lambda(k, a * x[k]), m, i, eps)
    plain = general_xhat(sp.Lambda(k, x[k]), m, i, eps)
    rho = scale_deviation_factor(a, general_batch_variance(m, x), eps)
    return sp.simplify(scaled - rho * plain)


def index_sum(expr: sp.Expr, x: sp.Symbol, g: sp.Symbol, m: sp.Symbol) -> sp.Expr:
    """sum_{i=1}^m of ``expr``, a polynomial in x = x_i and g = g_i whose coefficients do not depend on i.

    Linearity turns the sum into coefficients times the power sums
    S_{x^p g^q} = sum_i x_i^p g_i^q (with S_{x^0 g^0} = m), which stay symbolic: this
    is how a sum over a batch of any size m is written without choosing m.
    """
    total = sp.Integer(0)
    for (p, q), coeff in sp.Poly(sp.expand(expr), x, g).terms():
        total += coeff * (m if p == q == 0 else sp.Symbol(f"S_{{x^{p} g^{q}}}", real=True))
    return total


def general_input_gradient(eps: sp.Expr) -> dict[str, sp.Expr]:
    """dl/dx_i for a symbolic batch size m, in terms of x = x_i, g = g_i and power sums.

    The compact form gamma/(m sigma)(m g_i - sum_j g_j - xhat_i sum_j g_j xhat_j), proven
    for symbolic m in the backpropagation chapter (:mod:`bn.symbolic.backward_general`).
    Returns the gradient and its ingredients (keys ``dx``, ``x``, ``g``, ``m``, ``sigma``).
    """
    m = BATCH_SIZE
    x, g = sp.symbols("x_i g_i", real=True)
    gamma = sp.Symbol("gamma", real=True)
    mu = index_sum(x, x, g, m) / m
    sigma = sp.sqrt(index_sum((x - mu) ** 2, x, g, m) / m + eps)
    xhat = (x - mu) / sigma
    dx = gamma / (m * sigma) * (m * g - index_sum(g, x, g, m) - xhat * index_sum(g * xhat, x, g, m))
    return {"dx": dx, "x": x, "g": g, "m": m, "sigma": sigma, "gamma": gamma}


def prove_input_gradient_orthogonality_general_m(eps: sp.Expr = 0) -> dict[str, sp.Expr]:
    """sum_i x_i dl/dx_i and sum_i dl/dx_i for symbolic m (both 0 at eps = 0).

    By the chain rule sum_c W_rc dl/dW_rc = sum_i x_ir dl/dx_ir, so the first residual
    is the orthogonality of the weight gradient for any batch size (and any d).
    """
    grad = general_input_gradient(eps)
    x, g, m = grad["x"], grad["g"], grad["m"]
    return {"sum_x_dx": sp.simplify(index_sum(x * grad["dx"], x, g, m)),
            "sum_dx": sp.simplify(index_sum(grad["dx"], x, g, m))}


# --- epsilon > 0 --------------------------------------------------------------------------------

def relative_floor_symbols() -> tuple[sp.Symbol, sp.Symbol]:
    """(a, nu): the scale of W and the floor relative to the feature's batch variance, nu = eps/sigma^2.

    rho(a) depends on sigma^2 and eps only through nu, so
    ``scale_deviation_factor(a, 1, nu)`` is the deviation factor with the variance as unit.
    """
    return sp.Symbol("a", positive=True), sp.Symbol("nu", positive=True)


def epsilon_ratio_limits() -> dict[str, sp.Expr]:
    """Limits and first-order size of rho(a) - 1, with rho written in nu = eps/sigma^2.

    * a -> oo: sqrt(1 + nu) (the largest deviation for a > 1);
    * a -> 0+: 0 (shrinking W makes epsilon dominate and the output collapses to beta);
    * small nu: rho - 1 = (nu/2)(1 - 1/a^2) + O(nu^2).
    """
    a, nu = relative_floor_symbols()
    rho = scale_deviation_factor(a, 1, nu)
    return {
        "a_to_infinity": sp.limit(rho, a, sp.oo),
        "a_to_zero": sp.limit(rho, a, 0, "+"),
        "first_order": sp.series(rho - 1, nu, 0, 2).removeO(),
    }


def prove_epsilon_ratio_limits() -> dict[str, sp.Expr]:
    """Residuals of the three statements of :func:`epsilon_ratio_limits` (all 0)."""
    a, nu = relative_floor_symbols()
    lim = epsilon_ratio_limits()
    return {
        "a_to_infinity": sp.simplify(lim["a_to_infinity"] - sp.sqrt(1 + nu)),
        "a_to_zero": sp.simplify(lim["a_to_zero"]),
        "first_order": sp.simplify(lim["first_order"] - nu / 2 * (1 - 1 / a**2)),
    }


# --- the numbers the chapter states ------------------------------------------------------------

@dataclass(frozen=True)
class ToyRunSummary:
    """The toy run of :func:`bn.scale_dynamics.run_toy`: its sizes and settings (``k`` features of
    ``d`` inputs, learning rate ``lr``, ``batch``, ``steps``, the weight decay ``wd`` of the second
    run), ``||W||`` at the start (6 decimals) and at the end without and with weight decay
    (4 decimals), and the largest relative discrepancy of the norm increment from ``lr^2 ||g||^2``
    (``resid``) and the largest ``|cos(W, g)|`` (``cos``), both to 2 significant digits."""

    k: int
    d: int
    lr: float
    batch: int
    steps: int
    wd: float
    norm0: float
    norm_end: float
    norm_wd: float
    resid: float
    cos: float


@dataclass(frozen=True)
class ScaleInvarianceSummary:
    """Every number the scale-invariance chapter glues (``scale-`` + field, hyphens for underscores).

    ``n_out``, ``n_jac``: how many residuals the proofs of ``BN((aW)u) = BN(Wu)`` (m = 3, k = 2,
    d = 2) and of its input Jacobian (m = 3, k = 1, d = 2) reduce to 0. ``eps_general_m``: the
    residual (0) of the ratio identity at eps > 0 for a symbolic m. ``eps_example``: the ratio
    ``rho`` at ``a = 10`` and ``eps / sigma^2 = 1e-5 / 1e-2`` (9 decimals). ``toy``: the toy run.
    """

    n_out: int
    n_jac: int
    eps_general_m: int
    eps_example: float
    toy: ToyRunSummary


def _zero_count(residuals: list[sp.Expr], what: str) -> int:
    if not all(r == 0 for r in residuals):
        raise ValueError(f"{what}: a residual is not 0, so there is no count of zero residuals to state")
    return len(residuals)


def summarize_toy_run(weight_decay: float = 0.01) -> ToyRunSummary:
    """The :class:`ToyRunSummary` of the default :class:`bn.scale_dynamics.ToyConfig`, and of the
    same run with ``weight_decay``."""
    cfg = ToyConfig()
    plain = run_toy(cfg).as_arrays()
    decayed = run_toy(ToyConfig(weight_decay=weight_decay)).as_arrays()
    growth = cfg.lr ** 2 * plain["grad_norm"] ** 2
    resid = float(np.max(np.abs(plain["norm_increment_residual"]) / growth))
    cos_max = float(np.max(np.abs(plain["cosine"])))
    return ToyRunSummary(
        k=cfg.out_features, d=cfg.in_features, lr=cfg.lr, batch=cfg.batch_size, steps=cfg.steps,
        wd=weight_decay, norm0=round(float(plain["weight_norm"][0]), 6),
        norm_end=round(float(plain["weight_norm"][-1]), 4),
        norm_wd=round(float(decayed["weight_norm"][-1]), 4),
        resid=float(f"{resid:.2g}"), cos=float(f"{cos_max:.2g}"))


def summarize_scale_invariance() -> ScaleInvarianceSummary:
    """The :class:`ScaleInvarianceSummary`: the proofs (a few seconds of SymPy), the ratio at the
    chapter's example, and :func:`summarize_toy_run`."""
    a, nu = relative_floor_symbols()
    ratio = sp.lambdify((a, nu), scale_deviation_factor(a, 1, nu), "numpy")
    return ScaleInvarianceSummary(
        n_out=_zero_count(prove_output_invariance(make_setting(m=3, k=2, d=2)), "BN((aW)u) = BN(Wu)"),
        n_jac=_zero_count(prove_input_jacobian_invariance(make_setting(m=3, k=1, d=2)), "input Jacobian"),
        eps_general_m=int(prove_epsilon_ratio_general_m()),
        eps_example=round(float(ratio(10.0, 1e-5 / 1e-2)), 9),
        toy=summarize_toy_run())
