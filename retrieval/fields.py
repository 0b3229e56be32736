"""The fields of a passage that are searched besides its text: a Markdown block's section
path and its code. Their terms live in the one postings table under a prefix that no token
holds, and each field is scored as BM25 of its own (rank-bm25's formulas, no length
normalisation: a path or a listing is not longer because it says more) times its weight:
a field with its own weight instead of repeated text that would inflate term counts.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from retrieval.analyze import code_tokens, tokenize

BODY, SECTION, CODE = 0, 1, 2
SECTION_PREFIX = "§"
CODE_PREFIX = "¤"
PREFIXES = {SECTION_PREFIX: SECTION, CODE_PREFIX: CODE}
# Each field's weight on its BM25 score, against the text's 1 (chosen with `make eval` on
# the real-documentation sets; see README). At most 1: the sparse engine's impact bounds
# and the notion of "the text answers" both want the text to weigh most.
FIELD_WEIGHTS = np.array([1.0, 0.45, 0.15])

FieldArray = npt.NDArray[np.int8]


def field_tokens(section: str, code: str) -> list[str]:
    """A Markdown block's section and code words as terms of their fields. A section word
    counts once however often the path repeats it: it says what the block is about."""
    out = [SECTION_PREFIX + t for t in dict.fromkeys(tokenize(section))]
    out.extend(CODE_PREFIX + t for t in code_tokens(code))
    return out


def field_of(term: str) -> int:
    return PREFIXES.get(term[:1], BODY)


def term_fields(terms: Iterable[str]) -> FieldArray | None:
    """Each term's field, in id order; None when every term is of the text (plain-text
    corpora), which keeps their scoring exactly as it was."""
    fields = np.fromiter((PREFIXES.get(t[:1], BODY) for t in terms), dtype=np.int8)
    return fields if bool(fields.any()) else None
