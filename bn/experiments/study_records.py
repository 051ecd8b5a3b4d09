"""Reading the run records a study keeps itself (``measures["runs"]``) into its typed record, key by key.

The studies of :data:`bn.experiments.OWN_RECORDS` train in their own loops and store one dict
per run in their result's measures, each study its own shape. Each defines a frozen dataclass
for it with a ``from_dict(d, what)`` that refuses an unknown or a missing key
(:func:`bn.results.from_strict_dict`); :func:`read_runs` applies it to every run of a result
and makes the error name the file and the run, as :func:`~bn.experiments.base.load_experiment_result`
does for the result's own keys.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from bn.experiments.base import ExperimentResult

__all__ = ["result_source", "read_runs", "nested"]

T = TypeVar("T")
V = TypeVar("V")


def result_source(result: ExperimentResult) -> str:
    """The file ``result`` is read from, as the study writes it (``book/results/NAME.json``, or
    ``NAME_PROFILE.json`` for another profile than cpu)."""
    from bn.experiments import result_filename

    return f"book/results/{result_filename(result.experiment, result.profile)}"


def read_runs(result: ExperimentResult, read: Callable[[dict[str, Any], str], T],
              source: str | None = None) -> list[T]:
    """Every record of ``result.measures["runs"]`` read by ``read(record, what)`` (a record type's
    ``from_dict``), in the file's order.

    ``source`` names the file (by default :func:`result_source`); a ValueError naming it, the
    run's index and the key is raised where a record has an unknown or a missing key.
    """
    where = source or result_source(result)
    runs = result.measures.get("runs")
    if not isinstance(runs, list):
        raise ValueError(f"{where}: the measures of {result.experiment!r} hold no list 'runs'")
    return [read(r, f"{where}: {result.experiment} run {i}") for i, r in enumerate(runs)]


def nested(read: Callable[[Any], V], value: Any, what: str) -> V:
    """``read(value)`` for a nested record (a history, a training configuration); its error, which
    names the key, is prefixed with ``what`` (the run it belongs to)."""
    try:
        return read(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}, {exc}") from None
