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
- :class:`AngularUpdateTracker` accumulates, at every optimizer step, each
  watched weight's norm, squared update and angle of rotation, and reports
  them per evaluation interval (the equilibrium of weight decay, Part V);
- :func:`diagnostics_measure` bundles the first three into a ``measure`` for
  :func:`bn.training.train`.

Training layer: imports torch and nothing above ``bn.training`` (the angle
itself is :func:`bn.scale_dynamics.angle_between`).
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

from bn.scale_dynamics import angle_between

__all__ = ["AngularUpdateTracker", "LayerProbe", "UpdateRatioTracker", "diagnostics_measure", "histogram",
           "layer_summary", "layer_values", "probe_layers", "saturated_fraction", "TanhSaturation",
           "tanh_saturation"]

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


@dataclass(frozen=True)
class TanhSaturation:
    """Where :func:`saturated_fraction` calls a tanh output saturated, and how often a standard normal
    pre-activation gets there: ``edge`` = 1 - ``SATURATION_MARGIN`` (the bound on ``|tanh|``),
    ``z`` = artanh(edge) (the bound on the pre-activation), ``saturated`` = ``P(|z| > z)`` in %."""

    edge: float
    z: float
    saturated: float


def tanh_saturation() -> TanhSaturation:
    """The saturation threshold of tanh and the share of N(0, 1) pre-activations beyond it (exact, erfc)."""
    edge = 1 - SATURATION_MARGIN
    z = math.atanh(edge)
    return TanhSaturation(edge=edge, z=z, saturated=100 * math.erfc(z / math.sqrt(2)))


def layer_values(snapshot: dict[str, Any], kind: str, key: str) -> list[float]:
    """One number per probed layer of a :func:`diagnostics_measure` snapshot: ``row[kind][key]``
    (``kind`` "act" or "grad"; ``key`` "mean", "std" or, for "act", "saturated")."""
    return [row[kind][key] for row in snapshot["layers"]]


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


class _StepHooks:
    """While used as a context manager, ``self._pre`` and ``self._post`` run around every optimizer step.

    PyTorch's global step hooks see the update an optimizer actually applies,
    momentum and weight decay included, without touching the training loop.
    """

    _handles: list[Any]

    def _pre(self, _opt, _args, _kwargs) -> None:
        raise NotImplementedError

    def _post(self, _opt, _args, _kwargs) -> None:
        raise NotImplementedError

    def __enter__(self):
        self._handles = [register_optimizer_step_pre_hook(self._pre),
                         register_optimizer_step_post_hook(self._post)]
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


@dataclass
class UpdateRatioTracker(_StepHooks):
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


@dataclass
class AngularUpdateTracker(_StepHooks):
    """Per watched weight, sums over the steps of an interval: ``||W_t||^2``, ``||W_{t+1} - W_t||^2``, angle.

    Use as a context manager around :func:`bn.training.train` and pass
    :meth:`measure` as its ``measure``: each evaluation then records, per
    weight, the norm ``||W||_F`` now and, over the steps since the previous
    evaluation, the root-mean-square relative update
    ``sqrt(sum ||dW||^2 / sum ||W||^2)`` (what :func:`bn.scale_dynamics.equilibrium_angular_update`
    predicts) and the mean angle between ``W_t`` and ``W_{t+1}`` (radians), with
    the interval means of ``||W_t||^2`` and ``||dW||^2`` so that intervals combine
    exactly into longer windows.
    """

    params: dict[str, nn.Parameter]

    def __post_init__(self) -> None:
        self._before: dict[str, torch.Tensor] = {}
        self._handles: list[Any] = []
        self._reset()

    def _reset(self) -> None:
        self._sums = {name: [0.0, 0.0, 0.0] for name in self.params}
        self._steps = 0

    def _pre(self, _opt, _args, _kwargs) -> None:
        self._before = {name: p.detach().to("cpu", torch.float64, copy=True) for name, p in self.params.items()}

    def _post(self, _opt, _args, _kwargs) -> None:
        for name, p in self.params.items():
            before, after = self._before[name], p.detach().to("cpu", torch.float64)
            sums = self._sums[name]
            sums[0] += float(before.square().sum())
            sums[1] += float((after - before).square().sum())
            sums[2] += angle_between(before.numpy(), after.numpy())
        self._steps += 1

    def interval(self) -> dict[str, Any]:
        """The records since the last call (``rms_update``, ``mean_angle`` None after 0 steps); then reset."""
        layers = {}
        for name, p in self.params.items():
            norm_sq, update_sq, angle = self._sums[name]
            n = self._steps
            layers[name] = {"norm": float(p.detach().double().norm()), "filters": int(p.shape[0]),
                            "mean_norm_sq": norm_sq / n if n else None,
                            "mean_update_sq": update_sq / n if n else None,
                            "rms_update": math.sqrt(update_sq / norm_sq) if n else None,
                            "mean_angle": angle / n if n else None}
        out = {"steps": self._steps, "layers": layers}
        self._reset()
        return out

    def measure(self, _model: nn.Module) -> dict[str, Any]:
        """:meth:`interval`, in the form of a ``measure`` for :func:`bn.training.train`."""
        return self.interval()


def conv_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """The weight of every conv layer of ``model``, by parameter name (what update ratios watch)."""
    return {f"{name}.weight": m.weight for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


_ACTIVATION_NAMES = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
# Digits kept of each layer-health number in a result file (they are read to a few per cent).
HEALTH_DIGITS = 4


@torch.no_grad()
def layer_health(model: nn.Module, probe: torch.Tensor) -> dict[str, list[float | None]]:
    """Per-layer weight and gradient norms and per-nonlinearity saturated fractions, in evaluation mode.

    ``weight_norm`` and ``grad_norm``: the Frobenius norm of every conv and linear weight and of
    its current gradient (the last optimizer step's; None before the first step), in the order of
    ``model.modules()``. ``saturated``: :func:`saturated_fraction` of every ReLU, sigmoid or tanh
    output on ``probe`` (a fixed batch, so that changes come from the network). The model's
    training mode, gradients and BN running statistics are left as they were.
    """
    def rounded(v: float) -> float:
        return float(f"{v:.{HEALTH_DIGITS}g}")

    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    acts = [(m, _ACTIVATION_NAMES[type(m)]) for m in model.modules() if type(m) in _ACTIVATION_NAMES]
    saturated: list[float] = []
    handles = [m.register_forward_hook(lambda _m, _i, out, a=a: saturated.append(rounded(saturated_fraction(out, a))))
               for m, a in acts]
    was_training = model.training
    model.eval()
    try:
        model(probe)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {"weight_norm": [rounded(float(w.norm())) for w in weights],
            "grad_norm": [None if w.grad is None else rounded(float(w.grad.norm())) for w in weights],
            "saturated": saturated}
