"""Figures in text (money, percentages, years, counts) and where sources disagree on them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.analyze import normalize

_SCALES = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12,
}
_MONTHS = (
    "january february march april may june july august september october november december"
).split()

_FIGURE = re.compile(
    r"(?P<cur>[$€£])?\s?(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<pct>%|percent\b|per cent\b))?"
    r"(?:[\s-]?(?P<scale>thousand|million|billion|trillion|bn|mn|tn|[kmb])\b)?"
    r"(?:\s+(?P<unit>[a-z][a-z-]+))?",
    re.IGNORECASE,
)
# A hedged figure is an estimate, and one after "from" is the baseline of a change ("up from
# $14 billion"): neither is a claim that another source can contradict.
_HEDGE = re.compile(
    r"\b(?:from|about|around|nearly|almost|roughly|approximately|over|more than|less than|"
    r"up to|some|at least|upwards of|under|below|above)\s*$|~\s*$",
    re.IGNORECASE,
)
# Two figures count as the same thing told differently only when they are this close.
CLOSE = 0.25


@dataclass(frozen=True)
class Quantity:
    kind: str  # "money", "percent", "year", "count"
    value: float
    unit: str
    text: str


def quantities(sentence: str) -> list[Quantity]:
    text = normalize(sentence)
    out: list[Quantity] = []
    for m in _FIGURE.finditer(text):
        if _HEDGE.search(text[: m.start()]):
            continue
        before = text[max(0, m.start() - 12) : m.start()].casefold()
        is_day = float(m.group("num").replace(",", "")) <= 31
        if is_day and any(before.rstrip().endswith(month) for month in _MONTHS):
            continue  # a day of the month
        num = float(m.group("num").replace(",", ""))
        scale_word = (m.group("scale") or "").casefold()
        # Rounded so "$4.1 billion" and "$4,100 million" are the same figure.
        value = round(num * _SCALES.get(scale_word, 1.0), 6)
        unit = (m.group("unit") or "").casefold()
        shown = m.group(0).strip()
        if m.group("cur"):
            shown = re.sub(r"\s+[a-z][a-z-]+$", "", shown, flags=re.I) if unit else shown
            out.append(Quantity("money", value, m.group("cur"), shown))
        elif m.group("pct"):
            out.append(Quantity("percent", num, "%", f"{m.group('num')}%"))
        elif not scale_word and re.fullmatch(r"(?:1[89]|20)\d\d", m.group("num")):
            out.append(Quantity("year", num, "", m.group("num")))
        elif unit:
            figure = m.group("num") + (f" {scale_word}" if scale_word else "")
            out.append(Quantity("count", value, unit, figure))
    return out


def _close(a: Quantity, b: Quantity) -> bool:
    if a.kind != b.kind or a.unit != b.unit or a.value == b.value:
        return False
    if a.kind == "year":
        return False  # different years are usually different events, not a dispute
    return abs(a.value - b.value) <= CLOSE * max(a.value, b.value)


def disagreements(
    found: list[tuple[str, list[Quantity]]], kinds: set[str] | None = None
) -> tuple[str, list[tuple[str, list[str]]]] | None:
    """Given (key, figures) best first, the figures of one kind that close but different
    among the sources, as (kind, [(figure, keys)]), or None when they agree."""
    if not found:
        return None
    _, top_figures = found[0]
    for anchor in top_figures:
        if kinds is not None and anchor.kind not in kinds:
            continue
        values: dict[float, tuple[str, list[str]]] = {}
        for key, figures in found:
            for q in figures:
                same = (q.value, q.kind, q.unit) == (anchor.value, anchor.kind, anchor.unit)
                if not (same or _close(anchor, q)):
                    continue
                match = q
                _, keys = values.setdefault(match.value, (match.text, []))
                if key not in keys:
                    keys.append(key)
        if len(values) > 1:
            return anchor.kind, list(values.values())
    return None
