"""BN's population statistics in a torch network after (and during) training: EMA, recomputed, batch statistics.

- :func:`precise_statistics`: a copy of the model whose running statistics are
  recomputed as plain averages over given batches (the "calibrate BN" step,
  PreciseBN), by ``torch.optim.swa_utils.update_bn``;
- :func:`statistics_gap`: how far one model's running statistics are from another's;
- :func:`batch_statistics_accuracy`: accuracy when the model is (wrongly) left
  in training mode at test time, so every test batch is normalized by itself;
- :func:`refresh_statistics`: rerun the moving average from scratch with a
  given momentum (what a mistaken momentum convention produces);
- :func:`bn_state` / :func:`buffer_change`: snapshot of the BN buffers and how
  much they moved (for the fine-tuning pitfall);
- :func:`dropout_variance_shift`: the variance a layer sees after dropout in
  training mode versus in eval mode.

Imports torch and, of ``bn``, only the layout of :mod:`bn.functional`: the data are anything with the attributes
of :class:`bn.training.TensorData` that a function reads (:class:`Images`).
"""

from __future__ import annotations

import copy
from typing import Callable, Iterable, Protocol

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from bn.functional.layout import reduction_axes


class Images(Protocol):
    """What these functions read of a data set (:class:`bn.training.TensorData` has it)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    normalize: Callable[[torch.Tensor], torch.Tensor]

__all__ = ["batch_statistics_accuracy", "bn_layers", "bn_state", "buffer_change", "dropout_variance_shift",
           "precise_statistics", "refresh_statistics", "statistics_gap", "train_batches"]


def bn_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The ``torch.nn`` BN layers of ``model``, in order."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def train_batches(data: Images, count: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """``count`` normalized batches of training images, drawn without replacement with ``seed``."""
    if count * batch_size > len(data.train_labels):
        raise ValueError(f"{count} batches of {batch_size} exceed the {len(data.train_labels)} training images")
    order = torch.randperm(len(data.train_labels), generator=torch.Generator().manual_seed(seed))
    return [data.normalize(data.train_images[order[i * batch_size:(i + 1) * batch_size]])
            for i in range(count)]


def precise_statistics(model: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """A copy of ``model`` whose BN running statistics are the plain average over ``batches``.

    ``update_bn`` resets the statistics and uses PyTorch's cumulative average
    (``momentum=None``); the running variance is the average of the unbiased
    batch variances, as in training.
    """
    calibrated = copy.deepcopy(model)
    if not bn_layers(calibrated):
        raise ValueError("the model has no torch.nn BatchNorm layer to recompute")
    update_bn(list(batches), calibrated)
    return calibrated.eval()


def statistics_gap(model: nn.Module, reference: nn.Module) -> list[dict[str, float]]:
    """Per BN layer: mean over channels of ``|mu - mu_ref| / sigma_ref`` and of ``|log(var / var_ref)|``."""
    rows = []
    for a, b in zip(bn_layers(model), bn_layers(reference), strict=True):
        sigma = torch.sqrt(b.running_var + b.eps)
        rows.append({"mean_shift": float(((a.running_mean - b.running_mean).abs() / sigma).mean()),
                     "log_var_ratio": float(torch.log((a.running_var + a.eps) / (b.running_var + b.eps))
                                            .abs().mean())})
    return rows


@torch.no_grad()
def batch_statistics_accuracy(model: nn.Module, data: Images, batch_size: int,
                              n: int | None = None) -> float:
    """Test accuracy with every test batch of ``batch_size`` normalized by its own statistics.

    This is what a forgotten ``model.eval()`` computes. It runs on a copy, since
    a training-mode forward also overwrites the running statistics.
    """
    probe = copy.deepcopy(model).train()
    images, labels = data.test_images[:n], data.test_labels[:n]
    correct = 0
    for i in range(0, len(labels), batch_size):
        x = data.normalize(images[i:i + batch_size])
        correct += int((probe(x).argmax(1) == labels[i:i + batch_size]).sum())
    return correct / len(labels)


@torch.no_grad()
def refresh_statistics(model: nn.Module, batches: Iterable[torch.Tensor], momentum: float | None,
                       dropout_off: bool = False) -> nn.Module:
    """A copy of ``model`` with the running statistics reset and re-averaged over ``batches``.

    ``momentum`` is PyTorch's (the weight of the new batch); ``None`` is the
    cumulative average. ``dropout_off`` keeps dropout layers in eval mode while
    the statistics are collected, so they describe the test-time inputs.
    Parameters are not touched.
    """
    fresh = copy.deepcopy(model).train()
    if dropout_off:
        for m in fresh.modules():
            if isinstance(m, nn.Dropout):
                m.eval()
    for m in bn_layers(fresh):
        m.reset_running_stats()
        m.momentum = momentum
    for x in batches:
        fresh(x)
    return fresh.eval()


def bn_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Copies of every BN layer's running mean and variance and its gamma and beta, by name."""
    state = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            for key in ("running_mean", "running_var", "weight", "bias"):
                state[f"{name}.{key}"] = getattr(m, key).detach().clone()
    return state


def buffer_change(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor], kind: str) -> float:
    """Largest ``|after - before| / (|before| + 1e-3)`` over the entries named ``*.{kind}``.

    ``kind`` is ``running_mean``, ``running_var``, ``weight`` or ``bias``.
    """
    keys = [k for k in before if k.endswith(f".{kind}")]
    if not keys:
        raise KeyError(f"no BN entries named *.{kind}")
    return max(float(((after[k] - before[k]).abs() / (before[k].abs() + 1e-3)).max()) for k in keys)


@torch.no_grad()
def dropout_variance_shift(x: torch.Tensor, conv: nn.Module, p: float, seed: int = 0) -> torch.Tensor:
    """Per output channel of ``conv``: variance of ``conv(x)`` in eval mode over that of ``conv(dropout_p(x))``.

    In training, inverted dropout keeps the mean of every input but adds
    variance; BN's running variance records the training-mode value, so at
    test time (no dropout) the layer normalizes by too large a variance when
    this ratio is below 1.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must lie in [0, 1), got {p}")
    g = torch.Generator().manual_seed(seed)
    keep = (torch.rand(x.shape, generator=g) >= p).to(x.dtype) / (1.0 - p)
    dims = list(reduction_axes(x.ndim))
    var_train = conv(x * keep).var(dim=dims)
    var_eval = conv(x).var(dim=dims)
    return var_eval / var_train
