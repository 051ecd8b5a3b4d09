"""The normalization family: BN, LayerNorm, InstanceNorm, GroupNorm, Batch Renormalization, ghost-batch BN.

The NumPy forms and the PyTorch layers side by side, one module per concept.
The NumPy modules never load torch; the layers (:mod:`bn.normalization.layers`)
are imported on first use of their names. BN's own forward/backward pair with
its cache is :mod:`bn.functional`, and the book's BN layer :mod:`bn.torch_bn`;
this package holds what BN is compared with, and the noise of batch statistics.

Public API:

- :func:`normalize_over_axes` ``(x, axes, eps) -> x_hat``: the one operation behind the whole family
  (:mod:`bn.normalization.axes`)
- :func:`batch_norm`, :func:`layer_norm`, :func:`instance_norm`, :func:`group_norm`: the
  four members as choices of axes (forward only, training-mode statistics), :func:`family_axes`
  (:mod:`bn.normalization.family`, :mod:`bn.normalization.group_norm`)
- :func:`batch_renorm_forward`: Batch Renormalization's forward pass (Ioffe, 2017), NumPy
  (:mod:`bn.normalization.batch_renorm`)
- :class:`BatchRenorm2d`, :class:`GhostBatchNorm2d`, :func:`renorm_limits`: the two relatives
  PyTorch has no layer for, as torch layers (:mod:`bn.normalization.layers`)
- :func:`cross_example_change`: how much example ``j`` moves the outputs of the other examples
  (:mod:`bn.normalization.batch_dependence`)
- :mod:`bn.normalization.batch_statistics`: sampling distribution of the batch mean and variance
- :mod:`bn.normalization.train_eval`: train-mode vs eval-mode output of the same input
- :mod:`bn.normalization.whitening`: what full whitening, which the paper rejected (its Sec. 2),
  would couple and cost, in numbers
"""

from bn.normalization.axes import normalize_over_axes
from bn.normalization.batch_dependence import cross_example_change
from bn.normalization.batch_renorm import BatchRenormOutput, batch_renorm_forward
from bn.normalization.family import (FAMILY, batch_norm, family_axes, group_norm, instance_norm,
                                     layer_norm)

_LAYERS = ("BatchRenorm2d", "GhostBatchNorm2d", "renorm_limits")

__all__ = [
    "FAMILY",
    "BatchRenorm2d",
    "BatchRenormOutput",
    "GhostBatchNorm2d",
    "batch_norm",
    "batch_renorm_forward",
    "cross_example_change",
    "family_axes",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "normalize_over_axes",
    "renorm_limits",
]


def __getattr__(name: str):
    # The torch layers load torch; the NumPy forms above must not (PEP 562 lazy names).
    if name in _LAYERS:
        from bn.normalization import layers

        return getattr(layers, name)
    raise AttributeError(f"module 'bn.normalization' has no attribute {name!r}")
