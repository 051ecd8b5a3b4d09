"""Does the book's NumPy code agree with PyTorch? One function per family of checks, one number per check.

Every check returns the *normwise relative error*
(:func:`bn.gradcheck.metrics.max_relative_error`)::

    err(a, ref) = max_i |a_i - ref_i| / max_i |ref_i|,

with PyTorch's result as ``ref``. The normwise form is used because an
elementwise ratio explodes at entries that are zero up to rounding (dx has
many), while the normwise one measures error on the scale of the output,
which is what a forward rounding analysis bounds (Higham 2002, ch. 3).

The stated tolerances, from unit roundoff times the conditioning of the
computation, are :data:`bn.gradcheck.tolerances.PARITY_TOLERANCES` (derived there).

Run ``python -m bn.torch_bn.parity --device cpu --out book/results/parity_cpu.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from bn import functional as bnf
from bn.formatting import Table, format_sci
from bn.glue import Md
from bn.gradcheck.metrics import max_relative_error
from bn.gradcheck.tolerances import PARITY_TOLERANCES
from bn.torch_bn.devices import NUMPY_DTYPES, TORCH_DTYPES
from bn.torch_bn.function import book_batch_norm
from bn.torch_bn.module import BookBatchNorm

__all__ = ["AUTOGRAD_EPS", "CASES", "Comparison", "ParityCase", "ParitySummary", "run_parity", "autograd_checks",
           "autograd_target", "largest_channel_size", "PARITY_CHECKS", "summarize", "worst_checks", "main"]

EPS = 1e-5
MOMENTUM = 0.1
STEPS = 5  # k training batches for the running-statistics checks


@dataclass(frozen=True)
class ParityCase:
    """An input shape ``(N, C, *spatial)`` and the mean/std of the data fed to BN."""

    shape: tuple[int, ...]
    mean: float = 0.0
    std: float = 1.0
    seed: int = 0


# (N, C) as BatchNorm1d, (N, C, H, W) as BatchNorm2d, (N, C, D, H, W) as BatchNorm3d;
# non-zero means and non-unit stds so that centering and scaling are exercised.
CASES: tuple[ParityCase, ...] = (
    ParityCase((64, 7), mean=1.5, std=2.0, seed=1),
    ParityCase((16, 8, 5, 5), mean=-3.0, std=0.5, seed=2),
    ParityCase((4, 3, 3, 4, 5), mean=0.5, std=3.0, seed=3),
)


@dataclass(frozen=True)
class Comparison:
    """One check's result: its name, what it compares (for the chapter's table) and the error."""

    check: str
    description: str
    error: float


def _compare(check: str, description: str, a, ref) -> Comparison:
    """``a`` against the reference ``ref`` (arrays or tensors), by the max-norm relative error."""
    return Comparison(check, description, max_relative_error(_np64(a), _np64(ref)))


def _np64(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().to("cpu", torch.float64).numpy()
    return np.asarray(a, dtype=np.float64)


@dataclass
class _Inputs:
    """One case's data in NumPy (dtype) and torch (dtype, device), from one float64 draw."""

    x: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    dy: np.ndarray
    batches: list[np.ndarray]
    device: str
    dtype: str

    def t(self, a: np.ndarray, grad: bool = False) -> torch.Tensor:
        return torch.tensor(a, dtype=TORCH_DTYPES[self.dtype], device=self.device, requires_grad=grad)


def _inputs(case: ParityCase, dtype: str, device: str) -> _Inputs:
    rng = np.random.default_rng(case.seed)
    c = case.shape[1]
    nd = NUMPY_DTYPES[dtype]

    def draw(*shape):
        return (case.mean + case.std * rng.standard_normal(shape)).astype(nd)

    return _Inputs(x=draw(*case.shape), gamma=(1 + 0.5 * rng.standard_normal(c)).astype(nd),
                   beta=rng.standard_normal(c).astype(nd), dy=rng.standard_normal(case.shape).astype(nd),
                   batches=[draw(*case.shape) for _ in range(STEPS)], device=device, dtype=dtype)


def _torch_train(inp: _Inputs) -> dict[str, torch.Tensor]:
    """PyTorch's reference: F.batch_norm in training mode, gradients by autograd."""
    x, g, b = inp.t(inp.x, True), inp.t(inp.gamma, True), inp.t(inp.beta, True)
    y = F.batch_norm(x, None, None, g, b, training=True, momentum=MOMENTUM, eps=EPS)
    y.backward(inp.t(inp.dy))
    return {"y": y, "dx": x.grad, "dgamma": g.grad, "dbeta": b.grad}


def _numpy_train(inp: _Inputs, staged: bool = False) -> dict[str, np.ndarray]:
    y, cache = bnf.batch_norm_forward(inp.x, inp.gamma, inp.beta, eps=EPS)
    backward = bnf.batch_norm_backward_staged if staged else bnf.batch_norm_backward
    dx, dgamma, dbeta = backward(inp.dy, cache)
    return {"y": y, "dx": dx, "dgamma": dgamma, "dbeta": dbeta}


def _function_train(inp: _Inputs) -> dict[str, torch.Tensor]:
    x, g, b = inp.t(inp.x, True), inp.t(inp.gamma, True), inp.t(inp.beta, True)
    y = book_batch_norm(x, g, b, EPS)
    y.backward(inp.t(inp.dy))
    return {"y": y, "dx": x.grad, "dgamma": g.grad, "dbeta": b.grad}


def _torch_module(inp: _Inputs, momentum: float | None, book: bool = False) -> nn.Module:
    c = inp.x.shape[1]
    kw = {"device": inp.device, "dtype": TORCH_DTYPES[inp.dtype]}
    if book:
        return BookBatchNorm(c, eps=EPS, momentum=momentum, **kw)
    cls = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}[inp.x.ndim]
    return cls(c, eps=EPS, momentum=momentum, **kw)


def _trained_module(inp: _Inputs, momentum: float | None, book: bool = False) -> nn.Module:
    """A BN module after STEPS training batches (affine set to the case's gamma, beta)."""
    mod = _torch_module(inp, momentum, book)
    with torch.no_grad():
        mod.weight.copy_(inp.t(inp.gamma))
        mod.bias.copy_(inp.t(inp.beta))
        mod.train()
        for batch in inp.batches:
            mod(inp.t(batch))
    return mod.eval()


def _numpy_running_stats(inp: _Inputs, momentum: float | None) -> tuple[np.ndarray, np.ndarray, int]:
    c = inp.x.shape[1]
    nd = NUMPY_DTYPES[inp.dtype]
    mean, var = np.zeros(c, dtype=nd), np.ones(c, dtype=nd)
    for seen, batch in enumerate(inp.batches):
        # bn.functional takes the count of batches already averaged (PyTorch's
        # num_batches_tracked before this batch); it is ignored when momentum is a number.
        mean, var = bnf.update_running_stats(mean, var, batch, momentum=momentum, num_batches_tracked=seen)
    return mean, var, len(inp.batches)


def _fold_conv(inp: _Inputs) -> list[Comparison]:
    """fold_batch_norm against torch's fuse_conv_bn_eval, on a 3x3 convolution."""
    torch.manual_seed(0)
    c = inp.x.shape[1]
    kw = {"device": inp.device, "dtype": TORCH_DTYPES[inp.dtype]}
    conv = nn.Conv2d(3, c, 3, padding=1, bias=True, **kw).eval()
    bn = _trained_module(_Inputs(**{**inp.__dict__, "x": inp.x.reshape(inp.x.shape[0], c, -1, 1),
                                    "batches": [b.reshape(b.shape[0], c, -1, 1) for b in inp.batches]}), MOMENTUM)
    fused = fuse_conv_bn_eval(conv, bn)
    w, b = bnf.fold_batch_norm(_np(conv.weight, inp), _np(conv.bias, inp), inp.gamma, inp.beta,
                               _np(bn.running_mean, inp), _np(bn.running_var, inp), eps=EPS)
    img = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(1), dtype=kw["dtype"]).to(inp.device)
    with torch.no_grad():
        out_ref = bn(conv(img))
        out_folded = F.conv2d(img, inp.t(w), inp.t(b), padding=1)
    return [_compare("fold_conv_weight", "fold_batch_norm vs fuse_conv_bn_eval: weight", w, fused.weight),
            _compare("fold_conv_bias", "fold_batch_norm vs fuse_conv_bn_eval: bias", b, fused.bias),
            _compare("fold_conv_output", "folded conv output vs conv + BN (eval)", out_folded, out_ref)]


def _fold_linear(inp: _Inputs) -> list[Comparison]:
    """fold_batch_norm against fuse_linear_bn_eval, for a linear layer without bias."""
    torch.manual_seed(0)
    c = inp.x.shape[1]
    lin = nn.Linear(5, c, bias=False, device=inp.device, dtype=TORCH_DTYPES[inp.dtype]).eval()
    flat = _Inputs(**{**inp.__dict__, "x": inp.x.reshape(inp.x.shape[0], c, -1)[:, :, 0],
                      "batches": [b.reshape(b.shape[0], c, -1)[:, :, 0] for b in inp.batches]})
    bn = _trained_module(flat, MOMENTUM)
    fused = fuse_linear_bn_eval(lin, bn)
    w, b = bnf.fold_batch_norm(_np(lin.weight, inp), None, inp.gamma, inp.beta,
                               _np(bn.running_mean, inp), _np(bn.running_var, inp), eps=EPS)
    return [_compare("fold_linear_weight", "fold_batch_norm vs fuse_linear_bn_eval: weight", w, fused.weight),
            _compare("fold_linear_bias", "fold_batch_norm vs fuse_linear_bn_eval: bias (no linear bias)",
                     b, fused.bias)]


def _np(t: torch.Tensor, inp: _Inputs) -> np.ndarray:
    return t.detach().cpu().numpy().astype(NUMPY_DTYPES[inp.dtype])


def _check_training(inp: _Inputs) -> list[Comparison]:
    ref = _torch_train(inp)
    ours, staged, func = _numpy_train(inp), _numpy_train(inp, staged=True), _function_train(inp)
    return [
        _compare("numpy_y", "NumPy forward y vs F.batch_norm", ours["y"], ref["y"]),
        _compare("numpy_dx", "NumPy compact backward dx vs autograd", ours["dx"], ref["dx"]),
        _compare("numpy_dgamma", "NumPy compact backward dγ", ours["dgamma"], ref["dgamma"]),
        _compare("numpy_dbeta", "NumPy compact backward dβ", ours["dbeta"], ref["dbeta"]),
        _compare("numpy_staged_dx", "NumPy staged backward dx", staged["dx"], ref["dx"]),
        _compare("numpy_staged_dgamma", "NumPy staged backward dγ", staged["dgamma"], ref["dgamma"]),
        _compare("numpy_staged_dbeta", "NumPy staged backward dβ", staged["dbeta"], ref["dbeta"]),
        _compare("function_y", "autograd.Function forward y", func["y"], ref["y"]),
        _compare("function_dx", "autograd.Function dx", func["dx"], ref["dx"]),
        _compare("function_dgamma", "autograd.Function dγ", func["dgamma"], ref["dgamma"]),
        _compare("function_dbeta", "autograd.Function dβ", func["dbeta"], ref["dbeta"]),
    ]


def _check_running_stats(inp: _Inputs) -> list[Comparison]:
    out: list[Comparison] = []
    for label, momentum in (("m0.1", MOMENTUM), ("cumulative", None)):
        ref = _trained_module(inp, momentum)
        book = _trained_module(inp, momentum, book=True)
        mean, var, count = _numpy_running_stats(inp, momentum)
        out += [
            _compare(f"numpy_running_mean_{label}", f"NumPy running mean, momentum {momentum}, {STEPS} steps",
                     mean, ref.running_mean),
            _compare(f"numpy_running_var_{label}", f"NumPy running var, momentum {momentum}, {STEPS} steps",
                     var, ref.running_var),
            _compare(f"module_running_mean_{label}", f"BookBatchNorm running mean, momentum {momentum}",
                     book.running_mean, ref.running_mean),
            _compare(f"module_running_var_{label}", f"BookBatchNorm running var, momentum {momentum}",
                     book.running_var, ref.running_var),
        ]
        # An integer count: the error is the absolute difference, which must be exactly 0.
        which = "" if momentum == MOMENTUM else f", momentum {momentum}"
        out.append(Comparison(f"num_batches_tracked_{label}", f"num_batches_tracked{which} (absolute difference)",
                              float(abs(int(ref.num_batches_tracked) - count)
                                    + abs(int(book.num_batches_tracked) - count))))
        if momentum == MOMENTUM:
            with torch.no_grad():
                y_ref = ref(inp.t(inp.x))
                y_book = book(inp.t(inp.x))
            y_np = bnf.batch_norm_inference(inp.x, inp.gamma, inp.beta, mean, var, eps=EPS)
            out += [_compare("numpy_eval_y", "NumPy eval-mode y vs BatchNorm.eval()", y_np, y_ref),
                    _compare("module_eval_y", "BookBatchNorm eval-mode y", y_book, y_ref)]
    return out


PARITY_CHECKS: dict[str, Callable[[_Inputs], list[Comparison]]] = {
    "training": _check_training,
    "running_stats": _check_running_stats,
    "fold_conv": _fold_conv,
    "fold_linear": _fold_linear,
}

@contextlib.contextmanager
def full_precision_float32():
    """Turn off TF32 (on by default for cuDNN convolutions on Ampere and later GPUs).

    TF32 keeps 10 mantissa bits (u ~ 5e-4): a float32 convolution would then
    miss the 1e-5 bound by design, not by bug. The parity checks compare
    float32 with float32, so they run without it; the setting is restored after.
    """
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def run_parity(device: str = "cpu", dtypes: tuple[str, ...] = ("float64", "float32"),
               cases: tuple[ParityCase, ...] = CASES) -> list[dict]:
    """Every check on every case; per (check, dtype) the max error over cases and whether it is within tolerance."""
    with full_precision_float32():
        return _run_parity(device, dtypes, cases)


def _run_parity(device: str, dtypes: tuple[str, ...], cases: tuple[ParityCase, ...]) -> list[dict]:
    rows = []
    for dtype in dtypes:
        worst: dict[str, float] = {}
        described: dict[str, str] = {}
        for case in cases:
            inp = _inputs(case, dtype, device)
            for family in PARITY_CHECKS.values():
                for c in family(inp):
                    worst[c.check] = max(worst.get(c.check, 0.0), c.error)
                    described[c.check] = c.description
        for name, err in worst.items():
            rows.append({"check": name, "description": described[name], "dtype": dtype,
                         "max_rel_error": err, "tolerance": PARITY_TOLERANCES[dtype],
                         "passed": bool(err <= PARITY_TOLERANCES[dtype])})
    return rows


# The variance floor of the autograd checks (the committed results were made with it).
AUTOGRAD_EPS = 1e-3


def autograd_target(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """The book's Function with ``eps = AUTOGRAD_EPS``: what ``gradcheck`` and ``gradgradcheck``
    differentiate with respect to all three arguments."""
    return book_batch_norm(x, gamma, beta, AUTOGRAD_EPS)


def autograd_checks(device: str = "cpu") -> dict[str, bool]:
    """``torch.autograd.gradcheck`` and ``gradgradcheck`` of the book's Function in float64."""
    gen = torch.Generator().manual_seed(0)
    args = [torch.randn(*s, dtype=torch.float64, generator=gen).to(device).requires_grad_()
            for s in ((6, 3, 2, 2), (3,), (3,))]
    args[0] = (args[0].detach() * 2 + 1).requires_grad_()
    return {"gradcheck": bool(torch.autograd.gradcheck(autograd_target, args)),
            "gradgradcheck": bool(torch.autograd.gradgradcheck(autograd_target, args))}


def parity_report(device: str) -> dict:
    """The payload of ``parity_<device>.json`` (without provenance)."""
    t0 = time.perf_counter()
    rows = run_parity(device)
    auto = autograd_checks(device)
    return {"device": device, "device_name": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
            "torch_version": torch.__version__, "cuda_version": torch.version.cuda, "tf32": False,
            "tolerances": PARITY_TOLERANCES, "eps": EPS, "momentum": MOMENTUM, "steps": STEPS,
            "cases": [c.__dict__ for c in CASES], "checks": rows, "autograd": auto,
            "all_passed": all(r["passed"] for r in rows) and all(auto.values()),
            "wall_time_s": round(time.perf_counter() - t0, 2)}


def largest_channel_size(cases: tuple[ParityCase, ...] = CASES) -> int:
    """The most values one channel holds among ``cases``: the ``m`` of the error bounds."""
    return max(int(np.prod(c.shape)) // c.shape[1] for c in cases)


@dataclass(frozen=True)
class ParitySummary:
    """What the agreement chapter states about a parity result (glued as a prefix + field name).

    Bounds, from the cases and the unit roundoffs ``u``: ``m_max`` the largest channel,
    ``f64_worst_margin`` the float64 tolerance over the worst-case ``m u``,
    ``f32_typical_margin`` the float32 tolerance over the typical ``sqrt(m) u``, ``f32_worst``
    the float32 worst case ``m u``. Measured, from the result: ``n_checks`` distinct checks, the
    largest error per dtype (``max_*``) and the description of its check (``worst_*``, pasted as
    Markdown), the float64 tolerance over the largest float64 error (``margin_f64``), the largest
    float64 error of a ``dbeta`` check, and the torch version that ran on the CPU.
    """

    m_max: int
    f64_worst_margin: float
    f32_typical_margin: float
    f32_worst: float
    n_checks: int
    dbeta_f64: float
    max_f64: float
    max_f32: float
    worst_f64: Md
    worst_f32: Md
    margin_f64: float
    cpu_torch: str


def worst_checks(result: dict) -> dict[str, dict]:
    """Per dtype, the row of the result's checks with the largest error."""
    return {dt: max((r for r in result["checks"] if r["dtype"] == dt), key=lambda r: r["max_rel_error"])
            for dt in ("float64", "float32")}


def by_check(result: dict) -> dict[str, dict]:
    """A parity result's records grouped by check, in the result's order: check -> ``{"description":
    ..., "float64": record, "float32": record}``."""
    out: dict[str, dict] = {}
    for r in result["checks"]:
        out.setdefault(r["check"], {"description": r["description"]})[r["dtype"]] = r
    return out


def parity_table(result: dict) -> Table:
    """A parity result (``parity_cpu.json`` or ``parity_cuda.json``) as a table: per check, its
    description, the largest relative error in float64 and in float32, and whether both are within
    their tolerance ("NO" where either is not)."""
    rows = [[v["description"], format_sci(v["float64"]["max_rel_error"]), format_sci(v["float32"]["max_rel_error"]),
             "yes" if v["float64"]["passed"] and v["float32"]["passed"] else "NO"] for v in by_check(result).values()]
    return Table(["check", "float64 error", "float32 error", "within tolerance"], rows)


def summarize(result: dict) -> ParitySummary:
    """The chapter's numbers from a parity result file (``parity_cpu.json``) and :data:`CASES`."""
    m_max = largest_channel_size()
    u = {dt: float(np.finfo(dt).eps) / 2 for dt in ("float64", "float32")}
    worst = worst_checks(result)
    rows = result["checks"]
    return ParitySummary(
        m_max=m_max,
        f64_worst_margin=PARITY_TOLERANCES["float64"] / (m_max * u["float64"]),
        f32_typical_margin=float(PARITY_TOLERANCES["float32"] / (np.sqrt(m_max) * u["float32"])),
        f32_worst=m_max * u["float32"],
        n_checks=len({r["check"] for r in rows}),
        dbeta_f64=max(r["max_rel_error"] for r in rows if r["dtype"] == "float64" and r["check"].endswith("dbeta")),
        max_f64=worst["float64"]["max_rel_error"], max_f32=worst["float32"]["max_rel_error"],
        worst_f64=Md(worst["float64"]["description"]), worst_f32=Md(worst["float32"]["description"]),
        margin_f64=PARITY_TOLERANCES["float64"] / worst["float64"]["max_rel_error"],
        cpu_torch=result["provenance"]["libraries"]["torch"])


def main(argv: list[str] | None = None) -> dict:
    from bn.provenance import collect_provenance
    from bn.results import save_result

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", required=True, help="JSON file to write (with provenance)")
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda requested but torch.cuda.is_available() is False")
    payload = parity_report(args.device)
    payload["provenance"] = collect_provenance(config={"device": args.device}, seeds=[c.seed for c in CASES],
                                               wall_time_s=payload["wall_time_s"])
    save_result(args.out, payload)
    failed = [r["check"] + "/" + r["dtype"] for r in payload["checks"] if not r["passed"]]
    print(f"{args.out}: {len(payload['checks'])} checks, failed: {failed or 'none'}, autograd: {payload['autograd']}")
    return payload


if __name__ == "__main__":
    main()
