"""PyTorch adapters: the book's formula as an autograd Function and module, and parity checks.

Layer 4 of ``bn``: imports torch and the layers below (``bn.functional``).

- :class:`BookBatchNormFunction` / :func:`book_batch_norm`: training-mode BN with the
  compact backward, twice differentiable (passes ``gradgradcheck``).
- :class:`BookBatchNorm`: a module with running statistics in PyTorch's convention.
- :mod:`bn.torch_bn.parity`: NumPy (``bn.functional``) against PyTorch, one error per
  check; ``python -m bn.torch_bn.parity --device cpu --out FILE``.
- :class:`NormBase`: the parameters and buffers every normalization layer of the book declares
  (:class:`BookBatchNorm`; Batch Renormalization in :mod:`bn.normalization.layers`).
- :mod:`bn.torch_bn.noisy`: "noisy BN", random per-channel affine noise after each BN layer
  (Santurkar et al. 2018). Imported by name, not here.
- :func:`available_devices`: ``["cpu"]`` plus ``"cuda"`` when present.
- :mod:`bn.torch_bn.sync`: synchronized BN across ``torch.distributed`` processes
  (any backend, gloo on the CPU), with :mod:`bn.torch_bn.processes` to start a
  process group on one machine and :mod:`bn.torch_bn.sync_check` to compare it
  with full-batch BN. Imported by name, not here.
"""

from bn.torch_bn.devices import NUMPY_DTYPES, TORCH_DTYPES, available_devices, synchronize
from bn.torch_bn.function import BookBatchNormFunction, book_batch_norm
from bn.torch_bn.module import BookBatchNorm, NormBase

__all__ = ["BookBatchNorm", "BookBatchNormFunction", "NUMPY_DTYPES", "NormBase",
           "TORCH_DTYPES", "available_devices", "book_batch_norm", "synchronize"]
