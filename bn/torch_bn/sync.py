"""Synchronized batch normalization across the processes of ``torch.distributed``.

In data-parallel training every process holds a slice of the batch. Plain BN
normalizes each slice with its own statistics, so the normalization batch is
the per-process batch. Synchronized BN normalizes every slice with the
statistics of the *whole* batch, and its backward pass uses whole-batch sums,
so forward output, input gradient and running statistics are those of one BN
layer that sees the concatenated batch. ``torch.nn.SyncBatchNorm`` does this on
CUDA only; this module works for any backend (gloo on the CPU, NCCL on GPUs).

Forward. Each process computes its per-channel triple (count, mean, M2), with
M2 the sum of squared deviations from its own mean, and the triples of all
processes are gathered and merged with Chan's formula (:func:`merge_moments`).
Backward. With the global count m, mean and inverse standard deviation, and
x-hat computed from them,

    dx = gamma / (m * sqrt(var + eps)) * (m * dy - S1 - xhat * S2),

where S1 = sum(dy) and S2 = sum(dy * xhat) run over the rows of *all*
processes: one all-reduce of the two (C,) vectors. The gradients of gamma and
beta are the local sums S1, S2 of this process only: the data-parallel wrapper
(``DistributedDataParallel``) all-reduces parameter gradients itself, and
reducing them here too would count them twice.

Convention for tests and readers: the sum over processes of the local gamma and
beta gradients is the full-batch gradient. DDP *averages* over processes
instead, which is the full-batch gradient of the mean of the per-process
losses; both are the same direction, the average is 1/world_size of the sum.

Without an initialized process group the function and the module (in
training mode) raise ``RuntimeError``: silently normalizing per process is
exactly the behaviour this layer exists to replace. In eval mode the module
uses its running statistics and needs no process group.
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from typing import Any, ContextManager, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.autograd.function import once_differentiable

from bn.torch_bn.function import channel_shape, reduce_dims
from bn.population.moving_average import ema_update, update_factor
from bn.torch_bn.module import BookBatchNorm, NormBase

__all__ = ["CommClock", "SyncBatchNorm", "SyncBatchNormFunction", "accumulation_dtype", "convert_sync_batch_norm",
           "local_moments", "merge_moments", "revert_sync_batch_norm", "sync_batch_norm"]


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype of the statistics: ``dtype``, but at least float32 (a float16 count overflows at 65,504)."""
    return torch.promote_types(dtype, torch.float32)


def local_moments(x: torch.Tensor) -> torch.Tensor:
    """Per-channel (count, mean, M2) of ``x`` (N, C, *spatial) as a (3, C) tensor.

    M2 is the sum of squared deviations from the local mean, by two passes, in
    :func:`accumulation_dtype` of ``x``'s dtype. An empty slice (N = 0) gives
    count 0, mean 0, M2 0, which the merge ignores.
    """
    x = x.to(accumulation_dtype(x.dtype))
    dims = reduce_dims(x)
    count = x.numel() // x.shape[1] if x.shape[1] else 0
    if count == 0:
        zeros = x.new_zeros(x.shape[1])
        return torch.stack([zeros, zeros, zeros])
    mean = x.mean(dim=dims)
    centered = x - mean.reshape(channel_shape(x))
    m2 = (centered * centered).sum(dim=dims)
    return torch.stack([torch.full_like(mean, float(count)), mean, m2])


def merge_moments(triples: torch.Tensor | list[torch.Tensor]) -> torch.Tensor:
    """Merge per-process (count, mean, M2) triples, a (P, 3, C) tensor or P (3, C) tensors, into one (3, C).

    Chan, Golub and LeVeque's pairwise update, for parts a and b with
    delta = mean_b - mean_a and n = n_a + n_b:

        mean = mean_a + delta * n_b / n,   M2 = M2_a + M2_b + delta**2 * n_a * n_b / n.

    Why not all-reduce (count, sum, sum of squares) and take
    var = E[x^2] - E[x]^2? When the mean is large against the standard
    deviation (|mean| / sd = 1e4, say) the two terms agree in their leading
    digits and the subtraction cancels them: float32 loses everything and
    float64 keeps only about 16 - 8 = 8 digits. Chan's update adds only
    non-negative terms to M2, and delta is a difference of two nearby means,
    which is exact or nearly so; the error of the merged variance is that of
    the two-pass variance of each part, independent of the mean's size.
    """
    parts = list(triples.unbind(0) if isinstance(triples, torch.Tensor) else triples)
    n, mean, m2 = parts[0].unbind(0)
    for part in parts[1:]:
        n_b, mean_b, m2_b = part.unbind(0)
        total = n + n_b
        # An empty part (total or n_b zero) must change nothing; where total is
        # zero the weight is defined as 0 instead of 0/0.
        w = torch.where(total > 0, n_b / total.clamp(min=1), torch.zeros_like(total))
        delta = mean_b - mean
        mean = mean + delta * w
        m2 = m2 + m2_b + delta * delta * n * w
        n = total
    return torch.stack([n, mean, m2])


class CommClock:
    """Wall-clock seconds spent inside collectives, per kind ("bn_forward", "bn_backward", ...).

    A collective returns when every process has contributed, so its time
    includes waiting for the slowest process as well as moving the data.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def measure(self, kind: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[kind] += time.perf_counter() - start

    def total(self) -> float:
        return sum(self.seconds.values())


def _timed(clock: CommClock | None, kind: str) -> ContextManager[None]:
    return clock.measure(kind) if clock is not None else nullcontext()


def _require_group(group: Any) -> Any:
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError(
            "synchronized batch norm needs an initialized torch.distributed process group: call "
            "torch.distributed.init_process_group(...) in every process first (for one process, "
            "use torch.nn.BatchNorm or bn.torch_bn.BookBatchNorm)")
    return group if group is not None else dist.group.WORLD


class SyncBatchNormFunction(torch.autograd.Function):
    """Training-mode BN over the batch of every process in ``group``; updates running statistics in place.

    Its own forward on purpose: the statistics are merged from every process's
    moments before normalizing (the chapter compares it with full-batch BN).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                running_mean: torch.Tensor | None, running_var: torch.Tensor | None,
                eps: float, momentum: float, group: Any, clock: CommClock | None = None) -> torch.Tensor:
        in_dtype = x.dtype
        x = x.contiguous().to(accumulation_dtype(x.dtype))
        stats = local_moments(x)
        gathered = [torch.empty_like(stats) for _ in range(dist.get_world_size(group))]
        with _timed(clock, "bn_forward"):
            dist.all_gather(gathered, stats, group=group)
        count, mean, m2 = merge_moments(gathered).unbind(0)
        m = int(count[0].item()) if count.numel() else 0
        if m < 2:
            raise ValueError(f"Expected more than 1 value per channel when training, got {m} over all processes")
        var = m2 / m
        inv_std = torch.rsqrt(var + eps)
        if running_mean is not None and running_var is not None:
            with torch.no_grad():
                # Full-batch BN's update: the unbiased variance of all m values.
                running_mean.copy_(ema_update(running_mean, mean, momentum))
                running_var.copy_(ema_update(running_var, m2 / (m - 1), momentum))
        shape = channel_shape(x)
        xhat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        ctx.save_for_backward(xhat, inv_std, weight)
        ctx.m, ctx.group, ctx.clock, ctx.in_dtype = m, group, clock, in_dtype
        return (xhat * weight.reshape(shape) + bias.reshape(shape)).to(in_dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, dy: torch.Tensor):
        xhat, inv_std, weight = ctx.saved_tensors
        dy = dy.contiguous().to(xhat.dtype)
        dims = reduce_dims(dy)
        sum_dy = dy.sum(dim=dims)
        sum_dy_xhat = (dy * xhat).sum(dim=dims)
        dx = None
        if ctx.needs_input_grad[0]:
            sums = torch.stack([sum_dy, sum_dy_xhat])
            with _timed(ctx.clock, "bn_backward"):
                dist.all_reduce(sums, op=dist.ReduceOp.SUM, group=ctx.group)
            shape = channel_shape(dy)
            scale = (weight * inv_std / ctx.m).reshape(shape)
            dx = scale * (ctx.m * dy - sums[0].reshape(shape) - xhat * sums[1].reshape(shape))
            dx = dx.to(ctx.in_dtype)
        dweight = sum_dy_xhat.to(weight.dtype) if ctx.needs_input_grad[1] else None
        dbias = sum_dy.to(weight.dtype) if ctx.needs_input_grad[2] else None
        return dx, dweight, dbias, None, None, None, None, None, None


def sync_batch_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                    running_mean: torch.Tensor | None = None, running_var: torch.Tensor | None = None,
                    eps: float = 1e-5, momentum: float = 0.1, group: Any = None,
                    clock: CommClock | None = None) -> torch.Tensor:
    """Synchronized training-mode BN of ``x`` (N, C, *spatial); see the module docstring.

    Every process of ``group`` (default: the world) must call it, with the same
    C, dtype and device type; N may differ between processes, and may be 0 on
    some. ``running_mean``/``running_var``, when given, are updated in place as
    full-batch BN would update them, ``(1 - momentum) * running + momentum * batch``.
    ``clock``, when given, accumulates the time spent in the two collectives.
    """
    group = _require_group(group)
    if x.dim() < 2:
        raise ValueError(f"expected (N, C, *spatial), got shape {tuple(x.shape)}")
    if weight.shape != (x.shape[1],) or bias.shape != (x.shape[1],):
        raise ValueError(f"weight and bias must have shape ({x.shape[1]},), got "
                         f"{tuple(weight.shape)} and {tuple(bias.shape)}")
    return SyncBatchNormFunction.apply(x, weight, bias, running_mean, running_var, eps, momentum, group, clock)


class SyncBatchNorm(NormBase):
    """A drop-in for ``torch.nn.BatchNorm{1,2,3}d`` whose training statistics span all processes.

    Parameters, buffers and their names are those of ``torch.nn.BatchNorm2d``
    (``weight``, ``bias``, ``running_mean``, ``running_var``,
    ``num_batches_tracked``), so state dicts load both ways. ``momentum=None``
    is the cumulative average, as in PyTorch. Eval mode normalizes with the
    running statistics and communicates nothing. Setting ``clock`` to a
    :class:`CommClock` times this layer's collectives.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, group: Any = None, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__(num_features, eps, momentum, affine=affine, device=device, dtype=dtype)
        self.group = group
        self.clock: CommClock | None = None

    def _affine(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.affine:
            return self.weight, self.bias
        return x.new_ones(self.num_features), x.new_zeros(self.num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"expected (N, {self.num_features}, *spatial), got {tuple(x.shape)}")
        weight, bias = self._affine(x)
        if not self.training:
            return nn.functional.batch_norm(x, self.running_mean, self.running_var, weight, bias,
                                            training=False, eps=self.eps)
        factor = update_factor(self.momentum, int(self.num_batches_tracked))
        self.num_batches_tracked += 1
        return sync_batch_norm(x, weight, bias, self.running_mean, self.running_var, self.eps, factor,
                               self.group, self.clock)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


def _copy_state(source: nn.Module, target: nn.Module) -> nn.Module:
    """Copy a BN layer's affine parameters (and whether they train), running statistics and training
    flag into another BN layer of the same width; return ``target``."""
    with torch.no_grad():
        if source.weight is not None:
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
            target.weight.requires_grad_(source.weight.requires_grad)
            target.bias.requires_grad_(source.bias.requires_grad)
        target.running_mean.copy_(source.running_mean)
        target.running_var.copy_(source.running_var)
        target.num_batches_tracked.copy_(source.num_batches_tracked)
    target.train(source.training)
    return target


def convert_sync_batch_norm(model: nn.Module, group: Any = None) -> nn.Module:
    """``model`` with every BN layer (``torch.nn.BatchNorm*d``, ``BookBatchNorm``) replaced by :class:`SyncBatchNorm`.

    Parameters and running statistics are copied, so the converted model
    computes the same eval-mode function. Replaces in place and returns ``model``
    (or the new layer, when ``model`` itself is a BN layer). Layers built with
    ``track_running_stats=False`` are refused: their eval mode would need
    batch statistics, which this layer does not provide.
    """
    if isinstance(model, (nn.modules.batchnorm._BatchNorm, BookBatchNorm)):
        if not getattr(model, "track_running_stats", True):
            raise ValueError("convert_sync_batch_norm: a BN layer with track_running_stats=False "
                             "is not supported")
        affine = model.weight is not None
        ref = model.running_mean
        sync = SyncBatchNorm(model.num_features, model.eps, model.momentum, affine, group,
                             device=ref.device, dtype=ref.dtype)
        return _copy_state(model, sync)
    for name, child in model.named_children():
        model.add_module(name, convert_sync_batch_norm(child, group))
    return model


def revert_sync_batch_norm(model: nn.Module,
                           layer: type[nn.modules.batchnorm._BatchNorm] = nn.BatchNorm2d) -> nn.Module:
    """``model`` with every :class:`SyncBatchNorm` replaced by a per-process ``layer`` (``torch.nn.BatchNorm2d``).

    The inverse of :func:`convert_sync_batch_norm`: parameters, running statistics,
    ``eps``, ``momentum`` and the training flag are copied, so the eval-mode
    function is the same. In training mode the new layer normalizes with this
    process's batch alone and communicates nothing: what one process needs to
    recompute population statistics (``bn.population.precise_statistics``, which
    works on ``torch.nn`` layers) while the others do something else. Replaces in
    place and returns ``model`` (or the new layer, when ``model`` itself is one).
    """
    if isinstance(model, SyncBatchNorm):
        ref = model.running_mean
        local = layer(model.num_features, model.eps, model.momentum, model.affine,
                      device=ref.device, dtype=ref.dtype)
        return _copy_state(model, local)
    for name, child in model.named_children():
        model.add_module(name, revert_sync_batch_norm(child, layer))
    return model
