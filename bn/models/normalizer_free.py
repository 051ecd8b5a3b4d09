"""Residual networks without BN: SkipInit, Fixup, weight standardization with GroupNorm, and NF-ResNets.

Each variant keeps the layout of Part IV's :class:`bn.models.resnet.SmallResNet`
(a stem conv unit at 32x32, a max-pool, ``blocks`` residual blocks of two 3x3
convolutions at 16x16, average pool, linear) and its forward pass; only the
blocks, the stem and the initialization change, so a comparison with the BN
network changes the normalization and what replaces it:

* ``"bn"``: :class:`SmallResNet` itself (BN after each convolution);
* ``"skipinit"`` (De & Smith 2020): no normalization; each residual branch ends in a
  learnable scalar ``alpha`` that starts at 0, so every block starts as the identity;
* ``"fixup"`` (Zhang, Dauphin & Ma 2019): no normalization; the branch's last conv starts at
  zero, its first is He-initialized and rescaled by ``L ** (-1 / (2m - 2))`` (``L`` blocks,
  ``m = 2`` layers per branch), scalar biases before each conv and activation, a scalar
  multiplier on the branch, and the classifier starts at zero;
* ``"ws_gn"`` (Qiao et al. 2019): every conv's weight is standardized per output channel
  (zero mean, unit variance over its fan-in) and followed by GroupNorm;
* ``"nf"`` (Brock et al. 2021a, 2021b): no normalization; scaled weight standardization
  (``gain * (W - mean) / (std * sqrt(fan_in))``, the ReLU gain ``sqrt(2 / (1 - 1/pi))``),
  pre-activation blocks ``h + alpha * f(h / beta)`` where ``beta`` is the expected standard
  deviation of ``h`` (``beta_{l+1}^2 = beta_l^2 + alpha^2``), and, with ``agc`` > 0, adaptive
  gradient clipping (:func:`adaptive_grad_clip_`) on every layer but the classifier.

AGC acts between the backward pass and the optimizer's step; here each clipped parameter
carries a post-accumulate-gradient hook, so the book's training loop needs no change.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bn.models.init import init_std, init_weights
from bn.models.cnn import ConvUnit
from bn.models.resnet import SmallResNet

METHODS: tuple[str, ...] = ("bn", "skipinit", "fixup", "ws_gn", "nf")
RELU_GAIN = math.sqrt(2.0 / (1.0 - 1.0 / math.pi))
"""The gain that restores unit variance after a ReLU of a unit Gaussian (Brock et al. 2021a): for
z ~ N(0, 1), Var(relu(z)) = (1 - 1/pi) / 2; a scaled-WS conv's zero-mean rows cancel the ReLU's mean
and multiply the variance by gain^2, so gain^2 = 2 / (1 - 1/pi) gives variance 1."""
AGC_EPS = 1e-3
"""AGC's floor on a unit's weight norm (Brock et al. 2021b), so a unit starting at zero can move."""
WS_EPS = 1e-5


def standardize(weight: torch.Tensor, eps: float = WS_EPS) -> torch.Tensor:
    """``(W - mean) / std`` per output channel (row), over the fan-in, biased variance (Qiao et al. 2019)."""
    dims = tuple(range(1, weight.dim()))
    mean = weight.mean(dim=dims, keepdim=True)
    var = weight.var(dim=dims, keepdim=True, unbiased=False)
    return (weight - mean) / torch.sqrt(var + eps)


class WSConv2d(nn.Conv2d):
    """A conv whose weight is standardized per output channel at every forward pass.

    ``scaled=False``: Qiao et al.'s weight standardization (unit variance per output channel);
    ``scaled=True``: Brock et al.'s scaled WS, ``gain * standardize(W) / sqrt(fan_in)`` times a
    learnable per-channel ``affine`` gain (initially 1), so that a unit-variance input keeps
    unit variance at initialization.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 3, scaled: bool = False,
                 gain: float = 1.0, bias: bool = False) -> None:
        super().__init__(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=bias)
        self.scaled = scaled
        self.gain = gain
        self.affine = nn.Parameter(torch.ones(c_out)) if scaled else None

    def standardized_weight(self) -> torch.Tensor:
        w = standardize(self.weight)
        if self.scaled:
            w = w * (self.gain / math.sqrt(self.weight[0].numel())) * self.affine.view(-1, 1, 1, 1)
        return w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.standardized_weight(), self.bias, self.stride, self.padding)


class SkipInitBlock(nn.Module):
    """``relu(x + alpha * conv(relu(conv(x))))`` with biased convs and no normalization; ``alpha`` starts at 0."""

    def __init__(self, channels: int, alpha: float = 0.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.alpha = nn.Parameter(torch.tensor(float(alpha)))

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * self.conv2(torch.relu(self.conv1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.branch(x))


class FixupBlock(nn.Module):
    """Zhang et al.'s block: ``relu(x + scale * conv2(relu(conv1(x + b1a) + b1b) + b2a) + b2b)``.

    The scalar biases start at 0 and ``scale`` at 1; the network sets the convs' initial weights.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bias1a, self.bias1b, self.bias2a, self.bias2b = (nn.Parameter(torch.zeros(1)) for _ in range(4))
        self.scale = nn.Parameter(torch.ones(1))

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv1(x + self.bias1a) + self.bias1b)
        return self.conv2(h + self.bias2a) * self.scale + self.bias2b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.branch(x))


class WSGNBlock(nn.Module):
    """The book's block with weight-standardized convs and GroupNorm: ``relu(x + GN(WS(relu(GN(WS(x))))))``."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.conv1 = WSConv2d(channels, channels)
        self.bn1 = nn.GroupNorm(groups, channels)
        self.conv2 = WSConv2d(channels, channels)
        self.bn2 = nn.GroupNorm(groups, channels)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.branch(x))


class NFBlock(nn.Module):
    """A normalizer-free pre-activation block: ``h + alpha * f(h / beta)``, ``f = WS(relu(WS(relu(.))))``
    with scaled weight standardization; ``beta`` is the expected standard deviation of ``h``."""

    def __init__(self, channels: int, alpha: float, beta: float) -> None:
        super().__init__()
        self.conv1 = WSConv2d(channels, channels, scaled=True, gain=RELU_GAIN, bias=True)
        self.conv2 = WSConv2d(channels, channels, scaled=True, gain=RELU_GAIN, bias=True)
        self.alpha, self.beta = alpha, beta

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * self.conv2(torch.relu(self.conv1(torch.relu(x / self.beta))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


def nf_betas(blocks: int, alpha: float) -> list[float]:
    """The expected standard deviation of each NF block's input: ``beta_0 = 1``,
    ``beta_{l+1}^2 = beta_l^2 + alpha^2``."""
    return [math.sqrt(1.0 + i * alpha**2) for i in range(blocks)]


def unitwise_norm(x: torch.Tensor) -> torch.Tensor:
    """The L2 norm of each unit: per output channel (row) over the fan-in for a matrix or kernel, keeping
    dimensions; the whole vector's norm for a bias or gain (Brock et al. 2021b)."""
    if x.dim() <= 1:
        return torch.linalg.vector_norm(x)
    return torch.linalg.vector_norm(x, dim=tuple(range(1, x.dim())), keepdim=True)


@torch.no_grad()
def agc_clipped(grad: torch.Tensor, weight: torch.Tensor, clip: float, eps: float = AGC_EPS) -> torch.Tensor:
    """AGC: each unit's gradient ``G_i`` becomes ``clip * max(||W_i||, eps) / ||G_i|| * G_i`` where
    ``||G_i|| / max(||W_i||, eps) > clip``, and is left as it is otherwise."""
    w_norm = unitwise_norm(weight).clamp(min=eps)
    g_norm = unitwise_norm(grad)
    limit = clip * w_norm
    factor = torch.where(g_norm > limit, limit / g_norm.clamp(min=1e-12), torch.ones_like(g_norm))
    return grad * factor


def adaptive_grad_clip_(params, clip: float, eps: float = AGC_EPS) -> None:
    """Clip the gradients of ``params`` in place by :func:`agc_clipped` (those without a gradient are skipped)."""
    for p in params:
        if p.grad is not None:
            p.grad.copy_(agc_clipped(p.grad, p, clip, eps))


def _agc_hook(clip: float):
    def hook(p: torch.Tensor) -> None:
        p.grad.copy_(agc_clipped(p.grad, p, clip))
    return hook


class NormFreeResNet(SmallResNet):
    """:class:`SmallResNet`'s layout and forward pass with the blocks, stem and initialization of ``method``
    (one of ``"skipinit"``, ``"fixup"``, ``"ws_gn"``, ``"nf"``; ``"bn"`` is :class:`SmallResNet` itself).

    ``groups``: GroupNorm's groups (``ws_gn``); ``nf_alpha``: the NF blocks' ``alpha``; ``agc``: the
    NF network's clipping threshold (0: none); ``skip_alpha``: SkipInit's initial ``alpha``.
    """

    def __init__(self, method: str, width: int = 16, blocks: int = 3, num_classes: int = 10, in_channels: int = 3,
                 groups: int = 4, nf_alpha: float = 0.2, agc: float = 0.0, skip_alpha: float = 0.0) -> None:
        nn.Module.__init__(self)  # SmallResNet's own constructor builds BN blocks
        if method not in METHODS or method == "bn":
            others = ", ".join(m for m in METHODS if m != "bn")
            raise ValueError(f"unknown method {method!r} (expected one of {others})")
        if agc < 0 or (agc > 0 and method != "nf"):
            raise ValueError(f"agc must be >= 0 and is used by 'nf' only, got {agc!r} for {method!r}")
        self.method = method
        if method == "ws_gn":
            self.stem = ConvUnit(in_channels, width, "group", norm_options={"groups": groups})
            self.stem.conv = WSConv2d(in_channels, width)
            block_list = [WSGNBlock(width, groups) for _ in range(blocks)]
        elif method == "nf":
            # the input images have unit variance per channel: a linear scaled-WS conv keeps it
            self.stem = WSConv2d(in_channels, width, scaled=True, gain=1.0, bias=True)
            block_list = [NFBlock(width, nf_alpha, b) for b in nf_betas(blocks, nf_alpha)]
        else:
            self.stem = ConvUnit(in_channels, width, "none")
            block_list = ([SkipInitBlock(width, skip_alpha) for _ in range(blocks)] if method == "skipinit"
                          else [FixupBlock(width) for _ in range(blocks)])
        self.pool = nn.MaxPool2d(2)
        self.blocks = nn.Sequential(*block_list)
        self.classifier = nn.Linear(width, num_classes)
        self.classifier.is_classifier = True
        init_weights(self, "relu")  # He-normal, zero biases; the classifier gets gain 1
        if method == "fixup":
            self._fixup_init(blocks)
        if method == "nf":
            self.final_act = nn.ReLU()  # pre-activation blocks: one ReLU before the pooling
            if agc > 0:
                for name, p in self.named_parameters():
                    if not name.startswith("classifier"):  # Brock et al. leave the classifier unclipped
                        p.register_post_accumulate_grad_hook(_agc_hook(agc))
        self.agc = agc

    def _fixup_init(self, blocks: int, m: int = 2) -> None:
        factor = blocks ** (-1.0 / (2 * m - 2))
        for b in self.blocks:
            nn.init.normal_(b.conv1.weight, 0.0, init_std(b.conv1.weight[0].numel(), "relu") * factor)
            nn.init.zeros_(b.conv2.weight)
        nn.init.zeros_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.pool(self.stem(x)))
        if self.method == "nf":
            h = self.final_act(h)
        return self.classifier(h.mean(dim=(2, 3)))


def build_residual(method: str, width: int = 16, blocks: int = 3, **options: Any) -> nn.Module:
    """The residual network of ``method`` (:data:`METHODS`): :class:`SmallResNet` for ``"bn"``, else
    :class:`NormFreeResNet`; ``options`` are that class's other keywords."""
    if method == "bn":
        return SmallResNet(width=width, blocks=blocks, **options)
    return NormFreeResNet(method, width=width, blocks=blocks, **options)


def block_input_and_branch(model: nn.Module, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per residual block, in order: (its input, the output of its residual branch) on batch ``x``,
    in the model's current mode (train mode: BN uses the batch's statistics)."""
    out: list[tuple[torch.Tensor, torch.Tensor]] = []
    h = model.pool(model.stem(x))
    for b in model.blocks:
        out.append((h, branch_of(b, h)))
        h = b(h)
    return out


def branch_of(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The residual branch's output of ``block`` on ``x`` (the BN block of :mod:`bn.models.resnet` too)."""
    if hasattr(block, "branch"):
        return block.branch(x)
    return block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x)))))


@torch.no_grad()
def branch_skip_variance(model: nn.Module, x: torch.Tensor) -> list[float]:
    """Per block: Var(branch output) / Var(block input), each the mean over channels of the variance over
    the batch and the positions (De & Smith's ratio of the residual branch to the skip path)."""
    def var(t: torch.Tensor) -> float:
        return float(t.var(dim=(0, 2, 3), unbiased=False).mean())
    return [var(f) / var(h) for h, f in block_input_and_branch(model, x)]
