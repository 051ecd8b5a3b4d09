"""A small causal character model whose normalization is one switch: BN, masked BN, LayerNorm, RMSNorm.

Embedding, then ``depth`` residual blocks, then a normalization and a linear read-out
of the next character's logits. A block is pre-norm:
``h + W2 gelu(conv_causal(norm(h)))``, with a causal convolution (kernel ``kernel``,
dilation doubling per block: 1, 2, 4, ...) that pads on the left only, so without
normalization the output at position ``t`` is a function of inputs ``<= t``.

The normalizations differ in what they average over:

* ``"ln"``: ``nn.LayerNorm`` over the channels of one position (Ba et al. 2016);
* ``"rms"``: ``nn.RMSNorm`` over the channels of one position, no centring (Zhang & Sennrich 2019);
* ``"bn"``: ``nn.BatchNorm1d``, each channel over every (example, position) of the batch,
  padding included;
* ``"bn_masked"``: :class:`bn.torch_bn.masked.MaskedBatchNorm1d`, over the real positions only.

LN and RMSNorm are per position, so the model stays causal and each example is
computed alone; the two BNs couple every position of every example of the batch in
training mode.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bn.torch_bn.masked import MaskedBatchNorm1d

NORMS = ("bn", "bn_masked", "ln", "rms")


def check_norm(norm: str) -> str:
    """``norm`` itself; a one-line ValueError naming the choices otherwise."""
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r} (expected one of {', '.join(NORMS)})")
    return norm


class SequenceNorm(nn.Module):
    """One of :data:`NORMS` applied to ``(batch, time, channels)`` with the padding ``mask`` ``(batch, time)``."""

    def __init__(self, norm: str, width: int):
        super().__init__()
        self.norm = check_norm(norm)
        if norm == "bn":
            self.layer: nn.Module = nn.BatchNorm1d(width)
        elif norm == "bn_masked":
            self.layer = MaskedBatchNorm1d(width)
        elif norm == "ln":
            self.layer = nn.LayerNorm(width)
        else:
            self.layer = nn.RMSNorm(width, eps=1e-5)

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if self.norm == "bn":
            return self.layer(h.transpose(1, 2)).transpose(1, 2)
        if self.norm == "bn_masked":
            return self.layer(h.transpose(1, 2), mask).transpose(1, 2)
        return self.layer(h)


class CausalBlock(nn.Module):
    """Pre-norm residual block: ``h + W2 gelu(causal_conv(norm(h)))``."""

    def __init__(self, norm: str, width: int, kernel: int, dilation: int):
        super().__init__()
        self.norm = SequenceNorm(norm, width)
        self.left = (kernel - 1) * dilation
        self.conv = nn.Conv1d(width, width, kernel, dilation=dilation)
        self.out = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        y = self.norm(h, mask).transpose(1, 2)                 # (batch, channels, time)
        y = self.conv(F.pad(y, (self.left, 0))).transpose(1, 2)  # left padding only: causal
        return h + self.out(F.gelu(y))


class CharCausalConv(nn.Module):
    """The character model: ``forward(ids, mask) -> logits`` of shape ``(batch, time, vocab)``.

    ``forward_embedded(e, mask)`` starts from the embeddings (for derivatives with
    respect to the inputs).
    """

    def __init__(self, vocab: int, norm: str = "ln", width: int = 64, depth: int = 4, kernel: int = 3):
        super().__init__()
        check_norm(norm)
        if vocab < 2 or width < 1 or depth < 1 or kernel < 1:
            raise ValueError(f"need vocab >= 2 and positive width, depth, kernel; got {vocab}, {width}, "
                             f"{depth}, {kernel}")
        self.norm_kind = norm
        self.embed = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(CausalBlock(norm, width, kernel, 2 ** i) for i in range(depth))
        self.final_norm = SequenceNorm(norm, width)
        self.head = nn.Linear(width, vocab)

    @property
    def receptive_field(self) -> int:
        """How many positions (the current one included) an output can see."""
        return 1 + sum(b.left for b in self.blocks)

    def forward_embedded(self, h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.blocks:
            h = block(h, mask)
        return self.head(self.final_norm(h, mask))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_embedded(self.embed(ids), mask)
