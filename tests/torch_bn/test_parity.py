"""bn.functional (NumPy) against PyTorch: every parity check within its stated tolerance."""

import json

import numpy as np
import pytest

from bn.gradcheck.tolerances import PARITY_TOLERANCES
from bn.torch_bn import parity


def test_every_check_is_described_and_the_descriptions_match_the_committed_result():
    from bn.results import load_result

    rows = parity.run_parity("cpu", dtypes=("float64",), cases=parity.CASES[:1])
    committed = {r["check"]: r["description"] for r in load_result("parity_cpu")["checks"]}
    assert {r["check"]: r["description"] for r in rows} == committed


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_check_within_tolerance(device, dtype):
    rows = parity.run_parity(device, dtypes=(dtype,))
    names = {r["check"] for r in rows}
    # Each family contributes: forward/backward, staged, Function, running stats
    # (both momenta, num_batches_tracked), eval, both foldings.
    assert {"numpy_y", "numpy_dx", "numpy_staged_dx", "function_dx", "numpy_running_var_m0.1",
            "numpy_running_var_cumulative", "num_batches_tracked_cumulative", "numpy_eval_y",
            "fold_conv_weight", "fold_conv_output", "fold_linear_bias"} <= names
    failed = {r["check"]: r["max_rel_error"] for r in rows if not r["passed"]}
    assert not failed, failed
    assert all(r["tolerance"] == PARITY_TOLERANCES[dtype] for r in rows)


def test_a_wrong_implementation_is_caught(device, monkeypatch):
    # The harness must be able to fail: perturb NumPy's dx by 1e-9 relative
    # (tiny, but 1000x the float64 tolerance) and the dx check must flag it.
    real = parity.bnf.batch_norm_backward

    def off(dy, cache):
        dx, dg, db = real(dy, cache)
        return dx * (1 + 1e-9), dg, db

    monkeypatch.setattr(parity.bnf, "batch_norm_backward", off)
    rows = {r["check"]: r for r in parity.run_parity(device, dtypes=("float64",), cases=parity.CASES[:1])}
    assert not rows["numpy_dx"]["passed"]
    assert rows["numpy_y"]["passed"]


def test_autograd_checks_pass(device):
    assert parity.autograd_checks(device) == {"gradcheck": True, "gradgradcheck": True}


def test_cli_writes_result_with_provenance(tmp_path):
    out = tmp_path / "parity.json"
    parity.main(["--device", "cpu", "--out", str(out)])
    data = json.loads(out.read_text())
    assert data["all_passed"] is True
    assert "provenance" in data and data["device"] == "cpu"
    assert np.isfinite([r["max_rel_error"] for r in data["checks"]]).all()
