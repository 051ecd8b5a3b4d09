"""bn.glue delegates to MyST-NB when present and degrades to a plain display without it (Colab)."""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bn import glue as glue_module  # noqa: E402


def test_delegates_to_myst_nb_when_installed(monkeypatch):
    calls = []
    monkeypatch.setattr(glue_module, "_myst_nb_glue", lambda: lambda *a, **k: calls.append((a, k)))
    glue_module.glue("x", 1.5, display=False)
    assert calls == [(("x", 1.5), {"display": False})]


@pytest.fixture
def shown(monkeypatch):
    import IPython.display

    seen = []
    monkeypatch.setattr(IPython.display, "display", lambda v: seen.append(v))
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import myst_nb now raises ImportError
    return seen


def test_without_myst_nb_numbers_hidden_unless_display(shown):
    glue_module.glue("a", 2.0, display=False)
    glue_module.glue("b", 3.0)
    assert shown == [3.0]


def test_without_myst_nb_figures_are_always_shown(shown):
    fig, _ = plt.subplots()
    glue_module.glue("fig", fig, display=False)
    assert shown == [fig]
    plt.close(fig)


def test_bn_glue_does_not_import_jupyter_packages_on_import():
    import subprocess

    code = "import sys, bn.glue; print(any(m in sys.modules for m in ('myst_nb', 'IPython')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
