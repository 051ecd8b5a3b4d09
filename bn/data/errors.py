"""The one exception type of ``bn.data``."""

from __future__ import annotations


class CifarDataError(RuntimeError):
    """CIFAR-10 could not be found, downloaded, verified or read.

    The message always says what happened and what to do about it, because
    the reader who meets it is usually running a notebook, not debugging.
    """
