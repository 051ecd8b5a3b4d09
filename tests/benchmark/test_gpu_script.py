"""scripts/gpu_checks.sh: its CPU path (same steps, tiny sizes) runs and writes both result files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_checks.sh"


@pytest.mark.slow
def test_gpu_script_cpu_path_writes_parity_and_speed(tmp_path):
    proc = subprocess.run([str(SCRIPT), "--device", "cpu", "--out-dir", str(tmp_path), "--quick",
                           "--python", sys.executable], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    parity = json.loads((tmp_path / "parity_cpu.json").read_text())
    speed = json.loads((tmp_path / "speed_cpu.json").read_text())
    assert parity["all_passed"] and parity["autograd"] == {"gradcheck": True, "gradgradcheck": True}
    assert "torch_version" in parity and "provenance" in parity and "provenance" in speed
    assert speed["quick"] is True


@pytest.mark.slow
def test_gpu_script_refuses_cuda_without_a_gpu(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the refusal path does not apply")
    proc = subprocess.run([str(SCRIPT), "--device", "cuda", "--out-dir", str(tmp_path), "--python", sys.executable],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "no CUDA device" in proc.stderr
    assert not list(tmp_path.iterdir())
