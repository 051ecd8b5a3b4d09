"""Result files: JSON written atomically, found from a notebook, the repository root or Colab.

Results live in ``book/results/NAME.json`` and always hold a ``provenance`` key.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) that holds ``_config.yml``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "book").is_dir():
            return folder
    raise FileNotFoundError(f"no book repository (a folder with _config.yml and book/) at or above {here}")


def results_dir(start: str | os.PathLike | None = None) -> Path:
    """``book/results`` of the repository that holds ``start``."""
    return repo_root(start) / "book" / "results"


def save_result(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as indented JSON, atomically (a reader never sees half a file).

    Raises ValueError if the payload has no ``provenance``: the book never
    commits a result without it.
    """
    if "provenance" not in payload:
        raise ValueError("a result must carry a 'provenance' entry (see bn.provenance.collect_provenance)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=1, sort_keys=False, allow_nan=True)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a result file is meant to be read by anyone
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_result(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """Load a result by file path, or by bare name from ``book/results/NAME.json``."""
    p = Path(name_or_path)
    if p.suffix != ".json":
        p = results_dir() / f"{p.name}.json"
    with open(p) as f:
        return json.load(f)


def from_strict_dict(cls: type, d: dict[str, Any], what: str | None = None) -> Any:
    """``cls(**d)`` for a dataclass ``cls``, refusing a key it does not know or a required one that is missing.

    A misspelled key (``warmup_step`` for ``warmup_steps``) would otherwise be
    dropped or fail with an unhelpful ``TypeError``; fields that have a default
    may be left out.
    """
    import dataclasses

    what = what or cls.__name__
    if not isinstance(d, dict):
        raise TypeError(f"{what}: expected a dict, got {type(d).__name__}")
    fields = dataclasses.fields(cls)
    known = [f.name for f in fields]
    unknown = sorted(set(d) - set(known))
    required = [f.name for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    missing = [k for k in required if k not in d]
    if unknown or missing:
        parts = ([f"unknown key(s) {unknown}"] if unknown else []) + ([f"missing key(s) {missing}"] if missing else [])
        raise ValueError(f"{what}: {'; '.join(parts)} (the keys are {known})")
    return cls(**d)
