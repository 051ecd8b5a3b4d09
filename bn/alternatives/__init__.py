"""Beyond the paper: BN's relatives, the noise of batch statistics, Batch Renormalization.

Same layer as :mod:`bn.functional` (pure NumPy, never torch). BN's own forward
and backward passes live in :mod:`bn.functional`; this package holds what the
"Beyond the paper" part of the book compares BN with.

Public API:

- :func:`normalize_over_axes` ``(x, axes, eps) -> x_hat``: the one operation behind the whole family
- :func:`batch_norm`, :func:`layer_norm`, :func:`instance_norm`, :func:`group_norm`: the
  four members as choices of axes (forward only, training-mode statistics)
- :func:`family_axes`: the axes each member normalizes over
- :func:`cross_example_change`: how much example ``j`` moves the outputs of the other examples
- :mod:`bn.alternatives.batch_statistics`: sampling distribution of the batch mean and variance
- :mod:`bn.alternatives.train_eval`: train-mode vs eval-mode output of the same input
- :func:`batch_renorm_forward`: Batch Renormalization's forward pass (Ioffe, 2017)
- :mod:`bn.alternatives.whitening`: what full whitening, which the paper rejected (its Sec. 2),
  would couple and cost, in numbers (chapter 1 uses it)
"""

from bn.alternatives.axis_norm import normalize_over_axes
from bn.alternatives.batch_dependence import cross_example_change
from bn.alternatives.batch_renorm import BatchRenormOutput, batch_renorm_forward
from bn.alternatives.family import (FAMILY, batch_norm, family_axes, group_norm, instance_norm,
                                    layer_norm)

__all__ = [
    "FAMILY",
    "BatchRenormOutput",
    "batch_norm",
    "batch_renorm_forward",
    "cross_example_change",
    "family_axes",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "normalize_over_axes",
]
