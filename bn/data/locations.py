"""Where CIFAR-10 lives on disk: an argument, else ``BN_DATA_DIR``, else a per-user cache."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "BN_DATA_DIR"
BATCHES_FOLDER = "cifar-10-batches-py"


def default_cache_dir() -> Path:
    """The per-user cache folder, ``$XDG_CACHE_HOME/bn-book`` or ``~/.cache/bn-book``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "bn-book"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder that holds (or will hold) ``cifar-10-batches-py/``.

    Order: the ``data_dir`` argument, else the ``BN_DATA_DIR`` environment
    variable, else :func:`default_cache_dir`. A path that already *is* a
    ``cifar-10-batches-py`` folder is accepted and mapped to its parent, since
    that is an easy thing to pass by mistake.
    """
    chosen = data_dir if data_dir is not None else os.environ.get(ENV_VAR) or default_cache_dir()
    path = Path(chosen).expanduser().resolve()
    if path.name == BATCHES_FOLDER:
        path = path.parent
    return path


def batches_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``<data dir>/cifar-10-batches-py``, the folder the official archive unpacks to."""
    return resolve_data_dir(data_dir) / BATCHES_FOLDER
