"""The CIFAR-10 experiments that test the paper's training claims (Part III), and their registry.

``python -m bn.experiments list`` names them; ``python -m bn.experiments run NAME``
runs one and writes ``book/results/NAME.json`` (see :mod:`bn.experiments.__main__`).
"""

from __future__ import annotations

from bn.experiments import (convergence, distribution_shift, fig1_mlp, fig1_rates, fine_tuning, initialization,
                            learning_rates, long_training, recipe, sequence_norms, sigmoid, training_stack)
from bn.experiments.base import (Context, Experiment, ExperimentResult, RunRecord, RunSpec, load_tensor_data,
                                 run_experiment, run_spec)

REGISTRY: dict[str, Experiment] = {m.EXPERIMENT.name: m.EXPERIMENT for m in
                                   (fig1_mlp, convergence, learning_rates, sigmoid, initialization, recipe,
                                    fig1_rates, long_training, distribution_shift, fine_tuning, sequence_norms,
                                    training_stack)}
PROFILES = ("smoke", "cpu", "gpu")


def get_experiment(name: str) -> Experiment:
    """The registered experiment ``name`` (KeyError listing the names otherwise)."""
    if name not in REGISTRY:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def result_filename(name: str, profile: str) -> str:
    """``NAME.json`` for the cpu profile (the committed results), ``NAME_gpu.json`` for gpu."""
    return f"{name}.json" if profile == "cpu" else f"{name}_{profile}.json"


__all__ = ["Context", "Experiment", "ExperimentResult", "PROFILES", "REGISTRY", "RunRecord", "RunSpec",
           "get_experiment", "load_tensor_data", "result_filename", "run_experiment", "run_spec"]
