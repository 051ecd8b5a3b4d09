"""Every bad data case raises CifarDataError with a message that says what to do.

No test touches the network: "no network" is a closed port on 127.0.0.1 or a
missing file:// path; downloads are served from generated archives.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import socket
import tarfile
from pathlib import Path

import numpy as np
import pytest

from bn.data import CifarDataError, download_cifar10, load_cifar10, write_synthetic_cifar10


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # the socket is closed now, so nothing listens there: connection refused
    return f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize("where", ["closed-port", "missing-file"])
def test_no_network(tmp_path, where):
    # the port is picked inside the test: pytest-xdist workers must collect identical test ids
    url = _closed_port_url() if where == "closed-port" else "file:///nonexistent/cifar-10-python.tar.gz"
    with pytest.raises(CifarDataError, match="could not download") as err:
        load_cifar10("train", data_dir=tmp_path, url=url, progress=False, timeout=5)
    msg = str(err.value)
    assert "by hand" in msg and "BN_DATA_DIR" in msg and url in msg
    assert _leftovers(tmp_path) == []  # no partial file is left to be mistaken for data


def test_corrupt_download_md5_mismatch(tmp_path, synthetic_archive):
    archive, md5 = synthetic_archive
    wrong = "0" * 32
    with pytest.raises(CifarDataError, match=f"corrupt: md5 {md5}, expected {wrong}") as err:
        load_cifar10("test", data_dir=tmp_path / "d", url=archive.as_uri(), md5=wrong, progress=False)
    assert "not kept" in str(err.value)
    assert _leftovers(tmp_path / "d") == []


def test_corrupt_archive_already_on_disk(tmp_path, synthetic_archive):
    archive, md5 = synthetic_archive
    root = tmp_path / "d"
    root.mkdir()
    (root / "cifar-10-python.tar.gz").write_bytes(archive.read_bytes()[:1000])  # cut-off download
    with pytest.raises(CifarDataError, match="corrupt or incomplete.*Delete it"):
        load_cifar10("test", data_dir=root, url=archive.as_uri(), md5=md5, progress=False)
    assert not (root / "cifar-10-batches-py").exists()


def test_archive_that_is_not_a_tar(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not a gzip file" * 100)
    md5 = hashlib.md5(junk.read_bytes()).hexdigest()
    with pytest.raises(CifarDataError, match="not a readable tar.gz"):
        download_cifar10(tmp_path / "d", url=junk.as_uri(), md5=md5, progress=False)
    assert not (tmp_path / "d" / "cifar-10-batches-py").exists()


def _tar_with(path: Path, name: str, kind: bytes = tarfile.REGTYPE) -> str:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name,kind", [("cifar-10-batches-py/../../evil", tarfile.REGTYPE),
                                       ("/tmp/evil", tarfile.REGTYPE),
                                       ("cifar-10-batches-py/link", tarfile.SYMTYPE)])
def test_unsafe_archive_is_not_unpacked(tmp_path, name, kind):
    bad = tmp_path / "bad.tar.gz"
    md5 = _tar_with(bad, name, kind)
    with pytest.raises(CifarDataError, match="unsafe entry"):
        download_cifar10(tmp_path / "d", url=bad.as_uri(), md5=md5, progress=False)
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path / "d" / "cifar-10-batches-py").exists()


def test_archive_without_the_batches_folder(tmp_path):
    bad = tmp_path / "other.tar.gz"
    md5 = _tar_with(bad, "something-else/data_batch_1")
    with pytest.raises(CifarDataError, match="outside cifar-10-batches-py"):
        download_cifar10(tmp_path / "d", url=bad.as_uri(), md5=md5, progress=False)


def test_truncated_batch_file(synthetic_root):
    path = synthetic_root / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CifarDataError, match="data_batch_3 is truncated or corrupt") as err:
        load_cifar10("train", data_dir=synthetic_root)
    assert "Delete the folder" in str(err.value) and "download=True" in str(err.value)


def test_batch_with_wrong_array_shape(synthetic_root):
    path = synthetic_root / "cifar-10-batches-py" / "test_batch"
    bad = {b"batch_label": b"x", b"labels": [0, 1], b"data": np.zeros((2, 1000), np.uint8)}
    path.write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(CifarDataError, match=r"shape \(2, 1000\).*expected \(N, 3072\) uint8"):
        load_cifar10("test", data_dir=synthetic_root)


def test_batch_with_label_count_mismatch(synthetic_root):
    path = synthetic_root / "cifar-10-batches-py" / "test_batch"
    bad = {b"batch_label": b"x", b"labels": [0], b"data": np.zeros((2, 3072), np.uint8)}
    path.write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(CifarDataError, match="1 labels for 2 images"):
        load_cifar10("test", data_dir=synthetic_root)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickle_with_foreign_code_is_refused(synthetic_root, capsys):
    path = synthetic_root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({b"data": _Evil()}, protocol=2))
    with pytest.raises(CifarDataError, match=r"refusing to load global (__builtin__|builtins)\.print"):
        load_cifar10("test", data_dir=synthetic_root)
    assert "must never run" not in capsys.readouterr().out


def test_wrong_layout_missing_file(synthetic_root):
    (synthetic_root / "cifar-10-batches-py" / "data_batch_2").unlink()
    with pytest.raises(CifarDataError, match="exists but lacks data_batch_2") as err:
        load_cifar10("train", data_dir=synthetic_root)
    msg = str(err.value)
    assert "data_batch_1" in msg and "download=True" in msg and "BN_DATA_DIR" in msg
    # the test split does not need data_batch_2, so it still loads
    assert len(load_cifar10("test", data_dir=synthetic_root)) == 20


def test_wrong_layout_other_files(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "train.npz").write_bytes(b"")
    with pytest.raises(CifarDataError, match=r"lacks test_batch, batches.meta \(found: train.npz\)"):
        load_cifar10("test", data_dir=tmp_path)


def test_absent_without_download(tmp_path):
    with pytest.raises(CifarDataError, match="does not exist.*download=True.*BN_DATA_DIR"):
        load_cifar10("test", data_dir=tmp_path, download=False)


def test_meta_with_wrong_class_count(tmp_path):
    folder = write_synthetic_cifar10(tmp_path, n_train=5, n_test=2)
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a", b"b"]}, protocol=2))
    with pytest.raises(CifarDataError, match="lists 2 class names, expected 10"):
        load_cifar10("test", data_dir=tmp_path)


def test_data_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a file where the data folder's parent should be
    with pytest.raises(CifarDataError, match="cannot create the data folder.*BN_DATA_DIR"):
        load_cifar10("test", data_dir=blocker / "data", url="file:///nonexistent", progress=False)
