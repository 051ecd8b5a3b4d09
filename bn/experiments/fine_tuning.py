"""Fine-tuning with BN: training-mode statistics, frozen statistics, or frozen BN, at small batches.

The protocol. A small BN CNN is pretrained on the CIFAR-10 training set (the
*source* task; its runs are :class:`RunSpec` runs of the framework). The
*target* task is the same ten classes seen through another camera: the new
domain of the pitfalls chapter of Part IV (half the contrast, a brighter
picture, :func:`target_domain`), with only ``n_fit`` labelled images, drawn from
the 5,000 validation images the pretraining never trained on, a validation
split of ``n_val`` more, and the (shifted) test set. After its last step each
pretrained network is fine-tuned, by the after-training measurement
``fine_tuning_eval``: every parameter trains, a new zero-initialized classifier
replaces the old, and the BN layers are in one of three modes
(:data:`bn.training.freezing.BN_MODES`): training mode (batch statistics, the
running statistics follow the batches, gamma and beta train), frozen
statistics (eval mode, gamma and beta train), or frozen BN (statistics and
gamma, beta fixed: torchvision's ``FrozenBatchNorm2d``). Each mode fine-tunes
at batch sizes 2, 4, 8 and 32 for the same number of epochs.

Rate selection. The fine-tuning rate of each (mode, batch) is chosen once, on
the validation split, with the network pretrained under the selection seed
(never a reported seed): the grid is given as the rate at batch 32 and scaled
linearly with the batch; the rule is the book's (:data:`SELECTION_RULE`). The
reported seeds then fine-tune at the chosen rates and are evaluated on the test
split once.

Pairing. Within a seed the modes share the pretrained network, the target
sample (which ``n_fit`` and ``n_val`` images), the new classifier's
initialization (zeros) and, at one batch size, the order of the batches and
their flips; the seeds differ in all of these.

The rules, stated before the runs:

* ``ft_frozen_small_batch`` (Wu & He 2018; He, Girshick & Dollár 2019: detectors
  fine-tuned at 1-2 images per GPU freeze BN): the paired difference of target
  test accuracy, frozen BN minus training-mode BN, at batch 2, over the reported
  seeds; reproduced if its 95 % t interval lies above 0, reversed if below.
* ``ft_small_batch_hurts_bn`` (Ioffe 2017; Wu & He 2018: BN's error grows as its
  batch shrinks): training-mode BN at batch 32 minus training-mode BN at batch
  2, paired by seed; reproduced if the interval lies above 0.

Both claims compare the accuracy where fine-tuning ends, so the plateau rule
enters: the fine-tunings record no curve, so no arm is shown to have plateaued,
and the rule gives "not tested at this budget" whatever the interval.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bn.experiments.base import SELECTION_RULE, Context, Experiment, ExperimentResult, RunRecord, RunSpec, register_after
from bn.experiments.settings import baseline_train, cnn_model, cnn_profiles
from bn.results import from_strict_dict
from bn.statistics import Interval
from bn.training import TensorData, augment_batch, learning_rate, make_optimizer
from bn.training.freezing import BN_MODES, set_bn_mode

CLAIM = ("At a small fine-tuning batch, frozen BN (fixed statistics and affine parameters) beats training-mode "
         "BN (Wu & He 2018; He, Girshick & Dollár 2019), and training-mode BN loses accuracy as its batch "
         "shrinks (Ioffe 2017).")

MODES = BN_MODES
LABELS = {"train": "training-mode BN", "eval_stats": "frozen statistics, γ, β trained",
          "frozen": "frozen BN"}
AFTER_NAME = "fine_tuning_eval"
TARGET_SEED = 9000
"""The target sample of reported seed ``s`` is drawn with seed ``TARGET_SEED + s``; the batch order with
``ORDER_SEED + s`` (the same for every mode)."""
ORDER_SEED = 7000
REFERENCE_BATCH = 32
"""The grid's rates are the rates at this batch; at batch ``b`` each is scaled by ``b / 32``."""
PAPER_ERROR = {32: 23.6, 2: 34.7}
"""ImageNet top-1 error (%) of a ResNet-50 with BN trained with 32 and with 2 images per batch
(Wu & He 2018, Figure 1 and Table 1): the size of the small-batch effect the second claim cites."""
MOMENTUM_SHARE = 0.9
EXTEND_FACTOR = 3
"""A best rate at the edge of the rates tried is followed by one this factor beyond it."""
MAX_EXTENSIONS = 2
"""At most this many such extensions per (mode, batch)."""
"""The exercise on the running statistics: how many of the last batches carry this share of their weight."""


def target_domain(x: torch.Tensor) -> torch.Tensor:
    """The target domain, applied to normalized images: half the contrast and a brighter picture
    (the "new domain" of the pitfalls chapter, ``0.5 x + 0.5`` in normalized units)."""
    return 0.5 * x + 0.5


@dataclass
class TargetTask:
    """The target task's splits, normalized and shifted into the target domain (float32 NCHW)."""

    fit_x: torch.Tensor
    fit_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def target_task(data: TensorData, n_fit: int, n_val: int, n_test: int | None, seed: int) -> TargetTask:
    """``n_fit`` fine-tuning and ``n_val`` validation images drawn (with ``seed``) from the source's held-out
    validation split, and the first ``n_test`` test images, all in the target domain."""
    if data.val_images is None:
        raise ValueError("fine-tuning draws its target images from the validation split: give the profile n_val")
    pool = len(data.val_labels)
    if n_fit < 1 or n_val < 1 or n_fit + n_val > pool:
        raise ValueError(f"n_fit and n_val must be positive with n_fit + n_val <= {pool}, got {n_fit} and {n_val}")
    perm = torch.randperm(pool, generator=torch.Generator().manual_seed(seed))
    fit, val = perm[:n_fit], perm[n_fit:n_fit + n_val]

    def shifted(images: torch.Tensor) -> torch.Tensor:
        return target_domain(data.normalize(images))

    return TargetTask(shifted(data.val_images[fit]), data.val_labels[fit], shifted(data.val_images[val]),
                      data.val_labels[val], shifted(data.test_images[:n_test]), data.test_labels[:n_test])


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Eval-mode accuracy of ``model`` on ``(x, y)`` (its training flag is restored); ``x`` and ``y`` stay
    on the CPU, each batch goes to the model's device."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = sum(int((model(x[i:i + batch_size].to(device)).argmax(1).cpu() == y[i:i + batch_size]).sum())
                  for i in range(0, len(y), batch_size))
    model.train(was)
    return correct / len(y)


def new_head(model: nn.Module, num_classes: int) -> None:
    """Replace ``model.classifier`` by a zero-initialized linear layer (no random draw: the modes share it)."""
    old = model.classifier
    head = nn.Linear(old.in_features, num_classes)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    model.classifier = head


@dataclass
class FineTuneConfig:
    """The fine-tuning protocol a pretraining spec carries in ``tags["fine_tune"]``.

    ``rates``: the chosen rate per mode and batch (``rates[mode][str(batch)]``), or None on the
    selection run, which tries the grid ``grid`` (rates at batch 32) and reports validation only.
    """

    n_fit: int
    n_val: int
    n_test: int | None
    epochs: int
    batches: list[int]
    modes: list[str]
    grid: list[float]
    momentum: float
    weight_decay: float
    rates: dict[str, dict[str, float]] | None = None

    def __post_init__(self) -> None:
        bad = sorted(set(self.modes) - set(BN_MODES))
        if bad:
            raise ValueError(f"unknown BN modes {bad} (expected some of {', '.join(BN_MODES)})")
        if not self.batches or min(self.batches) < 2:
            raise ValueError(f"fine-tuning batches must be at least 2 (BN needs two images), got {self.batches}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FineTuneConfig":
        return from_strict_dict(cls, d, "fine-tuning configuration")


@dataclass
class FineTuneRun:
    """One fine-tuning: its mode, batch and rate, how it went, and its accuracies on the target task.

    ``test_acc`` is None on the selection run (the test split is not looked at there).
    """

    mode: str
    batch_size: int
    lr: float
    steps: int
    diverged: bool
    val_acc: float
    test_acc: float | None
    cpu_seconds: float


def fine_tune(model: nn.Module, target: TargetTask, mode: str, batch_size: int, lr: float, epochs: int,
              seed: int, momentum: float = 0.9, weight_decay: float = 5e-4) -> tuple[nn.Module, int, bool]:
    """A fine-tuned copy of ``model``: new zero head, BN in ``mode``, every other parameter trains.

    ``epochs`` passes over the fine-tuning images (a fresh permutation per epoch from
    ``seed``, random flips; an epoch's tail shorter than a batch is dropped), SGD with
    Nesterov momentum, the rate halving every third of the run. Returns ``(model, steps,
    diverged)``; a run whose loss stops being finite is stopped and marked diverged.
    """
    num_classes = int(target.fit_y.max()) + 1
    tuned = copy.deepcopy(model)
    new_head(tuned, max(num_classes, tuned.classifier.out_features))
    device = next(model.parameters()).device
    tuned.classifier.to(device)
    tuned.train()
    set_bn_mode(tuned, mode)
    opt = make_optimizer(tuned, lr, momentum, True, weight_decay)
    n = len(target.fit_y)
    per_epoch = n // batch_size
    steps = epochs * per_epoch
    gen = torch.Generator().manual_seed(seed)
    step = 0
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for k in range(per_epoch):
            idx = order[k * batch_size:(k + 1) * batch_size]
            for group in opt.param_groups:
                group["lr"] = learning_rate(step, lr, 0, steps / 3)
            # batches are drawn and flipped on the CPU (one generator), then moved to the model
            x = augment_batch(target.fit_x[idx], gen, flip=True).to(device)
            loss = F.cross_entropy(tuned(x), target.fit_y[idx].to(device))
            if not torch.isfinite(loss):
                return tuned, step, True
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
    return tuned, steps, False


def _one(model: nn.Module, target: TargetTask, cfg: FineTuneConfig, mode: str, batch: int, lr: float,
         seed: int, test: bool) -> FineTuneRun:
    c0 = time.process_time()
    tuned, steps, diverged = fine_tune(model, target, mode, batch, lr, cfg.epochs, seed, cfg.momentum,
                                       cfg.weight_decay)
    val = 0.0 if diverged else accuracy(tuned, target.val_x, target.val_y)
    test_acc = None if not test else (0.0 if diverged else accuracy(tuned, target.test_x, target.test_y))
    return FineTuneRun(mode, batch, lr, steps, diverged, val, test_acc, time.process_time() - c0)


def scaled_rate(rate_at_32: float, batch: int) -> float:
    """The grid's rate (given at batch 32) at batch ``batch``, scaled linearly, to 3 significant digits."""
    return float(f"{rate_at_32 * batch / REFERENCE_BATCH:.3g}")


def best_run(runs: Sequence[FineTuneRun]) -> FineTuneRun:
    """The book's rule among one (mode, batch)'s selection runs: a run that diverged loses to any that
    did not; then the highest validation accuracy; ties go to the lower rate."""
    return max(runs, key=lambda r: (not r.diverged, r.val_acc, -r.lr))


def selection_runs(model: nn.Module, target: TargetTask, cfg: FineTuneConfig, seed: int, mode: str,
                   batch: int, max_extensions: int = MAX_EXTENSIONS) -> list[FineTuneRun]:
    """The selection of one (mode, batch): the grid, then, while the best rate lies at an edge of the
    rates tried, one rate a factor :data:`EXTEND_FACTOR` beyond it, at most ``max_extensions`` times."""
    runs = [_one(model, target, cfg, mode, batch, scaled_rate(r, batch), seed, test=False) for r in cfg.grid]
    for _ in range(max_extensions):
        rates = sorted(r.lr for r in runs)
        best = best_run(runs)
        if best.diverged or best.lr not in (rates[0], rates[-1]):
            break
        beyond = rates[-1] * EXTEND_FACTOR if best.lr == rates[-1] else rates[0] / EXTEND_FACTOR
        runs.append(_one(model, target, cfg, mode, batch, float(f"{beyond:.3g}"), seed, test=False))
    return runs


def chosen_rates(runs: Sequence[FineTuneRun]) -> dict[str, dict[str, float]]:
    """The selected rate of every (mode, batch) among the selection runs: ``rates[mode][str(batch)]``."""
    out: dict[str, dict[str, float]] = {}
    for mode in dict.fromkeys(r.mode for r in runs):
        for batch in sorted({r.batch_size for r in runs if r.mode == mode}):
            group = [r for r in runs if r.mode == mode and r.batch_size == batch]
            out.setdefault(mode, {})[str(batch)] = best_run(group).lr
    return out


@register_after(AFTER_NAME)
def fine_tuning_eval(model: nn.Module, data: TensorData, spec: RunSpec) -> dict[str, Any]:
    """Fine-tune the pretrained ``model`` in every mode at every batch of ``spec.tags["fine_tune"]``.

    On the selection run (``rates`` None) every rate of the grid, validation only; on a reported
    run the chosen rates, each fine-tuning evaluated on the validation and the test split once.
    Also records the pretrained network's accuracy on the source and the shifted test images.
    """
    cfg = FineTuneConfig.from_dict(spec.tags["fine_tune"])
    target = target_task(data, cfg.n_fit, cfg.n_val, cfg.n_test, TARGET_SEED + spec.seed)
    seed = ORDER_SEED + spec.seed
    runs: list[FineTuneRun] = []
    for batch in cfg.batches:
        for mode in cfg.modes:
            if cfg.rates is None:
                runs.extend(selection_runs(model, target, cfg, seed, mode, batch))
            else:
                runs.append(_one(model, target, cfg, mode, batch, cfg.rates[mode][str(batch)], seed, test=True))
    source = data.normalize(data.test_images[:cfg.n_test])
    return {"runs": [asdict(r) for r in runs],
            "pretrained_source_acc": accuracy(model, source, data.test_labels[:cfg.n_test]),
            "pretrained_target_acc": accuracy(model, target.test_x, target.test_y),
            "n_fit": len(target.fit_y), "n_val": len(target.val_y), "n_test": len(target.test_y)}


def fine_tune_runs(after: dict[str, Any]) -> list[FineTuneRun]:
    """The typed fine-tuning records of one pretraining run's ``after``."""
    return [from_strict_dict(FineTuneRun, r, "fine-tuning run") for r in after["runs"]]


# ---------------------------------------------------------------------------------------------
# The study

def pretrain_spec(cfg: dict[str, Any], seed: int, fine: dict[str, Any], sweep: bool = False) -> RunSpec:
    """The pretraining run of ``seed`` on the source task, with the fine-tuning protocol ``fine`` after it."""
    model = cnn_model(cfg, bn=True, dropout=0.0)
    train = baseline_train(cfg, cfg["pretrain_lr"])
    tags: dict[str, Any] = {"fine_tune": fine}
    if sweep:
        tags["sweep"] = True
    return RunSpec(arm="pretrain", label="pretrained BN CNN", seed=seed, model=model, train=train, tags=tags,
                   after=AFTER_NAME)


def fine_tune_config(cfg: dict[str, Any], rates: dict[str, dict[str, float]] | None) -> dict[str, Any]:
    """The ``tags["fine_tune"]`` of a profile's specs (``rates`` None: the selection run)."""
    ft = FineTuneConfig(**cfg["fine_tune"], rates=rates)
    return asdict(ft)


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    [selection] = ctx.run_all([pretrain_spec(cfg, cfg["select_seed"], fine_tune_config(cfg, None), sweep=True)])
    # A run cut short (--max-steps) measures nothing after training: nothing to choose then.
    rates = chosen_rates(fine_tune_runs(selection.after)) if selection.after else None
    ctx.run_all([pretrain_spec(cfg, s, fine_tune_config(cfg, rates)) for s in ctx.seeds])
    return {"chosen_rates": rates, "selection_rule": SELECTION_RULE + "; one rule per (mode, batch), on the "
            "target task's validation split; the grid's rates are those at batch 32, scaled linearly with the batch",
            "target_domain": "0.5 x + 0.5 of the normalized image (half the contrast, brighter)",
            "target_pool": "the source's 5,000 held-out validation images (never trained on)"}


FINE_TUNE_CPU = {"n_fit": 400, "n_val": 500, "n_test": 5000, "epochs": 10, "batches": [2, 4, 8, 32],
                 "modes": list(MODES), "grid": [0.003, 0.01, 0.03], "momentum": 0.9, "weight_decay": 5e-4}

# cpu: the 3-block BN CNN (16/32/64 channels, one conv per block) pretrained for 480 steps of 128 (1.4 epochs),
# then 10 epochs of 400 target images per fine-tuning; five reported seeds and one selection seed.
PROFILES = cnn_profiles(
    cpu={"widths": [16, 32, 64], "convs_per_block": 1, "steps": 480, "eval_every": 12, "pretrain_lr": 0.05,
         "diagnostics": False, "fine_tune": FINE_TUNE_CPU},
    gpu={"widths": [32, 64, 128], "convs_per_block": 2, "steps": 6000, "eval_every": 100, "pretrain_lr": 0.05,
         "diagnostics": False, "seeds": list(range(10)),
         "fine_tune": {**FINE_TUNE_CPU, "n_fit": 1000, "n_test": None, "epochs": 20, "batches": [2, 4, 8, 16, 32, 128],
                       "grid": [0.001, 0.003, 0.01, 0.03, 0.1]}},
    smoke={"widths": [4, 8], "convs_per_block": 1, "pretrain_lr": 0.05, "diagnostics": False, "steps": 8,
           "fine_tune": {**FINE_TUNE_CPU, "n_fit": 16, "n_val": 16, "n_test": 64, "epochs": 1, "batches": [2, 8],
                         "grid": [0.01, 0.03]}})


# ---------------------------------------------------------------------------------------------
# Analysis

def reported(result: ExperimentResult) -> list[RunRecord]:
    """The reported pretraining runs (the selection seed's left out), in seed order."""
    runs = [r for r in result.runs if not r.spec.tags.get("sweep")]
    return sorted(runs, key=lambda r: r.spec.seed)


def test_accuracies(result: ExperimentResult) -> dict[str, dict[int, list[float]]]:
    """``acc[mode][batch]``: the target test accuracy of every reported seed, in seed order."""
    out: dict[str, dict[int, list[float]]] = {}
    for rec in reported(result):
        for r in fine_tune_runs(rec.after):
            out.setdefault(r.mode, {}).setdefault(r.batch_size, []).append(float(r.test_acc))
    return out


@dataclass
class ModeBatch:
    """One cell of the table: a mode at a batch, its chosen rate and its target test accuracy over seeds."""

    mode: str
    batch_size: int
    lr: float
    steps: int
    accuracy: Interval
    diverged: int


@dataclass
class FineTuningSummary:
    """Every number the chapter shows."""

    cells: list[ModeBatch]
    per_seed: dict[str, dict[int, list[float]]]
    frozen_minus_train: dict[int, Interval]
    eval_stats_minus_train: dict[int, Interval]
    frozen_minus_eval_stats: dict[int, Interval]
    train_large_minus_small: Interval
    pretrained_source: Interval
    pretrained_target: Interval
    seeds: list[int]
    select_seed: int
    n_fit: int
    n_val: int
    n_test: int
    epochs: int
    batches: list[int]
    grid: list[float]
    selection_runs: int
    edge_choices: int
    pretrain_steps: int
    pretrain_batch: int
    widths: list[int]
    n_held_out: int
    momentum: float
    weight_decay: float
    cpu_minutes: float
    copy: str


def summarize(result: ExperimentResult) -> FineTuningSummary:
    """The study's numbers: per (mode, batch) the mean target test accuracy with its 95 % t interval,
    the paired differences between modes, the pretrained network's accuracies, the protocol's sizes."""
    from bn.statistics import mean_ci, paired_difference_ci

    acc = test_accuracies(result)
    runs = reported(result)
    ft = FineTuneConfig.from_dict(runs[0].spec.tags["fine_tune"])
    by_cell: dict[tuple[str, int], list[FineTuneRun]] = {}
    for rec in runs:
        for r in fine_tune_runs(rec.after):
            by_cell.setdefault((r.mode, r.batch_size), []).append(r)
    cells = [ModeBatch(m, b, by_cell[m, b][0].lr, by_cell[m, b][0].steps, mean_ci(acc[m][b]),
                       sum(r.diverged for r in by_cell[m, b])) for b in ft.batches for m in ft.modes]
    diff = {pair: {b: paired_difference_ci(acc[pair[0]][b], acc[pair[1]][b]) for b in ft.batches}
            for pair in (("frozen", "train"), ("eval_stats", "train"), ("frozen", "eval_stats"))}
    small, large = min(ft.batches), max(ft.batches)
    [selection] = [r for r in result.runs if r.spec.tags.get("sweep")]
    sel = fine_tune_runs(selection.after)
    edges = 0
    for (m, b) in by_cell:
        tried = sorted(r.lr for r in sel if r.mode == m and r.batch_size == b)
        edges += result.measures["chosen_rates"][m][str(b)] in (tried[0], tried[-1])
    train = runs[0].spec.train
    return FineTuningSummary(
        cells=cells, per_seed=acc, frozen_minus_train=diff["frozen", "train"], eval_stats_minus_train=diff["eval_stats", "train"],
        frozen_minus_eval_stats=diff["frozen", "eval_stats"],
        train_large_minus_small=paired_difference_ci(acc["train"][large], acc["train"][small]),
        pretrained_source=mean_ci([r.after["pretrained_source_acc"] for r in runs]),
        pretrained_target=mean_ci([r.after["pretrained_target_acc"] for r in runs]),
        seeds=[r.spec.seed for r in runs], select_seed=selection.spec.seed,
        n_fit=runs[0].after["n_fit"], n_val=runs[0].after["n_val"], n_test=runs[0].after["n_test"],
        epochs=ft.epochs, batches=list(ft.batches), grid=list(ft.grid), selection_runs=len(sel), edge_choices=edges,
        pretrain_steps=train["steps"], pretrain_batch=train["batch_size"],
        widths=list(runs[0].spec.model["widths"]), n_held_out=result.provenance["data"]["n_val"],
        momentum=ft.momentum, weight_decay=ft.weight_decay,
        cpu_minutes=result.provenance["cpu_time_s"] / 60, copy=result.provenance["data"]["copy"])


@dataclass(frozen=True)
class FineTuningChapter:
    """Every number the chapter pastes, glued by one ``glue_record(record, "ft-", sep="-")``.

    The protocol (from the result's specs and provenance): the data copy, the pretraining's
    steps, batch, widths (``widths`` as prose, ``n_blocks``), the held-out images, the target
    splits (``n_test`` thousands separated), the fine-tuning's epochs, batches (``batches``,
    ``small``, ``large``, ``step_ratio``: steps at the smallest over the largest), momentum,
    weight decay, rate grid at ``ref_batch``, seeds (``seeds``, ``nseeds``, ``select_seed``,
    ``n_pretrain``), selection runs, chosen rates at an edge (``edges``), (mode, batch) ``cells``,
    CPU minutes. The results: the pretrained networks' source and target accuracies
    (``pre_source``, ``pre_target``), per batch the paired differences (``fz_tr``: frozen BN
    minus training mode, ``ev_tr``: frozen statistics minus training mode, ``fz_ev``), training
    mode at the largest minus the smallest batch, per ``MODE-BATCH`` the accuracy ``acc``,
    the runs that diverged, the pitfalls chapter's gap (``pitfalls_gap``), the source's reported
    errors ``paper_err`` (per batch, :data:`PAPER_ERROR`) and ``verdict``, the scorecard's words
    of :func:`claim_rows`; the selection's :data:`EXTEND_FACTOR` and :data:`MAX_EXTENSIONS` (in words),
    and BN's momentum (PyTorch's default; ``bn_momentum_pct`` in percent). The exercises: the folded
    convolution's error (``fold_err``, a bound), the batches carrying :data:`MOMENTUM_SHARE`
    (``mom_share``, percent) of the running statistics (``mom_k``)
    and their images per batch (``mom_img``), the steps per batch (``steps_list``).
    """

    pitfalls_gap: str
    copy: str
    pre_steps: int
    pre_batch: int
    pre_source: str
    pre_target: str
    n_fit: int
    n_val: int
    n_test: str
    epochs: int
    batches: str
    grid: str
    nseeds: int
    seeds: str
    select_seed: int
    selection_runs: int
    edges: int
    cells: int
    cpu_min: float
    ref_batch: int
    n_pretrain: int
    widths: str
    n_blocks: int
    held_out: str
    momentum: float
    wd: str
    step_ratio: int
    small: int
    large: int
    fz_tr: dict[int, str]
    ev_tr: dict[int, str]
    fz_ev: dict[int, str]
    tr_large_small: str
    acc: dict[str, str]
    diverged: int
    paper_err: dict[int, float]
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})
    fold_err: str
    bn_momentum: float
    bn_momentum_pct: str
    mom_share: str
    extend_factor: int
    max_ext: str
    mom_k: int
    mom_img: dict[int, int]
    steps_list: str


def batches_carrying(share: float, momentum: float) -> int:
    """How many of the last batches carry ``share`` of the weight of running statistics updated
    with ``momentum`` (the batch ``k`` steps before the end weighs ``momentum (1 - momentum)^k``,
    the last ``K`` together ``1 - (1 - momentum)^K``)."""
    if not (0 < share < 1 and 0 < momentum < 1):
        raise ValueError(f"share and momentum must lie in (0, 1), got {share} and {momentum}")
    k = math.ceil(math.log(1 - share) / math.log(1 - momentum))
    # rounding of the two logarithms may put k one off where share is an exact power
    while 1 - (1 - momentum) ** k < share:
        k += 1
    while k > 1 and 1 - (1 - momentum) ** (k - 1) >= share:
        k -= 1
    return k


def fold_exercise_error(seed: int = 1) -> float:
    """The largest difference between a bias-free convolution followed by a frozen BN layer and the
    folded convolution (:func:`bn.training.freezing.fold_frozen_bn`), as the folding exercise draws
    them (float64, 3 to 4 channels, 3x3 kernel, running statistics away from their defaults)."""
    from bn.training.freezing import fold_frozen_bn, freeze_bn

    torch.manual_seed(seed)
    conv = nn.Conv2d(3, 4, 3, bias=False).double()
    bn = nn.BatchNorm2d(4).double()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    freeze_bn(bn)
    folded = fold_frozen_bn(conv, bn)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        return float((bn(conv(x)) - folded(x)).abs().max())


FOLD_BOUND = 1e-12
"""float64: each output is a sum of 27 products of order 1, computed in two orders; some tens of
roundings of 2^-52 stay far below this bound."""


def chapter_summary(result: ExperimentResult, pitfalls_gap: Interval) -> FineTuningChapter:
    """The chapter's record of ``result`` (see :class:`FineTuningChapter`); ``pitfalls_gap`` is the
    pitfalls study's fine-tuning gap (:func:`bn.experiments.pitfalls.fine_tuning_gap`), which the
    chapter recalls.

    Raises ``ValueError`` where the folding exercise's error exceeds :data:`FOLD_BOUND` (the
    chapter states that bound).
    """
    from bn.experiments.scorecard import verdict_words
    from bn.formatting import below, data_copy_label, percent, points

    s = summarize(result)
    small, large = min(s.batches), max(s.batches)
    steps_of = {c.batch_size: c.steps for c in s.cells}
    err = fold_exercise_error()
    if not err < FOLD_BOUND:
        raise ValueError(f"the folded convolution differs by {err:.2e}, not below {FOLD_BOUND:g}")
    momentum = nn.BatchNorm2d(1).momentum  # PyTorch's default, the networks'
    k = batches_carrying(MOMENTUM_SHARE, momentum)
    return FineTuningChapter(
        pitfalls_gap=points(pitfalls_gap), copy=data_copy_label(s.copy),
        pre_steps=s.pretrain_steps, pre_batch=s.pretrain_batch, pre_source=percent(s.pretrained_source),
        pre_target=percent(s.pretrained_target), n_fit=s.n_fit, n_val=s.n_val, n_test=f"{s.n_test:,}",
        epochs=s.epochs, batches=", ".join(map(str, s.batches)), grid=", ".join(f"{r:g}" for r in s.grid),
        nseeds=len(s.seeds), seeds=", ".join(map(str, s.seeds)), select_seed=s.select_seed,
        selection_runs=s.selection_runs, edges=s.edge_choices, cells=len(s.cells),
        cpu_min=round(s.cpu_minutes, 1), ref_batch=REFERENCE_BATCH, n_pretrain=len(s.seeds) + 1,
        widths=", ".join(map(str, s.widths[:-1])) + f" and {s.widths[-1]}", n_blocks=len(s.widths),
        held_out=f"{s.n_held_out:,}", momentum=s.momentum, wd=f"{s.weight_decay:g}",
        step_ratio=steps_of[small] // steps_of[large], small=small, large=large,
        fz_tr={b: points(s.frozen_minus_train[b]) for b in s.batches},
        ev_tr={b: points(s.eval_stats_minus_train[b]) for b in s.batches},
        fz_ev={b: points(s.frozen_minus_eval_stats[b]) for b in s.batches},
        tr_large_small=points(s.train_large_minus_small),
        acc={f"{c.mode}-{c.batch_size}": percent(c.accuracy) for c in s.cells},
        diverged=sum(c.diverged for c in s.cells), paper_err=dict(PAPER_ERROR),
        verdict=verdict_words(rows_of(s)), fold_err=below(err, FOLD_BOUND), bn_momentum=momentum,
        bn_momentum_pct=f"{100 * momentum:g}", mom_share=f"{100 * MOMENTUM_SHARE:g}", extend_factor=EXTEND_FACTOR,
        max_ext={1: "once", 2: "twice"}.get(MAX_EXTENSIONS, f"{MAX_EXTENSIONS} times"), mom_k=k,
        mom_img={b: b * k for b in (small, large)},
        steps_list=", ".join(str(c.steps) for c in s.cells if c.mode == "frozen"))


def accuracy_table(s: FineTuningSummary) -> "Table":
    """Per batch: each mode's mean target test accuracy over seeds (95 % t interval) and its chosen rate."""
    from bn.formatting import Table, percent

    modes = list(dict.fromkeys(c.mode for c in s.cells))
    cell = {(c.mode, c.batch_size): c for c in s.cells}
    rows = [[str(b), str(cell[modes[0], b].steps)]
            + [f"{percent(cell[m, b].accuracy)} (rate {cell[m, b].lr:.3g})" for m in modes] for b in s.batches]
    return Table(["batch", "steps"] + [LABELS[m] for m in modes], rows)


def difference_table(s: FineTuningSummary) -> "Table":
    """Per batch: the paired differences of target test accuracy between the modes (points, 95 % t interval)."""
    from bn.formatting import Table, points

    rows = [[str(b), points(s.frozen_minus_train[b]), points(s.eval_stats_minus_train[b]),
             points(s.frozen_minus_eval_stats[b])] for b in s.batches]
    return Table(["batch", "frozen BN − training mode", "frozen statistics − training mode",
                  "frozen BN − frozen statistics"], rows)


def claim_rows(result: ExperimentResult) -> list["Row"]:
    """One scorecard row per literature claim this chapter tests (rules in the module docstring)."""
    return rows_of(summarize(result))


def rows_of(s: FineTuningSummary) -> list["Row"]:
    """:func:`claim_rows` from the study's summary."""
    from bn.experiments.report import Row
    from bn.formatting import points
    from bn.statistics import Evidence, decide

    small, large = min(s.batches), max(s.batches)
    frozen = s.frozen_minus_train[small]
    chapter = "today/02_fine_tuning"
    return [
        Row("ft_frozen_small_batch",
            f"At a small fine-tuning batch ({small} images), frozen BN beats training-mode BN "
            "(Wu & He 2018; He, Girshick & Dollár 2019)", chapter,
            "qualitative: detectors fine-tune at 1–2 images per GPU with BN frozen",
            f"{points(frozen)} target test accuracy, frozen − training mode, batch {small}",
            decide(Evidence(frozen, 0.0, about_end=True, plateaued=False))),
        Row("ft_small_batch_hurts_bn",
            "Training-mode BN loses accuracy as its batch shrinks (Ioffe 2017; Wu & He 2018)", chapter,
            f"ResNet-50 on ImageNet, from scratch: error {PAPER_ERROR[32]:g} % at 32 images per batch, "
            f"{PAPER_ERROR[2]:g} % at 2",
            f"{points(s.train_large_minus_small)} target test accuracy, training mode, batch {large} − batch {small}",
            decide(Evidence(s.train_large_minus_small, 0.0, about_end=True, plateaued=False))),
    ]


EXPERIMENT = Experiment(name="fine_tuning", title="Fine-tuning with BN at small batches: batch statistics, frozen "
                        "statistics, frozen BN", claim=CLAIM, profiles=PROFILES, run=run, summarize=summarize)
