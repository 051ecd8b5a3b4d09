"""The CPU kernel configurations the book is tested under, emulated on this machine.

NumPy, OpenBLAS and torch pick their vector kernels at run time from the CPU
they find, and each kernel rounds sums in its own order. A stored output that
depends on the last digit would pass on the machine that executed the notebook
and fail on a reader's. To catch that before a reader does, CI runs the tests
under the machine's own kernels and under other machines' kernels, selected by
environment variables:

- ``OPENBLAS_CORETYPE``: the BLAS kernel NumPy's OpenBLAS uses (Prescott is
  plain SSE3, as on the oldest x86-64; Haswell is AVX2; SkylakeX AVX-512);
- ``ATEN_CPU_CAPABILITY``: torch's vectorized kernels (``default`` is
  unvectorized, a stand-in for ARM);
- ``NPY_DISABLE_CPU_FEATURES``: NumPy's dispatched SIMD paths;
- ``OMP_NUM_THREADS``: torch's and OpenBLAS's thread count, which changes how
  reductions are split.

A configuration may only ask for kernels this CPU can run: a kernel that needs
AVX-512 stops a machine without it with an illegal instruction.

    python scripts/kernels.py names          the configurations for this CPU, one per line
    python scripts/kernels.py env NAME       NAME's variables as shell assignments
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bn.provenance import cpu_flags  # noqa: E402  (the one reader of /proc/cpuinfo)

# NumPy 2's dispatch groups above the x86-64-v2 baseline (AVX2 and AVX-512 levels).
NUMPY_X86_DISPATCH = ("X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR")


def configurations(flags: set[str], machine: str | None = None,
                   cores: int | None = None) -> dict[str, dict[str, str]]:
    """Named kernel configurations runnable on a CPU with ``flags``: name -> environment.

    ``native`` is the machine as it is. On x86-64 there are two emulated others:
    ``generic`` (SSE3 BLAS, unvectorized torch, NumPy at its baseline, one thread:
    the oldest x86-64, and the nearest this machine gets to ARM) and a second one
    a vector width away from the native kernels: AVX2 kernels on an AVX-512 CPU,
    AVX (Sandy Bridge) BLAS with torch's AVX2 kernels on an AVX2 CPU.
    """
    machine = machine or platform.machine()
    cores = cores or os.cpu_count() or 1
    configs: dict[str, dict[str, str]] = {"native": {"OMP_NUM_THREADS": str(min(cores, 2))}}
    if machine not in ("x86_64", "AMD64"):
        configs["one-thread"] = {"OMP_NUM_THREADS": "1"}
        return configs
    configs["generic"] = {
        "OPENBLAS_CORETYPE": "Prescott",
        "ATEN_CPU_CAPABILITY": "default",
        "NPY_DISABLE_CPU_FEATURES": ",".join(NUMPY_X86_DISPATCH),
        "OMP_NUM_THREADS": "1",
    }
    if "avx512f" in flags:
        configs["avx2"] = {
            "OPENBLAS_CORETYPE": "Haswell",
            "ATEN_CPU_CAPABILITY": "avx2",
            "NPY_DISABLE_CPU_FEATURES": ",".join(NUMPY_X86_DISPATCH[1:]),
            "OMP_NUM_THREADS": "1",
        }
    elif "avx2" in flags:
        configs["avx"] = {
            "OPENBLAS_CORETYPE": "Sandybridge",
            "ATEN_CPU_CAPABILITY": "avx2",
            "OMP_NUM_THREADS": "1",
        }
    return configs


def pinned() -> dict[str, str]:
    """The configuration ``make execute`` stores outputs under: the same on every x86-64 machine."""
    configs = configurations(cpu_flags())
    return configs.get("generic", configs["native"])


def shell_assignments(env: dict[str, str]) -> str:
    """``env`` as ``NAME=value`` words (values have no spaces) for a shell command line."""
    return " ".join(f"{k}={v}" for k, v in env.items())


def main(argv: list[str]) -> int:
    configs = configurations(cpu_flags())
    if argv == ["names"]:
        print("\n".join(configs))
        return 0
    if len(argv) == 2 and argv[0] == "env":
        if argv[1] == "pinned":
            print(shell_assignments(pinned()))
            return 0
        if argv[1] not in configs:
            print(f"kernels.py: no configuration {argv[1]!r} on this CPU (have: {', '.join(configs)})",
                  file=sys.stderr)
            return 2
        print(shell_assignments(configs[argv[1]]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
