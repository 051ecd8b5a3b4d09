"""Downloading generated archives via file:// and a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import tarfile
import threading

import numpy as np
import pytest

from bn.data import (CifarDataError, download_cifar10, extract_archive, load_cifar10, pack_cifar10_archive,
                     write_synthetic_cifar10)


def test_download_file_url_then_load(tmp_path, synthetic_archive):
    archive, md5 = synthetic_archive
    root = tmp_path / "d"
    split = load_cifar10("train", data_dir=root, url=archive.as_uri(), md5=md5, progress=False)
    assert split.images.shape == (50, 32, 32, 3) and split.copy == "synthetic"
    # the verified archive is kept; no temporary files remain
    assert sorted(p.name for p in root.iterdir()) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
    # a second load reads the folder and does not download again
    archive.unlink()
    again = load_cifar10("train", data_dir=root, url=archive.as_uri(), md5=md5, progress=False)
    np.testing.assert_array_equal(again.images, split.images)


def test_existing_verified_archive_is_reused(tmp_path, synthetic_archive):
    archive, md5 = synthetic_archive
    root = tmp_path / "d"
    root.mkdir()
    (root / "cifar-10-python.tar.gz").write_bytes(archive.read_bytes())
    folder = download_cifar10(root, url="file:///nonexistent", md5=md5, progress=False,
                              keep_archive=False)
    assert (folder / "test_batch").is_file()
    assert not (root / "cifar-10-python.tar.gz").exists()


@pytest.fixture
def http_server(synthetic_archive):
    archive, md5 = synthetic_archive
    handler = functools.partial(_QuietHandler, directory=str(archive.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{archive.name}", md5
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_over_http_with_progress_bar(tmp_path, http_server, capsys):
    url, md5 = http_server
    split = load_cifar10("test", data_dir=tmp_path, url=url, md5=md5, progress=True)
    assert split.images.shape == (20, 32, 32, 3)
    # tqdm writes to stderr and names the file being downloaded
    assert "downloading cifar-10-python.tar.gz" in capsys.readouterr().err


class _CutOffHandler(http.server.BaseHTTPRequestHandler):
    """Promises the whole archive, sends half, then hangs up: a dropped connection."""

    payload = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload[: len(self.payload) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_cut_off_transfer_leaves_nothing_behind(tmp_path, synthetic_archive):
    archive, md5 = synthetic_archive
    handler = type("H", (_CutOffHandler,), {"payload": archive.read_bytes()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cifar-10-python.tar.gz"
        with pytest.raises(CifarDataError, match=r"could not download .*\(the transfer was cut off after \d+ of"):
            load_cifar10("test", data_dir=tmp_path / "d", url=url, md5=md5, progress=False, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert list((tmp_path / "d").iterdir()) == []  # no partial archive, no half folder


def test_second_unpack_keeps_the_complete_folder(tmp_path, synthetic_archive):
    """Two processes unpacking at once: the loser's rename fails and the winner's folder stands."""
    archive, _ = synthetic_archive
    first = extract_archive(archive, tmp_path)
    before = sorted(p.name for p in first.iterdir())
    assert extract_archive(archive, tmp_path) == first
    assert sorted(p.name for p in first.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".cifar-extract-")] == []


def test_packed_archive_is_byte_reproducible(tmp_path):
    folder = write_synthetic_cifar10(tmp_path / "src", n_train=5, n_test=2, seed=3)
    first = pack_cifar10_archive(folder, tmp_path / "a.tar.gz")
    assert pack_cifar10_archive(folder, tmp_path / "b.tar.gz") == first
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["cifar-10-batches-py"] + sorted(
            f"cifar-10-batches-py/{n}" for n in ["batches.meta", "test_batch"] + [f"data_batch_{i}" for i in range(1, 6)])
