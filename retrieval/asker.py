"""The asker's words against the documents' words: abbreviations, typos, and the words the
documents do not have at all.

Only words the corpus lacks are touched, so a question the documents already speak to is
searched exactly as typed (expanding known words with synonyms was measured to hurt: chat
questions are full of filler words that then match by accident). Each question token maps to
at most one form, so no passage is credited twice for one word.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from symspellpy.editdistance import DistanceAlgorithm, EditDistance

from retrieval.analyze import (
    CAMEL,
    CAMEL_PART,
    DROPPED,
    STOPWORDS,
    fold,
    index_tokens,
    tokenize,
    words,
)
from retrieval.fields import PREFIXES
from retrieval.spelling import LONG_WORD_LETTERS

# Typos are fixed only in words at least this long: shorter ones have too many neighbours
# ("asm" is one edit from "ask", "arm", "as").
MIN_TYPO_LETTERS = 4
# A reading that is no English word must occur in at least this many passages.
MIN_UNCOMMON_DF = 3
# A word this long with one rare reading in the corpus is read as it.
RARE_READING_LETTERS = 5
# How many of the most frequent English words a slip may be taken for (see everyday_words).
SLIP_RANK = 20_000
# Words this long may hold two slips ("recieevr"); shorter ones are two edits from too much.
TWO_EDIT_LETTERS = 7
FAR_EDITS = 2
# Two-edit readings are looked for for at most this many words of a question.
MAX_FAR_SCANS = 3
# Two-edit neighbours are looked for among English words sharing this many first letters
# (slips rarely hit the first letter, and it keeps the scan to about a thousand words).
SHARED_PREFIX = 1

# The words that ask: a slip on one ("whure is it based") is read as it, so that the question
# still asks where (see `_question_word`).
QUESTION_WORDS = frozenset("what which where when who whom whose why how".split())
# A word shorter than this is no slip on a question word ("wh").
MIN_QUESTION_WORD_LETTERS = 3

# A generic table of abbreviations and what they stand for, matched both ways: used only when
# the question's form is missing from the corpus and the other form is there. No entry may
# fit one corpus only. Each abbreviation is one word that the analyzer keeps whole: "q1",
# "k8s" or "r&d" are indexed as "1", "8" or nothing, so a corpus cannot be told to have them,
# and reading "first quarter" as "q1" searched for a bare digit.
ABBREVIATIONS: dict[str, str] = {
    "ceo": "chief executive officer",
    "cfo": "chief financial officer",
    "cto": "chief technology officer",
    "coo": "chief operating officer",
    "vp": "vice president",
    "hq": "headquarters",
    "ipo": "initial public offering",
    "us": "united states",
    "usa": "united states",
    "uk": "united kingdom",
    "eu": "european union",
    "yoy": "year over year",
    "ai": "artificial intelligence",
    "ml": "machine learning",
    "api": "application programming interface",
    "cli": "command line",
    "ui": "user interface",
    "os": "operating system",
    "db": "database",
    "config": "configuration",
    "repo": "repository",
    "docs": "documentation",
    "auth": "authentication",
    "env": "environment",
    "approx": "approximately",
    "info": "information",
    "admin": "administrator",
    "app": "application",
    "prod": "production",
    "dev": "development",
    "perf": "performance",
    "impl": "implementation",
    "msg": "message",
    "dir": "directory",
    "mem": "memory",
    "tz": "time zone",
    "ssl": "tls",
    "dns": "domain name system",
    "vm": "virtual machine",
    "gc": "garbage collection",
}


# Words chat adds to a question that say nothing of what is asked ("what does it actually
# do", "hey, anyone know …"): dropped from the question as stopwords are, wherever the
# documents happen to use them, when written in small letters outside code ("Date.now()",
# "Instant::now" keep theirs). Words that name things in code ("ok", "hello") are not here.
CHAT_FILLER = frozenset(
    """actually basically exactly really literally totally seriously honestly simply kinda
    sorta gonna wanna anyone anybody someone somebody hey thanks thx pls plz btw guys folks
    wondering curious now thing things stuff""".split()
)
# A word in small letters that is not part of a code name (no dot, colons, `$`, underscore,
# bracket or backtick against it).
_PLAIN_WORD = re.compile(r"(?<![\w.:$`'’])[a-z]+(?![\w(`$]|[.:]\w)")
# "What kind of customers": the kind is the asker's framing, the customers the topic.
_KIND_OF = re.compile(r"\b(?:kinds?|sorts?)(?=\s+of\b)", re.I)


@lru_cache(maxsize=1)
def _frequency_list() -> list[tuple[str, int]]:
    """symspellpy's bundled English word counts, read from the installed package."""
    try:
        text = (
            resources.files("symspellpy")
            .joinpath("frequency_dictionary_en_82_765.txt")
            .read_text(encoding="utf-8")
        )
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return []
    pairs = (line.split(" ", 1) for line in text.splitlines() if line)
    return [(w, int(c)) for w, c in pairs if c.strip().isdigit()]


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """English words common enough that a corpus lacking one is no news (the asker's filler,
    not a topic): every word of symspellpy's bundled frequency list."""
    return frozenset(w for w, _ in _frequency_list())


@lru_cache(maxsize=1)
def everyday_words() -> frozenset[str]:
    """The SLIP_RANK most frequent English words: what a slip of the keyboard was most
    likely meant as. A rarer neighbour ("redid" for "redis", "lumpy" for "numpy") more
    likely means the asker typed a name the list lacks."""
    ranked = sorted(_frequency_list(), key=lambda pair: -pair[1])
    return frozenset(w for w, _ in ranked[:SLIP_RANK])


@lru_cache(maxsize=4096)
def _edits(word: str) -> frozenset[str]:
    """Every string one edit (delete, transpose, replace, insert) from a word; remembered,
    as the typo fix, the slip checks and the two-edit guard all ask for the same word."""
    letters = string.ascii_lowercase
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in letters]
    inserts = [a + c + b for a, b in splits for c in letters]
    return frozenset(deletes + transposes + replaces + inserts)


_SHOUTED = re.compile(r"\b[A-Z]{2,}\b")
# A capitalised word that does not open the question or a sentence of it.
_NAMED = re.compile(r"(?<=[\w,;:)]\s)[A-Z][a-z]+\b")


@dataclass(frozen=True)
class Understood:
    """The tokens to search for, and what was done to get them."""

    tokens: list[str]
    # Question words (as typed, case-folded) the documents have nowhere, in any form.
    missing: list[str] = field(default_factory=list)
    # typed word -> the corpus word it was read as.
    corrections: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _spelled_out() -> list[tuple[str, str, re.Pattern[str]]]:
    """Each abbreviation, its spelled-out form and a pattern finding that form."""
    return [
        (abbreviation, expansion, re.compile(rf"\b{re.escape(expansion)}\b"))
        for abbreviation, expansion in ABBREVIATIONS.items()
    ]


def _known_phrase(text: str, known: Callable[[str], bool]) -> list[str] | None:
    toks = tokenize(text)
    return toks if toks and all(map(known, toks)) else None


def understand(
    question: str,
    vocab: Mapping[str, int],
    df: Callable[[int], int],
    together: Callable[[str, list[str]], int] | None = None,
    near: Callable[[str], list[str]] | None = None,
) -> Understood:
    """The question's tokens with abbreviations and typos read as the corpus writes them.
    `vocab`: the index's terms; `df`: a term id's passage count (to prefer the common
    reading of a typo); `together`: the most of some other terms that one passage holding
    a term holds (to prefer, of several readings, the one the question's other words go
    with); `near`: the corpus's words two edits from a long word (`retrieval.spelling`)."""

    def known(token: str) -> bool:
        # A word only in a heading or in code ("randomUUID") is in the documents too.
        return token in vocab or any(prefix + token in vocab for prefix in PREFIXES)

    raw = words(question)
    tokens_of = index_tokens(raw)
    # camelCase names as typed, and the words inside them, for a name the corpus lacks whole.
    camel = {
        m.group(0).casefold(): " ".join(CAMEL_PART.findall(m.group(0)))
        for m in CAMEL.finditer(question)
    }
    # Words the asker capitalises after the first ("remote caching in Bazel"): names, even
    # when one letter from an English word ("babel").
    named = {m.group(0).casefold() for m in _NAMED.finditer(question)}
    filler = CHAT_FILLER.intersection(_PLAIN_WORD.findall(question)) | {
        m.group(0).casefold() for m in _KIND_OF.finditer(question)
    }
    out: list[str] = []
    missing: list[str] = []
    corrections: dict[str, str] = {}
    common = common_words()
    lacking = False  # whether any question word is missing from the corpus as typed
    far_scans = 0
    far_scanned: set[str] = set()
    # The question's words the corpus has, filler aside: what a typo's reading goes with.
    context = [
        t for w, t in dict(zip(raw, tokens_of, strict=True)).items()
        if t != DROPPED and w not in filler and known(t)
    ]
    # Words typed in capitals: acronyms ("PID", "PEM"), not slips on English words.
    shouted = {m.group(0).casefold() for m in _SHOUTED.finditer(question)}
    for position, (word, token) in enumerate(zip(raw, tokens_of, strict=True)):
        if token == DROPPED or word in filler:  # a stopword ("it"), or chat's filler
            continue
        if known(token):
            out.append(token)
            continue
        lacking = True
        asking = None if word in named else _question_word(word, position == 0, common)
        if asking is not None:  # "whure is scale based": it asks where
            corrections[word] = asking
            continue
        parts = camel.get(word, "")
        inside = tokenize(parts) if parts else []
        if inside and all(map(known, inside)):  # "maxListeners": max, listeners
            out.extend(inside)
            corrections[word] = parts
            continue
        singular = index_tokens([word[:-1]])[0] if len(word) > 2 and word[-1] == "s" else DROPPED
        if singular != DROPPED and known(singular):  # "SLOs", "APIs": plurals not stemmed
            out.append(singular)
            continue
        expansion = ABBREVIATIONS.get(word)
        if expansion is not None and (found := _known_phrase(expansion, known)):
            out.extend(found)
            corrections[word] = expansion
            continue
        going = _going_with(together, context)
        fixed = _fix_typo(word, vocab, df, common, going)
        if fixed is None and word not in named and word not in shouted:  # "PID" is no "paid"
            fixed = _fix_dropped_letter(word, vocab, common)
        if fixed is None and far_scans < MAX_FAR_SCANS:  # each costs a scan of the list
            far_scans += 1
            far_scanned.add(word)
            fixed = _fix_far_typo(word, vocab, common, near, going)
        if fixed is not None:
            out.append(fixed[1])
            corrections[word] = fixed[0]
            continue
        if _slips_on_stopword(word, common):
            continue  # "wehre", "whch": a little word slipped on; it would be dropped
        out.append(token)
        meant = _meant_english(word) if word not in common and word not in named else None
        if meant is not None:
            # Searched as typed (the corpus has neither), but the question's forms are read
            # with it: "what is her slaary" asks for a salary.
            corrections[word] = meant
        if (
            word.isalpha() and word not in common and len(word) >= 3 and word not in missing
            and (word in named or not _misspells_english(word))
        ):
            # Two slips are looked for within the cap on scans of the English list (a word
            # scanned for a reading above costs nothing more: the scan is remembered).
            scanned = len(word) >= LONG_WORD_LETTERS and (
                word in far_scanned or far_scans < MAX_FAR_SCANS
            )
            far_scans += scanned and word not in far_scanned
            if not (scanned and word not in named and _slipped_twice(word, near)):
                missing.append(word)
    if not lacking:  # the usual case: the corpus has every word, so nothing to rewrite
        return Understood(out, missing, corrections)
    # The other way: a spelled-out phrase the corpus lacks, for an abbreviation it has.
    folded = fold(question)
    for abbreviation, expansion, pattern in _spelled_out():
        if abbreviation not in corrections and pattern.search(folded):
            toks = tokenize(expansion)
            abbr = tokenize(abbreviation)
            if abbr and known(abbr[0]) and not all(map(known, toks)):
                out = [t for t in out if t not in toks] + abbr
                corrections[expansion] = abbreviation
    return Understood(out, missing, corrections)


def _fix_dropped_letter(
    word: str, vocab: Mapping[str, int], common: frozenset[str]
) -> tuple[str, str] | None:
    """A three-letter word read as the one everyday English word the corpus has that it is
    with an inner letter dropped ("fle" file, "tme" time). Three letters are too few for
    other slips: "asm" is one replacement from "ask" and "arm"."""
    if len(word) != MIN_TYPO_LETTERS - 1 or not word.isalpha() or word in common:
        return None
    filled = {
        word[:i] + c + word[i:] for i in range(1, len(word)) for c in string.ascii_lowercase
    } & everyday_words()
    readings = {
        token: w for w, token in zip(sorted(filled), index_tokens(sorted(filled)), strict=True)
        if token != DROPPED and token in vocab
    }
    if len(readings) != 1:
        return None
    token, w = readings.popitem()
    return w, token


def _going_with(
    together: Callable[[str, list[str]], int] | None, context: list[str]
) -> Callable[[str], int] | None:
    if together is None or not context:
        return None
    return lambda token: together(token, [t for t in context if t != token])


def _question_word(word: str, first: bool, common: frozenset[str]) -> str | None:
    """The question word a slip was meant as ("whure" where, "wich" which): the one word of
    QUESTION_WORDS one slip away that keeps its first and last letters. An English word
    ("whee") is read so only where a question word stands, opening the question."""
    if len(word) < MIN_QUESTION_WORD_LETTERS or (word in common and not first):
        return None
    meant = [w for w in _edits(word) & QUESTION_WORDS if _same_ends(word, w)]
    return meant[0] if len(meant) == 1 else None


def _meant_english(word: str) -> str | None:
    """The one everyday English word a slip on it was meant as (see `_misspells_english`),
    if there is exactly one."""
    if len(word) < MIN_TYPO_LETTERS or not word.isalpha():
        return None
    meant = [e for e in _slips_to(word, everyday_words()) if _same_ends(word, e)]
    return meant[0] if len(meant) == 1 else None


def _near_same_start(word: str, near: Callable[[str], list[str]]) -> list[str]:
    """The corpus words two edits from a word that start with its letter: slips rarely hit
    the first letter, and an added prefix is no slip ("unencrypted" is not "encrypted")."""
    return [w for w in near(word) if w[:1] == word[:1]]


def _slipped_twice(word: str, near: Callable[[str], list[str]] | None) -> bool:
    """Whether a long word is two slips from an English word that keeps its first and last
    letters ("vaiuatitn", valuation) or from a word of the corpus: a slip, not a topic the
    documents lack, even when the documents do not have the word meant."""
    if len(word) < LONG_WORD_LETTERS:
        return False
    if any(_same_ends(word, w) for w in _far_neighbours(word)):
        return True
    return near is not None and bool(_near_same_start(word, near))


def _slips_on_stopword(word: str, common: frozenset[str]) -> bool:
    if len(word) < MIN_TYPO_LETTERS or word in common:
        return False
    return any(_same_ends(word, w) for w in _slips_to(word, STOPWORDS))


def _misspells_english(word: str) -> bool:
    """Whether a word is one slip from an everyday English word ("wehre", "exaclly"): then it
    is a slip of the keyboard, not a topic the documents lack, even when the documents do
    not have the word meant either (or it is a stopword, which they never have). The word
    meant starts and ends with the same letters, which keeps most names that are a letter
    from a word ("conda", "numpy") names."""
    if len(word) < MIN_TYPO_LETTERS:
        return False
    return any(_same_ends(word, e) for e in _slips_to(word, _slip_targets()))


@lru_cache(maxsize=1)
def _slip_targets() -> frozenset[str]:
    return everyday_words() | STOPWORDS


def _same_ends(typed: str, meant: str) -> bool:
    """Whether a slip kept the word's first and last letters (or swapped the last two)."""
    return typed[0] == meant[0] and (
        typed[-1] == meant[-1] or typed[-2:] == meant[-1:-3:-1]
    )


def _slips_to(word: str, words: frozenset[str]) -> frozenset[str] | set[str]:
    """The words of `words` one slip from `word`. A four-letter word has neighbours by
    chance ("json" and "son", "saml" and "same"): for it, a word other than a stopword
    counts only for a swap of two letters ("wrok")."""
    near = _edits(word) & words
    if len(word) > MIN_TYPO_LETTERS:
        return near
    swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    return {w for w in near if w in STOPWORDS or w in swaps}


@lru_cache(maxsize=1)
def _by_prefix() -> dict[tuple[str, int], list[str]]:
    """The English words by (first letters, length), for the two-edit scan."""
    out: dict[tuple[str, int], list[str]] = {}
    for w in common_words():
        out.setdefault((w[:SHARED_PREFIX], len(w)), []).append(w)
    return out


@lru_cache(maxsize=4096)
def _far_neighbours(word: str) -> tuple[str, ...]:
    """English words two edits (optimal string alignment) from a long word."""
    if len(word) < TWO_EDIT_LETTERS:
        return ()
    buckets = _by_prefix()
    distance = _osa().compare
    return tuple(
        w
        # Two slips that both drop (or both add) a letter are rare: lengths within one.
        for size in range(len(word) - 1, len(word) + 2)
        for w in buckets.get((word[:SHARED_PREFIX], size), ())
        if 0 <= distance(word, w, FAR_EDITS) <= FAR_EDITS
    )


@lru_cache(maxsize=1)
def _osa() -> EditDistance:
    return EditDistance(DistanceAlgorithm.DAMERAU_OSA)


def _fix_far_typo(
    word: str,
    vocab: Mapping[str, int],
    common: frozenset[str],
    near: Callable[[str], list[str]] | None = None,
    going: Callable[[str], int] | None = None,
) -> tuple[str, str] | None:
    """The reading of a long uncommon word two edits from an English word the corpus has
    ("recieevr" for "receiver") or from a word the corpus writes (`near`: "combunatro" for
    "combinator"). Of several readings, the one a passage holds with more of the question's
    other words than any other (`going`); None when there is none, or no such one."""
    if word in common or not word.isalpha() or any(e in common for e in _edits(word)):
        return None  # one slip on an English word the corpus lacks, not two on another
    found = list(_far_neighbours(word))
    if near is not None:
        found.extend(w for w in _near_same_start(word, near) if w not in found)
    readings = {
        token: w
        for w, token in zip(found, index_tokens(found), strict=True)
        if token != DROPPED and token in vocab
    }
    if len(readings) > 1 and going is not None:
        beside = sorted(((going(t), t) for t in readings), reverse=True)
        if beside[0][0] > beside[1][0]:
            readings = {beside[0][1]: readings[beside[0][1]]}
    if len(readings) != 1:
        return None
    token, w = readings.popitem()
    return w, token


def _fix_typo(
    word: str,
    vocab: Mapping[str, int],
    df: Callable[[int], int],
    common: frozenset[str],
    going: Callable[[str], int] | None = None,
) -> tuple[str, str] | None:
    """The corpus word one edit away from an uncommon word the corpus lacks, as (word,
    token). When several are: the one that a passage holds with the most of the question's
    other words (`going`: "does the gateway cean up old series" is clean, not mean), then an
    English word, then the most frequent in the corpus."""
    if len(word) < MIN_TYPO_LETTERS or not word.isalpha() or word in common:
        return None
    candidates = sorted(e for e in _edits(word) if e in common or len(e) >= MIN_TYPO_LETTERS)
    readings: list[tuple[tuple[bool, int], str, str]] = []
    rare: dict[str, str] = {}  # readings that are no English word and are rare in the corpus
    for edit, token in zip(candidates, index_tokens(candidates), strict=True):
        t = vocab.get(token)
        if t is None or token == DROPPED:
            continue
        count = df(t)
        # An English word first, then the corpus's more frequent reading; a rare string
        # that is no English word ("sende" for "serde") is more likely another word.
        if edit not in common and count < MIN_UNCOMMON_DF:
            if len(edit) > len(rare.get(token, "")):  # the fuller form: "droege", not "droeg"
                rare[token] = edit
            continue
        readings.append(((edit in common, count), edit, token))
    best = max(readings, default=None, key=lambda r: r[0])
    tokens = {token for _, _, token in readings}
    if going is not None and len(tokens) > 1:
        beside = {token: going(token) for token in tokens}
        best = max(readings, key=lambda r: (beside[r[2]], r[0]))
    if best is None and len(rare) == 1 and len(word) >= RARE_READING_LETTERS:
        # The only reading, of a longer word: a name the asker slipped on ("droee" for
        # "Droege", "combniator" for "Combinator") rather than something else.
        token, edit = rare.popitem()
        return edit, token
    return None if best is None else (best[1], best[2])
