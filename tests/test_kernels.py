"""scripts/kernels.py: the kernel configurations CI emulates, and only those the CPU can run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import load_script

REPO = Path(__file__).resolve().parent.parent
kernels = load_script("kernels")

AVX2 = {"sse4_2", "avx", "avx2", "fma"}
AVX512 = AVX2 | {"avx512f", "avx512bw"}


def test_an_avx2_cpu_never_asks_for_avx512_kernels():
    configs = kernels.configurations(AVX2, machine="x86_64", cores=2)
    assert list(configs) == ["native", "generic", "avx"]
    for env in configs.values():
        assert env.get("OPENBLAS_CORETYPE") not in ("SkylakeX", "Cooperlake", "SapphireRapids")
        assert env.get("ATEN_CPU_CAPABILITY") != "avx512"
    assert configs["generic"]["ATEN_CPU_CAPABILITY"] == "default"
    assert configs["generic"]["OMP_NUM_THREADS"] == "1" and configs["native"]["OMP_NUM_THREADS"] == "2"


def test_an_avx512_cpu_also_runs_the_avx2_kernels():
    configs = kernels.configurations(AVX512, machine="x86_64", cores=8)
    assert list(configs) == ["native", "generic", "avx2"]
    assert configs["avx2"]["ATEN_CPU_CAPABILITY"] == "avx2"
    assert "X86_V4" in configs["avx2"]["NPY_DISABLE_CPU_FEATURES"]
    assert "X86_V3" not in configs["avx2"]["NPY_DISABLE_CPU_FEATURES"]


def test_arm_varies_only_the_thread_count():
    configs = kernels.configurations({"asimd"}, machine="aarch64", cores=4)
    assert configs == {"native": {"OMP_NUM_THREADS": "2"}, "one-thread": {"OMP_NUM_THREADS": "1"}}


def test_values_have_no_spaces_so_the_makefile_can_pass_them_to_env():
    for flags in (AVX2, AVX512):
        for env in kernels.configurations(flags, machine="x86_64").values():
            assert all(" " not in v for v in env.values())


def test_each_configuration_really_selects_its_kernels():
    """The variables take effect: torch reports the capability, OpenBLAS the core type."""
    pytest.importorskip("threadpoolctl")
    env = kernels.configurations(kernels.cpu_flags())["generic"] if sys.platform == "linux" else None
    if env is None or "ATEN_CPU_CAPABILITY" not in env:
        pytest.skip("no emulated configuration on this machine")
    code = ("import torch, numpy, threadpoolctl; print(torch.backends.cpu.get_cpu_capability()); "
            "print([i.get('architecture') for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'])")
    out = subprocess.run([sys.executable, "-c", code], env={**__import__("os").environ, **env},
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "DEFAULT"
    assert "Haswell" not in out[1] and "SkylakeX" not in out[1]


def test_unknown_configuration_is_a_one_line_error():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "kernels.py"), "env", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_make_book_installs_no_torch():
    """`make book` installs requirements-book.txt only, which names none of the book's code dependencies."""
    names = {line.split(">")[0].split("=")[0].split("<")[0].strip().lower()
             for line in (REPO / "requirements-book.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")}
    assert "jupyter-book" in names
    assert not names & {"torch", "numpy", "sympy", "matplotlib", "bn-book"}
    dry = subprocess.run(["make", "-n", "-B", "book"], cwd=REPO, capture_output=True, text=True).stdout
    assert "requirements-book.txt" in dry and "requirements.txt" not in dry.replace("requirements-book.txt", "")
    assert "torch" not in dry
