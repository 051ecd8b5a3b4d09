"""Error sweeps for the precision chapter: one parameter varied, everything else fixed.

Each function returns a list of flat records (dicts), ready to tabulate or plot.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from bn.formatting import Table, format_sci
from bn.precision.errors import PrecisionCase, draw_case, forward_backward_error, storage_error
from bn.precision.variance import VARIANCE_ALGORITHMS, two_pass_variance
from bn.torch_bn.devices import NUMPY_DTYPES

__all__ = ["error_of", "error_table", "forward_backward_sweep", "variance_errors", "variance_sweep"]


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
