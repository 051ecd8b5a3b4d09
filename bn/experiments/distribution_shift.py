"""BN under distribution shift: source statistics, AdaBN, test-batch statistics and TENT on corrupted CIFAR-10.

One network per seed, the book's small BN CNN trained as BN-Baseline (the
convergence experiment's base rate), is evaluated after its last step on a fixed
subset of the CIFAR-10 test images, clean and corrupted by
:mod:`bn.data.corruptions` (five corruptions at five severities, generated here
with a fixed seed, loosely modelled on CIFAR-10-C; not CIFAR-10-C itself), in four
ways (:mod:`bn.training.adaptation`):

* ``source``: eval mode, the running averages from training;
* ``adabn``: the BN statistics recomputed on all the (unlabeled) images of the set (Li et al. 2016);
* ``test_batch``: every test batch of :data:`TEST_BATCH` normalized by its own statistics
  (Schneider et al. 2020; Nado et al. 2020); also at the batch sizes :data:`BATCH_SIZES`, on
  clean images and on every corruption at severity :data:`SWEEP_SEVERITY`;
* ``tent``: TENT (Wang et al. 2021), reset for every corruption and severity, one pass in
  batches of :data:`TEST_BATCH`, Adam on BN's gamma and beta only. The authors use Adam at
  1e-3 and batches of 128 for one pass over the 10,000 images of a CIFAR-10-C set (79 steps);
  our sets have 2,000 images (16 steps), so the rate is scaled by 10,000 / 2,000 to 5e-3, to keep
  the total movement of Adam's steps (each moves a parameter by about the rate).

The pairing: for a seed, every method classifies the same corrupted images with the
same trained network; the images (and the noise) are the same for every seed. A
paired difference over seeds therefore varies only with the trained network.

The rule for each claim, fixed before the runs (all paired over the seeds, 95 % t
interval of the mean difference, :func:`bn.statistics.decide`, the claim's side
"above" unless said):

* ``adabn_shift``: AdaBN minus source statistics, accuracy averaged over the 25 corrupted
  sets (Schneider et al. 2020: ResNet-50's ImageNet-C mCE from 76.7 % to 62.2 %);
* ``test_batch_shift``: test-batch statistics at batch 128 minus source statistics, same average;
* ``test_batch_clean_small``: on clean images, test-batch statistics at batch :data:`SMALL_BATCH`
  minus source statistics, claimed *below* (small prediction batches cost clean accuracy,
  Nado et al. 2020);
* ``tent_over_batch``: TENT minus test-batch statistics (both at batch 128), averaged over the
  five corruptions at severity 5, the severity of Wang et al.'s CIFAR-10-C table;
* ``tent_over_adabn``: TENT minus AdaBN, same average.

None is a claim about where training ends: they compare ways of evaluating one trained network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from bn.experiments.base import Context, Experiment, ExperimentResult, RunRecord, RunSpec, register_after
from bn.experiments.settings import base_rate, baseline_train, cnn_model, cnn_profiles

CLAIM = ("Recomputing BN's statistics on shifted test data (AdaBN, test-batch statistics) improves accuracy under "
         "image corruptions over the training statistics (Schneider et al. 2020), small prediction batches cost "
         "clean accuracy (Nado et al. 2020), and TENT's entropy minimization on BN's affine parameters improves "
         "further (Wang et al. 2021).")

METHODS = ("source", "adabn", "test_batch", "tent")
METHOD_LABELS = {"source": "source statistics", "adabn": "AdaBN", "test_batch": "test-batch statistics",
                 "tent": "TENT"}
TEST_BATCH = 128
"""The test batch of ``test_batch`` and of TENT (Wang et al.'s batch on CIFAR-10-C)."""
BATCH_SIZES = (4, 16, 64, 128, 500)
SMALL_BATCH = 4
"""The small prediction batch of the claim ``test_batch_clean_small`` (fixed before the runs)."""
SWEEP_SEVERITY = 3
CORRUPTION_SEED = 0
ADABN_BATCH = 500
TENT_PAPER_LR, TENT_PAPER_SET = 1e-3, 10_000
TENT_PAPER_ERROR = {"source": 40.8, "test_batch": 17.3, "tent": 14.3}
"""Wang et al. 2021, Table 2: CIFAR-10-C error (%) at severity 5 of a ResNet-26, unadapted, with
test-batch statistics and with TENT."""
ARM = "bn"
AFTER = "distribution_shift_eval"


def tent_rate(n_images: int) -> float:
    """TENT's Adam rate for a set of ``n_images``: the authors' 1e-3 for 10,000 images, scaled by
    10,000 / ``n_images`` (the same total movement in fewer steps)."""
    return TENT_PAPER_LR * TENT_PAPER_SET / n_images


def _correct(logits: torch.Tensor, labels: torch.Tensor) -> int:
    return int((logits.argmax(1).cpu() == labels).sum())


def evaluate_set(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor, tent_lr: float,
                 batch_sizes: tuple[int, ...] = ()) -> dict[str, Any]:
    """Correct counts of the four methods on one set of normalized images ``x`` (and of test-batch
    statistics at each of ``batch_sizes``, under ``"by_batch"``)."""
    from bn.training.adaptation import TentConfig, adabn, source_logits, tent, per_batch_logits

    out: dict[str, Any] = {
        "source": _correct(source_logits(model, x), labels),
        "adabn": _correct(source_logits(adabn(model, x, ADABN_BATCH), x), labels),
        "test_batch": _correct(per_batch_logits(model, x, TEST_BATCH), labels),
        "tent": _correct(tent(model, x, TentConfig(lr=tent_lr, batch_size=TEST_BATCH))[0], labels),
    }
    if batch_sizes:
        out["by_batch"] = [_correct(per_batch_logits(model, x, b), labels) for b in batch_sizes]
    return out


@register_after(AFTER)
def shift_eval(model: torch.nn.Module, data, spec: RunSpec) -> dict[str, Any]:
    """After training: correct counts of every method on the first ``spec.tags["n_eval"]`` test images,
    clean and under every corruption and severity (``{"clean": {...}, "corrupted": {name: [per severity]}}``)."""
    from bn.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt

    n = min(int(spec.tags["n_eval"]), len(data.test_labels))
    images, labels = data.test_images[:n], data.test_labels[:n]
    device = next(model.parameters()).device
    model = model.eval()
    lr = float(spec.tags["tent_lr"])
    sizes = tuple(spec.tags["batch_sizes"])
    with torch.random.fork_rng():  # TENT and AdaBN draw nothing, but keep the global generator untouched
        clean = evaluate_set(model, data.normalize(images).to(device), labels, lr, sizes)
        corrupted = {}
        for name in CORRUPTIONS:
            per = []
            for s in SEVERITIES:
                x = torch.from_numpy(corrupt(images.numpy(), name, s, seed=CORRUPTION_SEED))
                per.append(evaluate_set(model, data.normalize(x).to(device), labels, lr,
                                        sizes if s == SWEEP_SEVERITY else ()))
            corrupted[name] = per
    return {"n_images": n, "clean": clean, "corrupted": corrupted}


def spec(cfg: dict[str, Any], lr: float, seed: int) -> RunSpec:
    """One BN-Baseline run of ``cfg``, measured by :func:`shift_eval` after its last step."""
    tags = {"n_eval": cfg["n_eval"], "tent_lr": tent_rate(cfg["n_eval"]), "batch_sizes": list(BATCH_SIZES),
            "corruption_seed": CORRUPTION_SEED}
    return RunSpec(arm=ARM, label="BN-Baseline", seed=seed, model=cnn_model(cfg, bn=True),
                   train=baseline_train(cfg, lr), tags=tags, after=AFTER)


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    from bn.data.corruptions import CORRUPTIONS, SEVERITY_PARAMETERS

    lr = base_rate(ctx, cfg)
    ctx.run_all([spec(cfg, lr, seed) for seed in ctx.seeds])
    return {"base_lr": lr, "corruptions": list(CORRUPTIONS),
            "severity_parameters": {k: list(v) for k, v in SEVERITY_PARAMETERS.items()},
            "corruption_seed": CORRUPTION_SEED, "test_batch": TEST_BATCH, "adabn_batch": ADABN_BATCH,
            "tent": {"optimizer": "adam", "lr": tent_rate(cfg["n_eval"]), "betas": [0.9, 0.999],
                     "batch_size": TEST_BATCH, "passes": 1, "reset": "every corruption and severity"},
            "data_note": "corruptions generated by bn.data.corruptions (not the published CIFAR-10-C files)"}


# The Part III baseline: 500 steps of 128 (1.4 epochs of the 45,000 training images), evaluated every
# 25 steps on 2,000 validation images; then the after-training evaluation on the first 2,000 test
# images (about 110 CPU-seconds per network, measured). Three seeds (about 9 CPU-minutes): the
# machine is shared, and five would not finish in the time the chapter had.
PROFILES = cnn_profiles(
    cpu={"base_lr": "convergence", "steps": 500, "eval_every": 25, "n_eval": 2000, "seeds": [0, 1, 2]},
    gpu={"base_lr": "convergence", "n_eval": 10000},
    smoke={"base_lr": 0.03, "steps": 24, "eval_every": 8, "n_eval": 200, "seeds": [0, 1, 2]})


# ---------------------------------------------------------------------------------------------
# Analysis

@dataclass(frozen=True)
class ShiftSummary:
    """Every number the chapter shows.

    Accuracies are fractions; intervals (``Interval``) are 95 % t intervals over seeds.
    ``by_severity[method]``: per severity 1-5, the accuracy averaged over the corruptions;
    ``by_corruption[method][name]``: per severity, the mean over seeds; ``clean[method]``;
    ``batch_clean`` / ``batch_shift``: per batch size of ``batch_sizes``, test-batch
    statistics on clean images and averaged over the corruptions at :data:`SWEEP_SEVERITY`;
    ``paired[(a, b)]``: per severity 1-5, the paired difference ``a - b`` over seeds of the
    accuracies averaged over the corruptions, for the pairs of :data:`PAIRS`;
    ``rows``: the claims (:func:`claim_rows`).
    """

    n_seeds: int
    n_images: int
    steps: int
    base_lr: float
    tent_lr: float
    cpu_minutes: float
    corruptions: tuple[str, ...]
    clean: dict[str, Any]
    by_severity: dict[str, list[Any]]
    by_corruption: dict[str, dict[str, list[float]]]
    corrupted_mean: dict[str, Any]
    batch_sizes: tuple[int, ...]
    batch_clean: list[Any]
    batch_shift: list[Any]
    paired: dict[tuple[str, str], list[Any]]
    rows: list[Any]


PAIRS = (("adabn", "source"), ("test_batch", "source"), ("tent", "test_batch"), ("tent", "adabn"))
"""The paired comparisons the chapter shows by severity (method, reference)."""


def _records(result: ExperimentResult) -> list[RunRecord]:
    runs = [r for r in result.runs if r.spec.arm == ARM and not r.spec.tags.get("sweep")]
    if not runs or any(r.after is None for r in runs):
        raise ValueError("the result has no measured runs of the BN network")
    return sorted(runs, key=lambda r: r.spec.seed)


def per_seed(result: ExperimentResult) -> dict[str, Any]:
    """Per seed (in seed order) accuracies: ``clean[method]``, ``corrupted[method][name][severity - 1]``,
    ``batch_clean[i]``, ``batch_shift[name][i]`` (lists over seeds) at the ``batch_sizes`` the runs name."""
    from bn.data.corruptions import CORRUPTIONS

    runs = _records(result)
    sizes = [int(b) for b in runs[0].spec.tags["batch_sizes"]]
    out: dict[str, Any] = {"seeds": [r.spec.seed for r in runs], "batch_sizes": sizes,
                           "clean": {m: [] for m in METHODS},
                           "corrupted": {m: {c: [[] for _ in range(5)] for c in CORRUPTIONS} for m in METHODS},
                           "batch_clean": [[] for _ in sizes],
                           "batch_shift": {c: [[] for _ in sizes] for c in CORRUPTIONS}}
    for r in runs:
        a = r.after
        n = a["n_images"]
        for m in METHODS:
            out["clean"][m].append(a["clean"][m] / n)
            for c in CORRUPTIONS:
                for s, rec in enumerate(a["corrupted"][c]):
                    out["corrupted"][m][c][s].append(rec[m] / n)
        for i, k in enumerate(a["clean"]["by_batch"]):
            out["batch_clean"][i].append(k / n)
        for c in CORRUPTIONS:
            for i, k in enumerate(a["corrupted"][c][SWEEP_SEVERITY - 1]["by_batch"]):
                out["batch_shift"][c][i].append(k / n)
    return out


def _mean_over(lists: list[list[float]]) -> list[float]:
    """Per seed, the mean of several per-seed lists."""
    return [sum(v) / len(v) for v in zip(*lists)]


def corrupted_average(ps: dict[str, Any], method: str, severities: tuple[int, ...] = (1, 2, 3, 4, 5)) -> list[float]:
    """Per seed: ``method``'s accuracy averaged over every corruption at ``severities``."""
    return _mean_over([ps["corrupted"][method][c][s - 1] for c in ps["corrupted"][method] for s in severities])


def claim_rows(result: ExperimentResult) -> list[Any]:
    """One scorecard row per claim of the module docstring, judged by :func:`bn.statistics.decide`."""
    from bn.experiments.report import points
    from bn.experiments.report import Row
    from bn.data.corruptions import SEVERITIES
    from bn.statistics import Evidence, decide, paired_difference_ci

    ps = per_seed(result)
    chapter = "today/01_distribution_shift"
    small = ps["batch_sizes"].index(SMALL_BATCH)
    sev5 = (max(SEVERITIES),)  # the highest severity, that of Wang et al.'s table

    def row(key: str, claim: str, paper: str, a: list[float], b: list[float], what: str,
            claimed: str = "above") -> Row:
        iv = paired_difference_ci(a, b)
        return Row(key, claim, chapter, paper, f"{points(iv)} {what}", decide(Evidence(iv, 0.0, claimed=claimed)))

    return [
        row("adabn_shift", "AdaBN (BN statistics recomputed on the corrupted images) beats the training statistics "
            "(Schneider et al. 2020)", "ResNet-50, ImageNet-C: mCE 76.7 % → 62.2 %",
            corrupted_average(ps, "adabn"), corrupted_average(ps, "source"), "accuracy, 25 corrupted sets"),
        row("test_batch_shift", f"Test-batch statistics (batch {TEST_BATCH}) beat the training statistics under "
            "corruption (Nado et al. 2020)", "ResNet-50, ImageNet-C: mCE 60.28 %",
            corrupted_average(ps, "test_batch"), corrupted_average(ps, "source"), "accuracy, 25 corrupted sets"),
        row("test_batch_clean_small", f"On clean images, test-batch statistics at a small batch ({SMALL_BATCH}) "
            "cost accuracy (Nado et al. 2020)", "qualitative",
            ps["batch_clean"][small], ps["clean"]["source"], "clean accuracy", claimed="below"),
        row("tent_over_batch", "TENT beats test-batch statistics (Wang et al. 2021)",
            f"CIFAR-10-C, severity 5: error {TENT_PAPER_ERROR['test_batch']:g} % → {TENT_PAPER_ERROR['tent']:g} %",
            corrupted_average(ps, "tent", sev5), corrupted_average(ps, "test_batch", sev5), "accuracy, severity 5"),
        row("tent_over_adabn", "TENT beats AdaBN (Wang et al. 2021)", "not compared there",
            corrupted_average(ps, "tent", sev5), corrupted_average(ps, "adabn", sev5), "accuracy, severity 5"),
    ]


def summarize(result: ExperimentResult) -> ShiftSummary:
    """The chapter's numbers (see :class:`ShiftSummary`)."""
    from bn.data.corruptions import CORRUPTIONS
    from bn.statistics import mean_ci, paired_difference_ci

    ps = per_seed(result)
    runs = _records(result)
    mean = lambda v: sum(v) / len(v)  # noqa: E731
    return ShiftSummary(
        n_seeds=len(ps["seeds"]), n_images=runs[0].after["n_images"], steps=runs[0].spec.train["steps"],
        base_lr=float(result.measures["base_lr"]), tent_lr=float(result.measures["tent"]["lr"]),
        cpu_minutes=float(result.provenance["cpu_time_s"]) / 60, corruptions=tuple(CORRUPTIONS),
        clean={m: mean_ci(ps["clean"][m]) for m in METHODS},
        by_severity={m: [mean_ci(corrupted_average(ps, m, (s,))) for s in range(1, 6)] for m in METHODS},
        by_corruption={m: {c: [mean(v) for v in ps["corrupted"][m][c]] for c in CORRUPTIONS} for m in METHODS},
        corrupted_mean={m: mean_ci(corrupted_average(ps, m)) for m in METHODS},
        batch_sizes=tuple(ps["batch_sizes"]), batch_clean=[mean_ci(v) for v in ps["batch_clean"]],
        batch_shift=[mean_ci(_mean_over([ps["batch_shift"][c][i] for c in CORRUPTIONS]))
                     for i in range(len(ps["batch_sizes"]))],
        paired={(a, b): [paired_difference_ci(corrupted_average(ps, a, (sv,)), corrupted_average(ps, b, (sv,)))
                         for sv in range(1, 6)] for a, b in PAIRS},
        rows=claim_rows(result))


def accuracy_table(summary: ShiftSummary) -> Any:
    """Mean accuracy over seeds (%) per corruption and method, severities 1-5 side by side, and clean."""
    from bn.formatting import Table

    rows = [["clean", METHOD_LABELS[m], f"{100 * summary.clean[m].estimate:.1f}"] + [""] * 4 for m in METHODS]
    for c in summary.corruptions:
        for m in METHODS:
            rows.append([c, METHOD_LABELS[m]] + [f"{100 * a:.1f}" for a in summary.by_corruption[m][c]])
    return Table(["set", "method", "severity 1", "2", "3", "4", "5"], rows)


def paired_table(summary: ShiftSummary) -> Any:
    """Paired differences over seeds (points, 95 % interval) by severity, averaged over the corruptions."""
    from bn.experiments.report import points
    from bn.formatting import Table

    rows = [[f"{METHOD_LABELS[a]} − {METHOD_LABELS[b]}"] + [points(iv).replace(" points", "") for iv in ivs]
            for (a, b), ivs in summary.paired.items()]
    return Table(["paired difference (points)", "severity 1", "2", "3", "4", "5"], rows)


def rows_table(summary: ShiftSummary) -> Any:
    """The claims: the paper's number, ours with its interval, the verdict."""
    from bn.formatting import Table

    return Table(["claim", "paper", "ours (paired over seeds)", "verdict"],
                 [[r.claim, r.paper, r.ours, r.verdict.text()] for r in summary.rows])


@dataclass(frozen=True)
class ShiftChapter:
    """Every number the chapter pastes, glued by one ``glue_record(record, "ds_")``.

    The protocol: ``seeds``, training ``steps`` of ``train_batch`` images at the base rate ``lr``,
    ``n`` test images per set (thousands separated), ``n_sets`` corrupted sets (corruptions times
    severities), the severity of the batch sweep ``sweep_sev`` and the highest ``top_sev``, the
    batches of test-batch statistics (``test_batch``), AdaBN (``adabn_batch``), the claim's
    ``small`` batch and the sweep's ``sizes``; TENT's rate ``tent_lr`` and steps per set
    ``tent_steps``; the data copy (``copy``, and ``rebuild_quality``, the JPEG quality of the
    rebuilt copy); ``cpu_min``. Per method (mappings keyed by method, glued ``ds_NAME_METHOD``):
    accuracy on clean images ``clean``, averaged over the corrupted sets ``shift`` and at the top
    severity ``sev5``; per test batch size (``ds_bclean_B``, ``ds_bshift_B``) test-batch
    statistics on clean images and at the sweep's severity, where source statistics give
    ``sev3_source``. The sources' numbers (``paper_*``: Wang et al.'s errors per method, their set
    and its steps). ``verdict``: the scorecard's words of :func:`claim_rows`. The exercises
    (``ex_*``): values per channel of the first and last BN layer, the relative size of the
    biased/unbiased variance difference, the corruptions AdaBN helps most and least at the top
    severity, the relative noise of a batch's standard deviation, and the corruption parameters
    the solution quotes (contrast factor and its square, JPEG quality, at the top severity).
    """

    seeds: int
    steps: int
    train_batch: int
    n: str
    n_sets: int
    lr: str
    tent_lr: str
    cpu_min: float
    test_batch: int
    adabn_batch: int
    small: int
    sweep_sev: int
    top_sev: int
    sizes: str
    copy: str
    rebuild_quality: int
    tent_steps: int
    sev3_source: str
    clean: dict[str, str]
    shift: dict[str, str]
    sev5: dict[str, str]
    bclean: dict[int, str]
    bshift: dict[int, str]
    paper_tent_error: dict[str, float]
    paper_set: str
    paper_steps: int
    verdict: dict[str, str] = field(metadata={"glue": "verdict_"})
    ex_first: str
    ex_last: str
    ex_rel_first: str
    ex_rel_last: str
    ex_pix_first: int
    ex_pix_last: int
    ex_best: str
    ex_best_gain: str
    ex_worst: str
    ex_worst_gain: str
    ex_best_source: str
    ex_worst_source: str
    ex_sd_small: str
    ex_sd_batch: str
    ex_contrast: float
    ex_contrast_var: float
    ex_jpeg: int


def adabn_gains(s: ShiftSummary, severity: int) -> dict[str, float]:
    """Per corruption: AdaBN's accuracy minus source statistics' at ``severity`` (means over seeds)."""
    return {c: s.by_corruption["adabn"][c][severity - 1] - s.by_corruption["source"][c][severity - 1]
            for c in s.corruptions}


def chapter_summary(result: ExperimentResult) -> ShiftChapter:
    """The chapter's record of ``result`` (see :class:`ShiftChapter`)."""
    from bn.data.checksums import REBUILD_JPEG_QUALITY
    from bn.data.corruptions import SEVERITIES, SEVERITY_PARAMETERS
    from bn.experiments.report import percent
    from bn.experiments.scorecard import verdict_words
    from bn.models import build_model
    from bn.formatting import data_copy_label
    from bn.training.adaptation import values_per_channel

    s = summarize(result)
    top = max(SEVERITIES)
    run = _records(result)[0]
    per_image = values_per_channel(build_model(**run.spec.model), torch.zeros(1, 3, 32, 32))
    n_first, n_last = (per_image[i] * s.n_images for i in (0, -1))
    gain = adabn_gains(s, top)
    best, worst = max(gain, key=gain.get), min(gain, key=gain.get)
    rel_sd = {b: (2 * per_image[-1] * b) ** -0.5 for b in (SMALL_BATCH, TEST_BATCH)}
    contrast = SEVERITY_PARAMETERS["contrast"][top - 1]
    return ShiftChapter(
        seeds=s.n_seeds, steps=s.steps, train_batch=int(run.spec.train["batch_size"]), n=f"{s.n_images:,}",
        n_sets=len(s.corruptions) * len(SEVERITIES), lr=f"{s.base_lr:g}", tent_lr=f"{s.tent_lr:g}",
        cpu_min=s.cpu_minutes, test_batch=TEST_BATCH, adabn_batch=ADABN_BATCH, small=SMALL_BATCH,
        sweep_sev=SWEEP_SEVERITY, top_sev=top, sizes=", ".join(map(str, s.batch_sizes)), copy=data_copy_label(result.provenance["data"]["copy"]),
        rebuild_quality=REBUILD_JPEG_QUALITY, tent_steps=-(-s.n_images // TEST_BATCH),
        sev3_source=percent(s.by_severity["source"][SWEEP_SEVERITY - 1]),
        clean={m: percent(s.clean[m]) for m in METHODS}, shift={m: percent(s.corrupted_mean[m]) for m in METHODS},
        sev5={m: percent(s.by_severity[m][top - 1]) for m in METHODS},
        bclean={b: percent(c) for b, c in zip(s.batch_sizes, s.batch_clean)},
        bshift={b: percent(d) for b, d in zip(s.batch_sizes, s.batch_shift)},
        paper_tent_error=dict(TENT_PAPER_ERROR), paper_set=f"{TENT_PAPER_SET:,}",
        paper_steps=-(-TENT_PAPER_SET // TEST_BATCH), verdict=verdict_words(s.rows),
        ex_first=f"{n_first:,}", ex_last=f"{n_last:,}", ex_rel_first=f"{1 / (n_first - 1):.1e}",
        ex_rel_last=f"{1 / (n_last - 1):.1e}", ex_pix_first=per_image[0], ex_pix_last=per_image[-1],
        ex_best=best.replace("_", " "), ex_best_gain=f"{100 * gain[best]:+.1f}",
        ex_worst=worst.replace("_", " "), ex_worst_gain=f"{100 * gain[worst]:+.1f}",
        ex_best_source=f"{100 * s.by_corruption['source'][best][top - 1]:.1f}",
        ex_worst_source=f"{100 * s.by_corruption['source'][worst][top - 1]:.1f}",
        ex_sd_small=f"{100 * rel_sd[SMALL_BATCH]:.0f}", ex_sd_batch=f"{100 * rel_sd[TEST_BATCH]:.1f}",
        ex_contrast=contrast, ex_contrast_var=float(f"{contrast ** 2:.1g}"),
        ex_jpeg=int(SEVERITY_PARAMETERS["jpeg"][top - 1]))


EXPERIMENT = Experiment(name="distribution_shift", title="BN under distribution shift: AdaBN, test-batch statistics, TENT",
                        claim=CLAIM, profiles=PROFILES, run=run, summarize=summarize)
