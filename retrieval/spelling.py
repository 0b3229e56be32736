"""The corpus's own long words as it spells them, so that a question word with two slips in
it ("monomrophizaton", "combunatro") is read as the corpus word it was meant as.

The index holds stems ("monomorph"), and a typed word is compared with words, not stems:
the build keeps every distinct word of LONG_WORD_LETTERS or more as written (case-folded),
and the index cache stores them. Lookups go through a SymSpell deletion index (symspellpy's,
every word's deletions of up to FAR_EDITS letters among its first PREFIX_LETTERS), built on
the first lookup: a few tens of microseconds a word, whatever the corpus's size, where
comparing a word with every corpus word would grow with it. One slip is read against the
index's own terms (`retrieval.asker`); this is for two, where a long word has room for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from symspellpy import SymSpell, Verbosity

# Two slips are read only in words at least this long (shorter ones are two edits from too
# many others), and only corpus words this long are kept.
LONG_WORD_LETTERS = 8
FAR_EDITS = 2
# SymSpell's prefix: deletions are taken of a word's first letters only, which bounds the
# deletion index at 16 entries a word (with 7 letters, 29: the 31,537 long words of the 1M
# benchmark corpus took 128 MB and 3.4 s to index, against 26 MB and 1.2 s with 5, and
# every question set read the same typos either way).
PREFIX_LETTERS = 5
# At most this many words are kept (a huge corpus's rarest long words go first), which bounds
# the deletion index's memory at under a hundred megabytes.
MAX_SPELLINGS = 100_000
# A build stops gathering words once it has this many to choose from, so a corpus of random
# strings cannot fill the memory with them.
MAX_GATHERED = 10 * MAX_SPELLINGS


def long_words(words: Iterable[str]) -> set[str]:
    """The words of plain letters that are long enough to hold two slips."""
    return {w for w in words if len(w) >= LONG_WORD_LETTERS and w.isascii() and w.isalpha()}


def kept_spellings(words: set[str], frequency: Callable[[list[str]], list[int]]) -> list[str]:
    """The words to keep, sorted: all of them, or the MAX_SPELLINGS most frequent
    (`frequency`: each word's passage count)."""
    if len(words) <= MAX_SPELLINGS:
        return sorted(words)
    ordered = sorted(words)
    counts = frequency(ordered)
    ranked = sorted(range(len(ordered)), key=lambda i: (-counts[i], ordered[i]))
    return sorted(ordered[i] for i in ranked[:MAX_SPELLINGS])


class Spellings:
    """The corpus's long words, and which of them are within two edits of a word."""

    def __init__(self, words: Sequence[str] = ()) -> None:
        self.words = words
        self._index: SymSpell | None = None
        # Questions are answered in worker threads: one builds the index, and it is seen
        # only once it is whole.
        self._building = threading.Lock()

    def __len__(self) -> int:
        return len(self.words)

    def _deletions(self) -> SymSpell:
        index = self._index
        if index is None:
            with self._building:
                index = self._index
                if index is None:
                    index = SymSpell(max_dictionary_edit_distance=FAR_EDITS,
                                     prefix_length=PREFIX_LETTERS, count_threshold=1)
                    for w in self.words:
                        index.create_dictionary_entry(w, 1)
                    self._index = index
        return index

    def near(self, word: str) -> list[str]:
        """The corpus words within FAR_EDITS edits (Damerau, optimal string alignment) of a
        word of at least LONG_WORD_LETTERS - 1 letters (one dropped from a long word),
        nearest first; [] for a shorter word."""
        if len(word) < LONG_WORD_LETTERS - 1 or not self.words:
            return []
        found = self._deletions().lookup(word, Verbosity.ALL, FAR_EDITS)
        return [s.term for s in sorted(found, key=lambda s: (s.distance, s.term))]
