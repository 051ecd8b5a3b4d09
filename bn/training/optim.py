"""Optimizer setup: SGD with (Nesterov) momentum; weight decay only on weight matrices and kernels."""

from __future__ import annotations

import torch
from torch import nn


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two groups: weights of linear/conv layers (decayed) and biases and BN's gamma/beta (not decayed).

    Decaying BN's gamma or a bias would not regularize the function's complexity,
    only pull the scale of a normalized unit towards zero, so it is left out.
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim > 1 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(model: nn.Module, lr: float, momentum: float = 0.9, nesterov: bool = True,
                   weight_decay: float = 0.0) -> torch.optim.SGD:
    """SGD on ``model`` with the given momentum and L2 weight decay (see :func:`parameter_groups`)."""
    return torch.optim.SGD(parameter_groups(model, weight_decay), lr=lr, momentum=momentum,
                           nesterov=nesterov and momentum > 0)
