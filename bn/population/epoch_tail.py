"""The last batch of an epoch: how many examples are left over when ``n`` are drawn in batches of ``b``.

Pure Python. A tail batch moves the running statistics by a whole update of its own, much
noisier, statistics (and a one-example tail cannot train a fully connected BN layer);
``torch.utils.data.DataLoader(..., drop_last=True)`` drops it.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["epoch_tails", "tail_free_batch_sizes", "smallest_tail"]


def epoch_tails(n: int, batch_sizes: Iterable[int]) -> dict[int, int]:
    """Batch size -> size of the epoch's last batch, ``n mod b`` (0: the epoch splits evenly)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    tails = {}
    for b in batch_sizes:
        if b < 1:
            raise ValueError(f"batch sizes must be at least 1, got {b}")
        tails[b] = n % b
    return tails


def tail_free_batch_sizes(tails: dict[int, int]) -> list[int]:
    """The batch sizes of :func:`epoch_tails` that leave no tail, in the order given."""
    return [b for b, t in tails.items() if t == 0]


def smallest_tail(tails: dict[int, int]) -> tuple[int, list[int]]:
    """The smallest non-empty tail of :func:`epoch_tails` and the batch sizes that leave it."""
    nonzero = [t for t in tails.values() if t > 0]
    if not nonzero:
        raise ValueError("every batch size splits the epoch evenly: there is no tail")
    least = min(nonzero)
    return least, [b for b, t in tails.items() if t == least]
