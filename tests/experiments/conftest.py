"""A small synthetic CIFAR-10 in the official layout (CI has no CIFAR) and one torch thread.

One thread: CPU results are bitwise reproducible only at a fixed thread count,
and the tests must not compete for the machine's cores.
"""

import pytest
import torch

from bn.data import write_synthetic_cifar10


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    write_synthetic_cifar10(root, n_train=600, n_test=200, seed=0)
    return root


@pytest.fixture
def smoke_run(synthetic_dir, tmp_path):
    """``smoke_run(name, *flags)``: the study ``name`` run by the one command under its smoke profile on the
    synthetic data; returns the result file it wrote, loaded."""
    import json

    from bn.experiments.__main__ import main

    def run(name, *flags):
        out = tmp_path / f"{name}.json"
        assert main(["run", name, "--profile", "smoke", "--data-dir", str(synthetic_dir), "--out", str(out),
                     "--no-progress", *flags]) == 0
        return json.loads(out.read_text())
    return run
