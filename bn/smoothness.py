"""Internal covariate shift or smoothness: the measurements of Santurkar et al. (2018), Part V.

- "noisy BN" itself (a random per-channel affine map after each BN layer) is
  :mod:`bn.torch_bn.noisy`;
- :func:`input_moments` and :func:`moment_shift`: how far the per-channel
  mean and standard deviation of layers' inputs on a fixed batch move;
- :func:`gradient_ics`: internal covariate shift by the paper's gradient
  definition, the change of one layer's gradient when the layers before it
  take their step;
- :func:`landscape_along_gradient`: the loss and its gradient along the
  gradient direction (loss range, gradient predictiveness, effective
  beta-smoothness).

The measurements take a *loss closure* and the parameters it depends on, so
they apply to any model (the tests use quadratics with known curvature).

Training layer: imports torch only.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Landscape", "flat", "gradient_ics", "input_moments", "landscape_along_gradient", "model_loss",
           "moment_shift"]

LossFn = Callable[[], torch.Tensor]


def model_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> LossFn:
    """The closure ``() -> cross_entropy(model(x), y)`` that the measurements below take."""
    return lambda: F.cross_entropy(model(x), y)


def flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The tensors concatenated into one float64 vector (norms and dot products in double precision)."""
    return torch.cat([t.detach().double().flatten() for t in tensors])


@torch.no_grad()
def input_moments(model: nn.Module, layers: Sequence[str], x: torch.Tensor, train_mode: bool = True
                  ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per-channel mean and standard deviation of the *inputs* of the named layers on the batch ``x``.

    Channels are dimension 1; the statistics run over every other dimension
    (examples and positions). ``model`` runs as a deep copy in training mode by
    default (batch statistics, noise on), so the caller's model and its running
    statistics stay as they were. Returns ``{name: (mean, std)}``, float64 on the CPU.
    """
    probe = copy.deepcopy(model).train(train_mode)
    modules = dict(probe.named_modules())
    missing = [n for n in layers if n not in modules]
    if missing:
        raise KeyError(f"no such layers: {missing}")
    out: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(name):
        def keep(_module, inputs):
            a = inputs[0].detach().double().cpu().transpose(0, 1).flatten(1)
            out[name] = (a.mean(1), a.std(1, unbiased=False))
        return keep

    handles = [modules[n].register_forward_pre_hook(hook(n)) for n in layers]
    try:
        probe(x)
    finally:
        for h in handles:
            h.remove()
    return out


def moment_shift(before: tuple[torch.Tensor, torch.Tensor], after: tuple[torch.Tensor, torch.Tensor]
                 ) -> dict[str, float]:
    """How far a layer's per-channel input distribution moved between two measurements.

    With ``(mu, sigma)`` before and ``(mu', sigma')`` after: ``mean_shift`` is
    the average over channels of ``|mu' - mu| / sigma`` (the mean's move in
    units of the earlier spread) and ``std_shift`` the average of
    ``|ln(sigma' / sigma)|``. Channels that are constant at either time (a dead
    ReLU) are left out; ``live`` counts the channels used.
    """
    (mu0, s0), (mu1, s1) = before, after
    if mu0.shape != mu1.shape:
        raise ValueError(f"channel counts differ: {tuple(mu0.shape)} and {tuple(mu1.shape)}")
    live = (s0 > 0) & (s1 > 0)
    n = int(live.sum())
    if n == 0:
        return {"mean_shift": math.nan, "std_shift": math.nan, "live": 0}
    return {"mean_shift": float(((mu1 - mu0).abs() / s0)[live].mean()),
            "std_shift": float((s1 / s0)[live].log().abs().mean()), "live": n}


def _grads(loss_fn: LossFn, params: Sequence[torch.Tensor]) -> tuple[float, list[torch.Tensor]]:
    loss = loss_fn()
    return float(loss.detach()), list(torch.autograd.grad(loss, list(params)))


def gradient_ics(loss_fn: LossFn, groups: Sequence[Sequence[torch.Tensor]], lr: float
                 ) -> list[dict[str, float]]:
    """Internal covariate shift of each layer by the gradient definition of Santurkar et al.

    ``groups[i]`` are layer ``i``'s parameters, input to output. With ``G_i``
    the gradient of the loss with respect to ``groups[i]`` at the current
    parameters and ``G'_i`` the same gradient after every earlier layer
    ``j < i`` has taken one plain gradient step ``W_j - lr * dL/dW_j`` (computed
    at the current parameters, on the same loss), returns for ``i = 1, 2, ...``
    ``{"layer": i, "diff": |G_i - G'_i|, "cos": cos(G_i, G'_i), "norm": |G_i|}``
    (Euclidean norms of the flattened gradients). Layer ``i`` itself and the
    layers after it do not move. The parameters are restored afterwards.
    """
    if len(groups) < 2:
        raise ValueError("need at least two layers")
    params = [p for g in groups for p in g]
    _, all_grads = _grads(loss_fn, params)
    sizes = [len(g) for g in groups]
    per_group, start = [], 0
    for s in sizes:
        per_group.append(all_grads[start:start + s])
        start += s
    saved = [p.detach().clone() for p in params]
    out = []
    try:
        for i in range(1, len(groups)):
            with torch.no_grad():
                for j in range(i):
                    for p, g in zip(groups[j], per_group[j]):
                        p.sub_(lr * g)
            _, after = _grads(loss_fn, groups[i])
            with torch.no_grad():
                for p, s in zip(params, saved):
                    p.copy_(s)
            g0, g1 = flat(per_group[i]), flat(after)
            n0, n1 = float(g0.norm()), float(g1.norm())
            cos = float(g0 @ g1) / (n0 * n1) if n0 > 0 and n1 > 0 else math.nan
            out.append({"layer": i, "diff": float((g0 - g1).norm()), "cos": cos, "norm": n0})
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)
    return out


@dataclass
class Landscape:
    """The loss and its gradient at ``x - t * g`` for the step sizes ``t`` (``g`` the gradient at ``x``).

    ``losses[0]`` is the loss at ``x`` and ``losses[k + 1]`` the loss at
    ``t_k = steps[k]``; ``grad_change[k]`` is ``|grad L(x) - grad L(x - t_k g)|``
    and ``distance[k]`` is ``t_k |g|``.
    """

    steps: list[float]
    losses: list[float]
    grad_change: list[float]
    distance: list[float]

    @property
    def loss_range(self) -> float:
        """max - min of the loss over ``x`` and the points along the gradient."""
        return max(self.losses) - min(self.losses)

    @property
    def predictiveness(self) -> float:
        """The paper's gradient predictiveness: the largest ``|grad L(x) - grad L(x')|`` along the way."""
        return max(self.grad_change)

    @property
    def beta(self) -> float:
        """Effective beta-smoothness: the largest ``|grad L(x) - grad L(x')| / |x - x'|``."""
        return max(c / d for c, d in zip(self.grad_change, self.distance))

    def summary(self) -> dict[str, float]:
        return {"loss_range": self.loss_range, "predictiveness": self.predictiveness, "beta": self.beta}


def landscape_along_gradient(loss_fn: LossFn, params: Sequence[torch.Tensor], steps: Sequence[float]
                             ) -> Landscape:
    """Move ``params`` along minus their gradient by each step size in ``steps`` and measure (Fig. 4 of the paper).

    Each point ``x - t g`` starts from the original ``x``; the parameters are
    restored afterwards. Every ``t`` must be positive, and the gradient at ``x``
    must not vanish.
    """
    if not steps or min(steps) <= 0:
        raise ValueError(f"steps must be positive, got {list(steps)}")
    params = list(params)
    loss0, g = _grads(loss_fn, params)
    g_flat = flat(g)
    g_norm = float(g_flat.norm())
    if g_norm == 0:
        raise ValueError("the gradient is zero: there is no direction to move along")
    saved = [p.detach().clone() for p in params]
    losses, changes, distances = [loss0], [], []
    try:
        for t in steps:
            with torch.no_grad():
                for p, s, gp in zip(params, saved, g):
                    p.copy_(s - t * gp)
            loss_t, g_t = _grads(loss_fn, params)
            losses.append(loss_t)
            changes.append(float((g_flat - flat(g_t)).norm()))
            distances.append(t * g_norm)
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)
    return Landscape([float(t) for t in steps], losses, changes, distances)
