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


def test_floats_are_glued_rounded_to_significant_digits(monkeypatch):
    import numpy as np

    calls = []
    monkeypatch.setattr(glue_module, "_myst_nb_glue", lambda: lambda n, v, **k: calls.append(v))
    glue_module.glue("a", 0.1 + 0.2)  # 0.30000000000000004: the 17th digit is rounding noise
    glue_module.glue("b", np.float32(1) / 3, digits=4)
    glue_module.glue("c", 7)
    glue_module.glue("d", "text")
    assert calls == [0.3, 0.3333, 7, "text"]
    assert type(calls[1]) is float and type(calls[2]) is int


@pytest.mark.parametrize("value, digits, expected", [
    (123456.789, 8, 123456.79), (1.23456789e-15, 3, 1.23e-15), (-0.0, 8, 0.0),
    (float("inf"), 8, float("inf")), (9.99999999, 8, 10.0),
])
def test_round_significant(value, digits, expected):
    assert glue_module.round_significant(value, digits) == expected


def test_round_significant_rejects_zero_digits():
    with pytest.raises(ValueError, match="at least 1"):
        glue_module.round_significant(1.0, 0)


def _captured(monkeypatch):
    calls = []
    monkeypatch.setattr(glue_module, "_myst_nb_glue", lambda: lambda *a, **k: calls.append((a, k)))
    return calls


def test_glue_record_glues_every_field_once_under_its_name(monkeypatch):
    from dataclasses import dataclass, field

    from IPython.display import Markdown

    @dataclass
    class Inner:
        low: float

    @dataclass
    class Summary:
        ratio: float = field(metadata={"digits": 3})
        count: int
        words: glue_module.Md
        inner: Inner

    calls = _captured(monkeypatch)
    names = glue_module.glue_record(Summary(1.23456, 4, glue_module.Md("met"), Inner(0.5)), "p_")
    assert names == ["p_ratio", "p_count", "p_words", "p_inner_low"]
    values = {a[0]: a[1] for a, _ in calls}
    assert values["p_ratio"] == 1.23 and values["p_count"] == 4 and values["p_inner_low"] == 0.5
    # Markdown, so that {glue:md} pastes the words without quotes
    assert isinstance(values["p_words"], Markdown) and values["p_words"].data == "met"


def test_glue_record_refuses_none_and_non_records(monkeypatch):
    from dataclasses import dataclass

    @dataclass
    class S:
        x: float | None

    _captured(monkeypatch)
    with pytest.raises(ValueError, match="p_x is None"):
        glue_module.glue_record(S(None), "p_")
    with pytest.raises(TypeError, match="dataclass instance"):
        glue_module.glue_record({"x": 1})


def test_glue_record_hyphens_families_and_own_names(monkeypatch):
    from dataclasses import dataclass, field

    @dataclass
    class Summary:
        pre_steps: int
        acc: dict[str, str]
        verdict: dict[str, str] = field(metadata={"glue": "verdict_"})

    calls = _captured(monkeypatch)
    s = Summary(300, {"train-2": "61.0 %", "frozen-32": "70.1 %"}, {"ft_small": "reproduced"})
    names = glue_module.glue_record(s, "ft-", sep="-")
    # the hyphenated chapter's names, the family one per key, the scorecard name outside the prefix
    assert names == ["ft-pre-steps", "ft-acc-train-2", "ft-acc-frozen-32", "verdict_ft_small"]
    assert {a[0]: a[1] for a, _ in calls}["ft-acc-frozen-32"] == "70.1 %"


def test_glue_record_refuses_a_name_glued_twice(monkeypatch):
    from dataclasses import dataclass, field

    @dataclass
    class S:
        a_b: int
        a: dict[str, int]

    _captured(monkeypatch)
    # "a" + "_" + "b" collides with the field a_b: a silent overwrite would glue the wrong number
    with pytest.raises(ValueError, match="glued twice"):
        glue_module.glue_record(S(1, {"b": 2}), "p_")
