"""The one training loop: seeded, deterministic on CPU at a fixed thread count, checkpointed.

Everything random comes from two seeded sources: the global torch RNG, which
initializes the model (seeded by the caller) and drives dropout, and one
``torch.Generator`` for the order of examples and the augmentation. Both
states go into the checkpoint, so a resumed run continues exactly where an
uninterrupted one would have been.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from bn.results import from_strict_dict
from bn.training.divergence import DivergenceMonitor
from bn.training.optim import make_optimizer
from bn.training.schedules import learning_rate
from bn.training.tensordata import TensorData, augment_batch

# Per-step training losses are stored for this many first steps: enough for the
# reproducibility test to compare a rerun with the committed history.
FIRST_LOSSES_KEPT = 50
# A run "sits at chance" while its evaluation accuracy is at most chance + this margin: three
# standard deviations of a guessing classifier's accuracy on 2,000 images (sqrt(0.1 * 0.9 / 2000)).
CHANCE_MARGIN = 0.02
# Images of the evaluation set on which the layer-health diagnostics are taken.
HEALTH_PROBE = 500


@dataclass
class TrainConfig:
    """Everything that defines a training run apart from the model, the data and the seed.

    ``diagnostics``: record :func:`bn.diagnostics.layer_health` at every evaluation.
    ``stall_window``: stop a run (recorded as ``stalled``) once that many consecutive
    evaluations after step 0 sit at chance (see ``CHANCE_MARGIN``); 0 never stops one.
    ``channels_last``: the model and its inputs in NHWC memory order (faster convolutions on CPUs).
    ``accumulation_steps``: k > 1 splits each batch into k micro-batches of ``batch_size / k``
    and sums their gradients before one optimizer step (:func:`accumulated_backward`); the
    network, BN included, sees one micro-batch at a time. 1 is the plain step.
    """

    steps: int
    batch_size: int = 128
    peak_lr: float = 0.05
    warmup_steps: int = 0
    half_life: float | None = None
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 0.0
    flip: bool = False
    crop_pad: int = 0
    eval_every: int = 50
    eval_examples: int | None = 2000
    divergence_factor: float = 5.0
    checkpoint_every: int = 100
    eval_batch_size: int = 1000
    channels_last: bool = False
    diagnostics: bool = False
    stall_window: int = 0
    accumulation_steps: int = 1

    def __post_init__(self) -> None:
        k = self.accumulation_steps
        if not isinstance(k, int) or k < 1 or self.batch_size % k:
            raise ValueError(f"accumulation_steps must be a positive integer dividing batch_size "
                             f"({self.batch_size}), got {k!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """The config ``d`` describes; an unknown key (a misspelling) or a missing ``steps`` is an error."""
        return from_strict_dict(cls, d, "training configuration")


def _to_model(x: torch.Tensor, device: str, channels_last: bool) -> torch.Tensor:
    x = x.to(device)
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.dim() == 4 else x


@torch.no_grad()
def evaluate_accuracy(model: nn.Module, data: TensorData, n: int | None = None, device: str = "cpu",
                      batch_size: int = 1000, split: str = "test", channels_last: bool = False) -> float:
    """Fraction of the first ``n`` images (all if None) of ``split`` ("test" or "val") that ``model``
    classifies correctly (eval mode)."""
    if split == "val" and data.val_images is None:
        raise ValueError("this data has no validation split (see TensorData.hold_out)")
    if split not in ("test", "val"):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}")
    was_training = model.training
    model.eval()
    images, labels = ((data.val_images, data.val_labels) if split == "val"
                      else (data.test_images, data.test_labels))
    images, labels = images[:n], labels[:n]
    correct = 0
    for i in range(0, len(labels), batch_size):
        x = _to_model(data.normalize(images[i:i + batch_size]), device, channels_last)
        correct += int((model(x).argmax(1).cpu() == labels[i:i + batch_size]).sum())
    model.train(was_training)
    return correct / len(labels)


@dataclass
class History:
    """What one run recorded; a result file stores it as the dict :meth:`to_dict` gives.

    Per evaluation (at step 0, every ``eval_every`` steps and at the end): ``eval_step``,
    ``test_acc`` (first ``eval_examples`` test images) or, where the data has a validation
    split, ``val_acc`` on its first ``eval_examples`` images instead, ``train_loss`` (mean since the
    previous evaluation; None at step 0), ``lr``, ``train_seconds`` (cumulative, evaluation
    excluded) and ``measures`` (the run's measure, or None). Per step, for the first
    ``FIRST_LOSSES_KEPT`` steps: ``first_losses``. Once: whether and where the run
    ``diverged`` and why, ``steps_done``, and ``final_test_acc`` on the whole test set
    (None for a diverged, stalled or shortened run), ``final_val_acc`` on the whole validation
    split, whether and where the run was stopped as ``stalled`` at chance, and, with
    ``diagnostics``, ``health`` per evaluation (:func:`bn.diagnostics.layer_health`).
    """

    eval_step: list[int]
    test_acc: list[float]
    train_loss: list[float | None]
    lr: list[float]
    train_seconds: list[float]
    measures: list[dict[str, Any] | None]
    first_losses: list[float]
    diverged: bool
    diverged_at_step: int | None
    divergence_reason: str | None
    steps_done: int
    final_test_acc: float | None
    val_acc: list[float] = field(default_factory=list)
    final_val_acc: float | None = None
    stalled: bool = False
    stalled_at_step: int | None = None
    health: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def empty(cls) -> "History":
        return cls([], [], [], [], [], [], [], False, None, None, 0, None)

    @property
    def eval_acc(self) -> list[float]:
        """The periodic accuracies: on the validation split where there was one, else on the test set."""
        return self.val_acc or self.test_acc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "History":
        """The history ``d`` holds; every key is required and no other is accepted."""
        return from_strict_dict(cls, d, "run history")


def _empty_history() -> dict[str, Any]:
    # The loop appends to a plain dict (it is also what a checkpoint stores); train() types it on return.
    return History.empty().to_dict()


@dataclass
class _State:
    step: int = 0
    history: dict[str, Any] = field(default_factory=_empty_history)
    seconds: float = 0.0
    loss_sum: float = 0.0
    loss_count: int = 0
    order: torch.Tensor | None = None
    pos: int = 0


def _save_checkpoint(path: Path, model, opt, gen, monitor, st: _State) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                "torch_rng": torch.get_rng_state(), "monitor": monitor.state_dict(),
                "state": dataclasses.asdict(st)}, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, model, opt, gen, monitor) -> _State:
    ck = torch.load(path, weights_only=False)
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["opt"])
    gen.set_state(ck["gen"])
    torch.set_rng_state(ck["torch_rng"])
    monitor.load_state_dict(ck["monitor"])
    return _State(**ck["state"])


def accumulated_backward(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    """Gradients of the batch's mean cross-entropy, from ``steps`` equal micro-batches in turn.

    Each micro-batch's mean loss is scaled by ``1 / steps`` before its backward pass, so the
    summed gradients are those of the whole batch's mean loss exactly, up to rounding,
    for a network whose output for an example does not depend on the other examples. A
    BN layer in training mode breaks that: it normalizes with each micro-batch's statistics
    and updates its running statistics once per micro-batch. Returns the batch's mean loss.
    """
    total = 0.0
    for xs, ys in zip(x.chunk(steps), y.chunk(steps)):
        loss = F.cross_entropy(model(xs), ys) / steps
        loss.backward()
        total += float(loss.detach())
    return total


def _next_indices(st: _State, n_train: int, batch_size: int, gen: torch.Generator) -> torch.Tensor:
    """The next batch of a fresh random permutation per epoch (the tail of an epoch is dropped)."""
    if st.order is None or st.pos + batch_size > n_train:
        st.order = torch.randperm(n_train, generator=gen)
        st.pos = 0
    idx = st.order[st.pos:st.pos + batch_size]
    st.pos += batch_size
    return idx


def train(model: nn.Module, data: TensorData, cfg: TrainConfig, seed: int, device: str = "cpu",
          measure: Callable[[nn.Module], dict[str, Any]] | None = None,
          checkpoint: str | os.PathLike | None = None, stop_at: int | None = None,
          progress: bool = True, desc: str = "") -> History:
    """Train ``model`` (already initialized by the caller under ``torch.manual_seed``) and return its
    :class:`History` (a record stores ``History.to_dict()``).

    Every ``cfg.eval_every`` steps and at the end the history records the step, the
    test accuracy on the first ``cfg.eval_examples`` test images, the mean training
    loss since the previous evaluation, the rate, the cumulative training time
    (seconds, evaluation excluded) and ``measure(model)``. The final accuracy on
    the whole test set is ``final_test_acc``. A diverged run (see
    :class:`DivergenceMonitor`) stops and is recorded as such.

    ``stop_at`` ends the run early at that step while keeping the schedule of the
    full ``cfg.steps`` (so its first steps equal those of the full run).
    ``checkpoint``: a file to save to every ``cfg.checkpoint_every`` steps and to
    resume from if it exists.
    """
    from tqdm.auto import tqdm

    from bn.diagnostics import layer_health

    model.to(device).train()
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(seed)
    opt = make_optimizer(model, cfg.peak_lr, cfg.momentum, cfg.nesterov, cfg.weight_decay)
    monitor = DivergenceMonitor(cfg.divergence_factor)
    ckpt = Path(checkpoint) if checkpoint is not None else None
    st = _load_checkpoint(ckpt, model, opt, gen, monitor) if ckpt is not None and ckpt.exists() else _State()
    h = st.history
    end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
    n_train = len(data.train_labels)
    batch_size = min(cfg.batch_size, n_train)
    split = "val" if data.val_images is not None else "test"
    accs = h["val_acc" if split == "val" else "test_acc"]
    chance = 1.0 / (int(data.train_labels.max()) + 1) + CHANCE_MARGIN
    probe = None
    if cfg.diagnostics:
        probe_images = data.val_images if split == "val" else data.test_images
        probe = _to_model(data.normalize(probe_images[:HEALTH_PROBE]), device, cfg.channels_last)

    def record_eval(step: int) -> None:
        h["eval_step"].append(step)
        accs.append(evaluate_accuracy(model, data, cfg.eval_examples, device, cfg.eval_batch_size, split,
                                      cfg.channels_last))
        h["train_loss"].append(st.loss_sum / st.loss_count if st.loss_count else None)
        h["lr"].append(learning_rate(max(step - 1, 0), cfg.peak_lr, cfg.warmup_steps, cfg.half_life))
        h["train_seconds"].append(st.seconds)
        h["measures"].append(measure(model) if measure is not None else None)
        if probe is not None:
            h["health"].append(layer_health(model, probe))
        st.loss_sum, st.loss_count = 0.0, 0

    def at_chance() -> bool:
        recent = accs[1:][-cfg.stall_window:]  # step 0's accuracy is the untrained net's
        return cfg.stall_window > 0 and len(recent) == cfg.stall_window and max(recent) <= chance

    if st.step == 0 and not h["eval_step"]:
        record_eval(0)
    bar = tqdm(total=end, initial=st.step, desc=desc, disable=not progress, leave=False, mininterval=2.0)
    while st.step < end and not h["diverged"] and not h["stalled"]:
        t0 = time.perf_counter()
        lr = learning_rate(st.step, cfg.peak_lr, cfg.warmup_steps, cfg.half_life)
        for group in opt.param_groups:
            group["lr"] = lr
        idx = _next_indices(st, n_train, batch_size, gen)
        x = _to_model(augment_batch(data.normalize(data.train_images[idx]), gen, cfg.flip, cfg.crop_pad), device,
                      cfg.channels_last)
        y = data.train_labels[idx].to(device)
        opt.zero_grad(set_to_none=True)
        if cfg.accumulation_steps == 1:
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            value = float(loss.detach())
        else:
            value = accumulated_backward(model, x, y, cfg.accumulation_steps)
        opt.step()
        st.seconds += time.perf_counter() - t0
        st.step += 1
        bar.update(1)
        if len(h["first_losses"]) < FIRST_LOSSES_KEPT:
            h["first_losses"].append(value)
        if monitor.update(value):
            h.update(diverged=True, diverged_at_step=st.step, divergence_reason=monitor.reason)
            break
        st.loss_sum += value
        st.loss_count += 1
        if st.step % cfg.eval_every == 0 or st.step == cfg.steps:
            record_eval(st.step)
            if at_chance():
                h.update(stalled=True, stalled_at_step=st.step)
                break
        if ckpt is not None and st.step % cfg.checkpoint_every == 0:
            _save_checkpoint(ckpt, model, opt, gen, monitor, st)
    bar.close()
    h["steps_done"] = st.step
    if not h["diverged"] and not h["stalled"] and st.step == cfg.steps:
        h["final_test_acc"] = evaluate_accuracy(model, data, None, device, cfg.eval_batch_size, "test",
                                                cfg.channels_last)
        if split == "val":
            h["final_val_acc"] = evaluate_accuracy(model, data, None, device, cfg.eval_batch_size, "val",
                                                   cfg.channels_last)
    return History.from_dict(h)
