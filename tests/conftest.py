"""Shared fixtures. Device parametrization: every torch test runs on the CPU, and on
CUDA when torch sees one (skipped cleanly otherwise); a test never needs a GPU."""

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from hypothesis import settings

# In CI the property tests draw the same examples every run (a red CI then means a real
# regression, never an unlucky draw); locally they explore new examples each time.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

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


REPO = Path(__file__).resolve().parent.parent


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` (a command-line script, not a package module) as ``name``."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def tiny_data(n_train: int = 96, n_test: int = 48, size: int = 16):
    """Random uint8 images with cycling labels as :class:`bn.training.TensorData`: pipelines, not accuracy."""
    from bn.training.tensordata import tensor_data_from_arrays

    g = torch.Generator().manual_seed(0)
    tr = torch.randint(0, 256, (n_train, 3, size, size), generator=g, dtype=torch.uint8).numpy()
    te = torch.randint(0, 256, (n_test, 3, size, size), generator=g, dtype=torch.uint8).numpy()
    return tensor_data_from_arrays(tr, torch.arange(n_train) % 10, te, torch.arange(n_test) % 10)
