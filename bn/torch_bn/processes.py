"""Start a few ``torch.distributed`` processes on this machine, and always stop them.

:func:`run_processes` spawns ``world_size`` fresh Python processes, each of
which joins a gloo (or NCCL) process group over TCP on 127.0.0.1 with a free
port, runs one function and leaves the group. It waits at most ``timeout``
seconds; on a timeout or a failure every child still alive is killed, so no
process outlives the call.
"""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from typing import Any, Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

__all__ = ["free_port", "run_processes"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it for a bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank: int, fn: Callable[..., Any], world_size: int, port: int, backend: str, threads: int,
           timeout: float, args: tuple[Any, ...]) -> None:
    torch.set_num_threads(threads)
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size, timeout=timedelta(seconds=timeout))
    try:
        fn(rank, world_size, *args)
    finally:
        dist.destroy_process_group()


def run_processes(fn: Callable[..., Any], world_size: int, args: tuple[Any, ...] = (), backend: str = "gloo",
                  timeout: float = 60.0, threads: int = 1) -> list[int]:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` processes of one process group.

    ``fn`` must be importable (defined at module level), as the children are
    started with the "spawn" method. Each child uses ``threads`` torch threads.
    Returns the children's process ids, all of which have exited. Raises
    ``TimeoutError`` if the processes do not finish within ``timeout`` seconds,
    and ``torch.multiprocessing.ProcessRaisedException`` if one of them fails;
    in both cases no child is left running.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, got {world_size}")
    port = free_port()
    context = mp.start_processes(_entry, args=(fn, world_size, port, backend, threads, timeout, args),
                                 nprocs=world_size, join=False, start_method="spawn")
    pids = [p.pid for p in context.processes]
    deadline = time.monotonic() + timeout
    try:
        while not context.join(timeout=max(0.1, min(1.0, deadline - time.monotonic()))):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{world_size} processes did not finish within {timeout:.0f} s")
    finally:
        for p in context.processes:
            if p.is_alive():
                p.kill()
            p.join(5)
    return pids
