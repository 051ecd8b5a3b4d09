"""Shared fixtures. Device parametrization: every torch test runs on the CPU, and on
CUDA when torch sees one (skipped cleanly otherwise); a test never needs a GPU."""

import pytest
import torch

DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=[
        pytest.mark.cuda,
        pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: torch.cuda.is_available() is False"),
    ]),
]


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """The torch device a test runs on."""
    return request.param
