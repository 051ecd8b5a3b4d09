"""The studies of the book and their registry.

Every study is a module with an ``EXPERIMENT`` (:class:`~bn.experiments.base.Experiment`: its
claim, its profiles, the function that builds and runs its runs, and where it has one, the
function that summarizes its result). ``python -m bn.experiments list`` names them all;
``python -m bn.experiments run NAME --profile cpu`` runs one and writes
``book/results/NAME.json`` (see :mod:`bn.experiments.__main__`). :data:`PAPER_CLAIMS` are the
eight that test the paper's training claims (Part III) with the shared rate sweep and its
validation split; :data:`TODAY` those of Part VI, claims made since the paper.

The package loads what a name needs, when it is first used: ``bn.experiments.report``
(reading results, which ``bn.plotting`` does) loads no torch; the registry and the
framework's names (``REGISTRY``, ``RunSpec``, ...) load the studies and torch.
"""

from __future__ import annotations

import importlib
from typing import Any

# Study names (a study's name is its module's, but fig1_equal_rates, whose module is fig1_rates).
PAPER_CLAIMS: tuple[str, ...] = ("fig1_mlp", "convergence", "learning_rates", "sigmoid", "initialization", "recipe",
                                 "fig1_equal_rates", "long_training")
# The studies that keep their own run records in their measures (``measures["runs"]``, each with its arm
# and seed) rather than as RunRecords of specs: their runs need what a RunSpec does not describe (frozen
# parameter sets, trackers, several processes, measurements between runs, a text model).
OWN_RECORDS: tuple[str, ...] = ("placement", "layer_vs_torch", "training_diagnostics", "population_statistics",
                                "pitfalls", "sync_bn", "only_bn", "weight_decay", "smoothness", "norm_family",
                                "sequence_norms")
TODAY: tuple[str, ...] = ("distribution_shift", "fine_tuning", "sequence_norms", "without_bn", "training_stack")
# The registered studies' modules, in the order `list` names them.
STUDIES: tuple[str, ...] = (*(n.replace("fig1_equal_rates", "fig1_rates") for n in PAPER_CLAIMS), *OWN_RECORDS[:-1],
                            *TODAY)
# The framework's names this package exports, from bn.experiments.base.
_FROM_BASE = ("Context", "Experiment", "ExperimentResult", "RunRecord", "RunSpec", "load_experiment_result",
              "load_tensor_data", "run_experiment", "run_spec")
PROFILES = ("smoke", "cpu", "gpu")


def __getattr__(name: str) -> Any:
    if name in _FROM_BASE:
        return getattr(importlib.import_module("bn.experiments.base"), name)
    if name == "REGISTRY":
        studies = [importlib.import_module(f"bn.experiments.{s}") for s in STUDIES]
        registry = {m.EXPERIMENT.name: m.EXPERIMENT for m in studies}
        globals()["REGISTRY"] = registry
        return registry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_experiment(name: str) -> Any:
    """The registered experiment ``name`` (KeyError listing the names otherwise)."""
    registry = __getattr__("REGISTRY")
    if name not in registry:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(registry)}")
    return registry[name]


def result_filename(name: str, profile: str) -> str:
    """``NAME.json`` for the cpu profile (the committed results), ``NAME_gpu.json`` for gpu."""
    return f"{name}.json" if profile == "cpu" else f"{name}_{profile}.json"


__all__ = ["Context", "Experiment", "ExperimentResult", "OWN_RECORDS", "PAPER_CLAIMS", "PROFILES", "REGISTRY",
           "RunRecord", "RunSpec", "STUDIES", "TODAY", "get_experiment", "load_experiment_result", "load_tensor_data",
           "result_filename", "run_experiment", "run_spec"]
