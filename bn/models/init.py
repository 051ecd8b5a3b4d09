"""How every network of the book starts: Gaussian weights scaled to the fan-in, zero biases."""

from __future__ import annotations

import math

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


def init_std(fan_in: int, activation: str, init_scale: float = 1.0) -> float:
    """Standard deviation of the Gaussian initial weights.

    He init (``sqrt(2/fan_in)``) for ReLU and LeCun init (``sqrt(1/fan_in)``) for
    sigmoid keep the forward signal's scale roughly constant through depth
    (He et al. 2015); ``init_scale`` multiplies it for the initialization sweep.
    """
    gain = 2.0 if activation == "relu" else 1.0
    return init_scale * math.sqrt(gain / fan_in)


def init_weights(model: nn.Module, activation: str, init_scale: float = 1.0) -> None:
    """Gaussian weights with :func:`init_std`, zero biases; BN starts as gamma=1, beta=0.

    The classifier layer is scaled like the hidden layers, with gain 1 (no nonlinearity follows).
    """
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            fan_in = m.weight[0].numel()
            act = "linear" if getattr(m, "is_classifier", False) else activation
            nn.init.normal_(m.weight, 0.0, init_std(fan_in, act, init_scale))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
