"""Data-parallel training with per-process BN and with synchronized BN, and what the synchronization costs.

    python -m bn.experiments run sync_bn [--profile cpu|gpu]

Each run trains the small CNN of Part III (:class:`bn.models.SmallCNN` with
BN) under ``torch.nn.parallel.DistributedDataParallel`` in ``world_size``
processes, each with a per-process batch of ``per_process_batch`` images. The
two arms differ only in the BN layers: ``torch.nn.BatchNorm2d`` (statistics of
the per-process batch) or :class:`bn.torch_bn.sync.SyncBatchNorm` (statistics
of the global batch). Seeds are paired: the same seed gives both arms the same
initial weights and the same global batches, split the same way.

Timing. Every collective is timed in wall-clock seconds: the BN layers' two
(one all-gather forward, one all-reduce backward, per layer and step) with a
:class:`~bn.torch_bn.sync.CommClock`, and DDP's gradient all-reduce through a
communication hook that performs it synchronously. A collective's time
includes waiting for the other process, so on a shared machine it is an upper
bound on the cost of moving the data.

Evaluation. DDP is built with ``forward_sync_buffers=False``: rank 0's running
statistics then come from rank 0's batches alone in the per-process arm, exactly
as they would with DDP's default broadcast from rank 0, without an untimed
collective per step. Those are moving averages of statistics of batches of
``per_process_batch`` images, so comparing the arms with them would mix how
well each arm trained with how well its running statistics describe the data.
So every evaluation (the curve and the final accuracy) is made twice on rank 0:
with the running statistics as training left them (``*_running``), and, the
comparison the chapter reports, after recomputing both arms' population
statistics the same way (:func:`bn.population.precise_statistics`, plain
averages over ``precise_batches`` batches of ``precise_batch_size`` training
images, the same images for both arms of a seed).

The cpu profile writes ``book/results/sync_bn.json``, the gpu profile
``sync_bn_gpu.json``; the smoke profile is for tests.
"""

from __future__ import annotations

import copy
import resource
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from bn.formatting import data_copy_label, interval, percent, upper_bound
from bn.statistics import Evidence, Interval, decide
from bn.experiments.base import Context, Experiment, ExperimentResult, load_tensor_data, record_run_seeds
from bn.experiments.study_records import read_runs
from bn.models import build_model
from bn.population import precise_statistics, train_batches
from bn.results import from_strict_dict
from bn.torch_bn.processes import run_processes
from bn.torch_bn.sync import CommClock, SyncBatchNorm, convert_sync_batch_norm, revert_sync_batch_norm
from bn.training import TensorData, augment_batch, evaluate_accuracy, learning_rate, make_optimizer

ARMS = ("per_process", "synchronized")

PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {"seeds": [0, 1, 2], "world_size": 2, "per_process_batch": 4, "steps": 3000, "peak_lr": 0.02,
            "widths": [16, 32, 64], "eval_every": 500, "eval_examples": 1000, "n_train": None,
            "n_test": None, "timing_skip": 20, "device": "cpu", "threads": 1, "timeout_s": 3600,
            "precise_batches": 50, "precise_batch_size": 100},
    "gpu": {"seeds": [0, 1, 2, 3, 4], "world_size": 2, "per_process_batch": 4, "steps": 20000,
            "peak_lr": 0.02, "widths": [32, 64, 128], "eval_every": 2000, "eval_examples": 2000,
            "n_train": None, "n_test": None, "timing_skip": 50, "device": "cuda", "threads": 1,
            "timeout_s": 7200, "precise_batches": 50, "precise_batch_size": 100},
    "smoke": {"seeds": [0], "world_size": 2, "per_process_batch": 4, "steps": 6, "peak_lr": 0.02,
              "widths": [8, 8, 8], "eval_every": 3, "eval_examples": 100, "n_train": 500, "n_test": 200,
              "timing_skip": 2, "device": "cpu", "threads": 1, "timeout_s": 120,
              "precise_batches": 4, "precise_batch_size": 20},
}


def _timed_allreduce_hook(clock, bucket):  # unannotated: DDP rejects string annotations of a hook
    """DDP's gradient averaging, done synchronously so that its wall-clock time can be measured."""
    buf = bucket.buffer()
    with clock.measure("gradients"):
        dist.all_reduce(buf)
    buf.div_(dist.get_world_size())
    fut = torch.futures.Future()
    fut.set_result(buf)
    return fut


# The recomputed statistics' images are drawn with their own generator, seeded apart from the training
# seeds, so that both arms of a seed are calibrated on the same images.
PRECISE_SEED = 50_000


def population_evaluation(model: torch.nn.Module, data: TensorData, p: dict[str, Any], seed: int,
                          n: int | None, device: torch.device) -> float:
    """Test accuracy on the first ``n`` images after recomputing ``model``'s BN population statistics.

    Works on a copy whose synchronized layers are per-process ones again
    (:func:`~bn.torch_bn.sync.revert_sync_batch_norm`), so one process can do it
    alone; the statistics are plain averages over ``p["precise_batches"]`` batches
    of ``p["precise_batch_size"]`` training images (no augmentation), drawn with
    ``PRECISE_SEED + seed``. ``model`` itself is not touched.
    """
    local = revert_sync_batch_norm(copy.deepcopy(model))
    batches = train_batches(data, p["precise_batches"], p["precise_batch_size"], seed=PRECISE_SEED + seed)
    calibrated = precise_statistics(local, [b.to(device) for b in batches])
    return evaluate_accuracy(calibrated, data, n, str(device))


def _backend(device: str, world_size: int) -> str:
    """gloo on the CPU; NCCL when every process gets a GPU of its own, gloo (CUDA tensors) otherwise."""
    if device == "cuda" and torch.cuda.device_count() >= world_size:
        return "nccl"
    return "gloo"


def _train_one(rank: int, world_size: int, data: TensorData, p: dict[str, Any], seed: int, arm: str
               ) -> dict[str, Any]:
    """One run of one arm; every rank returns its timings, rank 0 also its test accuracies."""
    device = torch.device(p["device"], rank % max(1, torch.cuda.device_count())) \
        if p["device"] == "cuda" else torch.device("cpu")
    torch.manual_seed(seed)
    model = build_model("cnn", bn=True, widths=tuple(p["widths"]))
    clock = CommClock()
    if arm == "synchronized":
        convert_sync_batch_norm(model)
        for m in model.modules():
            if isinstance(m, SyncBatchNorm):
                m.clock = clock
    model.to(device)
    ddp = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                  forward_sync_buffers=False)
    ddp.register_comm_hook(clock, _timed_allreduce_hook)
    opt = make_optimizer(model, p["peak_lr"], momentum=0.9, weight_decay=5e-4)
    steps, b = p["steps"], p["per_process_batch"]
    warmup, half_life = max(1, steps // 20), steps / 2
    gen = torch.Generator().manual_seed(seed)  # the same stream on every rank: one global batch per step
    n_train = len(data.train_labels)
    curve: list[list[float]] = []
    curve_running: list[list[float]] = []
    losses: list[float] = []
    step_seconds = 0.0
    comm_at_skip: dict[str, float] = {}
    cpu0 = time.process_time()
    for step in range(steps):
        idx = torch.randint(0, n_train, (b * world_size,), generator=gen)
        x = augment_batch(data.normalize(data.train_images[idx]), gen, flip=True)
        mine = slice(rank * b, (rank + 1) * b)
        x, y = x[mine].to(device), data.train_labels[idx][mine].to(device)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, p["peak_lr"], warmup, half_life)
        if step == p["timing_skip"]:
            comm_at_skip = dict(clock.seconds)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        loss = F.cross_entropy(ddp(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step >= p["timing_skip"]:
            step_seconds += time.perf_counter() - t0
        losses.append(float(loss.detach()))
        if (step + 1) % p["eval_every"] == 0 and step + 1 < steps:
            if rank == 0:
                curve_running.append([step + 1, evaluate_accuracy(model, data, p["eval_examples"], str(device))])
                curve.append([step + 1, population_evaluation(model, data, p, seed, p["eval_examples"], device)])
            dist.barrier()  # rank 1 waits here, not inside the next step's timed collectives
    timed = steps - p["timing_skip"]
    record: dict[str, Any] = {
        "rank": rank, "seed": seed, "arm": arm, "cpu_seconds": time.process_time() - cpu0,
        "timed_steps": timed, "step_seconds": step_seconds / timed,
        "comm_seconds": {k: (v - comm_at_skip.get(k, 0.0)) / timed for k, v in clock.seconds.items()},
        "train_loss_last_10pct": sum(losses[-max(1, steps // 10):]) / max(1, steps // 10)}
    if rank == 0:
        acc_running = evaluate_accuracy(model, data, p["n_test"], str(device))
        acc = population_evaluation(model, data, p, seed, p["n_test"], device)
        record.update(test_acc_curve=curve + [[steps, acc]], final_test_acc=acc,
                      test_acc_curve_running=curve_running + [[steps, acc_running]],
                      final_test_acc_running=acc_running, n_test=len(data.test_labels[:p["n_test"]]))
    dist.barrier()
    return record


def _worker(rank: int, world_size: int, data: TensorData, p: dict[str, Any], out_dir: str) -> None:
    records = []
    for seed in p["seeds"]:
        for arm in ARMS:
            records.append(_train_one(rank, world_size, data, p, seed, arm))
    records.append({"rank": rank, "process_cpu_seconds": time.process_time()})
    torch.save(records, Path(out_dir) / f"rank{rank}.pt")


@dataclass(frozen=True)
class SyncRun:
    """One rank's record of one run, as :func:`_train_one` writes it.

    Every rank: its rank, the seed and arm, CPU seconds, the timed steps, the mean step time and
    the collectives' seconds per step by kind (``comm_seconds``), and the mean training loss over
    the last tenth of the steps. Rank 0 also: the test-accuracy curve (``[step, accuracy]`` pairs)
    and final accuracy with recomputed population statistics and with the running ones
    (``*_running``), and the number of test images; None on the other ranks.
    """

    rank: int
    seed: int
    arm: str
    cpu_seconds: float
    timed_steps: int
    step_seconds: float
    comm_seconds: dict[str, float]
    train_loss_last_10pct: float
    test_acc_curve: list[list[float]] | None = None
    final_test_acc: float | None = None
    test_acc_curve_running: list[list[float]] | None = None
    final_test_acc_running: float | None = None
    n_test: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as :func:`_train_one` writes it (no evaluation keys on a rank other than 0)."""
        out = asdict(self)
        if self.rank != 0:
            for key in RANK0_KEYS:
                del out[key]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], what: str = "sync_bn run") -> "SyncRun":
        """The record ``d`` holds; an unknown or a missing key is a ValueError that names ``what`` and
        the key (rank 0 must have every evaluation key, another rank none)."""
        run = from_strict_dict(cls, d, what)
        present = [k for k in RANK0_KEYS if k in d]
        expected = list(RANK0_KEYS) if run.rank == 0 else []
        if present != expected:
            wrong = sorted(set(RANK0_KEYS) - set(present)) if run.rank == 0 else present
            raise ValueError(f"{what}: rank {run.rank} "
                             f"{'is missing key(s)' if run.rank == 0 else 'has unexpected key(s)'} {wrong}")
        return run


# The keys only rank 0's record has: its evaluations.
RANK0_KEYS = ("test_acc_curve", "final_test_acc", "test_acc_curve_running", "final_test_acc_running", "n_test")


def runs_of(result: ExperimentResult, source: str | None = None) -> list[SyncRun]:
    """The records (every rank of every run) of a result of this study, typed (an error names
    ``source``, by default the result's file)."""
    return read_runs(result, SyncRun.from_dict, source)


def summarize(runs: list[SyncRun]) -> dict[str, Any]:
    """Per arm: final accuracies by seed (recomputed and running statistics); per arm and rank: mean step
    time and collective times per step (the summary the result stores in its measures)."""
    out: dict[str, Any] = {}
    for arm in ARMS:
        mine = [r for r in runs if r.arm == arm]
        acc = {str(r.seed): r.final_test_acc for r in mine if r.rank == 0}
        acc_running = {str(r.seed): r.final_test_acc_running for r in mine if r.rank == 0}
        ranks = sorted({r.rank for r in mine})
        timing = {}
        for rank in ranks:
            rr = [r for r in mine if r.rank == rank]
            kinds = sorted({k for r in rr for k in r.comm_seconds})
            timing[str(rank)] = {"step_seconds": sum(r.step_seconds for r in rr) / len(rr),
                                 "comm_seconds": {k: sum(r.comm_seconds.get(k, 0.0) for r in rr) / len(rr)
                                                  for k in kinds}}
        out[arm] = {"final_test_acc": acc, "final_test_acc_running": acc_running, "timing": timing}
    return out


def report(result: ExperimentResult) -> dict[str, Any]:
    """The chapter's numbers: accuracies, the paired differences and the time shares, with 95 % t intervals.

    ``acc[arm]`` and ``acc_difference`` (synchronized minus per-process, paired by
    seed) are over seeds, with both arms' population statistics recomputed
    before evaluation; ``acc_running`` and ``acc_difference_running`` are the
    same with the running statistics as training left them, and
    ``evaluation_part`` is the paired difference of the two differences (how
    much of the running-statistics comparison the recomputation removes).
    ``recompute_gain[arm]`` is what recomputing changes in an arm's accuracy.
    ``step_ms[arm]`` and the shares ``bn_share[arm]`` (the BN collectives' time
    over the step's) and ``grad_share[arm]`` are over seeds too, each first
    averaged over the ranks of a run; ``step_ms_difference`` is the paired
    difference of the step times, synchronized minus per-process.
    ``parts_ms[arm]`` splits the mean step; ``curves[arm]`` is ``(steps,
    accuracies by seed)`` with recomputed statistics.
    """
    from bn.statistics import mean_ci, paired_difference_ci

    runs = runs_of(result)
    seeds = result.seeds
    first = {(r.arm, r.seed): r for r in runs if r.rank == 0}
    acc = {arm: [first[arm, s].final_test_acc for s in seeds] for arm in ARMS}
    running = {arm: [first[arm, s].final_test_acc_running for s in seeds] for arm in ARMS}
    diff = [b - a for a, b in zip(acc["per_process"], acc["synchronized"])]
    diff_running = [b - a for a, b in zip(running["per_process"], running["synchronized"])]
    out: dict[str, Any] = {"acc": {arm: mean_ci(v) for arm, v in acc.items()},
                           "acc_by_seed": acc,
                           "acc_difference": mean_ci(diff),
                           "acc_running": {arm: mean_ci(v) for arm, v in running.items()},
                           "acc_by_seed_running": running,
                           "acc_difference_running": mean_ci(diff_running),
                           "evaluation_part": paired_difference_ci(diff_running, diff),
                           "recompute_gain": {arm: paired_difference_ci(acc[arm], running[arm]) for arm in ARMS}}
    out["curves"] = {arm: ([c[0] for c in first[arm, seeds[0]].test_acc_curve],
                           [[c[1] for c in first[arm, s].test_acc_curve] for s in seeds]) for arm in ARMS}
    out["step_ms"], out["bn_share"], out["grad_share"], out["parts_ms"] = {}, {}, {}, {}
    step_by_seed: dict[str, list[float]] = {}
    for arm in ARMS:
        # Per seed, the mean over ranks (the ranks of one run wait for each other: not independent).
        per_seed = {"bn_forward": [], "bn_backward": [], "gradients": [], "step": []}
        for s in seeds:
            mine = [r for r in runs if r.arm == arm and r.seed == s]
            for kind in ("bn_forward", "bn_backward", "gradients"):
                per_seed[kind].append(sum(r.comm_seconds.get(kind, 0.0) for r in mine) / len(mine))
            per_seed["step"].append(sum(r.step_seconds for r in mine) / len(mine))
        bn = [f + b for f, b in zip(per_seed["bn_forward"], per_seed["bn_backward"])]
        step, grad = per_seed["step"], per_seed["gradients"]
        step_by_seed[arm] = [1e3 * t for t in step]
        out["step_ms"][arm] = mean_ci(step_by_seed[arm])
        out["bn_share"][arm] = mean_ci([b / t for b, t in zip(bn, step)])
        out["grad_share"][arm] = mean_ci([g / t for g, t in zip(grad, step)])
        mean_ms = {k: 1e3 * sum(v) / len(v) for k, v in per_seed.items()}
        out["parts_ms"][arm] = {"BN statistics (all-gather)": mean_ms["bn_forward"],
                                "BN backward sums (all-reduce)": mean_ms["bn_backward"],
                                "gradients (all-reduce)": mean_ms["gradients"],
                                "everything else": mean_ms["step"] - mean_ms["bn_forward"]
                                - mean_ms["bn_backward"] - mean_ms["gradients"]}
    out["step_ms_difference"] = paired_difference_ci(step_by_seed["synchronized"], step_by_seed["per_process"])
    out["cpu_minutes"] = result.provenance["cpu_time_s"] / 60
    return out


@dataclass(frozen=True)
class SyncSummary:
    """Every number and word the chapter states, glued as ``sync-`` + field (hyphens for underscores;
    a mapping's keys, the arms ``per_process`` and ``synchronized``, are appended as they are).

    Exactness (on the spot): ``chan_bound``, the checked bound on the relative error of Chan's merge
    (:func:`bn.torch_bn.sync_check.merge_errors`); ``worst_eps``, the checked bound, in units of
    float64's epsilon, on every error of synchronized BN against full-batch BN, and ``cases``
    how many errors that is (:func:`bn.torch_bn.sync_check.full_batch_agreement`).
    Setup (the result's config): data copy, processes, per-process and global batch, steps,
    seeds, peak rate, widths, the recomputation's batches and batch size, evaluation and test
    examples (thousands separated), CPU minutes, BN layers and collectives per step.
    Per arm, from :func:`report`: accuracy (recomputed and running statistics), the gain of
    recomputing (points), step time (ms), the gradient all-reduce's share of the step, and the
    collectives' ms per step. Then the BN collectives' share of the synchronized step, the paired
    step-time difference, the accuracy differences (recomputed, running) and the evaluation part
    in points, and the rule's verdict (:func:`bn.statistics.decide`) on each of those three,
    claimed above 0.
    """

    chan_bound: float
    worst_eps: float
    cases: int
    copy: str
    world: int
    batch: int
    global_batch: int
    steps: int
    seeds: int
    lr: float
    widths: str
    precise_batches: int
    precise_size: int
    eval_examples: str
    cpu_min: float
    n_test: str
    n_bn: int
    n_collectives: int
    acc: dict[str, str]
    acc_running: dict[str, str]
    gain: dict[str, str]
    step: dict[str, str]
    grad_share: dict[str, str]
    comm_ms: dict[str, float]
    bn_share: str
    step_diff: str
    acc_diff: str
    acc_diff_running: str
    eval_part: str
    verdict: str
    verdict_running: str
    verdict_eval: str


def _above_zero(iv: Interval) -> str:
    return decide(Evidence(iv, 0.0, claimed="above")).word


def chapter_summary(result: ExperimentResult, agreement: list[dict[str, Any]]) -> SyncSummary:
    """The chapter's record of ``result`` and of ``agreement``, the cases of
    :func:`bn.torch_bn.sync_check.full_batch_agreement` the chapter ran (see :class:`SyncSummary`).

    Raises ``ValueError`` where a case is not within its tolerance, or the bounds the prose
    states (1e-9 for Chan's merge, 30 epsilon for the cases) do not hold.
    """
    from bn.torch_bn.sync_check import merge_errors

    failed = [c["rows"] for c in agreement if max(c["errors"].values()) >= c["tolerance"]]
    if failed:
        raise ValueError(f"synchronized BN outside its tolerance for the splits {failed}")
    cfg, prov = result.config, result.provenance
    rep = report(result)
    eps = float(torch.finfo(torch.float64).eps)
    worst = max(max(c["errors"].values()) for c in agreement)
    n_test = {r.n_test for r in runs_of(result) if r.rank == 0}
    if len(n_test) != 1:
        raise ValueError(f"the runs were tested on different numbers of images: {sorted(n_test)}")
    # One all-gather and one all-reduce per BN layer (one per conv block), then DDP's gradients.
    n_bn = len(cfg["widths"])
    return SyncSummary(
        chan_bound=upper_bound(merge_errors()[0], 1e-9),
        worst_eps=upper_bound(worst / eps, 30),
        cases=sum(len(c["errors"]) for c in agreement),
        copy=data_copy_label(prov["data"]["copy"]),
        world=cfg["world_size"], batch=cfg["per_process_batch"],
        global_batch=cfg["world_size"] * cfg["per_process_batch"],
        steps=cfg["steps"], seeds=len(cfg["seeds"]), lr=cfg["peak_lr"],
        widths=", ".join(map(str, cfg["widths"])),
        precise_batches=cfg["precise_batches"], precise_size=cfg["precise_batch_size"],
        eval_examples=f"{cfg['eval_examples']:,}", cpu_min=rep["cpu_minutes"],
        n_test=f"{n_test.pop():,}", n_bn=n_bn, n_collectives=2 * n_bn + 1,
        acc={arm: percent(rep["acc"][arm]) for arm in ARMS},
        acc_running={arm: percent(rep["acc_running"][arm]) for arm in ARMS},
        gain={arm: rep["recompute_gain"][arm].fmt(1, 100) for arm in ARMS},
        step={arm: interval(rep["step_ms"][arm], 1, low_min=0.0) for arm in ARMS},
        grad_share={arm: percent(rep["grad_share"][arm], 0) for arm in ARMS},
        comm_ms={arm: sum(v for k, v in rep["parts_ms"][arm].items() if k != "everything else")
                 for arm in ARMS},
        bn_share=percent(rep["bn_share"]["synchronized"], 0),
        step_diff=rep["step_ms_difference"].fmt(1),
        acc_diff=rep["acc_difference"].fmt(1, 100),
        acc_diff_running=rep["acc_difference_running"].fmt(1, 100),
        eval_part=rep["evaluation_part"].fmt(1, 100),
        verdict=_above_zero(rep["acc_difference"]),
        verdict_running=_above_zero(rep["acc_difference_running"]),
        verdict_eval=_above_zero(rep["evaluation_part"]),
    )


def run_sync_bn(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Both arms on every seed of ``p``, in ``world_size`` processes: the run records of every rank, their
    summary, and each process's CPU seconds (``children_cpu_seconds``: all the child processes')."""
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for t in (data.train_images, data.train_labels, data.test_images, data.test_labels):
        t.share_memory_()  # the workers read one copy instead of each loading the files again
    with tempfile.TemporaryDirectory() as out_dir:
        run_processes(_worker, p["world_size"], (data, p, out_dir), backend=_backend(p["device"], p["world_size"]),
                      timeout=p["timeout_s"], threads=p["threads"])
        per_rank = [torch.load(Path(out_dir) / f"rank{r}.pt") for r in range(p["world_size"])]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs = [r for records in per_rank for r in records[:-1]]
    return {"arms": list(ARMS), "runs": runs, "summary": summarize([SyncRun.from_dict(r) for r in runs]),
            "cpu_time_workers_s": [records[-1]["process_cpu_seconds"] for records in per_rank],
            "backend": _backend(p["device"], p["world_size"]),
            "children_cpu_seconds": (children.ru_utime - children0.ru_utime) + (children.ru_stime - children0.ru_stime)}


def arm_name(record: dict[str, Any]) -> str:
    """A run record's arm (each rank of a run keeps its own record; the seeds are the same)."""
    return record["arm"]


def load_data(data_dir: str | None, cfg: dict[str, Any]) -> tuple[TensorData, dict[str, Any]]:
    """The profile's CIFAR-10 images (the runs report on the test set; no validation split)."""
    return load_tensor_data(data_dir, cfg["n_train"], cfg["n_test"])


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """Both arms on every seed of ``ctx`` (the result's measures); the worker processes' CPU time is
    added to the budget, and the profile fixes their thread count."""
    measures = run_sync_bn(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    ctx.cpu_seconds += measures.pop("children_cpu_seconds")
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name="sync_bn", title="Per-process BN against synchronized BN in data-parallel training",
    claim=("With small per-process batches, synchronizing BN's statistics over the processes trains to a "
           "better accuracy than per-process BN, at the cost of two collectives per BN layer and step."),
    profiles=PROFILES, run=run, summarize=report, load_data=load_data)
