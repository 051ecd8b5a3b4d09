"""Inference of a conv -> BN network: eager, explicitly folded, ``torch.compile`` with and without freezing.

In eval mode a BN after a convolution is an affine map per channel that can be folded
into the convolution's weights (:func:`bn.functional.fold_batch_norm`). Inductor does this
itself only in *freezing* mode (``torch._inductor.config.freezing``), where parameters
become constants: its "binary folding" pass then absorbs BN's subtract, multiply and add
into the convolution. Without freezing, the running statistics stay inputs of the compiled
graph and every BN is a kernel that computes ``sqrt(running_var + eps)`` at each call. The
generated code shows which happened: :func:`inductor_report` counts the square roots in it.

Timings use the harness (:func:`bn.benchmark.harness.time_interleaved`): they belong to the
machine they were taken on and are stored with it, never measured when a chapter runs.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from bn.benchmark.harness import load_average_1min, time_interleaved
from bn.functional.folding import fold_batch_norm

__all__ = ["VARIANTS", "fold_conv_bn", "inductor_report", "inference_tolerance", "compare_inference",
           "InductorReport"]

VARIANTS = ("eager", "eager_channels_last", "folded", "compiled", "compiled_frozen")
UNIT_ROUNDOFF_32 = 2.0 ** -24


def fold_conv_bn(model: nn.Module) -> nn.Module:
    """A copy of eval-mode ``model`` with every BatchNorm2d that directly follows a Conv2d folded into it.

    "Follows" means: the next child of the same parent module (the order in which this book's
    networks apply them, ``conv, norm, act``), in a module whose ``order`` is not ``"relu_bn"``. The folding is
    computed in float64 with :func:`bn.functional.fold_batch_norm` and stored in the conv's dtype;
    the BN becomes an ``nn.Identity``.
    """
    folded = copy.deepcopy(model).eval()
    for parent in folded.modules():
        if getattr(parent, "order", "bn_relu") != "bn_relu":
            continue  # a unit that normalizes after its nonlinearity: its BN follows no convolution
        names = list(parent._modules)
        for a, b in zip(names, names[1:]):
            conv, norm = parent._modules[a], parent._modules[b]
            if not (isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d)):
                continue
            f64 = lambda t: None if t is None else t.detach().double().cpu().numpy()  # noqa: E731
            w, bias = fold_batch_norm(f64(conv.weight), f64(conv.bias), f64(norm.weight), f64(norm.bias),
                                      f64(norm.running_mean), f64(norm.running_var), norm.eps)
            new = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                            conv.dilation, conv.groups, bias=True)
            with torch.no_grad():
                new.weight.copy_(torch.from_numpy(w))
                new.bias.copy_(torch.from_numpy(bias))
            new.to(device=conv.weight.device, dtype=conv.weight.dtype)
            parent._modules[a], parent._modules[b] = new, nn.Identity()
    return folded


def count_batch_norms(model: nn.Module) -> int:
    """BatchNorm layers in ``model``."""
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@dataclass(frozen=True)
class InductorReport:
    """What inductor made of an eval-mode network: square roots left in the generated code (one per
    unfolded BN), the binary-folding pass's conv count, compile time and the error (if it failed)."""

    freezing: bool
    sqrt_in_code: int | None
    binary_folding_conv: int
    compile_seconds: float
    error: str | None


def inductor_report(model: nn.Module, x: torch.Tensor, freezing: bool) -> tuple[InductorReport, Any]:
    """Compile eval-mode ``model`` with inductor (``freezing`` on or off), run it on ``x``, read its code.

    Returns the report and the compiled callable (None where compiling failed: the error is the
    finding, recorded in the report, not hidden).
    """
    import torch._inductor.config as inductor_config
    from torch._dynamo.utils import counters
    from torch._inductor.utils import run_and_get_code

    torch._dynamo.reset()
    counters.clear()
    t0 = time.perf_counter()
    try:
        with inductor_config.patch(freezing=freezing), torch.no_grad():
            compiled = torch.compile(model)
            _, codes = run_and_get_code(compiled, x)
    except Exception as exc:  # noqa: BLE001 -- any failure of the compiler is what is reported
        return InductorReport(freezing, None, 0, time.perf_counter() - t0,
                              f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"), None
    seconds = time.perf_counter() - t0
    code = "\n".join(codes)
    folded = int(counters["inductor"].get("binary_folding_conv", 0))
    return InductorReport(freezing, code.count("sqrt"), folded, seconds, None), compiled


def inference_tolerance(model: nn.Module) -> float:
    """Bound on the error of float32 logits, relative to their largest magnitude, between two correct
    float32 evaluations of ``model`` that sum in different orders (or fold BN first).

    Each convolution or linear output is a sum of ``K = fan-in`` products; a float32 sum of
    length K is off by at most about ``K * u`` relative to the sum of magnitudes (u = 2^-24).
    Along the network the layers' errors add, so the bound is ``u * (sum of K + 4 per BN)``:
    the 4 roundings of BN's subtract, multiply, add and square root (or of the folding).
    """
    total = 0
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            total += m.weight[0].numel()
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            total += 4
    return UNIT_ROUNDOFF_32 * total


def _errors(out: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    diff = (out.float() - ref).abs()
    scale = float(ref.abs().max())
    return {"max_abs": float(diff.max()), "max_abs_over_max_logit": float(diff.max()) / scale}


def compare_inference(model: nn.Module, images: torch.Tensor, batch_size: int = 250, repeats: int = 11,
                      warmup: int = 2) -> dict[str, Any]:
    """Every variant of :data:`VARIANTS` on eval-mode ``model``: errors against eager float32 (NCHW) on
    ``images``, inductor's reports, and interleaved timings of one batch of ``batch_size``.

    A variant whose compilation failed is left out of the timings and errors; its report says why.
    """
    if len(images) % batch_size:
        raise ValueError(f"the images ({len(images)}) must fill whole batches of {batch_size}: a compiled "
                         "graph is specialized to its batch size")
    model = model.eval()
    cl = lambda t: t.contiguous(memory_format=torch.channels_last)  # noqa: E731
    model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    folded = fold_conv_bn(model).to(memory_format=torch.channels_last)
    calls = {"eager": model, "eager_channels_last": lambda b: model_cl(cl(b)), "folded": lambda b: folded(cl(b))}
    reports = {}
    batch = images[:batch_size]
    with torch.no_grad():
        for name, freezing in (("compiled", False), ("compiled_frozen", True)):
            rep, compiled = inductor_report(copy.deepcopy(model_cl), cl(batch), freezing)
            reports[name] = rep.__dict__
            if compiled is not None:
                calls[name] = (lambda c: (lambda b: c(cl(b))))(compiled)
        outputs = {name: torch.cat([call(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])
                   for name, call in calls.items()}
        errors = {name: _errors(out, outputs["eager"]) for name, out in outputs.items() if name != "eager"}
        fns = {name: (lambda c: (lambda: c(batch)))(call) for name, call in calls.items()}
        timings = time_interleaved(fns, repeats=repeats, warmup=warmup)
    torch._dynamo.reset()
    return {"batch_size": batch_size, "images_compared": len(images), "batch_norms": count_batch_norms(model),
            "tolerance": inference_tolerance(model), "inductor": reports, "errors": errors,
            "timings": {k: t.to_dict() for k, t in timings.items()}, "threads": torch.get_num_threads(),
            "load_average_1min": load_average_1min(), "torch": torch.__version__}
