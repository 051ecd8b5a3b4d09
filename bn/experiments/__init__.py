"""The CIFAR-10 experiments that test the paper's training claims (Part III), and their registry.

``python -m bn.experiments list`` names them; ``python -m bn.experiments run NAME``
runs one and writes ``book/results/NAME.json`` (see :mod:`bn.experiments.__main__`).

The package loads what a name needs, when it is first used: ``bn.experiments.report``
(reading results, which ``bn.plotting`` does) loads no torch; the registry and the
framework's names (``REGISTRY``, ``RunSpec``, ...) load the studies and torch.
"""

from __future__ import annotations

import importlib
from typing import Any

# The registered studies, in the order `list` names them.
STUDIES = ("fig1_mlp", "convergence", "learning_rates", "sigmoid", "initialization", "recipe", "fig1_rates",
           "long_training", "distribution_shift", "fine_tuning", "sequence_norms",
           "without_bn", "training_stack")
# The framework's names this package exports, from bn.experiments.base.
_FROM_BASE = ("Context", "Experiment", "ExperimentResult", "RunRecord", "RunSpec", "load_tensor_data",
              "run_experiment", "run_spec")
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


__all__ = ["Context", "Experiment", "ExperimentResult", "PROFILES", "REGISTRY", "RunRecord", "RunSpec",
           "get_experiment", "load_tensor_data", "result_filename", "run_experiment", "run_spec"]
