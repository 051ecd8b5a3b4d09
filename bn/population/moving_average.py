"""BN's running statistics as a moving average: the one update, and what "momentum" means per library.

Every running-statistics update of the book calls :func:`ema_update` (or, for
Batch Renormalization's layer, :func:`ema_step`, the same average written as
that paper writes it), with the weight :func:`update_factor` gives.

Every framework keeps an exponential moving average of the batch statistics,

    running <- (1 - alpha) * running + alpha * batch_statistic,

but the number the user passes is ``alpha`` in some libraries (the weight of
the *new* value) and ``1 - alpha`` in others (the weight of the *old* value).
The same word therefore means opposite things: PyTorch's ``momentum=0.1`` and
Keras' ``momentum=0.9`` describe the same average.

Pure Python (the updates work on floats, NumPy arrays and torch tensors alike).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

from bn.formatting import Table

WeightOf = Literal["new", "old"]


@dataclass(frozen=True)
class MomentumConvention:
    """How one library names and defaults the moving-average coefficient.

    Attributes:
        library: where the convention is used.
        parameter: the argument's name in that library.
        default: its default value.
        weight_of: ``"new"`` if the value weights the new batch statistic,
            ``"old"`` if it weights the running (old) value.
    """

    library: str
    parameter: str
    default: float
    weight_of: WeightOf

    def new_value_weight(self, value: float | None = None) -> float:
        """alpha, the weight of the new batch statistic, for ``value`` (default: the library default)."""
        v = self.default if value is None else value
        check_coefficient(v)
        return v if self.weight_of == "new" else 1.0 - v

    def from_new_value_weight(self, alpha: float) -> float:
        """The value to pass to this library so that the new statistic gets weight ``alpha``."""
        check_coefficient(alpha)
        return alpha if self.weight_of == "new" else 1.0 - alpha


# The defaults as documented by each library (PyTorch torch.nn.BatchNorm*d,
# Keras keras.layers.BatchNormalization, Flax flax.linen.BatchNorm) and the
# value used in the CS231n batch-normalization assignment.
PYTORCH = MomentumConvention("PyTorch", "momentum", 0.1, "new")
KERAS = MomentumConvention("Keras / TensorFlow", "momentum", 0.99, "old")
FLAX = MomentumConvention("Flax (linen)", "momentum", 0.99, "old")
CS231N = MomentumConvention("CS231n assignment", "bn_param['momentum']", 0.9, "old")

CONVENTIONS: tuple[MomentumConvention, ...] = (PYTORCH, KERAS, FLAX, CS231N)


def check_coefficient(value: float) -> None:
    """Raise ValueError unless ``value`` lies in [0, 1] (a convex-combination weight)."""
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"a moving-average coefficient must lie in [0, 1], got {value!r}")


def convert(value: float, source: MomentumConvention, target: MomentumConvention) -> float:
    """The ``target`` library's value that gives the same average as ``value`` in ``source``."""
    return target.from_new_value_weight(source.new_value_weight(value))


def ema_update(running: float, new: float, alpha: float) -> float:
    """One step of the average, ``(1 - alpha) * running + alpha * new``, with ``alpha`` the weight of the new value.

    Works on floats, arrays and tensors alike; the input is not modified (a layer
    writes the result into its buffer with ``copy_``).
    """
    check_coefficient(alpha)
    return (1.0 - alpha) * running + alpha * new


def ema_step(running: float, new: float, alpha: float) -> float:
    """The same average as :func:`ema_update` written as a step toward the new value, ``running + alpha * (new - running)``.

    Batch Renormalization's paper (Ioffe, 2017, Algorithm 1) writes its running
    averages this way, and :class:`bn.normalization.BatchRenorm2d` keeps that
    form: it rounds differently from :func:`ema_update` in the last bit.
    """
    check_coefficient(alpha)
    return running + alpha * (new - running)


def update_factor(momentum: float | None, num_batches_tracked: int | None = None) -> float:
    """``alpha``, the weight of the new batch statistic, for PyTorch's ``momentum`` (``None``: cumulative average).

    With ``momentum=None`` the average is cumulative, ``alpha = 1 / (batches seen,
    this one included)``; ``num_batches_tracked`` is the count *before* this batch
    (PyTorch's buffer of that name). With a number it is ignored, as in PyTorch.
    """
    if momentum is None:
        if (num_batches_tracked is None or isinstance(num_batches_tracked, bool)
                or not isinstance(num_batches_tracked, numbers.Integral)):
            raise TypeError("momentum=None (cumulative average) needs num_batches_tracked, "
                            "the integer count of batches already averaged")
        if num_batches_tracked < 0:
            raise ValueError(f"num_batches_tracked must be >= 0, got {num_batches_tracked}")
        return 1.0 / (int(num_batches_tracked) + 1)
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"momentum must be a real number or None, got {type(momentum).__name__}")
    if not 0.0 <= float(momentum) <= 1.0:
        raise ValueError(f"momentum must lie in [0, 1], got {momentum!r}")
    return float(momentum)


def effective_window(alpha: float) -> float:
    """1/alpha: the number of recent batches that carry most of the weight.

    The weights alpha (1 - alpha)^k add up to 1 and have mean age (1 - alpha)/alpha,
    so 1/alpha is the usual "span" of the average (10 batches for PyTorch's
    default, 100 for Keras' and Flax's).
    """
    check_coefficient(alpha)
    if alpha == 0:
        raise ValueError("alpha = 0 never updates the average: its window is infinite")
    return 1.0 / alpha


def weight_of_initial_value(alpha: float, steps: int) -> float:
    """(1 - alpha)^steps: how much of the initial running value remains after ``steps`` updates."""
    check_coefficient(alpha)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    return (1.0 - alpha) ** steps


def conventions_table() -> Table:
    """The chapter's table: library, parameter, default, what it weights, the update, PyTorch's equivalent."""
    rows = []
    for conv in CONVENTIONS:
        alpha = conv.new_value_weight()
        rows.append([conv.library, conv.parameter, f"{conv.default:g}",
                     "new value" if conv.weight_of == "new" else "old (running) value",
                     f"r ← {1 - alpha:g}·r + {alpha:g}·batch", f"{convert(conv.default, conv, PYTORCH):g}"])
    return Table(["library", "parameter", "default", "it weights", "update (r: running value)",
                  "PyTorch momentum for the same average"], rows)
