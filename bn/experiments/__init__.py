"""The book's studies and their registry: one protocol to run, record and summarize each.

Every study is a module with an ``EXPERIMENT`` (:class:`~bn.experiments.base.Experiment`: its
claim, its profiles, the function that builds and runs its runs, and where it has one, the
function that summarizes its result). ``python -m bn.experiments list`` names them all;
``python -m bn.experiments run NAME --profile cpu`` runs one and writes
``book/results/NAME.json`` (see :mod:`bn.experiments.__main__`). :data:`PAPER_CLAIMS` are the
eight that test the paper's training claims (Part III) with the shared rate sweep and its
validation split.
"""

from __future__ import annotations

from bn.experiments import (convergence, fig1_mlp, fig1_rates, initialization, layer_vs_torch, learning_rates,
                            long_training, norm_family, only_bn, pitfalls, placement, population_statistics, recipe,
                            sigmoid, smoothness, sync_bn, training_diagnostics, weight_decay)
from bn.experiments.base import (Context, Experiment, ExperimentResult, RunRecord, RunSpec, load_experiment_result,
                                 load_tensor_data, run_experiment, run_spec)

_PAPER = (fig1_mlp, convergence, learning_rates, sigmoid, initialization, recipe, fig1_rates, long_training)
_OTHERS = (placement, layer_vs_torch, training_diagnostics, population_statistics, pitfalls, sync_bn, only_bn,
           weight_decay, smoothness, norm_family)
REGISTRY: dict[str, Experiment] = {m.EXPERIMENT.name: m.EXPERIMENT for m in (*_PAPER, *_OTHERS)}
PAPER_CLAIMS: tuple[str, ...] = tuple(m.EXPERIMENT.name for m in _PAPER)
# The studies that keep their own run records in their measures (``measures["runs"]``, each with its arm
# and seed) rather than as RunRecords of specs: their runs need what a RunSpec does not describe (frozen
# parameter sets, trackers, several processes, measurements between runs).
OWN_RECORDS: tuple[str, ...] = tuple(m.EXPERIMENT.name for m in _OTHERS)
PROFILES = ("smoke", "cpu", "gpu")


def get_experiment(name: str) -> Experiment:
    """The registered experiment ``name`` (KeyError listing the names otherwise)."""
    if name not in REGISTRY:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def result_filename(name: str, profile: str) -> str:
    """``NAME.json`` for the cpu profile (the committed results), ``NAME_gpu.json`` for gpu."""
    return f"{name}.json" if profile == "cpu" else f"{name}_{profile}.json"


__all__ = ["Context", "Experiment", "ExperimentResult", "OWN_RECORDS", "PAPER_CLAIMS", "PROFILES", "REGISTRY", "RunRecord", "RunSpec",
           "get_experiment", "load_experiment_result", "load_tensor_data", "result_filename", "run_experiment", "run_spec"]
