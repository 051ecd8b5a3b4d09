"""Sphinx extension: the API appendix, rendered by autodoc from the package's docstrings.

``_config.yml`` loads this file as a local extension. It puts the repository root on
``sys.path`` (so autodoc imports ``bn`` from the checkout, installed or not), and adds one
directive to MyST::

    ```{bn-api} bn.functional
    ```

which documents ``bn.functional`` and every module under it, each with
``automodule`` (``:members:``, ``:undoc-members:``, ``:ignore-module-all:``: every
public name a module defines, whatever its ``__all__`` re-exports). The modules are read
from the files in ``bn/``, so a new module appears in the appendix without an edit;
``tests/test_api_reference.py`` checks that the appendix (``book/appendix/01_api.md``) names every
top-level module.

``make book`` installs no NumPy, SymPy, torch or matplotlib (``requirements-book.txt``):
``autodoc_mock_imports`` (``_config.yml``) stands in for them while autodoc imports ``bn``.
Where they are installed (``make test`` builds the book in the full environment), the build
still never imports them: autodoc would import a base class's module for real (to read
its source) and document torch's own docstrings, and the page would depend on what is
installed. Outside autodoc's mock they are unavailable to the build.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bn"


def modules_under(name: str, package: Path = PACKAGE) -> list[str]:
    """``name`` and every module below it, read from the files (``__main__`` left out), sorted."""
    parts = name.split(".")
    if parts[0] != package.name:
        raise ValueError(f"{name!r} is not a module of {package.name}")
    path = package.joinpath(*parts[1:])
    if (path / "__init__.py").is_file():
        found = [name]
        for file in sorted(path.rglob("*.py")):
            rel = file.relative_to(path).with_suffix("").parts
            if rel[-1] == "__main__" or rel == ("__init__",):
                continue
            rel = rel[:-1] if rel[-1] == "__init__" else rel
            found.append(".".join([name, *rel]))
        return sorted(set(found))
    if path.with_suffix(".py").is_file():
        return [name]
    raise ValueError(f"no module {name!r} in {package}")


def automodule_markdown(modules: list[str]) -> str:
    """MyST text: one ``automodule`` per module, in an ``eval-rst`` block (docstrings are reST)."""
    options = "   :members:\n   :undoc-members:\n   :ignore-module-all:\n"
    body = "\n".join(f".. automodule:: {m}\n{options}" for m in modules)
    return f"```{{eval-rst}}\n{body}```\n"


class ApiDirective(SphinxDirective):
    """``{bn-api} MODULE``: MODULE and its submodules, documented by autodoc."""

    required_arguments = 1
    has_content = False
    option_spec = {"only": directives.flag}  # only MODULE itself, not its submodules

    def run(self) -> list[Any]:
        name = self.arguments[0]
        try:
            modules = [name] if "only" in self.options else modules_under(name)
        except ValueError as err:
            raise self.error(str(err)) from err
        for module in modules:  # a changed module rebuilds the page
            parts = module.split(".")
            path = PACKAGE.joinpath(*parts[1:])
            path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
            self.env.note_dependency(str(path))
        text = automodule_markdown(modules)
        from docutils import nodes
        from docutils.statemachine import StringList

        container = nodes.container()
        self.state.nested_parse(StringList(text.splitlines(), source=self.get_source_info()[0]),
                                self.content_offset, container)
        return container.children


def _find(name: str) -> Any:
    """The object ``name`` names among the modules already imported (by autodoc), or None."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is None:
            continue
        obj = module
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def resolve_reexport(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """A reference to a name a package re-exports (``bn.functional.batch_norm_forward``, or
    ``batch_norm_forward`` in ``bn.functional``'s docstring) links to where it is documented:
    the module that defines it (``bn.functional.forward.batch_norm_forward``)."""
    if node.get("refdomain") != "py":
        return None
    target, context = node["reftarget"].lstrip(".~"), node.get("py:module")
    candidates = [target] + ([f"{context}.{target}"] if context else [])
    if context and "." in context:  # a sibling: ``report.plateau_of`` in ``bn.experiments.x``
        candidates.append(f"{context.rsplit('.', 1)[0]}.{target}")
    for name in candidates:
        if not name.startswith(f"{PACKAGE.name}."):
            continue
        obj = _find(name)
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if not (isinstance(module, str) and isinstance(qualname, str)):
            continue
        real = f"{module}.{qualname}"
        if real == name and name == target:
            continue  # not documented under the name it is defined by
        found = env.get_domain("py").resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                                   real, node, contnode)
        if found is not None:
            return found
    for name in candidates:  # a name of bn that the appendix does not document (a private
        # helper, an undocumented constant, a type variable): code text without a link
        if name.startswith(f"{PACKAGE.name}.") and (_find(name) is not None or _is_module(name)):
            return contnode
    return None


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# napoleon reads "Values per channel: the m of ..." at the start of an attribute's docstring as
# "type: description"; an attribute's type is its annotation, so its docstring stays prose.
PROSE = ("attribute", "data", "property")


def _napoleon_except_attributes(app: Any) -> None:
    from sphinx.ext import napoleon

    for listener in list(app.events.listeners.get("autodoc-process-docstring", [])):
        if listener.handler is napoleon._process_docstring:
            app.disconnect(listener.id)

    def process(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
        if what not in PROSE:
            napoleon._process_docstring(app, what, name, obj, options, lines)

    app.connect("autodoc-process-docstring", process)


class Unavailable:
    """An import finder that makes ``names`` (and their submodules) unavailable."""

    def __init__(self, names: list[str]) -> None:
        self.names = tuple(names)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is mocked, not imported, in the book's build",
                                      name=fullname)
        return None


def _make_mocked_unavailable(app: Any, config: Any) -> None:
    names = list(config.autodoc_mock_imports)
    loaded = sorted(n for n in names if n in sys.modules)
    if loaded:  # imported before the build started: the page would depend on them
        raise RuntimeError(f"api_reference: {', '.join(loaded)} imported before the build")
    if not any(isinstance(f, Unavailable) for f in sys.meta_path):
        sys.meta_path.insert(0, Unavailable(names))


def setup(app: Any) -> dict[str, Any]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.napoleon")
    _napoleon_except_attributes(app)
    app.add_directive("bn-api", ApiDirective)
    app.connect("missing-reference", resolve_reexport)
    app.connect("config-inited", _make_mocked_unavailable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
