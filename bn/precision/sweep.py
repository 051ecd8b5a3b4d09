"""Error sweeps for the precision chapter: one parameter varied, everything else fixed.

Each function returns a list of flat records (dicts), ready to tabulate or plot.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from bn.formatting import Table, format_sci
from bn.precision.errors import PrecisionCase, draw_case, forward_backward_error, storage_error
from bn.precision.variance import VARIANCE_ALGORITHMS, two_pass_variance
from bn.torch_bn.devices import NUMPY_DTYPES

__all__ = ["PrecisionSummary", "error_of", "error_table", "forward_backward_sweep", "summarize_precision",
           "unit_roundoffs", "unmet_claims", "variance_errors", "variance_sweep"]


def forward_backward_sweep(param: str, values, dtypes=("float16", "bfloat16", "float32"),
                           impls=("torch", "book", "one-pass"), base: PrecisionCase = PrecisionCase()) -> list[dict]:
    """Errors of y and dx for every (value of ``param``, dtype, implementation), plus the storage error.

    ``param`` names a field of :class:`PrecisionCase` (``"mean"``, ``"n"``, ``"eps"``, ...).
    """
    records = []
    for value in values:
        case = dataclasses.replace(base, **{param: value})
        for dtype in dtypes:
            records.append({param: value, "dtype": dtype, "impl": "storage only",
                            "y": storage_error(case, dtype), "dx": None, "m": case.m})
            for impl in impls:
                err = forward_backward_error(case, dtype, impl)
                records.append({param: value, "dtype": dtype, "impl": impl, "m": case.m, **err})
    return records


def variance_errors(case: PrecisionCase, dtype: str) -> dict[str, float]:
    """Relative error of each variance algorithm in ``dtype`` (max over channels).

    The reference is two-pass in float64 on the same dtype-rounded x; a result
    that overflows or is NaN counts as ``inf``.
    """
    nd = NUMPY_DTYPES[dtype]
    x = draw_case(case)["x"].astype(nd)
    ref = two_pass_variance(x.astype(np.float64), np.float64)
    out = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for name, algorithm in VARIANCE_ALGORITHMS.items():
            v = algorithm(x, nd).astype(np.float64)
            rel = np.abs(v - ref) / ref
            out[name] = float(rel.max()) if np.isfinite(rel).all() else float("inf")
    return out


def variance_sweep(param: str, values, dtypes=("float16", "float32"),
                   base: PrecisionCase = PrecisionCase()) -> list[dict]:
    """``variance_errors`` for every (value of ``param``, dtype)."""
    records = []
    for value in values:
        case = dataclasses.replace(base, **{param: value})
        for dtype in dtypes:
            records.append({param: value, "dtype": dtype, "m": case.m, **variance_errors(case, dtype)})
    return records


def error_of(records: list[dict], dtype: str, impl: str, key: str = "y", **where) -> float | None:
    """The error ``key`` (``"y"`` or ``"dx"``) of the one record of ``dtype`` and ``impl`` that matches
    ``where`` (the swept parameter, e.g. ``mean=1e3``)."""
    found = [r for r in records if r["dtype"] == dtype and r["impl"] == impl
             and all(r[k] == v for k, v in where.items())]
    if len(found) != 1:
        raise KeyError(f"{len(found)} records of {dtype}, {impl} with {where}, expected one")
    return found[0][key]


def error_table(records: list[dict], param: str, label: str) -> Table:
    """The errors of y and dx in a :func:`forward_backward_sweep` over ``param``, as a table.

    The column ``label`` shows the parameter (for ``param="n"``, the values per channel ``m``).
    """
    rows = [[r[param] if param != "n" else r["m"], r["dtype"], r["impl"], format_sci(r["y"]), format_sci(r["dx"])]
            for r in records if r["impl"] != "storage only"]
    return Table([label, "dtype", "impl", "error of y", "error of dL/dx"], rows)


def unit_roundoffs() -> dict[str, float]:
    """``u``, half the spacing of the numbers just above 1, of float16, bfloat16, float32 and float64."""
    import torch

    formats = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
               "float64": torch.float64}
    return {name: torch.finfo(dt).eps / 2 for name, dt in formats.items()}


@dataclass(frozen=True)
class PrecisionSummary:
    """Every number the precision chapter states (glued as a prefix + field name).

    Formats: ``u`` the unit roundoff per format, ``u_bfloat16_pct`` bfloat16's in percent.
    Variance at mean/std 1e3 in float32 (relative errors; one-pass in percent), on channels of
    ``m`` values. Forward/backward errors (``fb_``, max-norm relative error of y unless ``_dx``)
    per implementation, dtype (``32``, ``16``, ``bf16``) and mean/std (``_1``, ``_1e3``, ``_1e4``);
    ``fb_storage*``: the error of only storing the output in that format. ``n_negative``: the
    channels whose one-pass float32 variance is negative at mean/std 1e4.
    """

    u: Mapping[str, float]
    u_bfloat16_pct: float
    onepass32_1e3: float
    twopass32_1e3: float
    welford32_1e3: float
    chan32_1e3: float
    m: int
    fb_torch32_1e3: float
    fb_book32_1e3: float
    fb_onepass32_1e3: float
    fb_onepass32_1e4: float
    fb_torch16_1: float
    fb_torchbf16_1: float
    fb_torch16_1_dx: float
    fb_storagebf16_1e3: float
    n_negative: int


def _at(records: Sequence[Mapping], dtype: str, mean: float) -> Mapping:
    found = [r for r in records if r["dtype"] == dtype and r["mean"] == mean]
    if len(found) != 1:
        raise KeyError(f"{len(found)} variance records of {dtype} at mean {mean}, expected one")
    return found[0]


def summarize_precision(variance_records: Sequence[Mapping], fb_records: list[dict], one_pass_var) -> PrecisionSummary:
    """The chapter's numbers from its sweeps over mean/std: ``variance_records`` of
    :func:`variance_sweep` and ``fb_records`` of :func:`forward_backward_sweep` (both with
    ``param="mean"``, at 1, 1e3 and 1e4 among the means), and ``one_pass_var``, the per-channel
    one-pass float32 variance E[x^2] - E[x]^2 at mean/std 1e4 before clamping."""
    u = unit_roundoffs()
    f32 = _at(variance_records, "float32", 1e3)
    err = lambda dtype, impl, mean, key="y": error_of(fb_records, dtype, impl, key, mean=mean)  # noqa: E731
    return PrecisionSummary(
        u=u, u_bfloat16_pct=100 * u["bfloat16"],
        onepass32_1e3=100 * f32["one-pass"], twopass32_1e3=f32["two-pass"], welford32_1e3=f32["welford"],
        chan32_1e3=f32["chan"], m=int(f32["m"]),
        fb_torch32_1e3=err("float32", "torch", 1e3), fb_book32_1e3=err("float32", "book", 1e3),
        fb_onepass32_1e3=err("float32", "one-pass", 1e3), fb_onepass32_1e4=err("float32", "one-pass", 1e4),
        fb_torch16_1=err("float16", "torch", 1.0), fb_torchbf16_1=err("bfloat16", "torch", 1.0),
        fb_torch16_1_dx=err("float16", "torch", 1.0, "dx"),
        fb_storagebf16_1e3=err("bfloat16", "storage only", 1e3),
        n_negative=int((np.asarray(one_pass_var) < 0).sum()))


def unmet_claims(variance_records: Sequence[Mapping], fb_records: list[dict], one_pass_var) -> list[str]:
    """The chapter's claims about its sweeps (the arguments of :func:`summarize_precision`) that do
    not hold on these numbers; empty when every claim holds.

    Its errors are rounding-level, and their digits depend on the CPU's vector kernels: the
    chapter checks the claims where it runs, and the tests check each claim.
    """
    u = unit_roundoffs()
    algorithms = list(VARIANCE_ALGORITHMS)
    f32 = _at(variance_records, "float32", 1e3)
    f16 = [r for r in variance_records if r["dtype"] == "float16"]
    err = lambda dtype, impl, mean: error_of(fb_records, dtype, impl, mean=mean)  # noqa: E731
    claims = {
        "float32 at mean/std 1e3: two-pass, Welford and Chan below 1e-4":
            max(f32[a] for a in ("two-pass", "welford", "chan")) < 1e-4,
        "float32 at mean/std 1e3: one-pass off by more than 100 %": f32["one-pass"] > 1.0,
        "float16: Chan the most accurate wherever it is finite":
            all(r["chan"] == min(r[a] for a in algorithms) for r in f16 if np.isfinite(r["chan"])),
        "float16 at mean/std 10: two-pass off by more than 100 %":
            _at(variance_records, "float16", 10.0)["two-pass"] > 1,
        "float16 at mean/std 100: two-pass overflows":
            not np.isfinite(_at(variance_records, "float16", 100.0)["two-pass"]),
        "float32 at mean/std 1e3: torch < book < one-pass / 10":
            err("float32", "torch", 1e3) < err("float32", "book", 1e3) < err("float32", "one-pass", 1e3) / 10,
        "float32 at mean/std 1e4: one-pass off by more than 100 %": err("float32", "one-pass", 1e4) > 1,
        "one-pass float32 variance negative in at least 2 channels at 1e4":
            int((np.asarray(one_pass_var) < 0).sum()) >= 2,
    }
    for dt in ("float16", "bfloat16"):
        torch_err, book_err = err(dt, "torch", 1.0), err(dt, "book", 1.0)
        claims[f"{dt} at mean/std 1: torch within 2 u"] = torch_err < 2 * u[dt]
        claims[f"{dt} at mean/std 1: book 1 to 4 times torch's error"] = 1 < book_err / torch_err < 4
    return [claim for claim, holds in claims.items() if not holds]
