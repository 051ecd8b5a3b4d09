"""Where a result came from: code commit, library versions, machine, time.

Every committed result file carries the dictionary built here, so a reader can
tell which code, libraries and hardware produced a number.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

_LIBRARIES = ("numpy", "sympy", "torch", "matplotlib")


def git_commit(repo: str | os.PathLike | None = None) -> dict[str, Any]:
    """Return ``{"commit": sha or None, "dirty": bool or None}`` for the repository holding ``repo``."""
    cwd = Path(repo) if repo is not None else Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                                capture_output=True, text=True, check=True).stdout
        return {"commit": sha, "dirty": bool(status.strip())}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def library_versions(names: tuple[str, ...] = _LIBRARIES) -> dict[str, str | None]:
    """Installed versions of the libraries a result depends on (None where absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_description() -> dict[str, Any]:
    """The machine: CPU model and count, torch threads, CUDA device when torch sees one.

    torch is only consulted if it is already imported, so that pure-NumPy
    callers never pay for importing it.
    """
    desc: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        desc["torch_threads"] = torch.get_num_threads()
        desc["cuda_available"] = bool(torch.cuda.is_available())
        if torch.cuda.is_available():
            desc["cuda_device"] = torch.cuda.get_device_name(0)
            desc["cuda_version"] = torch.version.cuda
    return desc


def collect_provenance(**extra: Any) -> dict[str, Any]:
    """Provenance for a result: commit, versions, device, UTC time, plus any ``extra`` fields.

    Typical extras: ``config``, ``seeds``, ``data`` (copy name and md5s), ``wall_time_s``.
    """
    prov: dict[str, Any] = {
        "code": git_commit(),
        "libraries": library_versions(),
        "device": device_description(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }
    prov.update(extra)
    return prov
