"""Which torch devices this machine offers, and dtype names shared by NumPy and torch."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["available_devices", "TORCH_DTYPES", "NUMPY_DTYPES", "synchronize"]

TORCH_DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64, "float32": torch.float32,
    "float16": torch.float16, "bfloat16": torch.bfloat16,
}
# NumPy has no bfloat16; only the names present here can cross to bn.functional.
NUMPY_DTYPES: dict[str, type] = {"float64": np.float64, "float32": np.float32, "float16": np.float16}


def available_devices() -> list[str]:
    """``["cpu"]``, plus ``"cuda"`` when torch sees a CUDA device."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def synchronize(device: str | torch.device) -> None:
    """Wait for queued kernels on ``device`` (a no-op on the CPU); needed before reading a clock."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
