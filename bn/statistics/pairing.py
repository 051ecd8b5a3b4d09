"""Pairing the runs of two arms by seed: what the paired statistics are taken over."""

from __future__ import annotations

from typing import Callable, Hashable, Sequence, TypeVar

A = TypeVar("A")
B = TypeVar("B")


def pair_by(a: Sequence[A], b: Sequence[B], key: Callable[[A | B], Hashable]) -> list[tuple[A, B]]:
    """The items of ``a`` and ``b`` with equal ``key`` (a seed), in increasing key order.

    An item whose key has no partner is left out; a key that occurs twice in one arm is an
    error, since it would pair one run with two.
    """
    def index(items: Sequence, name: str) -> dict:
        out: dict = {}
        for item in items:
            k = key(item)
            if k in out:
                raise ValueError(f"key {k!r} occurs twice in {name}: a pair must be one run of each arm")
            out[k] = item
        return out

    ia, ib = index(a, "the first arm"), index(b, "the second arm")
    return [(ia[k], ib[k]) for k in sorted(set(ia) & set(ib))]
