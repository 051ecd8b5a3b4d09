"""The seeded training loop of the character models, and the losses they are judged by.

One run draws everything random from two seeded sources: the global torch RNG, which
initializes the model (the caller seeds it), and one NumPy generator seeded with the
run's seed, which draws the training windows. Evaluation windows come from their own
fixed seed (:data:`EVAL_SEED`), so every run, whatever its seed, is scored on the same text.

Losses are in nats per character, averaged over the real (unpadded) positions.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bn.data.text import Batch, TextData, sample_batch
from bn.results import from_strict_dict

EVAL_SEED = 10_000
"""The seed of the evaluation windows (the same for every run)."""


@dataclass
class SequenceTrainConfig:
    """A character model's training: AdamW at ``lr`` (linear warm-up, cosine decay to zero), batches of
    ``batch_size`` windows of a length uniform in ``[min_len, max_len]``; evaluation every
    ``eval_every`` steps on ``eval_batches`` fixed validation batches of the same shape."""

    steps: int
    batch_size: int = 32
    min_len: int = 16
    max_len: int = 128
    lr: float = 3e-3
    warmup_steps: int = 50
    weight_decay: float = 0.01
    eval_every: int = 100
    eval_batches: int = 8

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SequenceTrainConfig":
        cfg = from_strict_dict(cls, d, "sequence training config")
        if cfg.steps < 1 or cfg.batch_size < 1 or cfg.eval_every < 1 or cfg.eval_batches < 1:
            raise ValueError(f"steps, batch_size, eval_every and eval_batches must be positive: {d}")
        return cfg


def to_tensors(batch: Batch, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(inputs, targets, mask)`` of ``batch`` as tensors."""
    return (torch.from_numpy(batch.inputs).to(device), torch.from_numpy(batch.targets).to(device),
            torch.from_numpy(batch.mask).to(device))


def masked_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats) over the positions ``mask`` marks."""
    ce = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view_as(targets)
    return (ce * mask).sum() / mask.sum()


def learning_rate(cfg: SequenceTrainConfig, step: int) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay to zero at ``steps``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class frozen_statistics:
    """Within the block the model keeps its buffers (BN's running statistics) as they were on entry,
    whatever forward passes in training mode ran; the training flag is restored too."""

    def __init__(self, model: nn.Module):
        self.model = model

    def __enter__(self) -> nn.Module:
        self.saved = {k: v.clone() for k, v in self.model.named_buffers()}
        self.was_training = self.model.training
        return self.model

    def __exit__(self, *exc) -> None:
        with torch.no_grad():
            for k, v in self.model.named_buffers():
                v.copy_(self.saved[k])
        self.model.train(self.was_training)


def batches_loss(model: nn.Module, batches: Sequence[Batch], mode: str) -> float:
    """Mean loss per real character over ``batches``, with the model in ``mode``: ``"eval"`` (running
    statistics, what generation uses) or ``"batch"`` (training mode: each batch's own statistics;
    the running statistics are left untouched)."""
    if mode not in ("eval", "batch"):
        raise ValueError(f"unknown mode {mode!r} (expected 'eval' or 'batch')")
    total, count = 0.0, 0
    with frozen_statistics(model), torch.no_grad():
        model.train(mode == "batch")
        for b in batches:
            x, y, m = to_tensors(b)
            n = int(m.sum())
            total += float(masked_loss(model(x, m), y, m)) * n
            count += n
    return total / count


def eval_batches(data: TextData, split: str, cfg: SequenceTrainConfig, n: int | None = None,
                 seed: int = EVAL_SEED) -> list[Batch]:
    """``n`` (default ``cfg.eval_batches``) fixed batches of ``split``, shaped like the training batches."""
    rng = np.random.default_rng(seed)
    return [sample_batch(rng, data.encoded[split], cfg.batch_size, cfg.min_len, cfg.max_len)
            for _ in range(cfg.eval_batches if n is None else n)]


@dataclass
class SequenceHistory:
    """What one training run recorded: per evaluation the mean training loss since the last one
    (batch statistics, on the batches trained on) and the validation loss in both modes."""

    eval_step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss_eval: list[float] = field(default_factory=list)
    val_loss_batch: list[float] = field(default_factory=list)
    first_losses: list[float] = field(default_factory=list)
    diverged: bool = False
    cpu_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SequenceHistory":
        return from_strict_dict(cls, d, "sequence history")


FIRST_LOSSES_KEPT = 20


def train_sequence_model(model: nn.Module, data: TextData, cfg: SequenceTrainConfig, seed: int,
                         stop_at: int | None = None) -> SequenceHistory:
    """Train ``model`` (already initialized under the caller's seed) on ``data``'s training split."""
    c0 = time.process_time()
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    val = eval_batches(data, "val", cfg)
    hist = SequenceHistory()
    running, n_running = 0.0, 0
    steps = cfg.steps if stop_at is None else min(cfg.steps, stop_at)
    for step in range(steps + 1):
        if step % cfg.eval_every == 0 or step == steps:
            hist.eval_step.append(step)
            hist.train_loss.append(running / n_running if n_running else float("nan"))
            hist.val_loss_eval.append(batches_loss(model, val, "eval"))
            hist.val_loss_batch.append(batches_loss(model, val, "batch"))
            running, n_running = 0.0, 0
        if step == steps:
            break
        for group in opt.param_groups:
            group["lr"] = learning_rate(cfg, step)
        model.train()
        x, y, m = to_tensors(sample_batch(rng, data.encoded["train"], cfg.batch_size, cfg.min_len, cfg.max_len))
        loss = masked_loss(model(x, m), y, m)
        if not torch.isfinite(loss):
            hist.diverged = True
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = float(loss.detach())
        if len(hist.first_losses) < FIRST_LOSSES_KEPT:
            hist.first_losses.append(value)
        running += value
        n_running += 1
    model.eval()
    hist.cpu_s = time.process_time() - c0
    return hist
