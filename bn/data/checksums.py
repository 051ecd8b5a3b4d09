"""MD5 sums: of files read, of the official release, and which copy a folder is."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

# The official cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html).
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"

# MD5 of each file of the official archive, as listed by torchvision's CIFAR10
# dataset class (torchvision/datasets/cifar.py).
OFFICIAL_FILE_MD5: dict[str, str] = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}

# The file the offline rebuild script (shared/data/make_cifar10_batches.py)
# writes next to the batches: "<md5>  <name>" per line.
MANIFEST_NAME = "MANIFEST.md5"

_CHUNK = 1 << 20


def md5_of_file(path: str | os.PathLike) -> str:
    """Hex MD5 of a file, read in 1 MiB chunks so large files need little memory."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(folder: str | os.PathLike) -> dict[str, str]:
    """``{name: md5}`` from ``folder/MANIFEST.md5``; empty when there is none."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return {}
    sums: dict[str, str] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            sums[parts[1]] = parts[0].lower()
    return sums


REBUILD_JPEG_QUALITY = 75
"""The JPEG quality at which the offline rebuild script re-encodes CIFAR-10's images (its copy's name says it)."""


def _all_match(files_md5: Mapping[str, str], reference: Mapping[str, str]) -> bool:
    return bool(files_md5) and all(reference.get(name) == md5 for name, md5 in files_md5.items())


def identify_copy(files_md5: Mapping[str, str], folder: str | os.PathLike,
                  batch_labels: list[str] | tuple[str, ...] = ()) -> str:
    """Name the data copy from the MD5s of the files read.

    ``"official"`` when every file matches the official release;
    ``"jpeg-q75-rebuild"`` when every file matches the ``MANIFEST.md5`` that the
    offline rebuild script wrote next to it; ``"synthetic"`` when the batches
    say they were written by :func:`bn.data.write_synthetic_cifar10`; else
    ``"unknown"``.
    """
    if _all_match(files_md5, OFFICIAL_FILE_MD5):
        return "official"
    if _all_match(files_md5, read_manifest(folder)):
        return f"jpeg-q{REBUILD_JPEG_QUALITY}-rebuild"
    if batch_labels and all(label.startswith("synthetic") for label in batch_labels):
        return "synthetic"
    return "unknown"
