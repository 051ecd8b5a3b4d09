"""The book's batch-normalization formula as a ``torch.autograd.Function``.

Forward (training mode, statistics per channel over every axis but 1):

    mu = mean(x),  var = mean((x - mu)^2),  xhat = (x - mu) / sqrt(var + eps),
    y = gamma * xhat + beta.

Backward is the compact closed form derived in the book,

    dx = gamma / (m * sqrt(var + eps)) * (m * dy - sum(dy) - xhat * sum(dy * xhat)),
    dgamma = sum(dy * xhat),  dbeta = sum(dy),

written with differentiable torch operations on the saved *input* ``x`` (the
statistics are recomputed, not saved), so that autograd can differentiate the
backward itself: ``torch.autograd.gradgradcheck`` passes.
"""

from __future__ import annotations

import torch

from bn.functional.layout import reduction_axes

__all__ = ["BookBatchNormFunction", "book_batch_norm", "reduce_dims", "channel_shape"]


def reduce_dims(x: torch.Tensor) -> list[int]:
    """The axes BN reduces over, :func:`bn.functional.layout.reduction_axes` of ``x``, as torch's list."""
    return list(reduction_axes(x.dim()))


def channel_shape(x: torch.Tensor) -> list[int]:
    """Shape that broadcasts a (C,) vector against ``x``: (1, C, 1, ..., 1)."""
    return [1, x.shape[1], *([1] * (x.dim() - 2))]


def _normalized(x: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(xhat, 1/sqrt(var + eps)) with the biased batch variance, by two passes.

    The torch twin of :func:`bn.functional.forward_arithmetic`, on purpose: it must be
    torch operations, so that autograd can differentiate the backward built on it.
    """
    dims = reduce_dims(x)
    mu = x.mean(dim=dims, keepdim=True)
    centered = x - mu
    var = (centered * centered).mean(dim=dims, keepdim=True)
    inv_std = torch.rsqrt(var + eps)
    return centered * inv_std, inv_std


class BookBatchNormFunction(torch.autograd.Function):
    """y = gamma * xhat + beta with the compact backward; twice differentiable."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float) -> torch.Tensor:
        xhat, _ = _normalized(x, eps)
        ctx.save_for_backward(x, gamma)
        ctx.eps = eps
        return gamma.reshape(channel_shape(x)) * xhat + beta.reshape(channel_shape(x))

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        x, gamma = ctx.saved_tensors
        # Recompute from x inside backward: under create_graph=True these ops
        # are recorded, which is what makes the second derivative available.
        xhat, inv_std = _normalized(x, ctx.eps)
        dims = reduce_dims(x)
        m = x.numel() // x.shape[1]
        sum_dy = dy.sum(dim=dims, keepdim=True)
        sum_dy_xhat = (dy * xhat).sum(dim=dims, keepdim=True)
        dx = dgamma = dbeta = None
        if ctx.needs_input_grad[0]:
            scale = gamma.reshape(channel_shape(x)) * inv_std / m
            dx = scale * (m * dy - sum_dy - xhat * sum_dy_xhat)
        if ctx.needs_input_grad[1]:
            dgamma = sum_dy_xhat.reshape(-1)
        if ctx.needs_input_grad[2]:
            dbeta = sum_dy.reshape(-1)
        return dx, dgamma, dbeta, None


def book_batch_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Training-mode BN of ``x`` (N, C, *spatial) by the book's formula (see module docstring)."""
    if x.dim() < 2:
        raise ValueError(f"expected (N, C, *spatial), got shape {tuple(x.shape)}")
    if x.numel() // x.shape[1] < 2:
        raise ValueError("Expected more than 1 value per channel when training")
    return BookBatchNormFunction.apply(x, gamma, beta, eps)
