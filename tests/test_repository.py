"""The repository holds no copy of CIFAR-10: the data is downloaded or rebuilt, never committed.

A result file names its data copy and its checksums (``provenance.data``); the images themselves
stay outside the repository (``.gitignore`` lists ``/data/`` and ``cifar-10-batches-py/``). This
test reads what git tracks, so a copy added by ``git add -f`` fails it too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from bn.data.cifar10 import META_FILE, TEST_FILES, TRAIN_FILES

ROOT = Path(__file__).resolve().parents[1]
# The official archive's name, its folder, its batch files and its metadata file.
DATA_NAMES = {*TRAIN_FILES, *TEST_FILES, META_FILE, "cifar-10-python.tar.gz"}
DATA_FOLDERS = {"cifar-10-batches-py"}


def data_files(paths: list[str]) -> list[str]:
    """The paths among ``paths`` that are CIFAR-10 files: a batch, its metadata, the archive, or
    anything inside a ``cifar-10-batches-py`` folder."""
    out = []
    for p in paths:
        pp = PurePosixPath(p)
        if pp.name in DATA_NAMES or DATA_FOLDERS & set(pp.parts[:-1]):
            out.append(p)
    return out


def test_data_files_are_recognized_and_code_about_them_is_not():
    tracked = ["bn/data/cifar10.py", "tests/gradcheck/test_batch_norm_loss.py",
               "data/cifar-10-batches-py/data_batch_1", "x/cifar-10-batches-py/readme.html",
               "cifar-10-python.tar.gz", "shared/test_batch", "book/results/norm_family.json"]
    assert data_files(tracked) == ["data/cifar-10-batches-py/data_batch_1", "x/cifar-10-batches-py/readme.html",
                                   "cifar-10-python.tar.gz", "shared/test_batch"]


def test_no_cifar10_file_is_tracked():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True,
                             text=True).stdout.split("\0")
    assert len(tracked) > 100  # the listing worked: the book's own files are there
    found = data_files([p for p in tracked if p])
    assert not found, f"CIFAR-10 files are committed (the data must never be in the repository): {found}"
