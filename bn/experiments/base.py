"""What every experiment shares: run specifications, running one, sweeps, data and the result file.

A *run* is fully described by a JSON-able :class:`RunSpec` (model kind and
arguments, training configuration, seed, what to measure), so a committed
result names exactly how each of its histories was produced and a test can
rebuild any of them from the file alone.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import torch

from bn.models import build_model, last_hidden_sigmoid_input
from bn.results import from_strict_dict
from bn.training import History, TensorData, TrainConfig, tensor_data_from_split, train

PERCENTILES = (15, 50, 85)


@dataclass
class RunSpec:
    """One training run: ``arm`` names the compared condition, ``label`` is its legend text."""

    arm: str
    label: str
    seed: int
    model: dict[str, Any]
    train: dict[str, Any]
    measure: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunSpec":
        """The spec ``d`` holds; an unknown or a missing key is an error, and so is a bad ``train``."""
        spec = from_strict_dict(cls, d, "run spec")
        TrainConfig.from_dict(spec.train)
        return spec


@dataclass
class RunRecord:
    """One run in a result file: how it was produced and what it recorded."""

    spec: RunSpec
    history: History

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "history": self.history.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunRecord":
        rec = from_strict_dict(cls, d, "run record")
        return cls(RunSpec.from_dict(rec.spec), History.from_dict(rec.history))


@dataclass
class ExperimentResult:
    """An experiment's result file, ``book/results/NAME.json``: what it claims, how it ran, every run."""

    experiment: str
    title: str
    claim: str
    profile: str
    seeds: list[int]
    max_steps: int | None
    config: dict[str, Any]
    measures: dict[str, Any]
    runs: list[RunRecord]
    provenance: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)},
                "runs": [r.to_dict() for r in self.runs]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ExperimentResult":
        """The result ``d`` holds (e.g. from :func:`bn.results.load_result`), checked key by key."""
        res = from_strict_dict(cls, d, f"result of {d.get('experiment', 'an experiment')!r}")
        res.runs = [RunRecord.from_dict(r) for r in res.runs]
        return res


def _percentiles(t: torch.Tensor) -> list[float]:
    q = torch.tensor([p / 100 for p in PERCENTILES], dtype=t.dtype)
    return [float(v) for v in torch.quantile(t, q)]


def sigmoid_input_measure(data: TensorData, probe_examples: int = 1000, unit: int = 0
                          ) -> Callable[[torch.nn.Module], dict[str, Any]]:
    """A measure for :func:`bn.training.train`: 15/50/85th percentiles of one last-hidden-layer sigmoid input.

    Computed on a fixed probe batch (the first ``probe_examples`` test images),
    so changes over training come from the network, not from the batch.
    """
    probe = data.normalize(data.test_images[:probe_examples])

    def measure(model: torch.nn.Module) -> dict[str, Any]:
        device = next(model.parameters()).device  # the probe lives on the CPU; the model may not
        rec = last_hidden_sigmoid_input(model, probe.to(device), unit)
        return {"sigmoid_input": _percentiles(rec.sigmoid_input.cpu()),
                "xhat": None if rec.xhat is None else _percentiles(rec.xhat.cpu())}
    return measure


def measure_of(spec: "RunSpec", data: TensorData) -> Callable[[torch.nn.Module], dict[str, Any]] | None:
    """The measure ``spec.measure`` names (``"sigmoid_input"``, the only one, or None for none)."""
    if spec.measure is None:
        return None
    if spec.measure == "sigmoid_input":
        return sigmoid_input_measure(data)
    raise ValueError(f"unknown measure {spec.measure!r} (the experiments measure only 'sigmoid_input')")


def run_spec(spec: RunSpec, data: TensorData, device: str = "cpu", stop_at: int | None = None,
             progress: bool = True, checkpoint: str | None = None) -> dict[str, Any]:
    """Build the model under ``torch.manual_seed(spec.seed)``, train it, return ``{"spec", "history"}``."""
    torch.manual_seed(spec.seed)
    kwargs = dict(spec.model)
    model = build_model(kwargs.pop("kind"), **kwargs)
    measure = measure_of(spec, data)
    cfg = TrainConfig.from_dict(spec.train)
    history = train(model, data, cfg, spec.seed, device=device, measure=measure, stop_at=stop_at,
                    progress=progress, checkpoint=checkpoint, desc=f"{spec.label} s{spec.seed}")
    return {"spec": spec.to_dict(), "history": history}


@dataclass
class Context:
    """What an experiment's ``run`` function gets: data, seeds, device and how to run a spec."""

    data: TensorData
    seeds: list[int]
    device: str = "cpu"
    stop_at: int | None = None
    progress: bool = True
    checkpoint_dir: Path | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)

    def run(self, spec: RunSpec) -> dict[str, Any]:
        """Run ``spec`` (resuming from its checkpoint if one exists), append and return its record."""
        ckpt = None
        if self.checkpoint_dir is not None:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            lr = spec.train.get("peak_lr")
            ckpt = str(self.checkpoint_dir / f"{spec.arm}_lr{lr}_s{spec.seed}_{len(self.runs)}.pt")
        record = run_spec(spec, self.data, self.device, self.stop_at, self.progress, ckpt)
        self.runs.append(record)
        return record


def final_score(history: dict[str, Any]) -> float:
    """Score that picks a sweep's best rate: final test accuracy; a diverged run scores -inf."""
    if history["diverged"]:
        return float("-inf")
    acc = history["final_test_acc"]
    if acc is None:  # a truncated run (--max-steps): its last periodic evaluation
        acc = history["test_acc"][-1]
    return float(acc)


def sweep_then_seeds(ctx: Context, make_spec: Callable[[float, int], RunSpec], rates: list[float]
                     ) -> float:
    """The no-BN arm's fair learning rate: try every rate with the first seed, keep the best, run the other seeds.

    Returns the chosen rate. All runs (sweep included) are appended to ``ctx.runs``;
    the sweep runs carry ``tags["sweep"] = True``.
    """
    first = ctx.seeds[0]
    scores = {}
    for lr in rates:
        spec = make_spec(lr, first)
        spec.tags["sweep"] = True
        scores[lr] = final_score(ctx.run(spec)["history"])
    best = max(rates, key=lambda r: scores[r])
    for rec in ctx.runs:
        if rec["spec"]["tags"].get("sweep") and rec["spec"]["train"]["peak_lr"] == best \
                and rec["spec"]["arm"] == make_spec(best, first).arm:
            rec["spec"]["tags"]["chosen"] = True
    for seed in ctx.seeds[1:]:
        spec = make_spec(best, seed)
        spec.tags["chosen"] = True
        ctx.run(spec)
    return best


def run_with_and_without_bn(ctx: Context, values: list[Any], make_spec: Callable[[Any, bool, int], RunSpec]
                            ) -> None:
    """For every value of the varied setting, the arm without BN then the arm with it, every seed.

    ``make_spec(value, bn, seed)`` builds each run; the runs are appended to ``ctx.runs`` in that order.
    """
    for value in values:
        for bn in (False, True):
            for seed in ctx.seeds:
                ctx.run(make_spec(value, bn, seed))


@dataclass
class Experiment:
    """A registered experiment: its claim, its per-profile configurations and its ``run`` function.

    ``run(ctx, cfg)`` appends run records to ``ctx.runs`` and returns the
    experiment's own measures (e.g. the chosen learning rate).
    """

    name: str
    title: str
    claim: str
    profiles: dict[str, dict[str, Any]]
    run: Callable[[Context, dict[str, Any]], dict[str, Any]]


def load_tensor_data(data_dir: str | None, n_train: int | None = None, n_test: int | None = None
                     ) -> tuple[TensorData, dict[str, Any]]:
    """CIFAR-10 (or a copy in its layout) as :class:`TensorData`, and its provenance (copy, md5s of both splits)."""
    from bn.data import load_cifar10

    tr = load_cifar10("train", data_dir=data_dir, layout="NCHW", download=False)
    te = load_cifar10("test", data_dir=data_dir, layout="NCHW", download=False)
    data = tensor_data_from_split(tr, te).subset(n_train, n_test)
    prov = {"copy": tr.copy, "files_md5": {**tr.files_md5, **te.files_md5},
            "path": str(tr.data_dir), "n_train": len(data.train_labels), "n_test": len(data.test_labels)}
    return data, prov


def run_experiment(exp: Experiment, profile: str, seeds: list[int] | None = None, data_dir: str | None = None,
                   max_steps: int | None = None, device: str = "cpu", progress: bool = True,
                   checkpoint_dir: str | None = None) -> dict[str, Any]:
    """Run ``exp`` under ``profile`` and return the result payload (provenance included)."""
    from bn.provenance import collect_provenance

    cfg = exp.profiles[profile]
    seeds = list(seeds if seeds is not None else cfg["seeds"])
    t0, c0 = time.perf_counter(), time.process_time()
    data, data_prov = load_tensor_data(data_dir, cfg.get("n_train"), cfg.get("n_test"))
    ctx = Context(data=data, seeds=seeds, device=device, stop_at=max_steps, progress=progress,
                  checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir else None)
    measures = exp.run(ctx, cfg)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0  # CPU seconds of this process, all threads: the budget's unit
    result = ExperimentResult(
        experiment=exp.name, title=exp.title, claim=exp.claim, profile=profile, seeds=seeds, max_steps=max_steps,
        config=cfg, measures=measures, runs=[RunRecord.from_dict(r) for r in ctx.runs],
        provenance=collect_provenance(config=cfg, seeds=seeds, data=data_prov, wall_time_s=wall,
                                      cpu_time_s=cpu, profile=profile, max_steps=max_steps,
                                      torch_threads=torch.get_num_threads()))
    return result.to_dict()
