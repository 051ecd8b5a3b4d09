"""What the speed chapter measures. Each function times one workload and returns flat records.

Traffic convention (for "effective GB/s"): BN is memory-bound, so we count
the bytes a single-pass ideal kernel must move, given the per-channel
statistics: forward reads x and writes y (2 arrays), backward reads x and dy
and writes dx (3 arrays); forward+backward = 5 arrays of the input's size.
A copy moves 2 arrays (read + write). Effective bandwidth = bytes / time; a
real kernel makes extra passes (the statistics need one more read of x, the
backward's two sums one more read of x and dy), so its effective bandwidth
can at best approach the copy's.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from bn import functional as bnf
from bn.functional.fused import batch_norm_backward_fused, batch_norm_forward_fused
from bn.benchmark.harness import Timing, time_callable, time_interleaved
from bn.gradcheck.metrics import max_relative_error
from bn.torch_bn.devices import synchronize
from bn.torch_bn.function import book_batch_norm

__all__ = ["FWD_BWD_ARRAYS", "COPY_ARRAYS", "copy_bandwidth", "numpy_backward_variants", "fwd_bwd",
           "folding_speedup", "nchw_shape"]

FWD_BWD_ARRAYS = 5
COPY_ARRAYS = 2
EPS = 1e-5


def nchw_shape(elements: int, channels: int = 64, height: int = 32, width: int = 32) -> tuple[int, int, int, int]:
    """An (N, C, H, W) shape with ``elements`` values (N chosen; ``elements`` divisible by C*H*W)."""
    per_sample = channels * height * width
    if elements % per_sample:
        raise ValueError(f"{elements} is not a multiple of C*H*W = {per_sample}")
    return (elements // per_sample, channels, height, width)


def _record(t: Timing, **fields) -> dict:
    return {**fields, **t.to_dict()}


def _gb_per_s(arrays: int, nbytes: int, seconds: float) -> float:
    return arrays * nbytes / seconds / 1e9


def copy_bandwidth(elements: int, device: str = "cpu", repeats: int = 7, warmup: int = 2) -> dict:
    """Copy ``elements`` float32 values into a preallocated buffer; bandwidth = 2 * bytes / median time."""
    if device == "cpu":
        src = np.random.default_rng(0).standard_normal(elements, dtype=np.float32)
        dst = np.empty_like(src)

        def run():
            np.copyto(dst, src)
        lib = "numpy"
    else:
        src = torch.randn(elements, device=device)
        dst = torch.empty_like(src)

        def run():
            dst.copy_(src)
        lib = "torch"
    t = time_callable(run, repeats, warmup, sync=lambda: synchronize(device))
    nbytes = elements * 4
    return _record(t, workload="copy", impl=lib, elements=elements, bytes=nbytes,
                   gb_s=_gb_per_s(COPY_ARRAYS, nbytes, t.median_s))


def _numpy_inputs(shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape, dtype=np.float32)
    dy = rng.standard_normal(shape, dtype=np.float32)
    c = shape[1]
    return x, np.ones(c, np.float32), np.zeros(c, np.float32), dy


def numpy_backward_variants(shape: tuple[int, ...], repeats: int = 7, warmup: int = 2) -> list[dict]:
    """Compact vs staged NumPy backward on one cached forward (float32), timed interleaved."""
    x, g, b, dy = _numpy_inputs(shape)
    _, cache = bnf.batch_norm_forward(x, g, b, eps=EPS)
    timings = time_interleaved({"compact": lambda: bnf.batch_norm_backward(dy, cache),
                                "staged": lambda: bnf.batch_norm_backward_staged(dy, cache)}, repeats, warmup)
    return [_record(t, workload="numpy_backward", impl=variant, shape=list(shape), elements=x.size)
            for variant, t in timings.items()]


def _torch_inputs(shape, device):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(*shape, generator=gen).to(device)
    dy = torch.randn(*shape, generator=gen).to(device)
    c = shape[1]
    return x, torch.ones(c, device=device), torch.zeros(c, device=device), dy


def _torch_native_step(x, g, b, dy) -> Callable[[], object]:
    """One forward+backward through ATen's native kernels, without autograd's bookkeeping."""
    def run():
        y, save_mean, save_invstd = torch.ops.aten.native_batch_norm(x, g, b, None, None, True, 0.1, EPS)
        return torch.ops.aten.native_batch_norm_backward(dy, x, g, None, None, save_mean, save_invstd,
                                                         True, EPS, [True, True, True])
    return run


def _book_function_step(x, g, b, dy) -> Callable[[], object]:
    xr, gr, br = x.clone().requires_grad_(), g.clone().requires_grad_(), b.clone().requires_grad_()

    def run():
        y = book_batch_norm(xr, gr, br, EPS)
        return torch.autograd.grad(y, (xr, gr, br), dy)
    return run


def _torch_autograd_step(x, g, b, dy) -> Callable[[], object]:
    """F.batch_norm + autograd: what a model runs (cuDNN's kernel on a GPU when it applies)."""
    xr, gr, br = x.clone().requires_grad_(), g.clone().requires_grad_(), b.clone().requires_grad_()

    def run():
        y = torch.nn.functional.batch_norm(xr, None, None, gr, br, training=True, eps=EPS)
        return torch.autograd.grad(y, (xr, gr, br), dy)
    return run


def _with_threads(fn: Callable[[], object], threads: int) -> Callable[[], object]:
    """``fn`` run with torch limited to ``threads`` threads (restored afterwards)."""
    def run():
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return fn()
        finally:
            torch.set_num_threads(previous)
    return run


def fwd_bwd(shape: tuple[int, ...], device: str = "cpu", repeats: int = 7, warmup: int = 2,
            torch_threads: tuple[int, ...] | None = None) -> list[dict]:
    """Forward+backward time of every implementation on ``device`` for one float32 NCHW shape.

    CPU: NumPy (``bn.functional``, readable and fewer-pass, single-threaded) and PyTorch's native kernel
    with each thread count in ``torch_threads`` (default: 1 and the current
    count). Any device: the native kernel called directly, ``F.batch_norm`` with
    autograd, and the book's autograd.Function. All variants are timed in
    alternation (see ``time_interleaved``), so that they share the background load.
    """
    elements = math.prod(shape)
    nbytes = elements * 4
    tx = _torch_inputs(shape, device)
    variants: dict[tuple[str, int | None], Callable[[], object]] = {}
    if device == "cpu":
        x, g, b, dy = _numpy_inputs(shape)

        def numpy_step():
            _, cache = bnf.batch_norm_forward(x, g, b, eps=EPS)
            return bnf.batch_norm_backward(dy, cache)
        variants[("numpy", 1)] = numpy_step

        def numpy_fused_step():
            # The fewer-pass variant; dx goes into the cache's buffer, so that the step
            # allocates two full-size arrays (y and the centred input), as torch does (y, dx).
            _, cache = batch_norm_forward_fused(x, g, b, eps=EPS)
            return batch_norm_backward_fused(dy, cache, out=cache.centered)
        variants[("numpy_fused", 1)] = numpy_fused_step
        default_threads = torch.get_num_threads()
        for threads in (torch_threads or tuple(sorted({1, default_threads}))):
            variants[("torch_native", threads)] = _with_threads(_torch_native_step(*tx), threads)
        variants[("torch_autograd", default_threads)] = _torch_autograd_step(*tx)
        variants[("book_function", default_threads)] = _book_function_step(*tx)
    else:
        variants[("torch_native", None)] = _torch_native_step(*tx)
        variants[("torch_autograd", None)] = _torch_autograd_step(*tx)
        variants[("book_function", None)] = _book_function_step(*tx)
    names = {f"{impl}/{threads}": (impl, threads) for impl, threads in variants}
    timings = time_interleaved({name: variants[key] for name, key in names.items()}, repeats, warmup,
                               sync=lambda: synchronize(device))
    return [_record(timings[name], workload="fwd_bwd", impl=impl, device=device, threads=threads,
                    shape=list(shape), elements=elements, bytes=nbytes,
                    gb_s=_gb_per_s(FWD_BWD_ARRAYS, nbytes, timings[name].median_s))
            for name, (impl, threads) in names.items()]


def folding_speedup(batch: int, channels: int, size: int, kernel: int, device: str = "cpu",
                    repeats: int = 7, warmup: int = 2) -> dict:
    """Eval-mode time of conv followed by BN against the single folded conv (fuse_conv_bn_eval)."""
    torch.manual_seed(0)
    conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False).to(device).eval()
    bn = nn.BatchNorm2d(channels).to(device).eval()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    fused = fuse_conv_bn_eval(conv, bn)
    x = torch.randn(batch, channels, size, size, device=device)
    sync = (lambda: synchronize(device))

    def unfused():
        with torch.inference_mode():
            return bn(conv(x))

    def folded():
        with torch.inference_mode():
            return fused(x)

    with torch.inference_mode():
        # Both paths compute the same function (float32: agreement to ~1e-5 relative).
        ref, out = unfused(), folded()
    agreement = max_relative_error(out.cpu().numpy(), ref.cpu().numpy())
    # Interleaved, so that both variants see the same background load.
    timings = time_interleaved({"conv_bn": unfused, "folded": folded}, repeats, warmup, sync)
    t_unfused, t_folded = timings["conv_bn"], timings["folded"]
    return {"workload": "folding", "device": device, "threads": torch.get_num_threads() if device == "cpu" else None,
            "config": f"{kernel}x{kernel} conv {channels}->{channels}, input {batch}x{channels}x{size}x{size}",
            "kernel": kernel, "input_shape": [batch, channels, size, size],
            "conv_bn": t_unfused.to_dict(), "folded": t_folded.to_dict(),
            "speedup": t_unfused.median_s / t_folded.median_s, "max_rel_difference": agreement}
