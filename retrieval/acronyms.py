"""Acronyms and their spelled-out forms as alternatives of each other: from the generic
table (`retrieval.asker.ABBREVIATIONS`) and from definitions the documents write themselves
("Service Level Objective (SLO)", "SLO (service level objective)").

A question that says "SLO" should also find the passage that says "service level objective",
and the other way round. Both forms are then one group of alternatives: a passage is credited
for the group by its best form (see `Index.search`), so a passage holding both forms is not
counted twice.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from retrieval.analyze import DROPPED, index_tokens, tokenize
from retrieval.asker import ABBREVIATIONS

# A spelled-out phrase asked is looked up as an acronym of at least this many initials.
MIN_SPELLED_INITIALS = 3
# Acronyms are this many letters long.
MIN_LETTERS = 2
MAX_LETTERS = 6
# Small words a spelled-out form holds without a letter in the acronym ("Bureau of Labor
# Statistics (BLS)").
_UNLETTERED = frozenset({"of", "and", "for", "the", "to", "in", "on", "a", "an", "&", "with"})
# At most this many passages holding the acronym are read for its definition.
DEFINITION_PASSAGES = 32
# A spelled-out form is looked for in this many characters before the bracket.
LOOK_BACK_CHARS = 120
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9']*|&")


@dataclass(frozen=True)
class Group:
    """Question tokens (`own`, as asked) and the token runs that mean the same (`others`)."""

    own: tuple[str, ...]
    others: tuple[tuple[str, ...], ...]


def _parts(text: str) -> list[str]:
    """Words, a hyphenated word as its parts ("Write-Ahead Log" is three)."""
    return _WORD.findall(text.replace("-", " ").replace("’", "'"))


@lru_cache(maxsize=4096)
def _definition_patterns(capitals: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    escaped = re.escape(capitals)
    return (
        # The acronym in brackets, after what it stands for: "Service Level Objective (SLO)".
        re.compile(rf"\(\s*{escaped}s?\s*\)"),
        # The acronym, then what it stands for in brackets: "SLO (service level objective)",
        # "TOML (Tom's Obvious, Minimal Language)".
        re.compile(rf"\b{escaped}s?\s*\(([A-Za-z][\w'’ ,&-]{{0,80}})\)"),
    )


def _long_form(acronym: str, words: list[str]) -> list[str] | None:
    """The shortest tail of `words` that `acronym` abbreviates: its letters found right to
    left, the first at the start of a word (Schwartz and Hearst's rule, so "Time Series
    Database" is TSDB), and every word's initial among its letters in order."""
    text = " ".join(words)
    at = len(text) - 1
    for n, letter in enumerate(reversed(acronym)):
        first = n == len(acronym) - 1
        while at >= 0 and (
            text[at].lower() != letter or (first and at > 0 and text[at - 1] != " ")
        ):
            at -= 1
        if at < 0:
            return None
        at -= 1
    tail = text[at + 1 :].split()
    if len(tail) < 2:  # one word is a word, not a phrase abbreviated
        return None
    initials = iter(acronym)
    lettered = [w[0].lower() for w in tail if w.lower() not in _UNLETTERED]
    if not all(letter in initials for letter in lettered):  # a subsequence, in order
        return None
    return tail


def expansion_in(acronym: str, text: str) -> str | None:
    """What `text` defines `acronym` (case-folded letters) as, or None. A definition writes
    the acronym in capitals, so a text without them is passed over at once."""
    capitals = acronym.upper()
    if capitals not in text:
        return None
    bracketed, spelled_after = _definition_patterns(capitals)
    for m in bracketed.finditer(text):
        before = _parts(text[max(0, m.start() - LOOK_BACK_CHARS) : m.start()])
        found = _long_form(acronym, before[-(len(acronym) + len(_UNLETTERED)) :])
        if found:
            return " ".join(found)
    for m in spelled_after.finditer(text):
        words = _parts(m.group(1))
        if words and _long_form(acronym, words) == words:
            return " ".join(words)
    return None


def acronym_groups(
    raw: list[str],
    tokens: list[str],
    known: Callable[[str], bool],
    defined: Callable[[str, str, str], str | None],
    plain: Callable[[str], bool],
) -> list[Group]:
    """Groups for the question's acronyms and spelled-out phrases whose other form the
    corpus also has (the generic table's abbreviations count both ways).
    `raw`: the question's case-folded words; `tokens`: their index tokens (`index_tokens`,
    DROPPED for stopwords); `known`: whether the corpus
    has an index token; `defined`: what the
    corpus defines an acronym (word, index token, a token its definition holds too, or "")
    as, if anything; `plain`: whether a word
    is an ordinary word as asked (an English word not typed in capitals), whose definition
    is not looked for."""
    groups: list[Group] = []
    claimed: set[int] = set()  # question word positions already in a group

    def other_form(words: str | None) -> tuple[str, ...] | None:
        toks = tokenize(words) if words else []
        return tuple(toks) if toks and all(map(known, toks)) else None

    # An acronym or abbreviation asked: its spelled-out form is the alternative.
    for i, (word, token) in enumerate(zip(raw, tokens, strict=True)):
        if word.endswith("s") and not known(token) and known(word[:-1]):
            word = token = word[:-1]  # "SLOs": an acronym's plural, not stemmed
        if token == DROPPED or not known(token) or not word.isalpha():
            continue
        spelled = ABBREVIATIONS.get(word)
        if spelled is None and MIN_LETTERS <= len(word) <= MAX_LETTERS and not plain(word):
            spelled = defined(word, token, "")
        found = other_form(spelled)
        if found and found != (token,) and Group((token,), (found,)) not in groups:
            groups.append(Group((token,), (found,)))
            claimed.add(i)
    # A spelled-out phrase asked whose short form the corpus has: the short form is its
    # alternative ("service level objective" and "SLO").
    by_first_word = _expansions_by_first_word()
    for start in range(len(raw)):
        for short, phrase in _short_forms(raw, start, by_first_word, known):
            end = start + len(phrase)
            if claimed.intersection(range(start, end)):
                continue
            # Acronyms are indexed as typed; an abbreviation of the table may be stemmed.
            in_table = short in ABBREVIATIONS
            short_token = index_tokens([short])[0] if in_table else short
            if not known(short_token):
                continue
            # English words ("act") are in a corpus by chance: only made-up initials are worth
            # reading the corpus for.
            if not in_table and plain(short):
                continue
            first = next((t for t in tokens[start:end] if t != DROPPED), "")
            spelled = ABBREVIATIONS.get(short) or defined(short, short_token, first)
            own = tuple(t for t in tokens[start:end] if t != DROPPED)
            if own and other_form(spelled) == own:
                groups.append(Group(own, ((short_token,),)))
                claimed.update(range(start, end))
    return groups


def _short_forms(
    raw: list[str],
    start: int,
    by_first_word: dict[str, list[tuple[str, list[str]]]],
    known: Callable[[str], bool],
) -> list[tuple[str, list[str]]]:
    """(short form the corpus has, the question words it stands for) for phrases starting
    at `start`: the table's expansions, then the initials of MIN_SPELLED_INITIALS to
    MAX_LETTERS words (two-letter initials are in a large corpus by chance)."""
    found = [
        (short, words)
        for short, words in by_first_word.get(raw[start], ())
        if raw[start : start + len(words)] == words
    ]
    if raw[start] in _UNLETTERED:
        return found
    initials = every = ""
    for end in range(start, min(start + MAX_LETTERS, len(raw))):
        w = raw[end]
        if not w.isalpha():
            break
        every += w[0]  # "time to live" is TTL, with its small word
        if w in _UNLETTERED:
            continue
        initials += w[0]
        if end - start + 1 < MIN_SPELLED_INITIALS:
            continue
        for short in dict.fromkeys((initials, every)):
            if MIN_SPELLED_INITIALS <= len(short) <= MAX_LETTERS and known(short):
                found.append((short, raw[start : end + 1]))
    return found[::-1]  # longest phrases first


@lru_cache(maxsize=1)
def _expansions_by_first_word() -> dict[str, list[tuple[str, list[str]]]]:
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for short, expansion in ABBREVIATIONS.items():
        words = expansion.split()
        out.setdefault(words[0], []).append((short, words))
    return out


def compound_groups(
    raw: list[str], tokens: list[str], known: Callable[[str], bool]
) -> list[Group]:
    """Groups for two question words that the corpus writes as one ("push gateway" and
    "Pushgateway", "time stamp" and "timestamp"): the joined word is their alternative.
    `raw`, `tokens`: as for `acronym_groups`."""
    joined = index_tokens([a + b for a, b in itertools.pairwise(raw)])  # one stemmer call
    groups: list[Group] = []
    for i, both in enumerate(joined):
        first, second = tokens[i], tokens[i + 1]
        if DROPPED in (first, second, both) or not (raw[i].isalpha() and raw[i + 1].isalpha()):
            continue
        if both not in (first, second) and known(both):
            groups.append(Group((first, second), ((both,),)))
    return groups
