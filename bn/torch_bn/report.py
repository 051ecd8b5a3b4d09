"""Small text helpers shared by the chapters that render result files."""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["format_sci", "html_table"]


def format_sci(value: float | None, digits: int = 1) -> str:
    """``value`` in scientific notation with ``digits`` decimals ("—" for None)."""
    if value is None:
        return "—"
    return f"{value:.{digits}e}"


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table (cells escaped): renders in Jupyter, on Colab and in the book, which shows
    Markdown outputs as CommonMark, without tables."""
    from html import escape

    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
