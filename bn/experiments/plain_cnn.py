"""The plain CNN's training schedule, shared by the studies of its BN layer, its diagnostics, its
population statistics and its pitfalls (:mod:`bn.experiments.layer_vs_torch`,
:mod:`~bn.experiments.training_diagnostics`, :mod:`~bn.experiments.population_statistics`,
:mod:`~bn.experiments.pitfalls`).

Every run goes through :func:`bn.training.train`, the loop of Part III, with the networks of
:mod:`bn.models`; the four studies share one pair of profiles (one network, one
schedule, one set of seeds), so that one study's runs stand in for another's.

The studies train in their own loop (:func:`fit`) and keep each run's record in their result's
measures (``measures["runs"]``); :class:`PlainRun` is that record, and :func:`study_records` reads
such a list of a result into typed records, strictly.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import torch
from torch import nn

from bn.experiments.base import ExperimentResult, load_tensor_data
from bn.models import ConvUnit, build_model
from bn.results import from_strict_dict
from bn.training import History, TensorData, TrainConfig, train

PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {"seeds": [0, 1], "n_train": None, "n_test": None, "steps": 300, "batch_size": 64,
            "peak_lr": 0.05, "eval_every": 25, "eval_examples": 1000, "post_examples": 1000,
            # One seed for chapter 1 keeps the part within its CPU budget: its
            # torch.nn arm and the seed spread come from chapter 3's runs (the
            # same network, schedule and seeds, trained bit for bit alike).
            "pitfall_seeds": [0, 1, 2], "layer_seeds": [0], "layer_arms": ["book"],
            "watch_arms": ["bn", "no_bn"], "watch_steps": 150,
            "pitfall_arms": ["bn_relu", "relu_bn", "dropout", "resnet", "resnet_zero_gamma"]},
    "smoke": {"seeds": [0, 1], "n_train": 8000, "n_test": 500, "steps": 8, "batch_size": 32,
              "peak_lr": 0.05, "eval_every": 4, "eval_examples": 200, "post_examples": 200, "pitfall_seeds": [0],
              "layer_seeds": [0], "layer_arms": ["book"], "watch_arms": ["bn", "no_bn"],
              "watch_steps": 8,
              "pitfall_arms": ["bn_relu", "relu_bn", "dropout", "resnet", "resnet_zero_gamma"],
              # a narrow net keeps the smoke runs to seconds (the cpu profile trains the default widths)
              "plain": {"widths": [4, 8], "pool_after": [0]}, "resnet_width": 4},
}


def train_config(p: dict[str, Any], **changes: Any) -> TrainConfig:
    """The shared schedule: 5 % warm-up, the rate halves once over the run, flips, light weight decay."""
    steps = p["steps"]
    cfg = {"steps": steps, "batch_size": p["batch_size"], "peak_lr": p["peak_lr"],
           "warmup_steps": max(1, steps // 20), "half_life": float(steps), "weight_decay": 5e-4,
           "flip": True, "eval_every": p["eval_every"], "eval_examples": p["eval_examples"],
           "checkpoint_every": 10**9}
    cfg.update(changes)
    return TrainConfig(**cfg)


def fit(data: TensorData, model_args: dict[str, Any], cfg: TrainConfig, seed: int, arm: str,
        measure: Callable[[nn.Module], dict[str, Any]] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Build ``model_args`` under ``torch.manual_seed(seed)``, train it, return ``(model, record)``."""
    torch.manual_seed(seed)
    args = dict(model_args)
    model = build_model(args.pop("kind"), **args)
    c0 = time.process_time()
    history = train(model, data, cfg, seed, measure=measure, desc=f"{arm} s{seed}")
    record = {"arm": arm, "seed": seed, "model": model_args, "train": cfg.to_dict(),
              "cpu_seconds": time.process_time() - c0, "history": history.to_dict()}
    return model, record


@dataclass(frozen=True)
class PlainRun:
    """One run of a plain-CNN study as its result keeps it (``measures["runs"]``, written by :func:`fit`).

    ``arm`` names the compared condition and ``seed`` the seed the network was built and trained
    under; ``model`` holds the arguments of :func:`bn.models.build_model` (``kind`` included),
    ``train`` the schedule, ``cpu_seconds`` the CPU time of the run and ``history`` what it recorded.
    """

    arm: str
    seed: int
    model: dict[str, Any]
    train: TrainConfig
    cpu_seconds: float
    history: History

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str | None = None) -> Any:
        """The record ``d`` holds: an unknown or a missing key (in it, its ``train`` or its
        ``history``) is a ValueError that names the key (and ``what``, where given)."""
        what = what or "run record"
        rec = from_strict_dict(cls, d, what)
        try:
            return dataclasses.replace(rec, train=TrainConfig.from_dict(rec.train),
                                       history=History.from_dict(rec.history))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{what}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The dict :func:`fit` writes (and :meth:`from_dict` reads)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**out, "train": self.train.to_dict(), "history": self.history.to_dict()}


R = TypeVar("R")


def study_records(result: ExperimentResult, cls: type[R], key: str = "runs") -> list[R]:
    """The list ``result.measures[key]`` read into records by ``cls.from_dict``, strictly: a record
    with an unknown or a missing key is a ValueError naming the result's file (``book/results/...``),
    the record and the key."""
    from bn.experiments import result_filename

    source = f"book/results/{result_filename(result.experiment, result.profile)}"
    if key not in result.measures:
        raise ValueError(f"{source}: the measures hold no {key!r} (they hold {sorted(result.measures)})")
    return [cls.from_dict(d, f"{source}: measures[{key!r}][{i}]")  # type: ignore[attr-defined]
            for i, d in enumerate(result.measures[key])]


def plain_runs(result: ExperimentResult) -> list[PlainRun]:
    """The typed run records of a plain-CNN study's result (:func:`study_records` of ``measures["runs"]``)."""
    return study_records(result, PlainRun)


def probe_batch(data: TensorData, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` training images (normalized) and labels: a fixed batch for diagnostics."""
    return data.normalize(data.train_images[:n]), data.train_labels[:n]


def unit_names(model: nn.Module) -> list[str]:
    """Names of the conv units (conv, BN, ReLU) of a plain CNN, input to output."""
    return [name for name, m in model.named_modules() if isinstance(m, ConvUnit)]


def plain_args(p: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The plain CNN's arguments (:func:`bn.models.build_model`) under profile ``p``:
    the default network unless the profile names its widths (``p["plain"]``), then ``changes``."""
    return {"kind": "plain", **p.get("plain", {}), **changes}


def build_plain(p: dict[str, Any], **changes: Any) -> nn.Module:
    """The plain CNN of :func:`plain_args` (initialized from the current torch seed)."""
    args = plain_args(p, **changes)
    return build_model(args.pop("kind"), **args)


def load_data(data_dir: str | None, cfg: dict[str, Any]) -> tuple[TensorData, dict[str, Any]]:
    """The profile's CIFAR-10 images, no validation split held out (these studies report on the test set)."""
    return load_tensor_data(data_dir, cfg["n_train"], cfg["n_test"])


def arm_name(record: dict[str, Any]) -> str:
    """A run record's arm (what its seeds are noted under in ``seeds_run``)."""
    return record["arm"]
