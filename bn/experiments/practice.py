"""The training runs of Part IV ("In practice"), one function per chapter, and their command line.

    python -m bn.experiments.practice layer|watch|population|pitfalls [--smoke] [--out FILE]

writes ``book/results/practice_<chapter>.json`` (a ``--smoke`` run, on 8,000
images and a few steps, is for tests and never written there). Every run
goes through :func:`bn.training.train`, the loop of Part III, with the
networks of :mod:`bn.models`; diagnostics come from
:mod:`bn.diagnostics` and :mod:`bn.population`.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from bn.cli import study_parser
from bn.diagnostics import UpdateRatioTracker, conv_weights, diagnostics_measure
from bn.experiments.base import load_tensor_data
from bn.population import (batch_statistics_accuracy, bn_state, buffer_change, dropout_variance_shift,
                           precise_statistics, refresh_statistics, statistics_gap, train_batches)
from bn.models import ConvUnit, build_model
from bn.training import TensorData, TrainConfig, evaluate_accuracy, train

CHAPTERS = ("layer", "watch", "population", "pitfalls")

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
              "pitfall_arms": ["bn_relu", "relu_bn", "dropout", "resnet", "resnet_zero_gamma"]},
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
              "cpu_seconds": time.process_time() - c0, "history": history}
    return model, record


def probe_batch(data: TensorData, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` training images (normalized) and labels: a fixed batch for diagnostics."""
    return data.normalize(data.train_images[:n]), data.train_labels[:n]


def unit_names(model: nn.Module) -> list[str]:
    """Names of the conv units (conv, BN, ReLU) of a plain CNN, input to output."""
    return [name for name, m in model.named_modules() if isinstance(m, ConvUnit)]


def _grad_agreement(data: TensorData, seed: int) -> dict[str, float]:
    """Book layer against torch.nn.BatchNorm2d on one batch at initialization: relative errors."""
    from bn.gradcheck.metrics import relative_error

    x, y = probe_batch(data, 64)
    out = {}
    for norm in ("torch", "book"):
        torch.manual_seed(seed)
        model = build_model("plain", norm=norm)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        out[norm] = (logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()})
    (lt, gt), (lb, gb) = out["torch"], out["book"]
    return {"logits": relative_error(lb.numpy(), lt.numpy()),
            "grad_worst": max(relative_error(gb[n].numpy(), gt[n].numpy()) for n in gt),
            "grad_median": float(torch.tensor([relative_error(gb[n].numpy(), gt[n].numpy())
                                               for n in gt]).median())}


def _step_seconds(data: TensorData, norm: str, batch_size: int, steps: int, rounds: int) -> list[float]:
    """CPU seconds per training step (forward, backward, SGD) of the plain CNN, best of each round."""
    x, y = probe_batch(data, batch_size)
    torch.manual_seed(0)
    model = build_model("plain", norm=norm)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    best = []
    for _ in range(rounds):
        c0 = time.process_time()
        for _ in range(steps):
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        best.append((time.process_time() - c0) / steps)
    return best


def run_layer(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Chapter 1: the plain CNN trained with the book's BN and with torch.nn.BatchNorm2d, paired seeds."""
    runs = []
    for seed in p["layer_seeds"]:
        for norm in p["layer_arms"]:
            _, rec = fit(data, {"kind": "plain", "norm": norm}, train_config(p), seed, norm)
            runs.append(rec)
    agreement = {str(s): _grad_agreement(data, s) for s in p["seeds"]}
    timing = {}
    for _ in range(2):  # interleave the arms so that a busy machine slows both alike
        for norm in ("torch", "book"):
            timing.setdefault(norm, []).extend(_step_seconds(data, norm, p["batch_size"], 5, 2))
    return {"runs": runs, "init_agreement": agreement, "step_cpu_seconds": timing}


def run_watch(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Chapter 2: diagnostics of the plain CNN with BN, and without BN at two rates (first seed)."""
    x, y = probe_batch(data, 256)
    arms = [("bn", "torch", p["peak_lr"]), ("no_bn", "none", p["peak_lr"]),
            ("no_bn_low_lr", "none", p["peak_lr"] / 5)]
    runs = []
    seed = p["seeds"][0]
    for arm, norm, lr in [a for a in arms if a[0] in p["watch_arms"]]:
        torch.manual_seed(seed)
        names = unit_names(build_model("plain", norm=norm))
        measure = diagnostics_measure(names, x, y)
        torch.manual_seed(seed)
        model = build_model("plain", norm=norm)
        tracker = UpdateRatioTracker(conv_weights(model))
        cfg = train_config({**p, "steps": p["watch_steps"]}, peak_lr=lr)
        c0 = time.process_time()
        with tracker:
            history = train(model, data, cfg, seed, measure=measure, desc=f"{arm} s{seed}")
        runs.append({"arm": arm, "seed": seed, "model": {"kind": "plain", "norm": norm},
                     "train": cfg.to_dict(), "cpu_seconds": time.process_time() - c0, "layers": names,
                     "update_ratios": {k: [float(f"{v:.4g}") for v in r] for k, r in tracker.ratios.items()},
                     "history": history})
    return {"runs": runs, "probe_examples": len(y)}


def population_measure(data: TensorData, calibration: list[torch.Tensor], n_test: int
                       ) -> Callable[[nn.Module], dict[str, Any]]:
    """At each evaluation: accuracy with EMA, recomputed and batch statistics, and the EMA's gap."""
    def measure(model: nn.Module) -> dict[str, Any]:
        precise = precise_statistics(model, calibration)
        return {"acc_ema": evaluate_accuracy(model, data, n_test),
                "acc_precise": evaluate_accuracy(precise, data, n_test),
                "acc_batch": batch_statistics_accuracy(model, data, 64, n_test),
                "gap": statistics_gap(model, precise)}
    return measure


def run_population(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Chapter 3: EMA against recomputed statistics over training; calibration size; tail batches."""
    n_test = p["eval_examples"]
    calibration = train_batches(data, 10, 64, seed=1000)
    runs, after = [], []
    for seed in p["seeds"]:
        model, rec = fit(data, {"kind": "plain", "norm": "torch"}, train_config(p), seed, "bn",
                         measure=population_measure(data, calibration, n_test))
        runs.append(rec)
        n_post = p["post_examples"]
        pool = train_batches(data, 50, 64, seed=2000 + seed)
        calib_curve = {str(k): evaluate_accuracy(precise_statistics(model, pool[:k]), data, n_post)
                       for k in (1, 2, 5, 10, 20, 50)}
        tails = {}
        for r in (1, 2, 4, 16, 64):
            accs = []
            for draw in range(5):
                tail = train_batches(data, 1, r, seed=3000 + 10 * seed + draw)[0]
                bumped = copy.deepcopy(model).train()
                with torch.no_grad():
                    bumped(tail)  # one more update of the running statistics, momentum 0.1
                accs.append(evaluate_accuracy(bumped, data, n_post))
            tails[str(r)] = accs
        after.append({"seed": seed, "acc_ema": evaluate_accuracy(model, data, n_post),
                      "calibration_batches": calib_curve, "tail_batch": tails,
                      "n_examples": n_post})
    return {"runs": runs, "after_training": after, "calibration_batch_size": 64,
            "n_train_images": len(data.train_labels)}


def _shifted(x: torch.Tensor) -> torch.Tensor:
    """The fine-tuning "new domain": half the contrast and a brighter picture (normalized units)."""
    return 0.5 * x + 0.5


def _fine_tune(model: nn.Module, data: TensorData, freeze_stats: bool, steps: int, seed: int
               ) -> dict[str, Any]:
    """Train only the classifier on shifted images; gamma and beta have requires_grad=False."""
    tuned = copy.deepcopy(model)
    for name, param in tuned.named_parameters():
        param.requires_grad = name.startswith("classifier")
    tuned.train()
    if freeze_stats:
        for m in tuned.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
    before = bn_state(tuned)
    opt = torch.optim.SGD([q for q in tuned.parameters() if q.requires_grad], lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(4000 + seed)
    for _ in range(steps):
        idx = torch.randint(0, len(data.train_labels), (64,), generator=gen)
        loss = F.cross_entropy(tuned(_shifted(data.normalize(data.train_images[idx]))), data.train_labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = bn_state(tuned)
    return {"running_mean_change": buffer_change(before, after, "running_mean"),
            "running_var_change": buffer_change(before, after, "running_var"),
            "gamma_change": buffer_change(before, after, "weight"),
            "beta_change": buffer_change(before, after, "bias"), "tuned": tuned}


def run_pitfalls(data: TensorData, p: dict[str, Any]) -> dict[str, Any]:
    """Chapter 4: forgotten eval(), momentum conventions, fine-tuning, dropout, BN/ReLU order, zero gamma."""
    n_post = p["post_examples"]
    cfg = train_config(p)
    arms = {"bn_relu": {"kind": "plain", "norm": "torch"},
            "relu_bn": {"kind": "plain", "norm": "torch", "order": "relu_bn"},
            "dropout": {"kind": "plain", "norm": "torch", "dropout": 0.2},
            "resnet": {"kind": "resnet", "norm": "torch", "width": 16},
            "resnet_zero_gamma": {"kind": "resnet", "norm": "torch", "width": 16, "zero_gamma": True}}
    runs, per_seed = [], []
    for seed in p["pitfall_seeds"]:
        models = {}
        for arm, args in [(a, arms[a]) for a in p["pitfall_arms"]]:
            models[arm], rec = fit(data, args, cfg, seed, arm)
            runs.append(rec)
        base = models["bn_relu"]
        out: dict[str, Any] = {"seed": seed, "n_examples": n_post,
                               "acc_eval": evaluate_accuracy(base, data, n_post)}
        out["acc_train_mode"] = {str(b): batch_statistics_accuracy(base, data, b, n_post)
                                 for b in (1, 2, 4, 8, 16, 64, 256, 1000)}
        # The side effect: a training-mode pass over the test set rewrites the running statistics.
        spoiled = copy.deepcopy(base).train()
        with torch.no_grad():
            for i in range(0, n_post, 16):
                spoiled(data.normalize(data.test_images[i:i + 16]))
        out["acc_eval_after_train_mode_pass"] = evaluate_accuracy(spoiled, data, n_post)
        batches = train_batches(data, 100, 64, seed=5000 + seed)
        out["momentum"] = {str(m): evaluate_accuracy(refresh_statistics(base, batches, m), data, n_post)
                           for m in (0.1, 0.99, 0.01, None)}
        # With momentum 0.99 the average is 99 % the last batch: three batches fix it to 1e-6.
        out["momentum_099_last_batches"] = [
            evaluate_accuracy(refresh_statistics(base, batches[k - 3:k], 0.99), data, n_post)
            for k in (96, 97, 98, 99, 100)]
        shifted_test = TensorData(data.train_images[:0], data.train_labels[:0], data.test_images,
                                  data.test_labels, data.mean, data.std)
        fine = {}
        for freeze in (False, True):
            res = _fine_tune(base, data, freeze, 50, seed)
            tuned = res.pop("tuned")
            res["acc_original"] = evaluate_accuracy(tuned, data, n_post)
            res["acc_shifted"] = _accuracy_on(tuned, shifted_test, _shifted, n_post)
            fine["bn_eval" if freeze else "requires_grad_only"] = res
        fine["acc_shifted_before"] = _accuracy_on(base, shifted_test, _shifted, n_post)
        out["fine_tuning"] = fine
        out["dropout"] = {"variance_ratio": _variance_ratios(base, data)}
        if "dropout" in models:
            drop = models["dropout"]
            out["dropout"].update({
                "acc_ema": evaluate_accuracy(drop, data, n_post),
                "acc_recomputed_dropout_off": evaluate_accuracy(
                    refresh_statistics(drop, batches, None, dropout_off=True), data, n_post),
                "acc_recomputed_dropout_on": evaluate_accuracy(
                    refresh_statistics(drop, batches, None), data, n_post)})
        per_seed.append(out)
    return {"runs": runs, "per_seed": per_seed}


@torch.no_grad()
def _accuracy_on(model: nn.Module, data: TensorData, transform: Callable[[torch.Tensor], torch.Tensor],
                 n: int) -> float:
    """Eval-mode accuracy on the first ``n`` test images after ``transform`` of the normalized input."""
    was = model.training
    model.eval()
    x = transform(data.normalize(data.test_images[:n]))
    acc = float((model(x).argmax(1) == data.test_labels[:n]).float().mean())
    model.train(was)
    return acc


@torch.no_grad()
def _variance_ratios(model: nn.Module, data: TensorData) -> dict[str, dict[str, float]]:
    """Eval/train variance ratio of the second conv's output for several dropout rates (eval-mode input)."""
    model = copy.deepcopy(model).eval()
    units = [m for m in model.modules() if isinstance(m, ConvUnit)]
    x, _ = probe_batch(data, 256)
    h = units[0](x)
    ratios = {}
    for q in (0.1, 0.2, 0.5):
        r = dropout_variance_shift(h, units[1].conv, q, seed=6000)
        ratios[str(q)] = {"median": float(r.median()), "min": float(r.min()), "max": float(r.max())}
    return ratios


RUNNERS = {"layer": run_layer, "watch": run_watch, "population": run_population, "pitfalls": run_pitfalls}


def run_chapter(chapter: str, profile: str = "cpu", data_dir: str | None = None) -> dict[str, Any]:
    """Run one chapter's experiments under ``profile`` and return the payload with provenance."""
    from bn.provenance import collect_provenance

    if chapter not in RUNNERS:
        raise ValueError(f"unknown chapter {chapter!r} (expected one of {CHAPTERS})")
    p = PROFILES[profile]
    t0, c0 = time.perf_counter(), time.process_time()
    data, data_prov = load_tensor_data(data_dir, p["n_train"], p["n_test"])
    payload = RUNNERS[chapter](data, p)
    seeds = {"pitfalls": p["pitfall_seeds"], "layer": p["layer_seeds"]}.get(chapter, p["seeds"])
    prov = collect_provenance(config=p, seeds=seeds, data=data_prov,
                              wall_time_s=time.perf_counter() - t0, cpu_time_s=time.process_time() - c0,
                              profile=profile, torch_threads=torch.get_num_threads(),
                              torch_cpu_capability=torch.backends.cpu.get_cpu_capability())
    return {"chapter": chapter, "profile": profile, "config": p, **payload, "provenance": prov}


def main(argv: list[str] | None = None) -> None:
    from bn.results import results_dir, save_result

    ap = study_parser("bn.experiments.practice", __doc__,
                      "result file (default book/results/practice_<chapter>.json)")
    ap.add_argument("chapter", choices=CHAPTERS)
    ap.add_argument("--smoke", action="store_true", help="a few steps on 8,000 images (tests only)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    profile = "smoke" if args.smoke else "cpu"
    out = args.out or (None if args.smoke else results_dir() / f"practice_{args.chapter}.json")
    if out is None:
        raise SystemExit("a --smoke run needs --out (it is never written to book/results)")
    payload = run_chapter(args.chapter, profile, args.data_dir)
    save_result(out, payload)
    print(f"wrote {out} ({payload['provenance']['cpu_time_s']:.0f} CPU s)")


if __name__ == "__main__":
    main()
