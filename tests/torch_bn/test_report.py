"""Table helpers used by the chapters."""

from bn.torch_bn.report import format_sci, html_table


def test_html_table_escapes_and_keeps_order():
    out = html_table(["a", "b<c"], [[1, "x & y"], ["<b>", 2.5]])
    assert out.startswith("<table><thead><tr><th>a</th><th>b&lt;c</th></tr></thead>")
    assert "<td>x &amp; y</td>" in out and "<td>&lt;b&gt;</td>" in out
    assert out.index("x &amp; y") < out.index("2.5")


def test_format_sci():
    assert format_sci(0.000123) == "1.2e-04"
    assert format_sci(None) == "—"
    assert format_sci(float("inf")) == "inf"
