"""Which normalization layer a network uses: one name, ``norm``, for every network of the book.

``"torch"`` is ``torch.nn.BatchNorm{1,2}d``, ``"book"`` the book's own layer
(:class:`bn.torch_bn.BookBatchNorm`, built on the ``autograd.Function`` of the
implementation part), ``"none"`` no normalization (the layer before it then
gets a bias). BN's relatives are names too: ``"layer"`` (LayerNorm over
``(C, H, W)``, i.e. ``GroupNorm(1, C)``), ``"group"`` (``GroupNorm`` with
``groups`` groups), ``"ghost"`` (:class:`bn.normalization.GhostBatchNorm2d`,
``ghost_size``) and ``"renorm"`` (:class:`bn.normalization.BatchRenorm2d`, its
limits and schedule); their settings travel as ``norm_options``.
"""

from __future__ import annotations

from typing import Any, Literal

from torch import nn

from bn.normalization.layers import BatchRenorm2d, GhostBatchNorm2d
from bn.torch_bn import BookBatchNorm

Norm = Literal["torch", "book", "none", "layer", "group", "ghost", "renorm"]
NORMS: tuple[str, ...] = ("torch", "book", "none", "layer", "group", "ghost", "renorm")
# The names a fully connected layer (``dims=1``) can take.
NORMS_1D: tuple[str, ...] = ("torch", "book", "none")


def make_norm(norm: str, channels: int, dims: int = 2, **options: Any) -> nn.Module:
    """The normalization layer named by ``norm`` for ``channels`` channels (``dims=1``: after a linear layer).

    ``options`` are the layer's settings: ``groups`` for ``"group"`` (it must
    divide ``channels``), ``ghost_size`` for ``"ghost"``, and
    :class:`bn.normalization.BatchRenorm2d`'s keywords for ``"renorm"``; the other
    names take none.
    """
    if dims == 1:
        if norm not in NORMS_1D:
            raise ValueError(f"unknown norm {norm!r} after a linear layer (expected one of {NORMS_1D})")
        if norm == "torch":
            return nn.BatchNorm1d(channels, **options)
    elif dims != 2:
        raise ValueError(f"dims must be 1 or 2, got {dims}")
    builders = {"torch": nn.BatchNorm2d, "book": BookBatchNorm, "none": lambda c: nn.Identity(),
                "layer": lambda c: nn.GroupNorm(1, c),
                "group": lambda c, groups: nn.GroupNorm(groups, c),
                "ghost": lambda c, ghost_size: GhostBatchNorm2d(c, ghost_size),
                "renorm": lambda c, **kw: BatchRenorm2d(c, **kw)}
    if norm not in builders:
        raise ValueError(f"unknown norm {norm!r} (expected one of {NORMS})")
    return builders[norm](channels, **options)


def is_batch_norm(module: nn.Module) -> bool:
    """True for both BN implementations the book trains with (ghost-batch BN is a ``BatchNorm2d``)."""
    return isinstance(module, (nn.modules.batchnorm._BatchNorm, BookBatchNorm))
