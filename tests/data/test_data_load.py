"""bn.data.load_cifar10 on generated folders: shapes, pixel order, md5s, copy names."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from bn.data import (CLASS_NAMES, OFFICIAL_FILE_MD5, data_provenance, identify_copy, load_cifar10,
                     write_synthetic_cifar10)
from bn.data.locations import default_cache_dir, resolve_data_dir


def test_train_and_test_shapes_dtypes_and_classes(synthetic_root):
    train = load_cifar10("train", data_dir=synthetic_root, download=False)
    test = load_cifar10("test", data_dir=synthetic_root, download=False)
    assert train.images.shape == (50, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.labels.shape == (50,) and train.labels.dtype == np.int64
    assert test.images.shape == (20, 32, 32, 3) and len(test) == 20
    assert train.classes == CLASS_NAMES
    # labels cycle through the classes, so 50 images give 5 per class
    assert np.bincount(train.labels, minlength=10).tolist() == [5] * 10


def test_nchw_is_the_transpose_of_nhwc(synthetic_root):
    nhwc = load_cifar10("train", data_dir=synthetic_root, layout="NHWC", download=False)
    nchw = load_cifar10("train", data_dir=synthetic_root, layout="NCHW", download=False)
    assert nchw.images.shape == (50, 3, 32, 32)
    np.testing.assert_array_equal(nchw.images.transpose(0, 2, 3, 1), nhwc.images)
    np.testing.assert_array_equal(nchw.labels, nhwc.labels)


def test_pixel_order_is_planar_rgb_row_major(tmp_path):
    """Row entry c*1024 + y*32 + x is channel c at (y, x), as the CIFAR-10 page documents."""
    folder = write_synthetic_cifar10(tmp_path, n_train=5, n_test=1)
    row = np.arange(3072) % 251  # distinct enough to catch any axis mix-up
    batch = {b"batch_label": b"synthetic x", b"labels": [3], b"data": row[None].astype(np.uint8),
             b"filenames": [b"a.png"]}
    with open(folder / "test_batch", "wb") as f:
        pickle.dump(batch, f, protocol=2)
    img = load_cifar10("test", data_dir=tmp_path, download=False).images[0]
    for c, y, x in [(0, 0, 0), (1, 5, 7), (2, 31, 30), (0, 17, 2)]:
        assert img[y, x, c] == row[c * 1024 + y * 32 + x]
    assert load_cifar10("test", data_dir=tmp_path, download=False).labels.tolist() == [3]


def test_files_md5_covers_every_file_read(synthetic_root):
    train = load_cifar10("train", data_dir=synthetic_root, download=False)
    folder = synthetic_root / "cifar-10-batches-py"
    expected = {name: hashlib.md5((folder / name).read_bytes()).hexdigest()
                for name in [f"data_batch_{i}" for i in range(1, 6)] + ["batches.meta"]}
    assert train.files_md5 == expected
    test = load_cifar10("test", data_dir=synthetic_root, download=False)
    assert set(test.files_md5) == {"test_batch", "batches.meta"}


def test_copy_names(synthetic_root):
    folder = synthetic_root / "cifar-10-batches-py"
    split = load_cifar10("test", data_dir=synthetic_root, download=False)
    assert split.copy == "synthetic"
    # A folder whose md5s match its MANIFEST.md5 is the offline JPEG rebuild.
    (folder / "MANIFEST.md5").write_text("".join(f"{m}  {n}\n" for n, m in split.files_md5.items()))
    assert load_cifar10("test", data_dir=synthetic_root, download=False).copy == "jpeg-q75-rebuild"
    # ... but not once a file differs from the manifest.
    (folder / "MANIFEST.md5").write_text(f"{'0' * 32}  test_batch\n")
    assert identify_copy(split.files_md5, folder) == "unknown"
    assert identify_copy({"test_batch": OFFICIAL_FILE_MD5["test_batch"],
                          "batches.meta": OFFICIAL_FILE_MD5["batches.meta"]}, folder) == "official"
    assert identify_copy({"test_batch": OFFICIAL_FILE_MD5["test_batch"],
                          "batches.meta": "0" * 32}, folder) == "unknown"


def test_provenance_for_result_files(synthetic_root):
    split = load_cifar10("test", data_dir=synthetic_root, download=False)
    prov = data_provenance(split)
    assert prov == split.provenance()
    assert set(prov) == {"copy", "files_md5", "path"}
    assert prov["path"] == str(synthetic_root.resolve() / "cifar-10-batches-py")
    assert split.data_dir == synthetic_root.resolve()


def test_str_keys_python3_pickles_read_like_official_bytes_keys(tmp_path):
    """The offline rebuild writes protocol-4 pickles with str keys; they must load too."""
    folder = write_synthetic_cifar10(tmp_path, n_train=5, n_test=4)
    for name in ["test_batch", "batches.meta"]:
        with open(folder / name, "rb") as f:
            obj = pickle.load(f, encoding="bytes")
        obj = {k.decode(): ([v.decode() for v in val] if k == b"label_names" else val)
               for k, val in obj.items()}
        with open(folder / name, "wb") as f:
            pickle.dump(obj, f, protocol=4)
    split = load_cifar10("test", data_dir=tmp_path, download=False)
    assert split.images.shape == (4, 32, 32, 3) and split.classes == CLASS_NAMES


def test_synthetic_set_is_learnable_and_deterministic(tmp_path):
    """Nearest class mean on the synthetic set: far above chance (0.1), so smoke training can show progress."""
    write_synthetic_cifar10(tmp_path / "a", n_train=200, n_test=100, seed=0)
    write_synthetic_cifar10(tmp_path / "b", n_train=200, n_test=100, seed=0)
    train = load_cifar10("train", data_dir=tmp_path / "a", download=False)
    test = load_cifar10("test", data_dir=tmp_path / "a", download=False)
    assert train.files_md5 == load_cifar10("train", data_dir=tmp_path / "b", download=False).files_md5
    x = train.images.reshape(len(train), -1).astype(np.float64)
    means = np.stack([x[train.labels == k].mean(0) for k in range(10)])
    xt = test.images.reshape(len(test), -1).astype(np.float64)
    pred = ((xt[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    assert (pred == test.labels).mean() > 0.9


def test_bad_split_and_layout_arguments(synthetic_root):
    with pytest.raises(ValueError, match="split must be"):
        load_cifar10("valid", data_dir=synthetic_root, download=False)
    with pytest.raises(ValueError, match="layout must be"):
        load_cifar10("test", data_dir=synthetic_root, layout="HWC", download=False)


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BN_DATA_DIR", raising=False)
    assert default_cache_dir() == tmp_path / "cache" / "bn-book"
    assert resolve_data_dir() == (tmp_path / "cache" / "bn-book").resolve()
    monkeypatch.setenv("BN_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir() == (tmp_path / "env").resolve()
    assert resolve_data_dir(tmp_path / "arg") == (tmp_path / "arg").resolve()
    # passing the batches folder itself is understood
    assert resolve_data_dir(tmp_path / "arg" / "cifar-10-batches-py") == (tmp_path / "arg").resolve()


def test_env_var_is_used_by_the_loader(synthetic_root, monkeypatch):
    monkeypatch.setenv("BN_DATA_DIR", str(synthetic_root))
    assert load_cifar10("test", download=False).data_dir == synthetic_root.resolve()


REAL = Path(os.environ.get("BN_DATA_DIR", "/nonexistent")) / "cifar-10-batches-py"


@pytest.mark.skipif(not REAL.is_dir(), reason="no real CIFAR-10 copy under $BN_DATA_DIR")
def test_real_copy_if_present():
    test = load_cifar10("test", download=False)
    assert test.images.shape == (10000, 32, 32, 3)
    assert np.bincount(test.labels).tolist() == [1000] * 10
    assert test.copy in {"official", "jpeg-q75-rebuild"}


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_every_pickle_protocol_numpy_writes_is_read(tmp_path, protocol):
    """Batches re-pickled with any protocol (numpy arrays, numpy int labels) still load."""
    folder = write_synthetic_cifar10(tmp_path, n_train=5, n_test=6)
    with open(folder / "test_batch", "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    batch[b"labels"] = [np.int64(v) for v in batch[b"labels"]]
    with open(folder / "test_batch", "wb") as f:
        pickle.dump(batch, f, protocol=protocol)
    split = load_cifar10("test", data_dir=tmp_path, download=False)
    np.testing.assert_array_equal(split.images.reshape(6, -1),
                                  np.asarray(batch[b"data"]).reshape(6, 3, 32, 32).transpose(0, 2, 3, 1).reshape(6, -1))
    assert split.labels.tolist() == [int(v) for v in batch[b"labels"]]


def test_python2_numpy_module_names_are_read(tmp_path):
    """The official files name numpy.core.multiarray (numpy 1 / Python 2); numpy 2 calls it numpy._core."""
    folder = write_synthetic_cifar10(tmp_path, n_train=5, n_test=3)
    # protocol-2 GLOBAL opcodes are plain "module\nname\n" text, so the old name can be put back
    raw = (folder / "test_batch").read_bytes().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    assert b"numpy.core.multiarray\n_reconstruct" in raw
    (folder / "test_batch").write_bytes(raw)
    assert load_cifar10("test", data_dir=tmp_path, download=False).images.shape == (3, 32, 32, 3)
