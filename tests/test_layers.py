"""The layer map in ``bn/__init__.py``'s docstring holds: no module imports a higher layer or a heavy
library its row does not name, and the NumPy-only modules never load torch."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bn

PACKAGE = Path(bn.__file__).parent
HEAVY = ("numpy", "sympy", "torch", "matplotlib")
ROW = re.compile(r"^(\d+)\s+``(bn\.\w+)``\s+(.+?)\s{2,}\S")


def layer_map() -> dict[str, tuple[int, frozenset[str]]]:
    """``{"bn.functional": (1, {"numpy"}), ...}`` read from the package docstring's table."""
    rows = {}
    for line in bn.__doc__.splitlines():
        match = ROW.match(line)
        if match:
            libs = match[3].strip()
            allowed = frozenset() if libs == "(standard library)" else frozenset(s.strip() for s in libs.split(","))
            assert allowed <= set(HEAVY), f"{match[2]}: unknown libraries {set(allowed) - set(HEAVY)}"
            rows[match[2]] = (int(match[1]), allowed)
    return rows


LAYERS = layer_map()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level(name: str) -> str:
    return ".".join(name.split(".")[:2])


def imported_modules(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module ``source`` imports, with its line: module level, inside functions, relative ones resolved.

    ``from bn import functional`` counts as an import of ``bn.functional``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                anchor = here[:len(here) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base == "bn":
                found += [(node.lineno, f"bn.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
    return found


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """What in ``source`` breaks the layer map: an upward ``bn`` import or a heavy library not in its row."""
    own = top_level(module)
    if own not in LAYERS:
        return [f"{own} is not in the layer map of bn/__init__.py"]
    layer, allowed = LAYERS[own]
    problems = []
    for line, target in imported_modules(module, source, is_package):
        root = target.split(".")[0]
        if root == "bn" and target != "bn":
            other = top_level(target)
            if other not in LAYERS:
                problems.append(f"{module}:{line} imports {target}, which is not in the layer map")
            elif LAYERS[other][0] > layer:
                problems.append(f"{module}:{line} (layer {layer}) imports {target} (layer {LAYERS[other][0]})")
        elif root in HEAVY and root not in allowed:
            problems.append(f"{module}:{line} imports {root}, which its row ({own}) does not allow")
    return problems


def test_the_map_names_every_top_level_module_and_nothing_else():
    on_disk = {f"bn.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    on_disk |= {f"bn.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert set(LAYERS) == on_disk, {"missing from the map": on_disk - set(LAYERS),
                                    "in the map, not in bn/": set(LAYERS) - on_disk}


def test_no_module_imports_a_higher_layer_or_an_unlisted_heavy_library():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "__init__.py":
            continue
        problems += violations(module_name(path), path.read_text(encoding="utf-8"), path.name == "__init__.py")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("source", [
    "def f():\n    import bn.plotting\n",            # inside a function
    "from bn.experiments.report import percent\n",
    "from bn import torch_bn\n",
    "from ..training import train\n",                 # relative, resolved to bn.training
    "import torch\n",                                 # a library layer 1 may not use
])
def test_the_checker_catches_an_upward_import(source):
    assert violations("bn.functional.forward", source)


def test_the_checker_accepts_lower_and_same_layer_imports():
    source = "from bn.functional import batch_norm_forward\nfrom . import metrics\nimport numpy as np\n"
    assert violations("bn.gradcheck.batch_norm", source) == []
    assert violations("bn.experiments.base", "from bn.models import build_model\nimport torch\n") == []


# Modules that may define a torch.nn.Module: the networks, the book's BN layer, the family's layers.
MODULE_HOMES = ("bn.models", "bn.torch_bn", "bn.normalization")


def defined_modules(source: str) -> list[str]:
    """Names of the classes in ``source`` whose bases name ``Module`` (``nn.Module``, ``torch.nn.Module``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(base) for base in node.bases]
            if any(base == "Module" or base.endswith(".Module") for base in bases):
                found.append(node.name)
    return found


def test_networks_are_defined_only_in_the_model_layer():
    outside = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        if top_level(module) not in MODULE_HOMES:
            classes = defined_modules(path.read_text(encoding="utf-8"))
            if classes:
                outside[module] = classes
    assert not outside, f"define these in bn.models: {outside}"


def test_the_network_check_sees_a_model():
    assert defined_modules("from torch import nn\nclass Net(nn.Module):\n    pass\n") == ["Net"]
    assert defined_modules("class Config:\n    pass\n") == []


# What a module loads, transitively: each package whose row names no torch is imported, module
# by module, in a fresh process (forked from one that has loaded nothing heavy), and each heavy
# library found loaded afterwards must be one its row names. The NumPy-only modules of a torch
# package are a group of their own, with NumPy alone.
NUMPY_ONLY_IN_TORCH_PACKAGES = ("bn.precision.variance", "bn.population", "bn.population.moving_average",
                                *sorted(module_name(p) for p in (PACKAGE / "normalization").glob("*.py")
                                        if p.stem != "layers"))


def load_groups() -> dict[str, tuple[list[str], frozenset[str]]]:
    """``{group: (modules, libraries they may load)}`` for every package without torch, and the
    NumPy-only modules of torch packages."""
    groups = {}
    for package, (_, allowed) in LAYERS.items():
        if "torch" in allowed:
            continue
        modules = sorted(module_name(p) for p in PACKAGE.rglob("*.py")
                         if top_level(module_name(p)) == package and p.stem != "__main__")
        groups[package] = (modules, allowed)
    groups["numpy-only modules of torch packages"] = (list(NUMPY_ONLY_IN_TORCH_PACKAGES), frozenset({"numpy"}))
    return groups


LOAD_PROBE = """
import importlib, json, os, sys
groups = json.loads(sys.argv[1])
heavy = {heavy!r}
out = {{}}
for group, modules in groups.items():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child imports the group and reports what each import had loaded by then
        os.close(read)
        loaded = {{}}
        for name in modules:
            importlib.import_module(name)
            loaded[name] = [h for h in heavy if h in sys.modules]
        os.write(write, json.dumps(loaded).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        out[group] = json.loads(f.read() or "null")
    os.waitpid(pid, 0)
print(json.dumps(out))
"""


def loaded_by(groups: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    """For each group, ``{module: heavy libraries loaded once it and the group's modules before it were imported}``."""
    out = subprocess.run([sys.executable, "-c", LOAD_PROBE.format(heavy=HEAVY), json.dumps(groups)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def first_loads(loaded: dict[str, list[str]], allowed: frozenset[str]) -> list[str]:
    """``"bn.x loads torch"`` for the first module of a group after whose import a library outside
    ``allowed`` is loaded (the imports before it had not loaded it)."""
    problems, seen = [], set()
    for name, libs in loaded.items():
        for lib in set(libs) - allowed - seen:
            problems.append(f"{name} loads {lib}, which its row does not allow")
            seen.add(lib)
    return problems


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="the probe forks")
def test_modules_load_no_heavy_library_their_row_does_not_name():
    groups = load_groups()
    assert {"bn.plotting", "bn.symbolic", "bn.functional", "bn.statistics"} <= set(groups)
    loaded = loaded_by({g: modules for g, (modules, _) in groups.items()})
    assert set(loaded) == set(groups) and all(loaded[g] for g in groups), loaded
    problems = [p for g, (_, allowed) in groups.items() for p in first_loads(loaded[g], allowed)]
    assert not problems, "\n".join(problems)
    assert any("sympy" in libs for libs in loaded["bn.symbolic"].values())  # the probe sees what is loaded


def test_the_load_check_names_the_module_that_loads_a_library():
    loaded = {"bn.plotting.a": ["numpy"], "bn.plotting.b": ["numpy", "torch"], "bn.plotting.c": ["numpy", "torch"]}
    assert first_loads(loaded, frozenset({"numpy", "matplotlib"})) == [
        "bn.plotting.b loads torch, which its row does not allow"]
    assert first_loads(loaded, frozenset({"numpy", "torch"})) == []


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="the probe forks")
def test_the_load_probe_sees_torch_loaded_through_another_package():
    # bn.experiments.base imports bn.training, which imports torch: not a direct import
    loaded = loaded_by({"g": ["bn.experiments.base"]})
    assert "torch" in loaded["g"]["bn.experiments.base"]


# Studies (bn/experiments/NAME.py) build on the framework and on lower layers, not on one another:
# a study imports from bn.experiments only these modules.
# plain_cnn holds the network, schedule and profiles the four plain-CNN studies share, as settings does
# for Part III's; conversion is not a study but the tool that moved the older result files into the one format.
# study_records reads the run records the own-record studies keep in their measures (a framework piece).
FRAMEWORK = ("bn.experiments.base", "bn.experiments.settings", "bn.experiments.report", "bn.experiments.plain_cnn",
             "bn.experiments.study_records")
NOT_STUDIES = FRAMEWORK + ("bn.experiments", "bn.experiments.__main__", "bn.experiments.conversion")
# The scorecard holds the row of every claim of the paper; a study's chapter summary pastes its own rows'
# words (scorecard.verdict_words), so a study may import it, inside the summary (the scorecard imports
# studies). The scorecard's own imports are checked as a study's.
IMPORTABLE = NOT_STUDIES + ("bn.experiments.scorecard",)
# The imports of one study by another that the study framework's refactoring is to remove. The
# list may only shrink: the test fails on a new one and on a listed one that is gone.
KNOWN_STUDY_IMPORTS = {
    ("bn.experiments.fig1_rates", "bn.experiments.fig1_mlp"),
    ("bn.experiments.initialization", "bn.experiments.sigmoid"),
    ("bn.experiments.long_training", "bn.experiments.sigmoid"),
    ("bn.experiments.only_bn", "bn.experiments.placement"),
    ("bn.experiments.scorecard", "bn.experiments.fig1_rates"),
    ("bn.experiments.scorecard", "bn.experiments.long_training"),
    ("bn.experiments.scorecard", "bn.experiments.initialization"),
    ("bn.experiments.scorecard", "bn.experiments.recipe"),
}


def bn_modules_imported(module: str, source: str) -> set[str]:
    """The ``bn`` modules ``source`` imports, ``from bn.pkg import mod`` read as ``bn.pkg.mod`` where
    that is a module on disk."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "bn"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".")[:-1]
                base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "bn":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                path = PACKAGE.parent.joinpath(*sub.split("."))
                found.add(sub if path.with_suffix(".py").is_file() or path.is_dir() else base)
    return found


def study_imports(module: str, source: str) -> set[tuple[str, str]]:
    """``(study, other study)`` for each study module ``source`` (of ``module``) imports."""
    return {(module, m) for m in bn_modules_imported(module, source)
            if m.startswith("bn.experiments.") and m not in IMPORTABLE and m != module}


def test_studies_import_only_the_framework_and_lower_layers():
    found = set()
    for path in sorted((PACKAGE / "experiments").glob("*.py")):
        module = module_name(path)
        if module not in NOT_STUDIES:
            found |= study_imports(module, path.read_text(encoding="utf-8"))
    assert found <= KNOWN_STUDY_IMPORTS, f"a study imports another: {sorted(found - KNOWN_STUDY_IMPORTS)}"
    assert KNOWN_STUDY_IMPORTS <= found, f"gone, take off KNOWN_STUDY_IMPORTS: {sorted(KNOWN_STUDY_IMPORTS - found)}"


def test_the_study_check_sees_every_form_of_import():
    for source in ("from bn.experiments import sigmoid\n", "from bn.experiments.sigmoid import health_at\n",
                   "import bn.experiments.sigmoid\n", "def f():\n    from .sigmoid import health_at\n"):
        assert study_imports("bn.experiments.recipe", source) == {("bn.experiments.recipe", "bn.experiments.sigmoid")}
    assert study_imports("bn.experiments.recipe", "from bn.experiments import report\n"
                         "from bn.experiments.base import RunSpec\nfrom bn.statistics import decide\n") == set()
