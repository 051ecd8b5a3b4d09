"""BN's pitfalls measured on the trained plain CNN: a forgotten ``eval()``, momentum conventions,
fine-tuning, dropout before BN, the order of BN and ReLU, and zero-initialized gamma.

    python -m bn.experiments run pitfalls

writes ``book/results/pitfalls.json``.
"""

from __future__ import annotations

from typing import Any

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from bn.experiments.base import Context, Experiment, record_run_seeds
from bn.experiments.plain_cnn import PROFILES, arm_name, fit, load_data, plain_args, probe_batch, train_config
from bn.models import ConvUnit
from bn.population import (batch_statistics_accuracy, bn_state, buffer_change, dropout_variance_shift,
                           refresh_statistics, train_batches)
from bn.training import TensorData, evaluate_accuracy


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
    width = p.get("resnet_width", 16)
    arms = {"bn_relu": plain_args(p, norm="torch"),
            "relu_bn": plain_args(p, norm="torch", order="relu_bn"),
            "dropout": plain_args(p, norm="torch", dropout=0.2),
            "resnet": {"kind": "resnet", "norm": "torch", "width": width},
            "resnet_zero_gamma": {"kind": "resnet", "norm": "torch", "width": width, "zero_gamma": True}}
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


def run(ctx: Context, cfg: dict[str, Any]) -> dict[str, Any]:
    """The study under ``cfg`` on ``ctx.data``: its own run records and measurements (the result's measures)."""
    measures = run_pitfalls(ctx.data, {**cfg, "seeds": list(ctx.seeds)})
    record_run_seeds(ctx, measures["runs"], arm_name)
    return measures


EXPERIMENT = Experiment(
    name='pitfalls', title='Pitfalls of BN, measured',
    claim=('What each classic mistake with BN does to the trained plain CNN: evaluation in training mode, the momentum convention, fine-tuning with moving statistics, dropout before BN, BN after ReLU, and gamma initialized to zero in residual blocks.'),
    profiles=PROFILES, run=run, load_data=load_data)
