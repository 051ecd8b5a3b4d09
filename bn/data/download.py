"""Download, verify and unpack the official CIFAR-10 archive.

Nothing half-done is ever taken for data: the archive is streamed to a
temporary file in the target folder and renamed only after its MD5 matches;
it is unpacked into a temporary folder that is renamed to
``cifar-10-batches-py`` only when every member is out.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from bn.data.checksums import CIFAR10_ARCHIVE_MD5, CIFAR10_URL, md5_of_file
from bn.data.errors import CifarDataError
from bn.data.locations import BATCHES_FOLDER, ENV_VAR, resolve_data_dir

ARCHIVE_NAME = "cifar-10-python.tar.gz"
_CHUNK = 1 << 20


def _by_hand_hint(url: str, md5: str, root: Path) -> str:
    return (f"Download {url} by hand (md5 {md5}) and put it in {root} as {ARCHIVE_NAME} (the next "
            f"load verifies and unpacks it), or unpack it there yourself so that "
            f"{root / BATCHES_FOLDER} exists; or set {ENV_VAR} (or pass data_dir) to a folder that "
            f"already holds cifar-10-batches-py/. See the section CIFAR-10 of the README.")


def fetch_verified(url: str, target: Path, md5: str, progress: bool = True,
                   timeout: float = 60.0) -> Path:
    """Stream ``url`` to ``target``; keep it only if its MD5 equals ``md5``.

    The bytes go to a temporary file beside ``target`` (same file system, so
    the final ``os.replace`` is atomic) and are hashed on the way.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    digest = hashlib.md5()
    try:
        try:
            # the temporary file is opened first so that its descriptor is closed on every path
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                header = response.headers.get("Content-Length")
                total = int(header) if header else None
                received = 0
                bar = _progress_bar(total, target.name, progress)
                try:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                finally:
                    bar.close()
            if total is not None and received != total:
                # a dropped connection can end the stream early without an exception
                raise OSError(f"the transfer was cut off after {received} of {total} bytes")
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise CifarDataError(
                f"could not download CIFAR-10 from {url} ({reason}): no network, the host is "
                f"unreachable, or the connection dropped. {_by_hand_hint(url, md5, target.parent)}"
            ) from exc
        got = digest.hexdigest()
        if got != md5:
            raise CifarDataError(
                f"the archive downloaded from {url} is corrupt: md5 {got}, expected {md5}. It was "
                f"not kept. Try again (the transfer may have been cut). "
                f"{_by_hand_hint(url, md5, target.parent)}"
            )
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _progress_bar(total: int | None, name: str, enabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                desc=f"downloading {name}", disable=not enabled)


def _checked_members(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    """The archive's members, refusing links, devices, absolute paths and ``..``.

    Everything must sit under ``cifar-10-batches-py/``, as in the official
    archive, so unpacking can never write outside the temporary folder.
    """
    members = tar.getmembers()
    for m in members:
        p = PurePosixPath(m.name)
        if p.is_absolute() or ".." in p.parts or not (m.isfile() or m.isdir()):
            raise CifarDataError(f"{archive} contains an unsafe entry {m.name!r} (absolute path, '..', "
                                 f"link or device); refusing to unpack it. Delete it and download again.")
        if p.parts[0] != BATCHES_FOLDER:
            raise CifarDataError(f"{archive} contains {m.name!r} outside {BATCHES_FOLDER}/; it is not "
                                 f"the official CIFAR-10 archive. Delete it and download again.")
    return members


def extract_archive(archive: Path, root: Path) -> Path:
    """Unpack ``archive`` so that ``root/cifar-10-batches-py`` appears complete or not at all."""
    final = root / BATCHES_FOLDER
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".cifar-extract-"))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = _checked_members(tar, archive)
                # The members are already checked; the "data" filter (Python >= 3.10.12 / 3.11.4)
                # also drops odd permissions where the running Python has it.
                extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(staging, members=members, **extra)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise CifarDataError(f"{archive} is not a readable tar.gz ({type(exc).__name__}: {exc}). "
                                 f"Delete it and download again.") from exc
        if not (staging / BATCHES_FOLDER).is_dir():
            raise CifarDataError(f"{archive} holds no {BATCHES_FOLDER}/ folder; it is not the official "
                                 f"CIFAR-10 archive. Delete it and download again.")
        try:
            os.replace(staging / BATCHES_FOLDER, final)
        except OSError:
            # Another process unpacked the same archive first; its complete folder stands.
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def download_cifar10(data_dir: str | os.PathLike | None = None, url: str = CIFAR10_URL,
                     md5: str = CIFAR10_ARCHIVE_MD5, progress: bool = True,
                     keep_archive: bool = True, timeout: float = 60.0) -> Path:
    """Make ``<data dir>/cifar-10-batches-py`` exist: download, verify, unpack.

    An archive already in the folder is reused if its MD5 is right and
    refused (with a message) if not. ``url`` and ``md5`` can point at another
    copy, e.g. a local ``file://`` archive for tests or a classroom mirror.
    Returns the ``cifar-10-batches-py`` path.
    """
    root = resolve_data_dir(data_dir)
    final = root / BATCHES_FOLDER
    if final.exists():
        return final
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CifarDataError(f"cannot create the data folder {root} ({exc}). Set {ENV_VAR} (or pass "
                             f"data_dir) to a folder you can write to.") from exc
    archive = root / ARCHIVE_NAME
    if archive.exists():
        got = md5_of_file(archive)
        if got != md5:
            raise CifarDataError(
                f"{archive} is corrupt or incomplete: md5 {got}, expected {md5}. Delete it and load "
                f"again to download a fresh copy."
            )
    else:
        fetch_verified(url, archive, md5, progress=progress, timeout=timeout)
    extract_archive(archive, root)
    if not keep_archive:
        archive.unlink()
    return final
