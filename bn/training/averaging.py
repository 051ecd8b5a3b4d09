"""Weight averaging after training (SWA and an EMA of the weights), and BN's statistics for the average.

An average of weights is a new network: the running statistics its BN layers carry were
collected on the activations of *other* weights. ``torch.optim.swa_utils.AveragedModel``
by default (``use_buffers=False``) averages the parameters only and copies the buffers of
the network it averages at each update: the running statistics of the *last* weights;
``update_bn`` recomputes them with one pass over training batches
(momentum ``None``: the plain average of the batch statistics, i.e. the population's
statistics for the averaged weights). Everything here is the library's; this module only
runs it inside the book's seeded set-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

from bn.training.optim import make_optimizer
from bn.training.tensordata import TensorData, augment_batch

__all__ = ["AveragingConfig", "Averages", "average_weights", "recompute_bn", "statistics_batches"]


@dataclass(frozen=True)
class AveragingConfig:
    """A phase of ``steps`` further SGD steps at the constant rate ``lr``; the SWA average takes the
    weights every ``swa_every`` steps (equal weights), the EMA every step with ``ema_decay``.
    ``bn_batches`` batches of ``batch_size`` training images recompute BN's statistics."""

    steps: int = 100
    lr: float = 0.015
    swa_every: int = 10
    ema_decay: float = 0.98
    batch_size: int = 128
    bn_batches: int = 50
    momentum: float = 0.9
    weight_decay: float = 5e-4
    flip: bool = True
    crop_pad: int = 4

    def __post_init__(self) -> None:
        if self.steps < 1 or self.swa_every < 1 or self.steps % self.swa_every:
            raise ValueError(f"need steps >= 1 and swa_every >= 1 dividing steps, got {self.steps}, {self.swa_every}")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in (0, 1), got {self.ema_decay}")


@dataclass
class Averages:
    """The network after the phase, and its two averages (each an ``AveragedModel``).

    ``swa`` carries the buffers of the last weights it averaged (the library's default);
    ``ema`` averages the buffers too (``use_buffers=True``), as EMA implementations usually do.
    """

    model: nn.Module
    swa: AveragedModel
    ema: AveragedModel


def _train_batches(data: TensorData, batch_size: int, gen: torch.Generator, flip: bool, crop_pad: int
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    n = len(data.train_labels)
    while True:
        order = torch.randperm(n, generator=gen)
        for i in range(0, n - batch_size + 1, batch_size):
            idx = order[i:i + batch_size]
            x = augment_batch(data.normalize(data.train_images[idx]), gen, flip, crop_pad)
            yield x, data.train_labels[idx]


def average_weights(model: nn.Module, data: TensorData, cfg: AveragingConfig, seed: int) -> Averages:
    """Train ``model`` ``cfg.steps`` more steps, building its SWA and EMA averages on the way.

    The SWA average starts from the weights at the start of the phase and adds them every
    ``swa_every`` steps; the EMA updates after every step. ``seed`` fixes the batches.
    """
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    model.train()
    swa = AveragedModel(model)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
    opt = make_optimizer(model, cfg.lr, cfg.momentum, True, cfg.weight_decay)
    batches = _train_batches(data, cfg.batch_size, gen, cfg.flip, cfg.crop_pad)
    for step in range(1, cfg.steps + 1):
        x, y = next(batches)
        loss = F.cross_entropy(model(x.to(device)), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update_parameters(model)
        if step % cfg.swa_every == 0:
            swa.update_parameters(model)
    return Averages(model, swa, ema)


def statistics_batches(data: TensorData, batches: int, batch_size: int) -> list[torch.Tensor]:
    """The first ``batches`` batches of ``batch_size`` training images, normalized, not augmented."""
    n = min(batches * batch_size, len(data.train_labels))
    if n < 1:
        raise ValueError("no training image to recompute the statistics on")
    x = data.normalize(data.train_images[:n])
    return list(x.split(batch_size))


def recompute_bn(model: nn.Module, batches: list[torch.Tensor]) -> nn.Module:
    """``torch.optim.swa_utils.update_bn`` on ``batches``: every BN layer's running statistics become the
    average of the batch statistics the (averaged) weights produce. Returns ``model``, updated in place."""
    device = next(model.parameters()).device
    update_bn(batches, model, device=device)
    return model
