"""A tiny, learnable stand-in for CIFAR-10 in the exact official layout.

Tests and smoke runs need data that (a) is read by the same code path as the
real files and (b) lets a few training steps show progress. Each class gets
its own smooth colour pattern; an image is its class pattern plus noise, so a
small network separates the classes within a few dozen steps.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from bn.data.cifar10 import META_FILE, NUM_CLASSES, PIXELS, TEST_FILES, TRAIN_FILES
from bn.data.locations import BATCHES_FOLDER

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck"]


def class_patterns(rng: np.random.Generator) -> np.ndarray:
    """(10, 3, 32, 32) float patterns in [0, 255]: a random low-frequency wave per class and channel."""
    yy, xx = np.meshgrid(np.linspace(0, 1, 32), np.linspace(0, 1, 32), indexing="ij")
    freq = rng.uniform(0.5, 2.5, size=(NUM_CLASSES, 3, 2))
    phase = rng.uniform(0, 2 * np.pi, size=(NUM_CLASSES, 3))
    waves = np.sin(2 * np.pi * (freq[..., 0, None, None] * yy + freq[..., 1, None, None] * xx)
                   + phase[..., None, None])
    return 127.5 + 100.0 * waves


def synthetic_images(labels: np.ndarray, patterns: np.ndarray, rng: np.random.Generator,
                     noise_std: float = 40.0) -> np.ndarray:
    """(N, 3072) uint8 rows: each image its class pattern plus Gaussian pixel noise."""
    noisy = patterns[labels] + rng.normal(0.0, noise_std, size=(labels.size, *patterns.shape[1:]))
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8).reshape(labels.size, PIXELS)


def _write_batch(path: Path, batch_label: str, data: np.ndarray, labels: np.ndarray, start: int) -> None:
    # Bytes keys and bytes strings, as Python 3 sees the official Python 2 pickles.
    batch = {
        b"batch_label": batch_label.encode(),
        b"labels": [int(v) for v in labels],
        b"data": np.ascontiguousarray(data),
        b"filenames": [f"synthetic_{start + i:06d}.png".encode() for i in range(labels.size)],
    }
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def write_synthetic_cifar10(out_dir: str | os.PathLike, n_train: int = 500, n_test: int = 100,
                            seed: int = 0, noise_std: float = 40.0) -> Path:
    """Write ``out_dir/cifar-10-batches-py`` with a small synthetic CIFAR-10; return that folder.

    Same files, keys and dtypes as the official release: ``data_batch_1..5``
    (``n_train`` images split as evenly as possible), ``test_batch`` and
    ``batches.meta``. Every ``batch_label`` starts with ``"synthetic"``, which
    is how :func:`bn.data.load_cifar10` reports ``copy == "synthetic"``.
    Labels cycle through the classes in a shuffled order, so every class
    appears once ``n >= 10``.
    """
    if n_train < len(TRAIN_FILES) or n_test < 1:
        raise ValueError(f"need n_train >= {len(TRAIN_FILES)} (one per batch file) and n_test >= 1")
    rng = np.random.default_rng(seed)
    patterns = class_patterns(rng)
    folder = Path(out_dir) / BATCHES_FOLDER
    folder.mkdir(parents=True, exist_ok=True)

    def labels_for(n: int) -> np.ndarray:
        return rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.int64)

    train_labels = labels_for(n_train)
    train_data = synthetic_images(train_labels, patterns, rng, noise_std)
    bounds = np.linspace(0, n_train, len(TRAIN_FILES) + 1).astype(int)
    for i, name in enumerate(TRAIN_FILES):
        s = slice(bounds[i], bounds[i + 1])
        _write_batch(folder / name, f"synthetic training batch {i + 1} of {len(TRAIN_FILES)}",
                     train_data[s], train_labels[s], bounds[i])
    test_labels = labels_for(n_test)
    _write_batch(folder / TEST_FILES[0], "synthetic testing batch 1 of 1",
                 synthetic_images(test_labels, patterns, rng, noise_std), test_labels, n_train)
    meta = {b"label_names": [c.encode() for c in CLASS_NAMES],
            b"num_cases_per_batch": int(bounds[1]), b"num_vis": PIXELS}
    with open(folder / META_FILE, "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return folder


def pack_cifar10_archive(batches_folder: str | os.PathLike, archive_path: str | os.PathLike) -> str:
    """Pack a ``cifar-10-batches-py`` folder into a tar.gz shaped like the official one; return its MD5.

    Members are stored as ``cifar-10-batches-py/<file>``. Ownership, times
    and the gzip header are fixed, so the same folder always gives the same
    bytes and the same MD5.
    """
    folder = Path(batches_folder)
    archive = Path(archive_path)
    archive.parent.mkdir(parents=True, exist_ok=True)

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        info.mode = 0o755 if info.isdir() else 0o644
        return info

    with open(archive, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(folder, arcname=BATCHES_FOLDER, recursive=False, filter=normalise)
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=f"{BATCHES_FOLDER}/{path.name}", filter=normalise)
    return hashlib.md5(archive.read_bytes()).hexdigest()
