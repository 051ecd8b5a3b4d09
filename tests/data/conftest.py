"""Fixtures for bn.data tests: tiny generated CIFAR-10 folders and archives, never the network."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bn.data import pack_cifar10_archive, write_synthetic_cifar10


@pytest.fixture
def synthetic_root(tmp_path: Path) -> Path:
    """A data folder holding a small synthetic ``cifar-10-batches-py``."""
    root = tmp_path / "data"
    write_synthetic_cifar10(root, n_train=50, n_test=20, seed=1)
    return root


@pytest.fixture
def synthetic_archive(tmp_path: Path) -> tuple[Path, str]:
    """``(path, md5)`` of a tar.gz shaped like the official archive, holding a synthetic set."""
    folder = write_synthetic_cifar10(tmp_path / "src", n_train=50, n_test=20, seed=2)
    archive = tmp_path / "served" / "cifar-10-python.tar.gz"
    md5 = pack_cifar10_archive(folder, archive)
    assert md5 == hashlib.md5(archive.read_bytes()).hexdigest()
    return archive, md5
