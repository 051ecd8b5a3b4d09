import json
import os
import subprocess
import sys

import pytest

from bn import provenance, results


def test_save_result_refuses_payload_without_provenance(tmp_path):
    with pytest.raises(ValueError, match="provenance"):
        results.save_result(tmp_path / "r.json", {"config": {}})
    assert not (tmp_path / "r.json").exists()


def test_save_then_load_round_trip(tmp_path):
    payload = {"config": {"lr": 0.1}, "provenance": provenance.collect_provenance(seeds=[0, 1])}
    path = results.save_result(tmp_path / "sub" / "r.json", payload)
    assert results.load_result(path) == json.loads(json.dumps(payload))
    assert [p.name for p in path.parent.iterdir()] == ["r.json"], "temporary file left behind"


def test_repo_root_found_from_a_chapter_folder():
    root = results.repo_root()
    assert (root / "_config.yml").is_file()
    assert results.repo_root(root / "book" / "results") == root


def test_repo_root_outside_a_repository_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="_config.yml"):
        results.repo_root(tmp_path)


def test_provenance_names_commit_versions_device():
    prov = provenance.collect_provenance(wall_time_s=1.5)
    assert set(prov) >= {"code", "libraries", "device", "created_utc", "wall_time_s"}
    assert prov["libraries"]["numpy"] and prov["libraries"]["python"]
    assert prov["code"]["commit"] is None or len(prov["code"]["commit"]) == 40
    assert prov["device"]["cpu_count"] >= 1


def test_provenance_does_not_import_torch():
    code = "import sys, bn.provenance as p; p.collect_provenance(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_provenance_records_the_kernels_that_decide_the_bits():
    import numpy  # noqa: F401  (consulted only when imported)
    import torch

    kern = provenance.collect_provenance()["kernels"]
    assert kern["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert kern["torch_threads"] == torch.get_num_threads() and kern["torch"] == torch.__version__
    assert isinstance(kern["cpu_simd"], list) and isinstance(kern["numpy_simd"], list)
    assert kern["blas"]["internal_api"] in ("openblas", "mkl", "blis", "accelerate")


def test_kernel_description_sees_the_emulation_variables():
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "OPENBLAS_CORETYPE": "Prescott"}
    code = ("import json, numpy, torch, bn.provenance as p; k = p.kernel_description(); "
            "print(json.dumps([k['torch_cpu_capability'], k['env'], k['blas']['architecture']]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    capability, seen, blas = __import__("json").loads(out)
    assert capability == "DEFAULT"
    assert seen["ATEN_CPU_CAPABILITY"] == "default" and seen["OPENBLAS_CORETYPE"] == "Prescott"
    assert blas != "Haswell"


def test_cpu_flags_reads_x86_and_arm_cpuinfo():
    assert provenance.cpu_flags("processor : 0\nflags\t\t: fpu avx2 fma\n") == {"fpu", "avx2", "fma"}
    assert provenance.cpu_flags("Features\t: fp asimd sve\n") == {"fp", "asimd", "sve"}
    assert provenance.cpu_flags("nothing here\n") == set()
