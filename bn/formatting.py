"""Tables and number formatting for every chapter: the one place a cell's text is built.

Plain Python (no NumPy, no torch), so every layer may use it. Chapters show
tables as HTML because the book renders notebook Markdown outputs as
CommonMark, which has no tables.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Protocol, Sequence

__all__ = ["Table", "below", "count", "data_copy_label", "format_sci", "html_table", "interval", "percent",
           "times", "upper_bound"]


class IntervalLike(Protocol):
    """Anything with an estimate and two bounds (``bn.statistics.Interval``)."""

    estimate: float
    low: float
    high: float


def format_sci(value: float | None, digits: int = 1) -> str:
    """``value`` in scientific notation with ``digits`` decimals ("—" for None)."""
    if value is None:
        return "—"
    return f"{value:.{digits}e}"


def interval(iv: IntervalLike, digits: int = 2, scale: float = 1.0, unit: str = "",
             low_min: float | None = None, high_max: float | None = None) -> str:
    """``"12.30 [10.10, 14.50]"``: estimate and bounds times ``scale``, each with ``digits`` decimals.

    ``unit`` follows the estimate (``" %"``, ``"×"``); ``low_min`` / ``high_max`` clip the
    bounds before scaling (an accuracy stays in [0, 1], a count stays non-negative).
    """
    low = iv.low if low_min is None else max(iv.low, low_min)
    high = iv.high if high_max is None else min(iv.high, high_max)
    f = f"{{:.{digits}f}}"
    return f"{f.format(iv.estimate * scale)}{unit} [{f.format(low * scale)}, {f.format(high * scale)}]"


def percent(iv: IntervalLike | None, digits: int = 1) -> str:
    """``"61.2 % [59.8, 62.6]"`` for an accuracy interval (clipped to [0, 100]); an en dash for None."""
    if iv is None:
        return "–"
    return interval(iv, digits, scale=100, unit=" %", low_min=0.0, high_max=1.0)


def times(iv: IntervalLike | None, digits: int = 2) -> str:
    """``"2.10× [1.80, 2.50]"`` for a ratio interval; an en dash for None."""
    return "–" if iv is None else interval(iv, digits, unit="×")


def points(iv: IntervalLike, digits: int = 1) -> str:
    """``"+1.2 points [0.3, 2.1]"`` for a difference of two accuracies (fractions), signed."""
    f = f"{{:+.{digits}f}}"
    g = f"{{:.{digits}f}}"
    return f"{f.format(100 * iv.estimate)} points [{g.format(100 * iv.low)}, {g.format(100 * iv.high)}]"


def resolved(iv: IntervalLike) -> str:
    """Whether a difference's interval settles its sign: "excludes 0" or "includes 0"."""
    return "excludes 0" if iv.low > 0 or iv.high < 0 else "includes 0"


def count(iv: IntervalLike | None, missing: int = 0, digits: int = 0) -> str:
    """``"250 [210, 290]"`` for a step interval, plus how many runs did not get there."""
    if iv is None:
        return f"never ({missing} runs)" if missing else "–"
    text = interval(iv, digits, low_min=0)
    return text + (f" ({missing} did not reach it)" if missing else "")


def html_table(headers: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table, every cell escaped: renders in Jupyter, on Colab and in the book."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class Table:
    """A table that a notebook shows as HTML and whose plain-text form is what nbval compares."""

    def __init__(self, header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> None:
        self.header = [str(h) for h in header]
        self.rows = [[str(c) for c in row] for row in rows]

    def html(self) -> str:
        """The table as an HTML string (:func:`html_table`), to place inside a larger HTML display."""
        return html_table(self.header, self.rows)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        cols = list(zip(self.header, *self.rows))
        widths = [max(len(c) for c in col) for col in cols]
        lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
                 for line in [self.header, *self.rows]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def upper_bound(value: float, limit: float) -> float:
    """``limit`` rounded up to one significant digit, after checking that ``value`` is below it.

    How the book shows a rounding-level number (the error of a complex-step check, of a
    float32 kernel): its leading digit differs from CPU to CPU, because each vector
    kernel rounds in its own order, but a bound computed from the dtype, the method and
    the data's condition does not. Raises ``ValueError`` when ``value`` is not below
    ``limit``: a page must never state a bound that its own numbers break.
    """
    if not limit > 0:
        raise ValueError(f"a bound must be positive, got {limit!r}")
    if not value < limit:
        raise ValueError(f"{value!r} is not below the bound {limit!r}")
    exponent = math.floor(math.log10(limit))
    mantissa = math.ceil(round(limit / 10.0 ** exponent, 9))
    return float(f"{mantissa}e{exponent}")


def below(value: float, limit: float) -> str:
    """``"< 9e-15"``: ``value`` shown by its checked :func:`upper_bound`."""
    return f"< {upper_bound(value, limit):.0e}"


def data_copy_label(copy: str) -> str:
    """The caption fragment naming a data copy, e.g. ``"CIFAR-10, JPEG-q75 rebuild"``."""
    names = {"official": "CIFAR-10, official release", "jpeg-q75-rebuild": "CIFAR-10, JPEG-q75 rebuild",
             "synthetic": "synthetic data (test fixture)"}
    return names.get(copy, f"CIFAR-10 ({copy})")


_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
_FRACTIONS = {2: "half", 3: "a third", 4: "a quarter", 5: "a fifth", 6: "a sixth", 7: "a seventh",
              8: "an eighth", 9: "a ninth", 10: "a tenth", 16: "a sixteenth", 32: "a thirty-second"}


def number_word(n: int) -> str:
    """``8`` -> ``"eight"``: a small whole number as prose writes it (digits above twenty)."""
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"number_word takes a whole number >= 0, got {n!r}")
    return _WORDS[int(n)] if n <= 20 else str(int(n))


def fraction_word(n: int) -> str:
    """``8`` -> ``"an eighth"``: the fraction 1/n as prose writes it (``"1/n"`` where it has no common word)."""
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise ValueError(f"fraction_word takes a whole number >= 2, got {n!r}")
    return _FRACTIONS.get(int(n), f"1/{int(n)}")


_ORDINALS = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
             "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
             "nineteenth", "twentieth")


def ordinal_word(n: int) -> str:
    """``10`` -> ``"tenth"`` (as in "every tenth step"; ``"100th"`` above twenty)."""
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"ordinal_word takes a whole number >= 1, got {n!r}")
    n = int(n)
    if n <= 20:
        return _ORDINALS[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
