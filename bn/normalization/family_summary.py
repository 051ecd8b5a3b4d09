"""The family's two facts in numbers: agreement with PyTorch's layers, and BN's leak across examples.

:func:`summarize_family` checks each member of the family (:mod:`bn.normalization.family`)
against ``torch.nn.functional`` in float64 on one random batch, and measures how far changing one
example moves the others under BN (:func:`bn.normalization.cross_example_change`). torch is
imported inside the function, so importing this module loads NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bn.normalization.batch_dependence import cross_example_change
from bn.normalization.family import FAMILY, batch_norm, group_norm, instance_norm, layer_norm

__all__ = ["FamilySummary", "MemberAgreement", "torch_agreement", "summarize_family"]


@dataclass(frozen=True)
class MemberAgreement:
    """One member against its PyTorch function: the largest ``|ours - torch|`` and the tolerance.

    The tolerance is ``8 n u max(1, max|torch|)``: ``n`` values per set, ``u = 2**-53`` the float64
    unit roundoff (worst-case bound of summation in two orders), scaled by the largest output.
    """

    member: str
    set_size: int
    max_error: float
    tolerance: float

    @property
    def within(self) -> bool:
        """Whether the two agree within the tolerance."""
        return self.max_error <= self.tolerance


def torch_agreement(shape: tuple[int, int, int, int] = (8, 6, 4, 4), groups: int = 2,
                    seed: int = 0) -> list[MemberAgreement]:
    """Each member of the family against ``torch.nn.functional`` on one float64 batch of ``shape``.

    The batch is ``N(2, 3^2)`` from ``default_rng(seed)``, followed by per-channel ``gamma, beta``
    and LayerNorm's elementwise ``weight, bias`` (drawn in that order). Returns the batch, layer,
    instance and group (``groups`` groups) members in that order.
    """
    import torch
    import torch.nn.functional as F

    n, c, h, w = shape
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, size=shape)
    gamma, beta = rng.normal(1.0, 0.5, c), rng.normal(0.0, 0.5, c)
    weight, bias = rng.normal(1.0, 0.5, shape[1:]), rng.normal(0.0, 0.5, shape[1:])
    t = {k: torch.from_numpy(v) for k, v in dict(x=x, gamma=gamma, beta=beta, weight=weight,
                                                   bias=bias).items()}
    pairs = {
        "batch": (batch_norm(x, gamma, beta),
                  F.batch_norm(t["x"], None, None, t["gamma"], t["beta"], training=True), n * h * w),
        "layer": (layer_norm(x, weight, bias),
                  F.layer_norm(t["x"], shape[1:], t["weight"], t["bias"]), c * h * w),
        "instance": (instance_norm(x, gamma, beta),
                     F.instance_norm(t["x"], weight=t["gamma"], bias=t["beta"]), h * w),
        f"group (G={groups})": (group_norm(x, groups, gamma, beta),
                                F.group_norm(t["x"], groups, t["gamma"], t["beta"]), c // groups * h * w),
    }
    u = np.finfo(np.float64).eps / 2  # unit roundoff, 2**-53
    out = []
    for member, (ours, theirs, set_size) in pairs.items():
        theirs = theirs.numpy()
        tol = 8 * set_size * u * max(1.0, float(np.abs(theirs).max()))
        out.append(MemberAgreement(member, set_size, float(np.abs(ours - theirs).max()), float(tol)))
    return out


@dataclass(frozen=True)
class FamilySummary:
    """What the chapter on the family states, glued as ``fam-`` + field (hyphens for underscores).

    ``tol_max``: the largest tolerance of the four comparisons with PyTorch
    (:func:`torch_agreement`), all of which hold. ``bn_min_leak``: under BN, the smallest
    ``max |output change|`` of an example other than the changed one
    (:func:`bn.normalization.cross_example_change`), where LN, IN and GN move no other example.
    """

    tol_max: float
    bn_min_leak: float


def summarize_family(agreement: list[MemberAgreement] | None = None, leak_seed: int = 1,
                     leak_shape: tuple[int, ...] = (6, 4, 3, 3), j: int = 2) -> FamilySummary:
    """The chapter's numbers: :func:`torch_agreement` (computed if not given) and BN's leak.

    The leak batch is standard normal, ``leak_shape``, from ``default_rng(leak_seed)``; example
    ``j`` is shifted by ``delta ~ U(0.5, 2)`` drawn next, one value per entry of an example.
    Raises ``ValueError`` if a member disagrees with PyTorch beyond its tolerance, or if a member
    other than BN moves another example (the prose states neither can happen).
    """
    agreement = torch_agreement() if agreement is None else agreement
    failed = [a.member for a in agreement if not a.within]
    if failed:
        raise ValueError(f"members outside their tolerance against PyTorch: {failed}")
    rng = np.random.default_rng(leak_seed)
    x = rng.standard_normal(leak_shape)
    delta = rng.uniform(0.5, 2.0, size=x.shape[1:])
    changes = {name: np.delete(cross_example_change(f, x, j, delta), j) for name, f in FAMILY.items()}
    moved = [name for name, c in changes.items() if name != "batch" and c.max() != 0.0]
    if moved:
        raise ValueError(f"members other than BN moved another example: {moved}")
    return FamilySummary(tol_max=max(a.tolerance for a in agreement),
                         bn_min_leak=float(changes["batch"].min()))
