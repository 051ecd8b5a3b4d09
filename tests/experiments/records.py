"""Typed run records and results from the hand-made partial dicts the analysis tests write.

A test states only the fields its check reads (``{"spec": {"arm", "seed", ...}, "history": {...}}``);
the rest take neutral values (empty lists, no divergence, no measure), so the analysis code reads
the same :class:`~bn.experiments.base.RunRecord` and :class:`~bn.experiments.base.ExperimentResult`
it reads from a result file.
"""

import functools
from typing import Any, Callable

from bn.experiments.base import ExperimentResult, RunRecord, RunSpec
from bn.training import History

_HISTORY_DEFAULTS: dict[str, Any] = {
    "eval_step": [], "test_acc": [], "train_loss": [], "lr": [], "train_seconds": [], "measures": [],
    "first_losses": [], "diverged": False, "diverged_at_step": None, "divergence_reason": None, "steps_done": 0,
    "final_test_acc": None}


def run_record(d: dict[str, Any]) -> RunRecord:
    """A :class:`RunRecord` of ``{"spec": {...}, "history": {...}[, "after": {...}]}``, missing fields filled."""
    s = d.get("spec", {})
    spec = RunSpec(arm=s.get("arm", "a"), label=s.get("label", s.get("arm", "a")), seed=s.get("seed", 0),
                   model=dict(s.get("model", {})), train=dict(s.get("train", {})), measure=s.get("measure"),
                   tags=dict(s.get("tags", {})), after=s.get("after"))
    history = History(**{**_HISTORY_DEFAULTS, **d.get("history", {})})
    return RunRecord(spec, history, d.get("after"))


def experiment_result(d: dict[str, Any]) -> ExperimentResult:
    """An :class:`ExperimentResult` of a partial dict (``runs`` as dicts or records, ``measures``, ``config``...)."""
    runs = [r if isinstance(r, RunRecord) else run_record(r) for r in d.get("runs", [])]
    return ExperimentResult(experiment=d.get("experiment", "hand_made"), title=d.get("title", ""),
                            claim=d.get("claim", ""), profile=d.get("profile", "smoke"), seeds=d.get("seeds", []),
                            max_steps=d.get("max_steps"), config=d.get("config", {}), measures=d.get("measures", {}),
                            runs=runs, provenance=d.get("provenance", {}), seeds_run=d.get("seeds_run"))


def as_record(make: Callable[..., dict[str, Any]]) -> Callable[..., RunRecord]:
    """Decorator: a test's factory of hand-made run dicts, made to return :func:`run_record` of them."""
    @functools.wraps(make)
    def wrapper(*args: Any, **kwargs: Any) -> RunRecord:
        return run_record(make(*args, **kwargs))
    return wrapper


def typed(d: dict[str, Any]) -> ExperimentResult:
    """A whole result dict (a committed file as JSON, or a test's doctored copy of one) read strictly into
    :class:`ExperimentResult`, as :func:`~bn.experiments.base.load_experiment_result` reads a file."""
    import copy

    return ExperimentResult.from_dict(copy.deepcopy(d), source="a test's result")
