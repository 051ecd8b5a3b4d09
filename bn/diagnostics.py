"""What to look at while a network trains: activations, gradients, saturation, update sizes.

The diagnostics of Karpathy's "makemore" lectures (nn-zero-to-hero, part 3),
for convolutional networks:

- :func:`probe_layers` runs a fixed probe batch through a copy of the model and
  returns each watched layer's output and the gradient of the loss with
  respect to it (the model itself, and its running statistics, are untouched);
- :func:`histogram`, :func:`saturated_fraction`, :func:`layer_summary`
  summarize one such tensor;
- :class:`UpdateRatioTracker` records, at every optimizer step, the
  update-to-data ratio ``std(delta w) / std(w)`` of each watched weight;
- :func:`diagnostics_measure` bundles the first three into a ``measure`` for
  :func:`bn.training.train`.

Training layer: imports torch and nothing above ``bn.training``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

__all__ = ["LayerProbe", "UpdateRatioTracker", "diagnostics_measure", "histogram", "layer_summary",
           "probe_layers", "saturated_fraction"]

# |tanh| or sigmoid this close to its bound has a derivative below 6 % of its peak.
SATURATION_MARGIN = 0.03


def saturated_fraction(a: torch.Tensor, activation: str = "relu") -> float:
    """Fraction of the entries of ``a`` (a nonlinearity's output) where its derivative is (nearly) zero.

    ReLU: outputs equal to 0 (derivative exactly 0). tanh: ``|a| > 1 - margin``.
    sigmoid: ``a < margin`` or ``a > 1 - margin``; ``margin`` is ``SATURATION_MARGIN``.
    """
    if a.numel() == 0:
        raise ValueError("saturated_fraction of an empty tensor")
    if activation == "relu":
        mask = a <= 0
    elif activation == "tanh":
        mask = a.abs() > 1 - SATURATION_MARGIN
    elif activation == "sigmoid":
        mask = (a < SATURATION_MARGIN) | (a > 1 - SATURATION_MARGIN)
    else:
        raise ValueError(f"unknown activation {activation!r} (expected relu, tanh or sigmoid)")
    return float(mask.float().mean())


def histogram(t: torch.Tensor, bins: int = 40, limit: float | None = None) -> dict[str, list]:
    """Counts of ``t``'s entries in ``bins`` equal bins on ``[-limit, limit]`` (values outside are clipped).

    ``limit`` defaults to four standard deviations of ``t`` (rounded up to a
    power of two so nearby snapshots share edges). Returns ``{"edges", "counts"}``.
    """
    t = t.detach().double().flatten()
    if limit is None:
        s = float(t.std()) if t.numel() > 1 else 0.0
        limit = 2.0 ** math.ceil(math.log2(4 * s)) if s > 0 else 1.0
    if limit <= 0:
        raise ValueError(f"limit must be > 0, got {limit}")
    clipped = t.clamp(-limit, limit)
    counts = torch.histc(clipped, bins=bins, min=-limit, max=limit)
    edges = torch.linspace(-limit, limit, bins + 1)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


def layer_summary(t: torch.Tensor, activation: str | None = None) -> dict[str, float]:
    """Mean, standard deviation and (if ``activation`` is given) saturated fraction of ``t``."""
    t = t.detach().double()
    out = {"mean": float(t.mean()), "std": float(t.std())}
    if activation is not None:
        out["saturated"] = saturated_fraction(t, activation)
    return out


@dataclass
class LayerProbe:
    """Outputs of the watched layers on a probe batch and the loss gradients with respect to them."""

    outputs: list[torch.Tensor]
    grads: list[torch.Tensor]
    loss: float


def probe_layers(model: nn.Module, layers: Sequence[str], x: torch.Tensor, y: torch.Tensor,
                 train_mode: bool = True) -> LayerProbe:
    """Forward and backward ``(x, y)`` through a deep copy of ``model``, recording the named layers.

    ``layers`` are names from ``model.named_modules()``. The copy runs in
    training mode by default (BN with batch statistics, as during training),
    so the probe sees what the optimizer sees, while the caller's model, its
    gradients and its running statistics stay as they were.
    """
    probe = copy.deepcopy(model)
    probe.train(train_mode)
    modules = dict(probe.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise KeyError(f"no such layers: {missing}")
    outputs: list[torch.Tensor] = []

    def keep(_module, _inputs, out):
        out.retain_grad()
        outputs.append(out)

    handles = [modules[name].register_forward_hook(keep) for name in layers]
    try:
        loss = F.cross_entropy(probe(x), y)
        probe.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    return LayerProbe([o.detach() for o in outputs], [o.grad.detach() for o in outputs], float(loss.detach()))


def diagnostics_measure(layers: Sequence[str], x: torch.Tensor, y: torch.Tensor, bins: int = 40,
                        activation: str = "relu") -> Callable[[nn.Module], dict[str, Any]]:
    """A ``measure`` for :func:`bn.training.train`: per-layer histograms and summaries on a fixed probe batch.

    Each call returns ``{"loss", "layers": [{"act_hist", "act", "grad_hist", "grad"}, ...]}``,
    one entry per name in ``layers`` (their outputs are the nonlinearity's outputs).
    """
    def measure(model: nn.Module) -> dict[str, Any]:
        rec = probe_layers(model, layers, x, y)
        rows = []
        for out, grad in zip(rec.outputs, rec.grads):
            rows.append({"act_hist": histogram(out, bins), "act": layer_summary(out, activation),
                         "grad_hist": histogram(grad, bins), "grad": layer_summary(grad)})
        return {"loss": rec.loss, "layers": rows}
    return measure


@dataclass
class UpdateRatioTracker:
    """Record ``std(delta w) / std(w)`` of each watched parameter at every optimizer step.

    Use as a context manager around :func:`bn.training.train`: it hooks every
    optimizer's ``step`` (PyTorch's global step hooks), so it sees the update
    the optimizer actually applies, momentum and weight decay included.
    ``ratios[name]`` is the list of per-step ratios.
    """

    params: dict[str, nn.Parameter]
    ratios: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ratios = {name: [] for name in self.params}
        self._before: dict[str, torch.Tensor] = {}
        self._handles: list[Any] = []

    def _pre(self, _opt, _args, _kwargs) -> None:
        self._before = {name: p.detach().clone() for name, p in self.params.items()}

    def _post(self, _opt, _args, _kwargs) -> None:
        for name, p in self.params.items():
            delta = p.detach() - self._before[name]
            self.ratios[name].append(float(delta.std() / p.detach().std()))

    def __enter__(self) -> "UpdateRatioTracker":
        self._handles = [register_optimizer_step_pre_hook(self._pre),
                         register_optimizer_step_post_hook(self._post)]
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def conv_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """The weight of every conv layer of ``model``, by parameter name (what update ratios watch)."""
    return {f"{name}.weight": m.weight for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
