"""CIFAR-10 in the official ``cifar-10-batches-py`` layout.

>>> from bn.data import load_cifar10                       # doctest: +SKIP
>>> train = load_cifar10("train")                          # doctest: +SKIP
>>> train.images.shape, train.labels.shape, train.copy     # doctest: +SKIP
((50000, 32, 32, 3), (50000,), 'official')

The folder comes from ``data_dir``, else ``$BN_DATA_DIR``, else
``~/.cache/bn-book``. Missing data are downloaded from the official URL,
MD5-verified and unpacked atomically. ``.files_md5`` and ``.copy`` name the
copy a result was computed on (see :func:`data_provenance`).
"""

from bn.data.checksums import (CIFAR10_ARCHIVE_MD5, CIFAR10_URL, OFFICIAL_FILE_MD5, identify_copy,
                               md5_of_file)
from bn.data.cifar10 import Cifar10Split, data_provenance, load_cifar10, read_split
from bn.data.download import download_cifar10, extract_archive, fetch_verified
from bn.data.errors import CifarDataError
from bn.data.locations import ENV_VAR, default_cache_dir, resolve_data_dir
from bn.data.synthetic import CLASS_NAMES, pack_cifar10_archive, write_synthetic_cifar10

__all__ = [
    "CIFAR10_ARCHIVE_MD5", "CIFAR10_URL", "CLASS_NAMES", "Cifar10Split", "CifarDataError", "ENV_VAR",
    "OFFICIAL_FILE_MD5", "data_provenance", "default_cache_dir", "download_cifar10",
    "extract_archive", "fetch_verified", "identify_copy", "load_cifar10", "md5_of_file",
    "pack_cifar10_archive", "read_split", "resolve_data_dir", "write_synthetic_cifar10",
]
