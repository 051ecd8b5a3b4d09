"""Which parameters train: everything, only BN's gamma and beta, or a control with as many.

Frankle, Schwab and Morcos (2020) freeze a CNN's randomly initialized
convolutions and train only BN's per-channel scale ``gamma`` and shift
``beta``. :func:`set_trainable` puts a network into one of the arms that
compare this with training everything, training the classifier on the frozen
random features, and training as many randomly chosen convolution weights as
BN has affine parameters.

For fine-tuning, :func:`set_bn_mode` runs a network's BN layers with batch
statistics, with frozen statistics, or as frozen BN (statistics and gamma,
beta fixed: torchvision's ``FrozenBatchNorm2d``), built from torch's own
layers by :func:`freeze_bn` and undone by :func:`unfreeze_bn`.

:func:`set_trainable` works on any network whose BN layers are ``torch.nn`` BN modules
or the book's :class:`bn.torch_bn.BookBatchNorm` and whose last linear layer is
the attribute ``classifier`` (the networks of :mod:`bn.models`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from bn.torch_bn import BookBatchNorm

__all__ = ["BN_MODES", "FREEZE_ARMS", "Trainable", "fold_frozen_bn", "freeze_bn", "frozen_bn_reference", "is_frozen",
           "set_bn_mode", "set_trainable", "unfreeze_bn"]

FREEZE_ARMS: tuple[str, ...] = ("all", "bn_only", "bn_and_linear", "linear_only", "random_params")


def _is_bn(module: nn.Module) -> bool:
    return isinstance(module, (nn.modules.batchnorm._BatchNorm, BookBatchNorm))


@dataclass
class Trainable:
    """What :func:`set_trainable` left trainable: counts of scalar parameters by kind.

    ``bn`` counts BN's gamma and beta, ``classifier`` the final linear layer's
    weights and bias, ``other`` every other parameter (the convolutions);
    ``total`` counts all parameters of the network, trained or not. ``masks``
    maps a parameter's name to the 0/1 mask of its entries that train, for the
    parameters that train only in part (the ``random_params`` arm).
    """

    arm: str
    bn: int
    classifier: int
    other: int
    total: int
    masks: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def trainable(self) -> int:
        """How many scalar parameters can change during training."""
        return self.bn + self.classifier + self.other

    def to_dict(self) -> dict[str, int | str]:
        """The counts (not the masks), for a result file."""
        return {"arm": self.arm, "bn": self.bn, "classifier": self.classifier, "other": self.other,
                "trainable": self.trainable, "total": self.total}


def _mask_gradient(mask: torch.Tensor):
    def hook(grad: torch.Tensor) -> torch.Tensor:
        return grad * mask
    return hook


def set_trainable(model: nn.Module, arm: str, generator: torch.Generator | None = None,
                  per_channel: int = 2) -> Trainable:
    """Freeze ``model``'s parameters except those ``arm`` trains; return the counts.

    Arms (BN normalizes with batch statistics in all of them; only its affine
    parameters are frozen or not):

    - ``"all"``: every parameter.
    - ``"bn_only"``: BN's gamma and beta; convolutions and classifier stay at
      their random initialization.
    - ``"bn_and_linear"``: gamma, beta and the classifier.
    - ``"linear_only"``: the classifier, on frozen random features; gamma and
      beta stay at their initial 1 and 0.
    - ``"random_params"``: ``per_channel`` randomly chosen kernel weights of
      each output channel of every convolution (drawn with ``generator``), that
      is as many parameters as BN's gamma and beta when ``per_channel=2``;
      everything else frozen. A hook zeroes the gradient of the other entries,
      so an optimizer without weight decay leaves them exactly as they are
      (weight decay would still shrink them).

    Call it before building the optimizer (the book's optimizer takes the
    parameters with ``requires_grad``). Frozen parameters get
    ``requires_grad=False``.
    """
    if arm not in FREEZE_ARMS:
        raise ValueError(f"unknown arm {arm!r} (expected one of {FREEZE_ARMS})")
    classifier = getattr(model, "classifier", None)
    if not isinstance(classifier, nn.Linear):
        raise ValueError("set_trainable needs a model whose final linear layer is `model.classifier`")
    bn_params = {id(p) for m in model.modules() if _is_bn(m) for p in m.parameters(recurse=False)}
    if not bn_params:
        raise ValueError("the model has no BN layer with affine parameters")
    head_params = {id(p) for p in classifier.parameters()}
    train_bn = arm in ("all", "bn_only", "bn_and_linear")
    train_head = arm in ("all", "bn_and_linear", "linear_only")
    counts = {"bn": 0, "classifier": 0, "other": 0}
    masks: dict[str, torch.Tensor] = {}
    convs = {f"{name}.weight" for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    for name, p in model.named_parameters():
        if id(p) in bn_params:
            kind, on = "bn", train_bn
        elif id(p) in head_params:
            kind, on = "classifier", train_head
        else:
            kind, on = "other", arm == "all"
            if arm == "random_params" and name in convs:
                mask = _random_entries_per_channel(p, per_channel, generator)
                p.register_hook(_mask_gradient(mask))
                masks[name] = mask
                p.requires_grad_(True)
                counts[kind] += int(mask.sum())
                continue
        p.requires_grad_(on)
        if on:
            counts[kind] += p.numel()
    total = sum(p.numel() for p in model.parameters())
    return Trainable(arm, counts["bn"], counts["classifier"], counts["other"], total, masks)


def _random_entries_per_channel(weight: torch.Tensor, k: int, generator: torch.Generator | None
                                ) -> torch.Tensor:
    """A 0/1 mask shaped like a conv ``weight`` with ``k`` ones per output channel, at random places."""
    per_out = weight[0].numel()
    if not 0 < k <= per_out:
        raise ValueError(f"per_channel must be in 1..{per_out}, got {k}")
    scores = torch.rand(weight.shape[0], per_out, generator=generator)
    picked = scores.topk(k, dim=1).indices
    mask = torch.zeros(weight.shape[0], per_out, dtype=weight.dtype)
    mask.scatter_(1, picked, 1.0)
    return mask.reshape(weight.shape)


# ---------------------------------------------------------------------------------------------
# BN modes for fine-tuning: batch statistics, frozen statistics, frozen BN

BN_MODES: tuple[str, ...] = ("train", "eval_stats", "frozen")
"""How a network's BN layers behave while it is fine-tuned:

- ``"train"``: training mode; each batch is normalized with its own statistics and the running
  statistics follow the batches (momentum 0.1); gamma and beta train.
- ``"eval_stats"``: the statistics are frozen (eval mode: the running statistics normalize, and
  nothing updates them); gamma and beta train.
- ``"frozen"``: statistics *and* gamma, beta frozen: each BN layer is the fixed per-channel affine
  map ``y = (x - mean) / sqrt(var + eps) * gamma + beta``, the operation of torchvision's
  ``FrozenBatchNorm2d`` (the detectors' "frozen BN").
"""


def _keep_eval(module: nn.Module, args: tuple) -> None:
    """Forward pre-hook of a frozen BN layer: normalize with the running statistics whatever
    ``model.train()`` said (a hook, so it survives ``train()`` calls and ``copy.deepcopy``)."""
    module.training = False


def _bn_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in layers:
        if not m.track_running_stats or m.running_mean is None:
            raise ValueError("freeze_bn needs BN layers that track running statistics")
    return layers


def freeze_bn(model: nn.Module, affine: bool = True) -> int:
    """Freeze the statistics of every ``torch.nn`` BN layer of ``model`` (and its gamma, beta if ``affine``).

    A frozen layer normalizes with its running mean and variance in training as in evaluation,
    and nothing updates them: a training-mode forward pass, ``model.train()`` included, leaves
    them as they are. With ``affine=True`` gamma and beta get ``requires_grad=False`` too, and
    the layer computes exactly torchvision's ``FrozenBatchNorm2d``. Call it before building the
    optimizer. Returns the number of layers frozen; :func:`unfreeze_bn` undoes it.
    """
    layers = _bn_layers(model)
    if not layers:
        raise ValueError("the model has no torch.nn BN layer to freeze")
    for m in layers:
        unfreeze_bn(m)
        m._bn_freeze_hook = m.register_forward_pre_hook(_keep_eval)
        m.training = False
        if affine and m.affine:
            m.weight.requires_grad_(False)
            m.bias.requires_grad_(False)
    return len(layers)


def unfreeze_bn(model: nn.Module) -> None:
    """Undo :func:`freeze_bn`: batch statistics again in training mode, gamma and beta trainable."""
    for m in _bn_layers(model):
        hook = m.__dict__.pop("_bn_freeze_hook", None)
        if hook is not None:
            hook.remove()
        m.training = model.training
        if m.affine:
            m.weight.requires_grad_(True)
            m.bias.requires_grad_(True)


def is_frozen(module: nn.Module) -> bool:
    """Whether :func:`freeze_bn` froze this BN layer's statistics."""
    return "_bn_freeze_hook" in module.__dict__


def set_bn_mode(model: nn.Module, mode: str) -> None:
    """Put ``model``'s BN layers in one of :data:`BN_MODES` for fine-tuning (see there)."""
    if mode not in BN_MODES:
        raise ValueError(f"unknown BN mode {mode!r} (expected one of {', '.join(BN_MODES)})")
    unfreeze_bn(model)
    if mode != "train":
        freeze_bn(model, affine=mode == "frozen")


def frozen_bn_reference(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, gamma: torch.Tensor,
                        beta: torch.Tensor, eps: float) -> torch.Tensor:
    """torchvision's ``FrozenBatchNorm2d.forward``, written out: ``scale = gamma * rsqrt(var + eps)``,
    ``shift = beta - mean * scale``, ``y = x * scale + shift`` per channel of an NCHW ``x``."""
    scale = gamma * (var + eps).rsqrt()
    shift = beta - mean * scale
    return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)


def fold_frozen_bn(conv: nn.Conv2d, bn: nn.modules.batchnorm._BatchNorm) -> nn.Conv2d:
    """A convolution computing ``bn(conv(x))`` for a bias-free ``conv`` and a frozen (eval-mode) ``bn``.

    With ``s = gamma / sqrt(var + eps)`` and ``t = beta - mean s`` per output channel,
    ``BN(W * x) = (s W) * x + t``: each output channel's kernel is scaled by ``s`` and ``t`` is the bias.
    """
    if conv.bias is not None:
        raise ValueError("fold_frozen_bn folds into a convolution without bias")
    scale = bn.weight.detach() / (bn.running_var + bn.eps).sqrt()
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                       conv.dilation, conv.groups, bias=True).to(conv.weight.dtype)
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        folded.bias.copy_(bn.bias.detach() - bn.running_mean * scale)
    return folded
