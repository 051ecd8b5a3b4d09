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


@pytest.fixture(scope="session")
def synthetic_dir_large(tmp_path_factory):
    """Enough training images for the pitfalls study's 100 batches of 64 (its momentum measurement)."""
    root = tmp_path_factory.mktemp("cifar_large")
    write_synthetic_cifar10(root, n_train=6600, n_test=200, seed=0)
    return root


@pytest.fixture
def smoke_run(synthetic_dir, tmp_path):
    """``smoke_run(name, *flags, data_dir=None)``: the study ``name`` run by the one command under its smoke
    profile on the synthetic data (``data_dir``, default the small copy); returns its result file, loaded."""
    import json

    from bn.experiments.__main__ import main

    def run(name, *flags, data_dir=None):
        out = tmp_path / f"{name}.json"
        assert main(["run", name, "--profile", "smoke", "--data-dir", str(data_dir or synthetic_dir),
                     "--out", str(out), "--no-progress", *flags]) == 0
        result = json.loads(out.read_text())
        _check_own_records(result)
        return result
    return run


def _check_own_records(result):
    """What every result of a study with its own run records holds: it loads strictly, its seeds are those
    its runs used (arm by arm, in ``seeds_run``), and the provenance names them."""
    from bn.experiments import OWN_RECORDS, ExperimentResult

    res = ExperimentResult.from_dict(result)
    assert res.profile == "smoke" and res.provenance["cpu_time_s"] > 0
    if res.experiment in OWN_RECORDS:
        assert res.runs == [] and res.measures["runs"]
        assert res.seeds_run and res.seeds == sorted({s for v in res.seeds_run.values() for s in v})
        assert res.provenance["seeds"] == res.seeds
