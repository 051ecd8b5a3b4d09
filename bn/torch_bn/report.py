"""Small text helpers shared by the chapters that render result files."""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["markdown_table", "format_sci"]


def format_sci(value: float | None, digits: int = 1) -> str:
    """``value`` in scientific notation with ``digits`` decimals ("—" for None)."""
    if value is None:
        return "—"
    return f"{value:.{digits}e}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (renders in Jupyter, Colab and the HTML book)."""
    lines = ["| " + " | ".join(map(str, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)
