"""Test-time adaptation of a trained BN network to shifted inputs: which statistics, which parameters.

Four ways to classify a batch of test images that come from another distribution
than the training images (all on a copy: the trained network is never changed):

* :func:`source_logits`: eval mode, the running averages from training ("source statistics");
* :func:`adabn`: AdaBN (Li et al. 2016): the BN statistics recomputed on the unlabeled target
  images, as plain averages (:func:`bn.population.refresh_statistics` with PyTorch's cumulative
  average, ``momentum=None``), then eval mode;
* :func:`per_batch_logits`: every test batch normalized by its own statistics (Schneider et al.
  2020; Nado et al. 2020, "prediction-time BN"); nothing is kept between batches;
* :func:`tent`: TENT (Wang et al. 2021): test-batch statistics, and after predicting each batch
  one optimizer step on the mean entropy of its predictions, updating only BN's gamma and beta.
  Predictions are made online, before the step of their own batch, as in the authors' code.

Dropout stays off in all four (only BN layers see training mode). Inputs are normalized
float tensors (NCHW); the functions return logits.

Training layer: imports torch, :mod:`bn.population` (same layer) and nothing above.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from bn.population import bn_layers, refresh_statistics

__all__ = ["TentConfig", "adabn", "values_per_channel", "bn_affine_parameters", "entropy", "source_logits", "tent", "per_batch_logits",
           "with_batch_statistics"]


def _batches(x: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return [x[i:i + batch_size] for i in range(0, len(x), batch_size)]


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    return torch.cat([model(b) for b in _batches(x, batch_size)])


def source_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Logits in eval mode: BN uses the running statistics from training (the batch size does not matter)."""
    m = copy.deepcopy(model).eval()
    return _logits(m, x, batch_size)


def adabn(model: nn.Module, target: torch.Tensor, batch_size: int = 500) -> nn.Module:
    """A copy of ``model`` (eval mode) whose BN statistics are recomputed on the target images ``target``.

    Plain averages over the batches of ``batch_size`` (the running mean is the mean over all
    target images for equal batches; the running variance the average of the batches'
    unbiased variances), with dropout off while they are collected.
    """
    if not bn_layers(model):
        raise ValueError("the model has no torch.nn BatchNorm layer to adapt")
    return refresh_statistics(model, _batches(target, batch_size), momentum=None, dropout_off=True)


def with_batch_statistics(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode except its BN layers, which normalize by the batch's own statistics
    and keep no running averages."""
    m = copy.deepcopy(model).eval()
    layers = bn_layers(m)
    if not layers:
        raise ValueError("the model has no torch.nn BatchNorm layer")
    for layer in layers:
        layer.train()
        # no running averages: a training-mode forward then neither reads nor writes them
        layer.track_running_stats = False
        layer.running_mean = None
        layer.running_var = None
        layer.num_batches_tracked = None
    return m


def per_batch_logits(model: nn.Module, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Logits with every batch of ``batch_size`` consecutive test inputs normalized by its own statistics."""
    return _logits(with_batch_statistics(model), x, batch_size)


@torch.no_grad()
def values_per_channel(model: nn.Module, x: torch.Tensor) -> list[int]:
    """Per BN layer of ``model``, in order: how many values of each channel it normalizes over when
    ``x`` is one batch (batch size times the layer's height times width)."""
    counts: list[int] = []
    hooks = [m.register_forward_hook(lambda m, i, o: counts.append(i[0].numel() // i[0].shape[1]))
             for m in bn_layers(model)]
    was_training = model.training
    try:
        model.eval()(x)  # eval mode: a training-mode forward would move the running averages
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return counts


def bn_affine_parameters(model: nn.Module) -> list[nn.Parameter]:
    """BN's gamma and beta of every BN layer of ``model`` (those that have them), in order."""
    out = []
    for layer in bn_layers(model):
        out += [p for p in (layer.weight, layer.bias) if p is not None]
    return out


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of the softmax of each row of ``logits``."""
    logp = logits.log_softmax(dim=1)
    return -(logp.exp() * logp).sum(dim=1)


@dataclass(frozen=True)
class TentConfig:
    """TENT's optimizer: Adam (``betas``, no weight decay) at rate ``lr``, or SGD with ``momentum`` when
    ``optimizer == "sgd"``; ``batch_size`` test inputs per step; one pass over the test inputs."""

    lr: float = 1e-3
    batch_size: int = 128
    optimizer: str = "adam"
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.9

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not self.lr > 0 or self.batch_size < 1:
            raise ValueError(f"need lr > 0 and batch_size >= 1, got {self.lr} and {self.batch_size}")


def tent(model: nn.Module, x: torch.Tensor, cfg: TentConfig = TentConfig()) -> tuple[torch.Tensor, nn.Module]:
    """TENT on a copy of ``model``: online logits for ``x`` (each batch predicted before its own step)
    and the adapted copy. Only BN's gamma and beta change; statistics come from each test batch."""
    m = with_batch_statistics(model)
    for p in m.parameters():
        p.requires_grad_(False)
    params = bn_affine_parameters(m)
    if not params:
        raise ValueError("the model's BN layers have no affine parameters to adapt")
    for p in params:
        p.requires_grad_(True)
    opt = (torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas) if cfg.optimizer == "adam"
           else torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum))
    out = []
    for b in _batches(x, cfg.batch_size):
        logits = m(b)
        loss = entropy(logits).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        out.append(logits.detach())
    for p in m.parameters():
        p.requires_grad_(True)
    return torch.cat(out), m
