"""Speed of batch normalization on this machine (the speed chapter's measurements).

- :mod:`bn.benchmark.harness`: warm-up, repeats, median and interquartile range.
- :mod:`bn.benchmark.array_passes`: how many times a NumPy function's big arrays travel
  through memory, counted exactly from its ufunc calls (NumPy only).
- :mod:`bn.benchmark.workloads`: copy bandwidth, NumPy staged vs compact backward,
  NumPy vs PyTorch forward+backward, folded conv vs conv+BN.
- :mod:`bn.benchmark.run`: one full run; ``python -m bn.benchmark --out FILE``.
- :mod:`bn.benchmark.report`: the ratios against the chapter's goals, from a result file.

Uses torch and ``bn.functional``: layer 4 (with the torch adapters).
"""

from bn.benchmark.harness import Timing, load_average_1min, time_callable

__all__ = ["Timing", "load_average_1min", "time_callable"]
