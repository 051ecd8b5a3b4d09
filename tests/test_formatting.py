"""The one table builder and the number and interval formats every chapter uses."""

import subprocess
import sys

import pytest

from bn.statistics import Interval
from bn.formatting import Table, count, format_sci, html_table, interval, percent, times


def test_html_table_escapes_and_keeps_order():
    out = html_table(["a", "b<c"], [[1, "x & y"], ["<b>", 2.5]])
    assert out.startswith("<table><thead><tr><th>a</th><th>b&lt;c</th></tr></thead>")
    assert "<td>x &amp; y</td>" in out and "<td>&lt;b&gt;</td>" in out
    assert out.index("x &amp; y") < out.index("2.5")


def test_table_html_is_html_table_and_text_is_aligned():
    t = Table(["x", "value"], [["a", 1], ["bb", 22]])
    assert t._repr_html_() == html_table(["x", "value"], [["a", "1"], ["bb", "22"]])
    assert repr(t).splitlines() == ["x   value", "--  -----", "a   1", "bb  22"]


def test_format_sci():
    assert format_sci(0.000123) == "1.2e-04"
    assert format_sci(0.000123, 2) == "1.23e-04"
    assert format_sci(None) == "—"
    assert format_sci(float("inf")) == "inf"


def test_interval_formats_scale_unit_and_clipping():
    iv = Interval(0.612, 0.598, 0.626, 3)
    assert interval(iv) == "0.61 [0.60, 0.63]"
    assert interval(iv, 1, scale=100, unit=" %") == "61.2 % [59.8, 62.6]"
    assert iv.fmt(2) == interval(iv, 2)
    wide = Interval(0.95, 0.85, 1.05, 3)
    assert percent(wide) == "95.0 % [85.0, 100.0]"  # an accuracy stays within [0, 100] %
    assert percent(None) == "–"


def test_times_and_count():
    assert times(Interval(2.1, 1.8, 2.5, 3)) == "2.10× [1.80, 2.50]"
    assert times(None) == "–"
    assert count(Interval(250.0, -10.0, 290.0, 3)) == "250 [0, 290]"  # a count is never negative
    assert count(Interval(250.0, 210.0, 290.0, 3), missing=2) == "250 [210, 290] (2 did not reach it)"
    assert count(None, 3) == "never (3 runs)" and count(None) == "–"


def test_formatting_imports_neither_numpy_nor_torch():
    code = "import sys, bn.formatting; print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("value, limit, bound, text", [
    (1e-15, 9.1038e-15, 1e-14, "< 1e-14"),
    (3e-16, 4.5e-15, 5e-15, "< 5e-15"),
    (0.0, 2e-14, 2e-14, "< 2e-14"),
    (7e-3, 0.01, 0.01, "< 1e-02"),
])
def test_upper_bound_rounds_the_limit_up(value, limit, bound, text):
    from bn.formatting import below, upper_bound

    assert upper_bound(value, limit) == bound >= limit
    assert below(value, limit) == text


def test_upper_bound_refuses_a_value_that_breaks_it():
    from bn.formatting import upper_bound

    with pytest.raises(ValueError, match="not below"):
        upper_bound(2e-14, 1e-14)
    with pytest.raises(ValueError, match="positive"):
        upper_bound(0.0, 0.0)
    with pytest.raises(ValueError, match="not below"):
        upper_bound(float("nan"), 1.0)


def test_points_and_resolved():
    from bn.statistics import Interval
    from bn.formatting import points, resolved
    iv = Interval(0.012, 0.003, 0.021, 3)
    assert points(iv) == "+1.2 points [0.3, 2.1]"
    assert points(Interval(-0.5, -0.75, -0.25, 3), digits=0) == "-50 points [-75, -25]"
    assert resolved(iv) == "excludes 0"
    assert resolved(Interval(-0.01, -0.02, -0.001, 3)) == "excludes 0"
    assert resolved(Interval(0.01, -0.02, 0.03, 3)) == "includes 0"


def test_data_copy_label_names_each_copy_and_the_plotting_name_is_the_same_function():
    from bn.formatting import data_copy_label
    from bn.plotting import data_copy_label as plotting_label

    assert data_copy_label("jpeg-q75-rebuild") == "CIFAR-10, JPEG-q75 rebuild"
    assert data_copy_label("official") == "CIFAR-10, official release"
    assert data_copy_label("other") == "CIFAR-10 (other)"
    assert plotting_label is data_copy_label


def test_number_fraction_and_ordinal_words():
    from bn.formatting import fraction_word, number_word, ordinal_word

    assert [number_word(n) for n in (0, 3, 8, 16, 20, 21)] == ["zero", "three", "eight", "sixteen", "twenty", "21"]
    assert [fraction_word(n) for n in (2, 4, 8, 12)] == ["half", "a quarter", "an eighth", "1/12"]
    assert [ordinal_word(n) for n in (1, 2, 10, 21, 22, 23, 111, 100)] == [
        "first", "second", "tenth", "21st", "22nd", "23rd", "111th", "100th"]
    for f, bad in ((number_word, -1), (number_word, 2.5), (fraction_word, 1), (ordinal_word, 0), (number_word, True)):
        with pytest.raises(ValueError):
            f(bad)
