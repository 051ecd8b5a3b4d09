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


# Every module of the layers without torch, bn.symbolic last (it alone may load SymPy), and the
# NumPy-only modules of the torch packages.
LIGHT_PACKAGES = {m for m, (layer, allowed) in LAYERS.items() if "torch" not in allowed and layer <= 5}
LIGHT = sorted((module_name(p) for p in PACKAGE.rglob("*.py")
                if top_level(module_name(p)) in LIGHT_PACKAGES and p.stem != "__main__"),
               key=lambda name: (name.startswith("bn.symbolic"), name))
LIGHT[:0] = ["bn.precision.variance", "bn.population", "bn.population.moving_average", *sorted(
    module_name(p) for p in (PACKAGE / "normalization").glob("*.py") if p.stem != "layers")]


def test_numpy_only_modules_do_not_load_torch():
    code = ("import importlib, json, sys\n"
            f"heavy = {HEAVY!r}\n"
            "loaded = {}\n"
            f"for name in {LIGHT!r}:\n"
            "    importlib.import_module(name)\n"
            "    loaded[name] = [h for h in heavy if h in sys.modules]\n"
            "print(json.dumps(loaded))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out)  # what had been loaded once each module was imported, in LIGHT's order
    assert "bn.normalization.whitening" in loaded and "bn.functional.forward" in loaded
    assert all("torch" not in libs and "matplotlib" not in libs for libs in loaded.values()), loaded
    assert all("sympy" not in libs for name, libs in loaded.items() if not name.startswith("bn.symbolic")), loaded
