"""What the book's command lines share: user errors in one line, exit status 2.

``python -m bn.experiments`` and ``python -m bn.benchmark`` tell a user's mistake
(an unknown experiment, a bad flag, a data folder that is not CIFAR-10) from a
bug: a mistake prints ``prog: error: what is wrong`` and exits with 2, as
argparse does; only a bug shows a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake in the command line or in what it points at."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def report(prog: str, exc: Exception) -> int:
    """Print ``exc`` as a one-line user error of ``prog``; return the exit status."""
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return USAGE_ERROR
