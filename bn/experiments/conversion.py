"""Result files written before every study ran through the one protocol, moved into its format.

Until the studies of Parts IV and V (and the placement chapter) ran through
:func:`bn.experiments.run_experiment`, each wrote its own shape of file: its run
records and measurements at the top level, next to ``config`` and ``provenance``.
:func:`convert_study_file` moves those values, unchanged, into an
:class:`~bn.experiments.base.ExperimentResult`: the study's own records go into
``measures`` (the place the protocol gives a study's own measurements), the
seeds each arm ran are read off the records into ``seeds_run``, and the
provenance, kept whole, gains a ``converted`` note saying what was moved. Nothing
is recomputed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from bn.experiments.base import Experiment, ExperimentResult, seeds_by_arm

# The keys of a study's own file that the protocol's format holds elsewhere (or states anew).
FRAMEWORK_KEYS = ("study", "chapter", "experiment", "profile", "config", "seeds", "max_steps", "provenance")
CONVERTER = "bn.experiments.conversion.convert_study_file"


def convert_study_file(payload: dict[str, Any], exp: Experiment, arm_of: Callable[[Any], str],
                       seed_of: Callable[[Any], int] = lambda r: r["seed"], source: str = "",
                       profile: str = "cpu") -> dict[str, Any]:
    """``payload`` (a study's own result file) as the protocol's result of ``exp``, values moved unchanged.

    ``arm_of``/``seed_of`` read a run record's arm and seed (the study's own, as its ``run``
    notes them with :meth:`~bn.experiments.base.Context.record_seeds`). ``profile`` names the
    profile of a file that does not (the earliest files ran the one configuration there was).
    ValueError where the file's own seeds disagree with those its runs used.
    """
    body = {k: v for k, v in payload.items() if k not in FRAMEWORK_KEYS}
    if "runs" not in body:
        raise ValueError(f"{source or 'the file'}: no 'runs' to convert")
    arms = seeds_by_arm(body["runs"], arm_of, seed_of)
    seeds = sorted({s for arm_seeds in arms.values() for s in arm_seeds})
    if "seeds" in payload and sorted(payload["seeds"]) != seeds:
        raise ValueError(f"{source or 'the file'}: its seeds {payload['seeds']} are not those its runs used {seeds}")
    prov = {**payload["provenance"], "converted": {
        "from": source or "the study's own result format", "by": CONVERTER,
        "note": "values moved unchanged into the protocol's format: the study's records into 'measures', "
                "the seeds each arm ran into 'seeds_run'; nothing was recomputed"}}
    result = ExperimentResult(experiment=exp.name, title=exp.title, claim=exp.claim,
                              profile=payload.get("profile", profile), seeds=seeds,
                              max_steps=payload.get("max_steps"), config=payload["config"], measures=body,
                              runs=[], provenance=prov, seeds_run=arms)
    return result.to_dict()


def original_payload(result: dict[str, Any]) -> dict[str, Any]:
    """The keys a converted file's study wrote itself, as they were: ``measures`` and ``config`` at the top
    level (for comparing a converted file with the file it came from)."""
    return {**result["measures"], "config": result["config"]}


def converted_files() -> dict[str, tuple[str, Callable[[Any], str]]]:
    """``{study: (the file it wrote itself, the arm of one of its run records)}`` for every committed
    result converted by :func:`convert_study_file`; the converted file is ``book/results/STUDY.json``."""
    from bn.experiments import (layer_vs_torch, norm_family, only_bn, pitfalls, placement, population_statistics,
                                smoothness, sync_bn, training_diagnostics, weight_decay)

    return {"placement": ("placement.json", placement.arm_name),
            "layer_vs_torch": ("practice_layer.json", layer_vs_torch.arm_name),
            "training_diagnostics": ("practice_watch.json", training_diagnostics.arm_name),
            "population_statistics": ("practice_population.json", population_statistics.arm_name),
            "pitfalls": ("practice_pitfalls.json", pitfalls.arm_name),
            "sync_bn": ("sync_bn.json", sync_bn.arm_name),
            "only_bn": ("only_bn.json", only_bn.arm_name),
            "weight_decay": ("weight_decay.json", weight_decay.arm_name),
            "smoothness": ("smoothness.json", smoothness.arm_name),
            "norm_family": ("norm_family.json", norm_family.arm_name)}


def convert_committed(results: Path, study: str) -> dict[str, Any]:
    """The converted result of ``study`` from its own file in ``results`` (see :func:`converted_files`)."""
    from bn.experiments import get_experiment
    from bn.results import load_result

    source, arm_of = converted_files()[study]
    return convert_study_file(load_result(results / source), get_experiment(study), arm_of,
                              source=f"book/results/{source} as its study wrote it")
