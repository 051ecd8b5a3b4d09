"""What every experiment shares: run specifications, running one, sweeps, data and the result file.

A *run* is fully described by a JSON-able :class:`RunSpec` (model kind and
arguments, training configuration, seed, what to measure), so a committed
result names exactly how each of its histories was produced and a test can
rebuild any of them from the file alone.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Sequence

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
    after: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.after is None:  # a spec written before ``after`` existed round-trips unchanged
            del out["after"]
        return out

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
    after: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"spec": self.spec.to_dict(), "history": self.history.to_dict()}
        if self.after is not None:
            out["after"] = self.after
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunRecord":
        rec = from_strict_dict(cls, d, "run record")
        return cls(RunSpec.from_dict(rec.spec), History.from_dict(rec.history), rec.after)


@dataclass
class ExperimentResult:
    """An experiment's result file, ``book/results/NAME.json``: what it claims, how it ran, every run.

    ``seeds`` are the seeds the reported runs actually used (the profile's list names those an
    arm *may* run); ``seeds_run`` the seeds of each arm (None in files written before it was
    recorded, see :func:`seeds_run`).
    """

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
    seeds_run: dict[str, list[int]] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {**{f.name: getattr(self, f.name) for f in fields(self)}, "runs": [r.to_dict() for r in self.runs]}
        if self.seeds_run is None:  # a file written before seeds_run was recorded round-trips unchanged
            del out["seeds_run"]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str | None = None) -> "ExperimentResult":
        """The result ``d`` holds (e.g. from :func:`bn.results.load_result`), checked key by key.

        An unknown or a missing key is a ValueError that names ``source`` (the file), the run and the key.
        """
        what = f"{source + ': ' if source else ''}result of {d.get('experiment', 'an experiment')!r}"
        res = from_strict_dict(cls, d, what)
        runs = []
        for i, r in enumerate(res.runs):
            try:
                runs.append(RunRecord.from_dict(r))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{what}, run {i}: {exc}") from None
        res.runs = runs
        return res


def load_experiment_result(name_or_path: str | Path) -> ExperimentResult:
    """A result file (by path, or by name from ``book/results``) as the typed :class:`ExperimentResult`;
    an unknown or a missing key anywhere in it is a ValueError naming the file and the key."""
    from bn.results import load_result, results_dir

    path = Path(name_or_path)
    if path.suffix != ".json":
        path = results_dir() / f"{path.name}.json"
    return ExperimentResult.from_dict(load_result(path), source=str(path))


def seeds_run(runs: Sequence[RunRecord]) -> dict[str, list[int]]:
    """Per arm, in the order the arms first ran: the seeds of its reported runs (sweep runs excluded)."""
    out: dict[str, list[int]] = {}
    for r in runs:
        if not r.spec.tags.get("sweep"):
            out.setdefault(r.spec.arm, []).append(r.spec.seed)
    return {arm: sorted(set(s)) for arm, s in out.items()}


def _percentiles(t: torch.Tensor) -> list[float]:
    q = torch.tensor([p / 100 for p in PERCENTILES], dtype=t.dtype)
    return [float(v) for v in torch.quantile(t, q)]


def sigmoid_input_measure(data: TensorData, probe_examples: int = 1000, unit: int = 0
                          ) -> Callable[[torch.nn.Module], dict[str, Any]]:
    """A measure for :func:`bn.training.train`: 15/50/85th percentiles of one last-hidden-layer sigmoid input.

    Computed on a fixed probe batch (the first ``probe_examples`` validation images, or
    test images where the data has no validation split), so changes over training come
    from the network, not from the batch.
    """
    images = data.val_images if data.val_images is not None else data.test_images
    probe = data.normalize(images[:probe_examples])

    def measure(model: torch.nn.Module) -> dict[str, Any]:
        device = next(model.parameters()).device  # the probe lives on the CPU; the model may not
        rec = last_hidden_sigmoid_input(model, probe.to(device), unit)
        return {"sigmoid_input": _percentiles(rec.sigmoid_input.cpu()),
                "xhat": None if rec.xhat is None else _percentiles(rec.xhat.cpu())}
    return measure


def sigmoid_units_measure(data: TensorData, probe_examples: int = 1000, digits: int = 3
                          ) -> Callable[[torch.nn.Module], dict[str, Any]]:
    """A measure: the 15/50/85th percentiles of the sigmoid input of *every* unit of the last hidden layer.

    ``{"sigmoid_input_units": [[p15 per unit], [p50 per unit], [p85 per unit]]}`` on the same
    fixed probe batch as :func:`sigmoid_input_measure`, each value kept to ``digits``
    significant digits (the drift it serves is read to two, relative to a width of order 1;
    the file stays small).
    """
    images = data.val_images if data.val_images is not None else data.test_images
    probe = data.normalize(images[:probe_examples])

    def measure(model: torch.nn.Module) -> dict[str, Any]:
        device = next(model.parameters()).device
        a = last_hidden_sigmoid_input(model, probe.to(device), unit=None).sigmoid_input.cpu()
        q = torch.quantile(a, torch.tensor([p / 100 for p in PERCENTILES], dtype=a.dtype), dim=0)
        return {"sigmoid_input_units": [[float(f"{v:.{digits}g}") for v in row.tolist()] for row in q]}
    return measure


MEASURES = ("sigmoid_input", "sigmoid_input_units")


def measure_of(spec: "RunSpec", data: TensorData) -> Callable[[torch.nn.Module], dict[str, Any]] | None:
    """The measure ``spec.measure`` names (one of :data:`MEASURES`, or None for none)."""
    if spec.measure is None:
        return None
    if spec.measure == "sigmoid_input":
        return sigmoid_input_measure(data)
    if spec.measure == "sigmoid_input_units":
        return sigmoid_units_measure(data)
    raise ValueError(f"unknown measure {spec.measure!r} (the measures are {', '.join(MEASURES)})")


# What a study measures on a trained network, once, after its last step (``RunSpec.after`` names
# one): ``fn(model, data, spec) -> dict`` of JSON values, stored as the record's ``after``. It runs
# where the run trained (a worker process too), so a study registers its functions at import.
AfterTraining = Callable[[torch.nn.Module, TensorData, "RunSpec"], dict[str, Any]]
AFTER: dict[str, AfterTraining] = {}


def register_after(name: str) -> Callable[[AfterTraining], AfterTraining]:
    """Decorator: register ``fn`` as the after-training measurement ``name`` (for ``RunSpec.after``)."""
    def deco(fn: AfterTraining) -> AfterTraining:
        if name in AFTER and AFTER[name] is not fn:
            raise ValueError(f"after-training measurement {name!r} is registered twice")
        AFTER[name] = fn
        return fn
    return deco


def run_spec(spec: RunSpec, data: TensorData, device: str = "cpu", stop_at: int | None = None,
             progress: bool = True, checkpoint: str | None = None) -> RunRecord:
    """Build the model under ``torch.manual_seed(spec.seed)``, train it, and return its record: the
    spec, the history and (``after``) what ``spec.after`` measured on the trained network."""
    if spec.after is not None and spec.after not in AFTER:
        # The studies register their measurements when they are imported, which the registry does (a
        # worker process that runs this spec has imported none of them yet).
        from bn.experiments import REGISTRY  # noqa: F401
    if spec.after is not None and spec.after not in AFTER:
        raise ValueError(f"unknown after-training measurement {spec.after!r} (known: {', '.join(sorted(AFTER))})")
    torch.manual_seed(spec.seed)
    kwargs = dict(spec.model)
    model = build_model(kwargs.pop("kind"), **kwargs)
    measure = measure_of(spec, data)
    cfg = TrainConfig.from_dict(spec.train)
    history = train(model, data, cfg, spec.seed, device=device, measure=measure, stop_at=stop_at,
                    progress=progress, checkpoint=checkpoint, desc=f"{spec.label} s{spec.seed}")
    # What ``after`` measures is the trained network: a run cut short by ``stop_at`` has none.
    after = None
    if spec.after is not None and (stop_at is None or stop_at >= cfg.steps):
        after = AFTER[spec.after](model, data, spec)
    # The record holds its own copy of the spec: a caller's later edit of its spec is not the run's.
    return RunRecord(RunSpec.from_dict(spec.to_dict()), history, after)


@dataclass
class Context:
    """What an experiment's ``run`` function gets: data, seeds, device and how to run specs.

    ``workers`` > 1 trains that many runs at a time, each in its own process with one
    torch thread (a run's bits do not depend on which process trains it). ``cpu_seconds``
    adds up the CPU time of every run, wherever it ran: the experiment's budget.
    ``base_lr`` is the baseline's rate chosen by the convergence experiment, for those
    experiments whose rates follow it (None where no such result was given).
    """

    data: TensorData | None
    seeds: list[int]
    device: str = "cpu"
    stop_at: int | None = None
    progress: bool = True
    checkpoint_dir: Path | None = None
    runs: list[RunRecord] = field(default_factory=list)
    workers: int = 1
    cpu_seconds: float = 0.0
    base_lr: float | None = None
    inline_cpu_seconds: float = 0.0
    other_seeds: dict[str, list[int]] = field(default_factory=dict)

    def record_seeds(self, arm: str, seeds: Sequence[int]) -> None:
        """Note the seeds an arm ran outside :meth:`run_all` (a study with its own loop and records,
        kept in its measures), so that the result's ``seeds_run`` names them too."""
        self.other_seeds[arm] = sorted({*self.other_seeds.get(arm, []), *map(int, seeds)})

    def _checkpoint(self, spec: RunSpec, index: int) -> str | None:
        if self.checkpoint_dir is None:
            return None
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        return str(self.checkpoint_dir / f"{spec.arm}_lr{spec.train.get('peak_lr')}_s{spec.seed}_{index}.pt")

    def run(self, spec: RunSpec) -> RunRecord:
        """Run ``spec`` (resuming from its checkpoint if one exists), append and return its record."""
        return self.run_all([spec])[0]

    def run_all(self, specs: Sequence[RunSpec]) -> list[RunRecord]:
        """Run every spec (``workers`` at a time), append their records in the order given, return them."""
        jobs = [(spec.to_dict(), self._checkpoint(spec, len(self.runs) + i)) for i, spec in enumerate(specs)]
        if self.workers <= 1 or len(jobs) <= 1:
            done = [_timed_run(s, c, self.data, self.device, self.stop_at, self.progress) for s, c in jobs]
            self.inline_cpu_seconds += sum(cpu for _, cpu in done)
        else:
            done = _run_in_pool(jobs, self.data, self.device, self.stop_at, self.workers, self.progress)
        records = []
        for record, cpu in done:
            self.cpu_seconds += cpu
            self.runs.append(record)
            records.append(record)
        return records


def _timed_run(spec: dict[str, Any], checkpoint: str | None, data: TensorData, device: str,
               stop_at: int | None, progress: bool) -> tuple[RunRecord, float]:
    c0 = time.process_time()
    record = run_spec(RunSpec.from_dict(spec), data, device, stop_at, progress, checkpoint)
    return record, time.process_time() - c0


_WORKER_DATA: TensorData | None = None


def _init_worker(data: TensorData) -> None:
    global _WORKER_DATA
    torch.set_num_threads(1)
    _WORKER_DATA = data


def _pool_job(args: tuple) -> tuple[RunRecord, float]:
    spec, checkpoint, device, stop_at = args
    return _timed_run(spec, checkpoint, _WORKER_DATA, device, stop_at, False)


def _run_in_pool(jobs: list, data: TensorData, device: str, stop_at: int | None, workers: int,
                 progress: bool) -> list[tuple[RunRecord, float]]:
    import multiprocessing

    from tqdm.auto import tqdm

    # spawn, not fork: a forked child inherits torch's thread pools mid-state
    pool = multiprocessing.get_context("spawn").Pool(min(workers, len(jobs)), _init_worker, (data,))
    try:
        pending = [pool.apply_async(_pool_job, ((s, c, device, stop_at),)) for s, c in jobs]
        out = []
        for p in tqdm(pending, desc="runs", disable=not progress, leave=False):
            out.append(p.get())
        return out
    finally:
        pool.close()
        pool.join()


def completed(history: History) -> bool:
    """Whether a run trained all its steps (it neither diverged nor was stopped at chance)."""
    return not history.diverged and not history.stalled and history.final_test_acc is not None


def selection_score(history: History) -> tuple[int, float]:
    """What picks a sweep's rate: a completed run beats any that failed; then the final validation
    accuracy (whole validation split); a failed run ranks by the best accuracy it showed."""
    if completed(history):
        acc = history.final_val_acc
        return 1, float(acc if acc is not None else history.final_test_acc)
    return 0, float(max(history.eval_acc[1:], default=0.0)) if not history.diverged else float("-inf")


# The rule the sweeps follow, as the result files state it.
SELECTION_RULE = ("highest final accuracy on the whole validation split, of one run per rate with the "
                  "selection seed (not a reported seed); a run that diverged or sat at chance loses to any "
                  "that completed; ties go to the lower rate; a best rate at the edge of the grid extends "
                  "the grid by a factor 3 beyond it, at most twice")


def select_rate(ctx: Context, make_spec: Callable[[float, int], RunSpec], rates: Sequence[float],
                seed: int, max_extensions: int = 2) -> dict[str, Any]:
    """The best rate for ``make_spec``'s arm: one run per rate with ``seed``, scored by :func:`selection_score`.

    The sweep runs carry ``tags["sweep"] = True`` (and ``"chosen"`` for the best one); they
    are appended to ``ctx.runs`` but are never among a comparison's reported runs. Returns
    ``{"chosen", "scores" (rate -> final validation accuracy or None), "rule", "seed", "extended"}``.
    """
    grid = sorted(float(r) for r in rates)
    scores: dict[float, tuple[int, float]] = {}
    records: dict[float, RunRecord] = {}
    extended = 0

    def sweep(new: list[float]) -> None:
        specs = []
        for lr in new:
            spec = make_spec(lr, seed)
            spec.tags["sweep"] = True
            specs.append(spec)
        for lr, rec in zip(new, ctx.run_all(specs)):
            scores[lr], records[lr] = selection_score(rec.history), rec

    sweep(grid)
    while True:
        best = max(grid, key=lambda r: (scores[r], -r))
        if scores[best][0] == 0 or extended >= max_extensions or best not in (grid[0], grid[-1]):
            break
        edge = grid[-1] * 3 if best == grid[-1] else grid[0] / 3
        edge = float(f"{edge:.3g}")
        grid = sorted(grid + [edge])
        extended += 1
        sweep([edge])
    records[best].spec.tags["chosen"] = True
    return {"chosen": best, "rule": SELECTION_RULE, "seed": seed, "extended": extended,
            "scores": {f"{r:g}": (scores[r][1] if scores[r][0] else None) for r in grid}}


@dataclass
class Experiment:
    """A registered experiment: its claim, its per-profile configurations and its ``run`` function.

    ``run(ctx, cfg)`` appends run records to ``ctx.runs`` and returns the
    experiment's own measures (e.g. the chosen learning rate). ``summarize(result)``, where
    the study has one, turns its result file, read as the typed :class:`ExperimentResult`
    (:func:`load_experiment_result`), into the typed record its chapter glues.
    A profile runs on CIFAR-10 unless it says ``"data": "none"``: then ``ctx.data`` is None and
    the study makes its own data (and says where it came from in its measures). ``load_data(data_dir,
    cfg)``, where given, loads the study's CIFAR-10 instead of :func:`load_tensor_data` with the
    profile's ``n_train``, ``n_test`` and ``n_val`` (a study that splits off its validation images
    itself); it returns the data and its provenance as :func:`load_tensor_data` does.
    """

    name: str
    title: str
    claim: str
    profiles: dict[str, dict[str, Any]]
    run: Callable[[Context, dict[str, Any]], dict[str, Any]]
    summarize: Callable[[ExperimentResult], Any] | None = None
    load_data: Callable[[str | None, dict[str, Any]], tuple[TensorData, dict[str, Any]]] | None = None


def load_tensor_data(data_dir: str | None, n_train: int | None = None, n_test: int | None = None,
                     n_val: int | None = None) -> tuple[TensorData, dict[str, Any]]:
    """CIFAR-10 (or a copy in its layout) as :class:`TensorData`, and its provenance (copy, md5s of both splits).

    ``n_val``: the last ``n_val`` of the (first ``n_train``) training images are held out as
    the validation split; ``n_train`` in the provenance counts the images loaded, ``n_fit``
    those trained on.
    """
    from bn.data import load_cifar10

    tr = load_cifar10("train", data_dir=data_dir, layout="NCHW", download=False)
    te = load_cifar10("test", data_dir=data_dir, layout="NCHW", download=False)
    data = tensor_data_from_split(tr, te).subset(n_train, n_test)
    prov = {"copy": tr.copy, "files_md5": {**tr.files_md5, **te.files_md5},
            "path": str(tr.data_dir), "n_train": len(data.train_labels), "n_test": len(data.test_labels)}
    if n_val:
        data = data.hold_out(n_val)
        prov.update(n_fit=len(data.train_labels), n_val=n_val,
                    validation=f"the last {n_val} of the {prov['n_train']} training images")
    return data, prov


def chosen_base_rate(path: str | Path) -> tuple[float, dict[str, Any]]:
    """The baseline's rate the convergence experiment chose (``measures["baseline_lr"]`` of its result
    file ``path``), and where it came from (file, its commit, the selection)."""
    from bn.results import load_result

    res = load_result(Path(path))
    if res.get("experiment") != "convergence":
        raise ValueError(f"{path} is not a convergence result")
    lr = float(res["measures"]["baseline_lr"])
    return lr, {"file": Path(path).name, "commit": res["provenance"]["code"]["commit"],
                "profile": res["profile"], "baseline_lr": lr}


def run_experiment(exp: Experiment, profile: str, seeds: list[int] | None = None, data_dir: str | None = None,
                   max_steps: int | None = None, device: str = "cpu", progress: bool = True,
                   checkpoint_dir: str | None = None, workers: int = 1,
                   base_from: str | Path | None = None) -> dict[str, Any]:
    """Run ``exp`` under ``profile`` and return the result payload (provenance included).

    ``base_from``: the convergence result whose chosen rate sets this experiment's
    ``base_lr`` (its profile says ``"base_lr": "convergence"``); by default the committed
    ``book/results`` file of the same profile.
    """
    from bn.provenance import collect_provenance, git_commit

    code = git_commit()  # the code that runs: taken now, in case the tree changes during a long run
    cfg = exp.profiles[profile]
    seeds = list(seeds if seeds is not None else cfg["seeds"])
    t0, c0 = time.perf_counter(), time.process_time()
    if cfg.get("data", "cifar10") == "cifar10" and exp.load_data is not None:
        data, data_prov = exp.load_data(data_dir, cfg)
    elif cfg.get("data", "cifar10") == "cifar10":
        data, data_prov = load_tensor_data(data_dir, cfg.get("n_train"), cfg.get("n_test"), cfg.get("n_val"))
    elif cfg["data"] == "none":  # the study makes its own data and states its provenance in its measures
        data, data_prov = None, {"copy": "none: the study generates its data (see its measures)"}
    else:
        raise ValueError(f"profile of {exp.name!r}: unknown data {cfg['data']!r} (expected 'cifar10' or 'none')")
    ctx = Context(data=data, seeds=seeds, device=device, stop_at=max_steps, progress=progress,
                  checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir else None, workers=workers)
    base_source = None
    if cfg.get("base_lr") == "convergence":
        if base_from is None:
            from bn.experiments import result_filename
            from bn.results import results_dir
            base_from = results_dir() / result_filename("convergence", profile)
        ctx.base_lr, base_source = chosen_base_rate(base_from)
    measures = exp.run(ctx, cfg)
    if base_source is not None:
        measures["base_lr_source"] = base_source
    wall = time.perf_counter() - t0
    # The budget's unit: CPU seconds of every run, in whichever process, plus this process's own work
    cpu = time.process_time() - c0 - ctx.inline_cpu_seconds + ctx.cpu_seconds
    # the seeds the reported runs used, not the profile's list: an arm may run only the first few
    records = list(ctx.runs)
    arm_seeds = {**seeds_run(records), **ctx.other_seeds}
    run_seeds = sorted({seed for seeds_of_arm in arm_seeds.values() for seed in seeds_of_arm})
    result = ExperimentResult(
        experiment=exp.name, title=exp.title, claim=exp.claim, profile=profile, seeds=run_seeds, max_steps=max_steps,
        config=cfg, measures=measures, runs=records, seeds_run=arm_seeds,
        provenance=collect_provenance(config=cfg, seeds=run_seeds, data=data_prov, wall_time_s=wall,
                                      cpu_time_s=cpu, profile=profile, max_steps=max_steps,
                                      torch_threads=1 if workers > 1 else torch.get_num_threads(),
                                      workers=workers, code=code))
    if git_commit() != code:
        result.provenance["code_at_end"] = git_commit()
    return result.to_dict()


def seeds_by_arm(records: Sequence[Any], arm_of: Callable[[Any], str],
                 seed_of: Callable[[Any], int] = lambda r: r["seed"]) -> dict[str, list[int]]:
    """Per arm (``arm_of(record)``), in the order the arms first ran: the sorted seeds of its records.

    What :attr:`ExperimentResult.seeds_run` holds for a study that keeps its own run records in its
    measures (it notes them with :meth:`Context.record_seeds`).
    """
    out: dict[str, list[int]] = {}
    for r in records:
        out.setdefault(arm_of(r), []).append(int(seed_of(r)))
    return {arm: sorted(set(s)) for arm, s in out.items()}


def record_run_seeds(ctx: Context, records: Sequence[Any], arm_of: Callable[[Any], str],
                     seed_of: Callable[[Any], int] = lambda r: r["seed"]) -> None:
    """Note every arm's seeds of a study's own run records (see :func:`seeds_by_arm`) on ``ctx``."""
    for arm, seeds in seeds_by_arm(records, arm_of, seed_of).items():
        ctx.record_seeds(arm, seeds)
