"""Where BN goes (paper, Sec. 3.2): one sigmoid MLP with BN before the nonlinearity, after it, or not at all."""

from __future__ import annotations

import torch
from torch import nn

from bn.models.init import init_std

PLACEMENTS = ("none", "before", "after")


class PlacedMLP(nn.Module):
    """A sigmoid MLP with BN before the nonlinearity, after it, or not at all.

    ``placement="before"``: ``Linear(no bias) -> BN -> sigmoid`` (the paper's
    choice: BN normalizes ``Wu``; a bias would be subtracted away by the mean).
    ``"after"``: ``Linear -> sigmoid -> BN``. ``"none"``: ``Linear -> sigmoid``.
    Weights are LeCun-Gaussian (:func:`bn.models.init_std`), biases zero, as in
    :class:`bn.models.MLP`.
    """

    def __init__(self, placement: str, in_features: int = 3 * 32 * 32,
                 hidden: tuple[int, ...] = (100, 100, 100), num_classes: int = 10) -> None:
        super().__init__()
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")
        self.placement = placement
        self.linears = nn.ModuleList()
        self.norms = nn.ModuleList()
        width = in_features
        for h in hidden:
            self.linears.append(nn.Linear(width, h, bias=placement != "before"))
            self.norms.append(nn.BatchNorm1d(h) if placement != "none" else nn.Identity())
            width = h
        self.classifier = nn.Linear(width, num_classes)
        for lin in [*self.linears, self.classifier]:
            act = "linear" if lin is self.classifier else "sigmoid"
            nn.init.normal_(lin.weight, 0.0, init_std(lin.in_features, act))
            if lin.bias is not None:
                nn.init.zeros_(lin.bias)

    def hidden_step(self, k: int, h: torch.Tensor) -> torch.Tensor:
        """Hidden layer ``k`` applied to its input ``h``."""
        z = self.linears[k](h)
        if self.placement == "before":
            return torch.sigmoid(self.norms[k](z))
        a = torch.sigmoid(z)
        return self.norms[k](a) if self.placement == "after" else a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for k in range(len(self.linears)):
            h = self.hidden_step(k, h)
        return self.classifier(h)
