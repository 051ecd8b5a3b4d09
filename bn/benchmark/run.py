"""One benchmark run: every workload of the speed chapter on one device, with provenance."""

from __future__ import annotations

import os
import time

import torch

from bn.benchmark import workloads as W
from bn.benchmark.harness import load_average_1min

__all__ = ["CUDA_CONFIG", "FULL_CONFIG", "QUICK_CONFIG", "config_for", "run_benchmark"]

# 1M, 4M and 16M float32 elements as (N, 64, 32, 32): CIFAR-like activations.
FULL_CONFIG = {
    "elements": [1 << 20, 1 << 22, 1 << 24],
    # 31 repeats: on a shared machine 9 left the NumPy timings' IQR above their median.
    "repeats": 31, "warmup": 3,
    # (batch, channels, spatial size, kernel): a 3x3 conv, where the conv dominates, and a
    # 1x1 conv, where BN's extra pass over the output is a larger share of the time.
    "folding": [(32, 64, 32, 3), (32, 64, 32, 1)],
}

# On a GPU the small sizes are dominated by kernel-launch latency; 64M elements (256 MB) is added.
CUDA_CONFIG = {"elements": [1 << 20, 1 << 22, 1 << 24, 1 << 26], "repeats": 25, "warmup": 5,
               "folding": [(32, 64, 32, 3), (32, 64, 32, 1), (256, 64, 32, 1)]}

# A shortened run for tests and for checking the GPU script's CPU path. Never written to book/results.
QUICK_CONFIG = {"elements": [1 << 16], "repeats": 2, "warmup": 1, "folding": [(2, 16, 8, 3)]}


def config_for(device: str, quick: bool = False) -> dict:
    """The configuration a run on ``device`` uses (``quick``: the tiny plumbing check)."""
    if quick:
        return QUICK_CONFIG
    return CUDA_CONFIG if device.startswith("cuda") else FULL_CONFIG


def run_benchmark(device: str = "cpu", config: dict | None = None, progress=print) -> dict:
    """All workloads on ``device``; returns the payload for ``speed_<device>.json`` (without provenance)."""
    cfg = dict(config or config_for(device))
    reps = {"repeats": cfg["repeats"], "warmup": cfg["warmup"]}
    load_start = load_average_1min()
    t0 = time.perf_counter()
    copies, fwd_bwd, backward_variants, folding = [], [], [], []
    for elements in cfg["elements"]:
        shape = W.nchw_shape(elements) if elements % (64 * 32 * 32) == 0 else (elements // 64, 64)
        progress(f"{device}: {elements} elements, shape {shape}")
        copies.append(W.copy_bandwidth(elements, device, **reps))
        fwd_bwd += W.fwd_bwd(shape, device, **reps)
        if device == "cpu":
            backward_variants += W.numpy_backward_variants(shape, **reps)
    default_threads = torch.get_num_threads()
    # On the CPU, folding is timed with torch's default thread count and with one thread: on a
    # shared machine the multi-threaded times suffer most from other jobs, so both are kept.
    thread_counts = sorted({1, default_threads}) if device == "cpu" else [default_threads]
    for batch, channels, size, kernel in cfg["folding"]:
        for threads in thread_counts:
            progress(f"{device}: folding {kernel}x{kernel}, {threads} thread(s)")
            torch.set_num_threads(threads)
            try:
                # Folding calls are short (tens of ms on a CPU): three times the repeats for a stable ratio.
                rec = W.folding_speedup(batch, channels, size, kernel, device,
                                        repeats=3 * reps["repeats"], warmup=reps["warmup"])
            finally:
                torch.set_num_threads(default_threads)
            folding.append({**rec, "threads": threads if device == "cpu" else None})
    return {
        "device": device,
        "dtype": "float32",
        "config": {**cfg, "folding": [list(f) for f in cfg["folding"]]},
        "traffic_convention": {"fwd_bwd_arrays": W.FWD_BWD_ARRAYS, "copy_arrays": W.COPY_ARRAYS},
        "load_average_1min": {"start": load_start, "end": load_average_1min()},
        "torch_threads": torch.get_num_threads(),
        # Scheduling priority of the run (0 default, 19 lowest): on a shared machine a
        # niced run yields to other jobs, which shows in the spreads, not in the medians' ratio.
        "niceness": os.nice(0) if hasattr(os, "nice") else None,
        "cuda_device": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
        "copy": copies, "fwd_bwd": fwd_bwd, "numpy_backward": backward_variants, "folding": folding,
        "wall_time_s": round(time.perf_counter() - t0, 1),
    }
