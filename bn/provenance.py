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
        # Result files are outputs, not code: an experiment written while an earlier one's result is
        # still uncommitted in the same tree ran committed code all the same.
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                 ":(top)", ":(top,exclude)book/results"], cwd=cwd,
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


# The environment variables that select kernels or thread counts (scripts/kernels.py sets them).
KERNEL_ENV_VARS = ("OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY", "NPY_DISABLE_CPU_FEATURES",
                   "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ONEDNN_MAX_CPU_ISA")
# The CPU features that decide which vector kernels oneDNN, ATen and OpenBLAS can pick.
_SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
               "amx_tile", "asimd", "sve")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags, from ``cpuinfo`` text or /proc/cpuinfo (empty where unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def _numpy_kernels() -> dict[str, Any]:
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return {}
    out: dict[str, Any] = {}
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
        out["numpy_simd"] = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    except ImportError:  # numpy 1.x keeps the same tables under numpy.core
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
        out["numpy_simd"] = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return out
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if blas:
        out["blas"] = {k: blas[0].get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
    return out


def kernel_description() -> dict[str, Any]:
    """What decides the bits of a floating-point result here, beyond the code and its inputs.

    The same code on the same inputs gives bit-identical results only under the
    same kernels: torch's CPU capability (its vectorized kernels), its thread
    count, the CPU's vector extensions (oneDNN picks its own kernels from them),
    NumPy's SIMD paths and OpenBLAS's kernel, and the library versions. The CPU
    model name says none of this. torch and NumPy are consulted only if already
    imported.
    """
    flags = cpu_flags()
    desc: dict[str, Any] = {
        "machine": platform.machine(),
        "cpu_simd": [f for f in _SIMD_FLAGS if f in flags],
        "env": {k: os.environ[k] for k in KERNEL_ENV_VARS if k in os.environ},
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        desc["torch"] = torch.__version__
        desc["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        desc["torch_threads"] = torch.get_num_threads()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        desc["numpy"] = numpy.__version__
        desc.update(_numpy_kernels())
    return desc


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
        "kernels": kernel_description(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }
    prov.update(extra)
    return prov

