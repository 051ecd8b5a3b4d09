"""Read CIFAR-10 from the official ``cifar-10-batches-py`` layout.

The official archive unpacks to ``cifar-10-batches-py/`` with five training
batches ``data_batch_1`` .. ``data_batch_5``, one ``test_batch`` and
``batches.meta``. Each batch is a pickled dict: ``data`` (N x 3072 uint8, each
row the red, green and blue 32 x 32 planes in turn), ``labels`` (N ints in
0..9), ``filenames`` and ``batch_label``; ``batches.meta`` holds
``label_names``. The official files are Python 2 pickles, so their keys come
back as bytes; the offline rebuild writes Python 3 pickles with str keys.
Both are read the same way here.
"""

from __future__ import annotations

import importlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bn.data.checksums import CIFAR10_URL, identify_copy, md5_of_file
from bn.data.errors import CifarDataError
from bn.data.locations import BATCHES_FOLDER, ENV_VAR, resolve_data_dir

TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILES = ("test_batch",)
META_FILE = "batches.meta"
IMAGE_SHAPE_CHW = (3, 32, 32)
PIXELS = 3 * 32 * 32
NUM_CLASSES = 10

Split = Literal["train", "test"]
Layout = Literal["NHWC", "NCHW"]


@dataclass(frozen=True, eq=False, repr=False)
class Cifar10Split:
    """One split of CIFAR-10 as arrays, plus what is needed to name the copy it came from.

    ``images`` is uint8, (N, 32, 32, 3) for NHWC or (N, 3, 32, 32) for NCHW;
    ``labels`` is int64 (N,); ``files_md5`` maps every file read to its MD5;
    ``copy`` is ``"official"``, ``"jpeg-q75-rebuild"``, ``"synthetic"`` or
    ``"unknown"``; ``data_dir`` is the folder holding ``cifar-10-batches-py``.
    """

    split: str
    layout: str
    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    files_md5: dict[str, str]
    copy: str
    data_dir: Path
    batch_labels: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        return (f"Cifar10Split(split={self.split!r}, n={len(self)}, layout={self.layout!r}, "
                f"images={self.images.shape} {self.images.dtype}, copy={self.copy!r}, "
                f"data_dir={str(self.data_dir)!r})")

    def provenance(self) -> dict[str, Any]:
        """``{"copy", "files_md5", "path"}``: what a result file records about its data."""
        return {"copy": self.copy, "files_md5": dict(self.files_md5),
                "path": str(self.data_dir / BATCHES_FOLDER)}


def data_provenance(split: Cifar10Split) -> dict[str, Any]:
    """``{"copy", "files_md5", "path"}`` for ``collect_provenance(data=...)``."""
    return split.provenance()


# The only globals a CIFAR-10 pickle needs: numpy's array and scalar
# reconstruction (under numpy 1's and numpy 2's module names, for pickle
# protocols 2 to 5). Refusing everything else means a tampered download cannot run code.
_NUMPY_HELPERS = {"_reconstruct": "multiarray", "scalar": "multiarray", "_frombuffer": "numeric"}
_ALLOWED_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")} | {
    (f"numpy.{core}.{sub}", name) for name, sub in _NUMPY_HELPERS.items() for core in ("core", "_core")}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        if name in _NUMPY_HELPERS:
            # Python 2 pickles name numpy.core, which numpy 2 renamed numpy._core.
            sub = _NUMPY_HELPERS[name]
            try:
                return getattr(importlib.import_module(f"numpy._core.{sub}"), name)
            except (ImportError, AttributeError):  # numpy < 2
                return getattr(importlib.import_module(f"numpy.core.{sub}"), name)
        return super().find_class(module, name)


def _str_keys(obj: dict) -> dict[str, Any]:
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _as_text(value: Any) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else str(value)


def _unpickle(path: Path) -> dict[str, Any]:
    """Load one batch file; every way it can be broken becomes a CifarDataError."""
    try:
        with open(path, "rb") as f:
            obj = _ArrayOnlyUnpickler(f, encoding="bytes").load()
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError, MemoryError) as exc:
        raise CifarDataError(
            f"CIFAR-10 file {path} is truncated or corrupt ({type(exc).__name__}: {exc}). "
            f"Delete the folder {path.parent} and load again with download=True (or download "
            f"{CIFAR10_URL} by hand and unpack it there)."
        ) from exc
    if not isinstance(obj, dict):
        raise CifarDataError(f"CIFAR-10 file {path} holds a {type(obj).__name__}, not the "
                             f"dict of the official layout. Delete {path.parent} and download again.")
    return _str_keys(obj)


def _batch_arrays(path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """``(data (N, 3072) uint8, labels (N,) int64, batch_label)`` of one batch, checked."""
    batch = _unpickle(path)
    missing = {"data", "labels"} - batch.keys()
    if missing:
        raise CifarDataError(f"CIFAR-10 file {path} lacks {sorted(missing)}; it is not an official "
                             f"batch. Delete {path.parent} and download again.")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        raise CifarDataError(f"CIFAR-10 file {path} has data of shape {data.shape} and dtype "
                             f"{data.dtype}; expected (N, {PIXELS}) uint8. The file is truncated or "
                             f"not from the official archive: delete {path.parent} and download again.")
    if labels.shape != (data.shape[0],) or (labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES)):
        raise CifarDataError(f"CIFAR-10 file {path} has {labels.shape[0]} labels for {data.shape[0]} "
                             f"images (or labels outside 0..9). Delete {path.parent} and download again.")
    return data, labels, _as_text(batch.get("batch_label", ""))


def read_class_names(folder: Path) -> list[str]:
    """The ten class names from ``batches.meta``."""
    meta = _unpickle(folder / META_FILE)
    names = [_as_text(n) for n in meta.get("label_names", [])]
    if len(names) != NUM_CLASSES:
        raise CifarDataError(f"{folder / META_FILE} lists {len(names)} class names, expected "
                             f"{NUM_CLASSES}. Delete {folder} and download again.")
    return names


def _split_files(split: str) -> tuple[str, ...]:
    if split == "train":
        return TRAIN_FILES
    if split == "test":
        return TEST_FILES
    raise ValueError(f"split must be 'train' or 'test', not {split!r}")


def check_layout(folder: Path, split: str) -> None:
    """Raise CifarDataError naming the missing files if ``folder`` lacks the official layout."""
    needed = (*_split_files(split), META_FILE)
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise CifarDataError(
            f"{folder} exists but lacks {', '.join(missing)} (found: {', '.join(present) or 'nothing'}); "
            f"it is not the official cifar-10-batches-py layout (data_batch_1..5, test_batch, "
            f"batches.meta). Delete or move it and load again with download=True, or point "
            f"data_dir / {ENV_VAR} at a folder that holds a complete cifar-10-batches-py/."
        )


def to_layout(flat: np.ndarray, layout: str) -> np.ndarray:
    """Rows of 3072 planar RGB bytes to (N, 32, 32, 3) ``"NHWC"`` or (N, 3, 32, 32) ``"NCHW"``."""
    chw = flat.reshape(-1, *IMAGE_SHAPE_CHW)
    if layout == "NCHW":
        return chw
    if layout == "NHWC":
        # A contiguous copy: later code (torch, plotting) is faster on it than on a view.
        return np.ascontiguousarray(chw.transpose(0, 2, 3, 1))
    raise ValueError(f"layout must be 'NHWC' or 'NCHW', not {layout!r}")


def read_split(folder: Path, split: str, layout: str = "NHWC") -> Cifar10Split:
    """Read one split from an existing ``cifar-10-batches-py`` folder (no download)."""
    files = _split_files(split)
    to_layout(np.zeros((0, PIXELS), np.uint8), layout)  # reject a bad layout before reading 150 MB
    check_layout(folder, split)
    classes = read_class_names(folder)
    datas, labels, batch_labels = [], [], []
    for name in files:
        d, lab, bl = _batch_arrays(folder / name)
        datas.append(d)
        labels.append(lab)
        batch_labels.append(bl)
    files_md5 = {name: md5_of_file(folder / name) for name in (*files, META_FILE)}
    return Cifar10Split(
        split=split, layout=layout,
        images=to_layout(np.concatenate(datas), layout),
        labels=np.concatenate(labels),
        classes=classes, files_md5=files_md5,
        copy=identify_copy(files_md5, folder, batch_labels),
        data_dir=folder.parent, batch_labels=tuple(batch_labels),
    )


def load_cifar10(split: Split = "train", data_dir: str | os.PathLike | None = None,
                 layout: Layout = "NHWC", download: bool = True, **download_kwargs: Any) -> Cifar10Split:
    """Load the CIFAR-10 ``"train"`` (50,000) or ``"test"`` (10,000) split.

    The data folder is ``data_dir``, else ``$BN_DATA_DIR``, else
    ``~/.cache/bn-book``; it holds ``cifar-10-batches-py/``. When that folder
    is absent and ``download`` is true, the official archive is downloaded,
    MD5-verified and unpacked first (``download_kwargs`` go to
    :func:`bn.data.download_cifar10`, e.g. ``url``, ``md5``, ``progress``).
    Raises :class:`CifarDataError` with what to do for every failure.
    """
    _split_files(split)
    root = resolve_data_dir(data_dir)
    folder = root / BATCHES_FOLDER
    if not folder.exists():
        if not download:
            raise CifarDataError(
                f"CIFAR-10 not found: {folder} does not exist. Load with download=True, or set "
                f"{ENV_VAR} (or pass data_dir) to the folder that holds cifar-10-batches-py/."
            )
        from bn.data.download import download_cifar10
        download_cifar10(root, **download_kwargs)
    return read_split(folder, split, layout)
