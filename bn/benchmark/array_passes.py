"""Counting the passes a NumPy function makes over its big arrays.

BN is memory-bound: on a modern CPU its time is set by how many times the
``(N, C, *spatial)`` arrays travel through memory, not by the arithmetic. This
module measures that count exactly and deterministically by running a
function on array views that record every ufunc call (element-wise operations
and reductions such as ``sum``/``mean``) before delegating to NumPy.

A *pass* is one read or one write of a full-size array (as large as the
largest argument). Per-channel vectors ``(1, C, 1, 1)`` are not counted: they
stay in cache.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class UfuncCall:
    """One recorded ufunc call: name, method (``__call__`` or ``reduce``) and full-size traffic."""

    name: str
    method: str
    full_size_reads: int
    full_size_writes: int


@dataclass(frozen=True)
class ArrayPassCount:
    """Every ufunc call of a traced function, and totals over the full-size arrays.

    Attributes:
        calls: the recorded calls in order.
        full_size: the element count that defines "full size".
        itemsize: bytes per element of the full-size arrays.
    """

    calls: tuple[UfuncCall, ...]
    full_size: int
    itemsize: int

    @property
    def reads(self) -> int:
        """Full-size array reads."""
        return sum(c.full_size_reads for c in self.calls)

    @property
    def writes(self) -> int:
        """Full-size array writes (new temporaries included)."""
        return sum(c.full_size_writes for c in self.calls)

    @property
    def passes(self) -> int:
        """Reads plus writes: how many times a full-size array crosses the memory bus."""
        return self.reads + self.writes

    @property
    def elementwise_ops(self) -> int:
        """Element-wise ufunc calls that touch a full-size array."""
        return sum(1 for c in self.calls if c.method == "__call__" and c.full_size_reads + c.full_size_writes)

    @property
    def reductions(self) -> int:
        """Reductions (sums, means) over a full-size array."""
        return sum(1 for c in self.calls if c.method != "__call__" and c.full_size_reads)

    @property
    def bytes_moved(self) -> int:
        """``passes * full_size * itemsize``: the minimum memory traffic of the function."""
        return self.passes * self.full_size * self.itemsize

    def by_ufunc(self) -> dict[str, int]:
        """Full-size passes per ufunc name (``add.reduce`` for sums), for a breakdown."""
        counts: Counter[str] = Counter()
        for c in self.calls:
            key = c.name if c.method == "__call__" else f"{c.name}.{c.method}"
            counts[key] += c.full_size_reads + c.full_size_writes
        return {k: v for k, v in counts.items() if v}


class _RecordingArray(np.ndarray):
    """An ndarray view whose ufunc calls are appended to ``_log`` (set per trace)."""

    _log: list[tuple[str, str, tuple[int, ...], tuple[int, ...]]] | None = None

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        plain = [i.view(np.ndarray) if isinstance(i, _RecordingArray) else i for i in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, _RecordingArray) else o
                                  for o in kwargs["out"])
        result = getattr(ufunc, method)(*plain, **kwargs)
        outputs = result if isinstance(result, tuple) else (result,)
        if _RecordingArray._log is not None:
            _RecordingArray._log.append((ufunc.__name__, method,
                                         tuple(int(np.size(i)) for i in plain),
                                         tuple(int(np.size(o)) for o in outputs)))
        wrapped = tuple(o.view(_RecordingArray) if isinstance(o, np.ndarray) else o for o in outputs)
        return wrapped if isinstance(result, tuple) else wrapped[0]


def _wrap(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.view(_RecordingArray)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _wrap(getattr(value, f.name)) for f in dataclasses.fields(value)
                   if isinstance(getattr(value, f.name), np.ndarray)}
        return dataclasses.replace(value, **changes)
    return value


def _largest_array(values: tuple[Any, ...]) -> np.ndarray:
    arrays = []
    for v in values:
        if isinstance(v, np.ndarray):
            arrays.append(v)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            arrays += [getattr(v, f.name) for f in dataclasses.fields(v)
                       if isinstance(getattr(v, f.name), np.ndarray)]
    if not arrays:
        raise ValueError("no ndarray among the arguments to trace")
    return max(arrays, key=np.size)


def count_array_passes(func: Callable[..., Any], *args: Any) -> ArrayPassCount:
    """Run ``func(*args)`` on recording views and count its full-size array traffic.

    ndarray arguments, and ndarray fields of dataclass arguments (such as a
    :class:`~bn.functional.forward.BatchNormCache`), are traced. ``func`` must
    not convert its inputs with ``np.asarray`` (which drops the recording
    view): trace the unchecked cores, e.g.
    :func:`bn.functional.backward.compact_gradients`.
    """
    largest = _largest_array(args)
    full_size, itemsize = int(largest.size), int(largest.itemsize)
    log: list[tuple[str, str, tuple[int, ...], tuple[int, ...]]] = []
    previous, _RecordingArray._log = _RecordingArray._log, log
    try:
        func(*(_wrap(a) for a in args))
    finally:
        _RecordingArray._log = previous
    calls = tuple(UfuncCall(name, method, sum(s == full_size for s in ins), sum(s == full_size for s in outs))
                  for name, method, ins, outs in log)
    return ArrayPassCount(calls, full_size, itemsize)


def readable_forward_backward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, dy: np.ndarray):
    """The readable NumPy forward then its compact backward (the traceable cores), as a reader writes them."""
    from bn.functional.backward import compact_gradients
    from bn.functional.forward import forward_arithmetic

    _, cache = forward_arithmetic(x, gamma, beta, 1e-5)
    return compact_gradients(dy, cache)


def fewer_pass_forward_backward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, dy: np.ndarray):
    """The fewer-pass forward and backward, the backward writing into the forward's centered array."""
    from bn.functional.fused import fused_backward_arithmetic, fused_forward_arithmetic

    _, cache = fused_forward_arithmetic(x, gamma, beta, 1e-5)
    return fused_backward_arithmetic(dy, cache, out=cache.centered)


# The bandwidth bound's floor for one forward and one backward: the forward must read x and write y,
# the backward must read dy and x (or a cache of x's size) and write dx.
FLOOR_READS, FLOOR_WRITES = 3, 2


@dataclass(frozen=True)
class PassSummary:
    """The pass counts the speed chapter states (glued as ``speed_`` + field)."""

    passes_readable: int
    passes_fused: int
    vecdot_reads: int
    passes_compact_bwd: int


@dataclass(frozen=True)
class PassCounts:
    """Full-size array traffic of the readable and the fewer-pass forward + backward, and of the
    compact backward alone."""

    readable: ArrayPassCount
    fewer_pass: ArrayPassCount
    compact_backward: ArrayPassCount

    def table(self) -> "Table":
        """Reads, writes and passes of each code, and the bandwidth bound's floor."""
        from bn.formatting import Table

        rows = [[name, c.reads, c.writes, c.passes]
                for name, c in (("readable", self.readable), ("fewer-pass", self.fewer_pass))]
        rows.append(["floor of the bandwidth bound", FLOOR_READS, FLOOR_WRITES, FLOOR_READS + FLOOR_WRITES])
        return Table(["code", "reads", "writes", "passes"], rows)

    def summary(self) -> PassSummary:
        return PassSummary(self.readable.passes, self.fewer_pass.passes,
                           self.fewer_pass.by_ufunc()["vecdot"], self.compact_backward.passes)


def pass_counts(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, dy: np.ndarray) -> PassCounts:
    """Trace both forward + backward codes, and the compact backward alone, on these arrays."""
    from bn.functional.backward import compact_gradients
    from bn.functional.forward import forward_arithmetic

    _, cache = forward_arithmetic(x, gamma, beta, 1e-5)
    return PassCounts(count_array_passes(readable_forward_backward, x, gamma, beta, dy),
                      count_array_passes(fewer_pass_forward_backward, x, gamma, beta, dy),
                      count_array_passes(compact_gradients, dy, cache))
