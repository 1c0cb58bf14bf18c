"""Numbers in words for captions: "1 band", "3 bands", "every 3rd pixel"."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``plural(1, "band")`` -> ``"1 band"``; ``plural(3, "band")`` -> ``"3 bands"``."""
    return f"{count:,} {noun if count == 1 else (many or noun + 's')}"


def ordinal(n: int) -> str:
    """``1`` -> ``"1st"``, ``2`` -> ``"2nd"``, ``3`` -> ``"3rd"``, ``11`` -> ``"11th"``, ``22`` -> ``"22nd"``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def number_text(value: float) -> str:
    """A sample value for a table: 6 significant digits, "no data" for NaN."""
    value = float(value)
    return "no data" if value != value else f"{value:.6g}"


def spreadsheet_safe(text: object) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text: one starting with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's advice against formula
    injection, e.g. a spectrum named ``=HYPERLINK(...)``).

    >>> spreadsheet_safe("=HYPERLINK(1)"), spreadsheet_safe("water")
    ("'=HYPERLINK(1)", 'water')
    """
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
