"""Rounding error of BN's forward and backward in float16, bfloat16 and float32.

Each measurement draws float64 data, rounds it to the working dtype, runs one
BN implementation in that dtype, and compares with a float64 computation on
the *same rounded inputs*. What is measured is therefore the error the
computation adds, not the (separate) error of storing x in a narrow format.

The float64 reference is the book's NumPy code (``bn.functional``, two-pass
variance). Its own error is about u64 * (|mean|/std) <= 1e-12 for the ranges
swept here, far below the smallest low-precision error measured (float32,
~1e-7); ``tests/precision`` checks it against mpmath at 50 digits.

Errors are normwise relative (``bn.gradcheck.metrics.max_relative_error``).

Implementations compared (all in torch, the only library here with bfloat16):
* ``"torch"``: ``torch.nn.functional.batch_norm`` and its autograd backward
  (PyTorch's native kernel; on the CPU its statistics are two-pass with a
  wider accumulator, see the precision chapter);
* ``"book"``: ``bn.torch_bn.book_batch_norm``, the book's formula with every
  operation in the working dtype;
* ``"one-pass"``: forward only, the variance as E[x^2] - E[x]^2 clamped at 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from bn import functional as bnf
from bn.torch_bn.devices import TORCH_DTYPES
from bn.torch_bn.function import book_batch_norm, channel_shape, reduce_dims
from bn.gradcheck.metrics import max_relative_error

__all__ = ["PrecisionCase", "draw_case", "one_pass_batch_norm", "forward_backward_error", "IMPLEMENTATIONS"]

IMPLEMENTATIONS = ("torch", "book", "one-pass")


@dataclass(frozen=True)
class PrecisionCase:
    """Data of shape (N, C, L) with m = N * L values per channel, given mean and std, and BN's eps."""

    n: int = 64
    channels: int = 4
    length: int = 64
    mean: float = 0.0
    std: float = 1.0
    eps: float = 1e-5
    seed: int = 0

    @property
    def m(self) -> int:
        """Values per channel."""
        return self.n * self.length


def draw_case(case: PrecisionCase) -> dict[str, np.ndarray]:
    """float64 x, gamma, beta, dy for ``case`` (x has the case's mean and std)."""
    rng = np.random.default_rng(case.seed)
    shape = (case.n, case.channels, case.length)
    return {"x": case.mean + case.std * rng.standard_normal(shape),
            "gamma": 1 + 0.1 * rng.standard_normal(case.channels),
            "beta": 0.1 * rng.standard_normal(case.channels),
            "dy": rng.standard_normal(shape)}


def one_pass_batch_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float) -> torch.Tensor:
    """Training-mode BN forward with the one-pass variance E[x^2] - E[x]^2 (clamped at 0), in x's dtype.

    Written out on purpose, not a call of the book's forward: the precision chapter
    compares this one-pass formula's rounding with the two-pass one.
    """
    dims = reduce_dims(x)
    mu = x.mean(dim=dims, keepdim=True)
    var = ((x * x).mean(dim=dims, keepdim=True) - mu * mu).clamp_min(0)
    shape = channel_shape(x)
    return gamma.reshape(shape) * (x - mu) * torch.rsqrt(var + eps) + beta.reshape(shape)


def _rounded(data: dict[str, np.ndarray], dtype: str, device: str = "cpu") -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v).to(device=device, dtype=TORCH_DTYPES[dtype]) for k, v in data.items()}


def _low_precision_run(t: dict[str, torch.Tensor], impl: str, eps: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    x = t["x"].clone().requires_grad_()
    if impl == "torch":
        y = F.batch_norm(x, None, None, t["gamma"], t["beta"], training=True, eps=eps)
    elif impl == "book":
        y = book_batch_norm(x, t["gamma"], t["beta"], eps)
    elif impl == "one-pass":
        with torch.no_grad():
            return one_pass_batch_norm(t["x"], t["gamma"], t["beta"], eps), None
    else:
        raise ValueError(f"unknown implementation {impl!r}; choose from {IMPLEMENTATIONS}")
    (dx,) = torch.autograd.grad(y, x, t["dy"])
    return y.detach(), dx


def forward_backward_error(case: PrecisionCase, dtype: str, impl: str = "torch",
                           device: str = "cpu") -> dict[str, float | None]:
    """Normwise relative error of y and dx of ``impl`` in ``dtype`` on ``device`` against float64, for ``case``.

    Returns ``{"y": err, "dx": err or None}`` (None for forward-only
    implementations). Non-finite outputs (overflow in float16) give ``inf``.
    On a GPU, "torch" is whatever kernel ``F.batch_norm`` dispatches to there (cuDNN or PyTorch's own).
    """
    t = _rounded(draw_case(case), dtype, device)
    ref_in = {k: v.to("cpu", torch.float64).numpy() for k, v in t.items()}
    y_ref, cache = bnf.batch_norm_forward(ref_in["x"], ref_in["gamma"], ref_in["beta"], eps=case.eps)
    dx_ref, _, _ = bnf.batch_norm_backward(ref_in["dy"], cache)
    y, dx = _low_precision_run(t, impl, case.eps)
    return {"y": _error_or_inf(y, y_ref), "dx": None if dx is None else _error_or_inf(dx, dx_ref)}


def _error_or_inf(a: torch.Tensor, ref: np.ndarray) -> float:
    a64 = a.to(torch.float64)
    if not torch.isfinite(a64).all():
        return float("inf")
    return max_relative_error(a64, ref)


def storage_error(case: PrecisionCase, dtype: str) -> float:
    """Error of y caused only by *storing* x, gamma, beta in ``dtype`` (exact float64 arithmetic after).

    When this is large no algorithm can help: the rounded input no longer
    carries the data's spread (at |mean|/std >~ 2^p, p the dtype's mantissa
    bits, every stored value of a channel can be the same number).
    """
    data = draw_case(case)
    rounded = {k: v.to(torch.float64).numpy() for k, v in _rounded(data, dtype).items()}
    y_exact, _ = bnf.batch_norm_forward(data["x"], data["gamma"], data["beta"], eps=case.eps)
    y_stored, _ = bnf.batch_norm_forward(rounded["x"], rounded["gamma"], rounded["beta"], eps=case.eps)
    return max_relative_error(y_stored, y_exact)
