"""Cutting a block of text that is too long into windows along sentence boundaries.

Every reader hands its blocks through here, so no passage, quote or JSON field is ever
proportional to one huge line of a file.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# The size cap of a passage, in characters. Long enough for any real paragraph of prose
# (the Rust book's longest is about 1,400), short enough that scoring and quoting one
# passage stays cheap.
PASSAGE_CHARS = 2000
# Where a source line ends, for every reader: at "\n", "\r\n" or a lone "\r", as editors and
# the Markdown parser count lines (str.splitlines also breaks at a form feed or U+2028, which
# would shift every citation after one).
LINE_END = re.compile(r"\r\n?|\n")
# Where a sentence may end: after a stop and any closing quotes or brackets, before space.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")


@dataclass(frozen=True)
class Window:
    """A piece of a block's text, [start, end), and the 1-based source lines it spans."""

    start: int
    end: int
    line_start: int
    line_end: int


def line_at(marks: Sequence[tuple[int, int]], offset: int) -> int:
    """The source line of a character, given (offset, line) marks in ascending offset order,
    each saying where a source line starts in the text."""
    i = bisect.bisect_right(marks, (offset, 1 << 62)) - 1
    return marks[max(i, 0)][1]


def _cuts(text: str, limit: int) -> Iterator[int]:
    """End offsets of windows of at most `limit` characters: after whole sentences where
    possible, else after the last space, else at the limit. Linear in the text."""
    start = 0
    n = len(text)
    breaks = (m.end() for m in _SENTENCE_BREAK.finditer(text))
    pending = next(breaks, n)
    while n - start > limit:
        best = -1
        while pending <= start + limit:
            if pending > start:
                best = pending
            pending = next(breaks, n)
        if best < 0:
            space = text.rfind(" ", start + limit // 2, start + limit)
            best = space + 1 if space > start else start + limit
        yield best
        start = best
    yield n


def windows(
    text: str, marks: Sequence[tuple[int, int]], limit: int = PASSAGE_CHARS
) -> list[Window]:
    """The windows of a text that `marks` map to source lines; one window if it fits."""
    if len(text) <= limit:
        return [Window(0, len(text), marks[0][1], marks[-1][1])]
    out: list[Window] = []
    start = 0
    for end in _cuts(text, limit):
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if end - trail > start + lead:
            out.append(
                Window(
                    start + lead,
                    end - trail,
                    line_at(marks, start + lead),
                    line_at(marks, end - trail - 1),
                )
            )
        start = end
    return out
