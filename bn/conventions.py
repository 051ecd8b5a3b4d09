"""The "momentum" of BN's running statistics: which weight the number means, per library.

Every framework keeps an exponential moving average of the batch statistics,

    running <- (1 - alpha) * running + alpha * batch_statistic,

but the number the user passes is ``alpha`` in some libraries (the weight of
the *new* value) and ``1 - alpha`` in others (the weight of the *old* value).
The same word therefore means opposite things: PyTorch's ``momentum=0.1`` and
Keras' ``momentum=0.9`` describe the same average.

Pure Python; usable from any layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    """One step of the average, with ``alpha`` the weight of the new value (works on arrays too)."""
    check_coefficient(alpha)
    return (1.0 - alpha) * running + alpha * new


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


def conventions_table() -> list[dict[str, str]]:
    """Rows for the chapter's table: library, parameter, default, what it weights, PyTorch equivalent."""
    rows = []
    for conv in CONVENTIONS:
        alpha = conv.new_value_weight()
        rows.append({
            "library": conv.library,
            "parameter": conv.parameter,
            "default": f"{conv.default:g}",
            "weights": "new value" if conv.weight_of == "new" else "old (running) value",
            "update": (f"r ← {1 - alpha:g}·r + {alpha:g}·batch"),
            "pytorch_momentum": f"{convert(conv.default, conv, PYTORCH):g}",
        })
    return rows
