"""BN under CPU autocast in bfloat16: which dtypes torch picks, and what bfloat16 statistics cost.

Three ways a BN layer meets bfloat16 (:data:`MODES`):

* ``"float32"``: no low precision at all (the reference of the training runs);
* ``"autocast"``: ``torch.autocast("cpu", dtype=torch.bfloat16)`` around a float32 model. The
  convolution before BN runs in bfloat16, so BN receives a bfloat16 tensor, while its
  parameters and running statistics stay float32: torch's CPU kernel then computes the
  batch statistics in float32 and writes only its output in bfloat16;
* ``"bfloat16"``: the whole model cast with ``model.to(torch.bfloat16)``: input, parameters,
  batch statistics and running statistics are all bfloat16 numbers.

The single-batch errors reuse :mod:`bn.precision.errors` (its data, its float64 reference
and its error metric) on the *same rounded input*, so they measure what the computation
adds, not the rounding of x itself. The running statistics are followed over many
updates, where a bfloat16 buffer stops moving once ``momentum * (batch stat - running)``
falls below half its spacing (8 significant bits: 2^-8 relative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from bn import functional as bnf
from bn.gradcheck.metrics import max_relative_error
from bn.precision.errors import PrecisionCase, draw_case

__all__ = ["MODES", "AutocastDtypes", "autocast_dtypes", "batch_errors", "running_drift", "RunningDrift"]

MODES = ("float32", "autocast", "bfloat16")
_DTYPES = {"float32": (torch.float32, torch.float32), "autocast": (torch.bfloat16, torch.float32),
           "bfloat16": (torch.bfloat16, torch.bfloat16)}  # (BN's input, BN's parameters and buffers)


def _dtypes(mode: str) -> tuple[torch.dtype, torch.dtype]:
    if mode not in _DTYPES:
        raise ValueError(f"unknown mode {mode!r}; the modes are {', '.join(MODES)}")
    return _DTYPES[mode]


@dataclass(frozen=True)
class AutocastDtypes:
    """The dtypes a conv -> BN pair produces under ``torch.autocast("cpu", dtype=torch.bfloat16)``."""

    conv_output: str
    bn_output_after_conv: str
    bn_output_float32_input: str
    bn_running_stats: str
    bn_weight: str


def autocast_dtypes(channels: int = 4, seed: int = 0) -> AutocastDtypes:
    """Run a float32 conv -> BN pair (training mode) under CPU bfloat16 autocast and read the dtypes."""
    gen = torch.Generator().manual_seed(seed)
    conv = torch.nn.Conv2d(3, channels, 3)
    bn = torch.nn.BatchNorm2d(channels)
    x = torch.randn(8, 3, 6, 6, generator=gen)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = conv(x)
        y = bn(z)
        y32 = bn(x[:, :1].expand(8, channels, 6, 6).contiguous())
    name = lambda t: str(t.dtype).replace("torch.", "")  # noqa: E731
    return AutocastDtypes(name(z), name(y), name(y32), name(bn.running_mean), name(bn.weight))


def batch_errors(case: PrecisionCase, mode: str) -> dict[str, float]:
    """Errors of one training-mode BN forward in ``mode`` against float64 on the same rounded input.

    ``mean``: max over channels of ``|mean - exact| / std``; ``var``: max relative error of the biased
    variance; ``y``: normwise relative error of the output. The statistics are the ones the kernel
    itself computed (``aten.native_batch_norm``'s saved mean and inverse std).
    """
    x_dtype, p_dtype = _dtypes(mode)
    data = draw_case(case)
    x = torch.tensor(data["x"]).to(x_dtype)
    gamma, beta = (torch.tensor(data[k]).to(p_dtype) for k in ("gamma", "beta"))
    y, mean, invstd = torch.ops.aten.native_batch_norm(x, gamma, beta, None, None, True, 0.0, case.eps)[:3]
    x64 = x.double().numpy()
    y_ref, _ = bnf.batch_norm_forward(x64, gamma.double().numpy(), beta.double().numpy(), eps=case.eps)
    mean_ref, var_ref = x64.mean(axis=(0, 2)), x64.var(axis=(0, 2))
    var = 1.0 / invstd.double().numpy() ** 2 - case.eps
    return {"mean": float(np.max(np.abs(mean.double().numpy() - mean_ref) / np.sqrt(var_ref))),
            "var": float(np.max(np.abs(var - var_ref) / var_ref)),
            "y": float(max_relative_error(y.double(), y_ref))}


@dataclass(frozen=True)
class RunningDrift:
    """Relative errors of the running statistics against the population's after each update.

    ``mean_error[t]``: max over channels of ``|running mean - mu| / sigma``; ``var_error[t]``: max of
    ``|running var - sigma^2| / sigma^2``, after update t + 1.
    """

    mode: str
    mean_error: list[float]
    var_error: list[float]

    def late(self, fraction: float = 0.5) -> tuple[float, float]:
        """Mean of the errors over the last ``fraction`` of the updates: (mean's, variance's)."""
        k = max(1, int(len(self.mean_error) * fraction))
        return float(np.mean(self.mean_error[-k:])), float(np.mean(self.var_error[-k:]))


def running_drift(mode: str, updates: int = 400, mean: float = 3.0, std: float = 1.0, batch: int = 128,
                  channels: int = 8, length: int = 64, momentum: float = 0.1, seed: int = 0) -> RunningDrift:
    """Follow BN's running statistics in ``mode`` over ``updates`` batches drawn from N(mean, std^2).

    Every batch is drawn in float64 and rounded to BN's input dtype; the buffers start at
    torch's defaults (mean 0, variance 1) and are updated by ``F.batch_norm`` (training mode,
    ``momentum``). A post-ReLU activation has a positive mean of the order of its spread,
    hence the default ``mean = 3 std``.
    """
    x_dtype, p_dtype = _dtypes(mode)
    rng = np.random.default_rng(seed)
    rm, rv = torch.zeros(channels, dtype=p_dtype), torch.ones(channels, dtype=p_dtype)
    mean_err, var_err = [], []
    for _ in range(updates):
        x = torch.tensor(mean + std * rng.standard_normal((batch, channels, length))).to(x_dtype)
        F.batch_norm(x, rm, rv, None, None, training=True, momentum=momentum)
        mean_err.append(float((rm.double() - mean).abs().max()) / std)
        var_err.append(float((rv.double() - std ** 2).abs().max()) / std ** 2)
    return RunningDrift(mode, mean_err, var_err)
