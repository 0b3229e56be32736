"""Text to tokens: the one analysis shared by passages and questions."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from functools import lru_cache
from typing import cast

import numpy as np
import numpy.typing as npt
import Stemmer

# Bump when the token stream changes, so cached indexes built with the old one are rebuilt.
ANALYZER_VERSION = 2

_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)

# Case-folded text never holds an upper-case Q, and the newlines keep it a word of its own.
DOC_BREAK = "Q"
_BREAK = f"\n{DOC_BREAK}\n"
# Numbers stay whole ("14.3", "100,000", "2016"); words may carry inner apostrophes.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)*")
# The same on case-folded ASCII text, where a letter is a-z and a digit 0-9: plain ranges
# match a third faster than Unicode classes. It also matches DOC_BREAK.
_ASCII_TOKEN = re.compile(rf"[a-z]+(?:'[a-z]+)*|[0-9]+(?:[.,][0-9]+)*|{DOC_BREAK}")
# The UTF-8 bytes a _TOKEN match can hold (ASCII letters and digits, ' , . and every byte
# of a non-ASCII character) stay; every other byte becomes a space.
_RUN_BYTES = bytes(
    c if c >= 0x80 or chr(c).isalnum() or chr(c) in "',." else 0x20 for c in range(256)
)
# A thousands separator: a comma after a digit and before exactly three. Starting the pattern
# at the comma lets the regex engine skip ahead to commas (6x faster than a lookbehind first).
_THOUSANDS = re.compile(r",(?<=\d,)(?=\d{3}\b)")

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't down during each few for from further had hadn't has hasn't have haven't having
    he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll i'm
    i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not
    of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under
    until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's will with won't would wouldn't you you'd
    you'll you're you've your yours yourself yourselves also just tell know please s t much many
    whose
    """.split()
)


# str.translate with a dict costs ~100 ns a character; a replace per folded character present
# does the same mapping (single characters to ASCII ones) many times faster.
_FOLD_PAIRS = tuple((chr(code), str(ascii_)) for code, ascii_ in _FOLD.items())


def normalize(text: str) -> str:
    """Unicode-normalise and fold typographic quotes and dashes to plain ASCII ones."""
    if text.isascii():  # NFKC and the folding leave ASCII text as it is
        return text
    text = unicodedata.normalize("NFKC", text)
    for old, new in _FOLD_PAIRS:
        if old in text:
            text = text.replace(old, new)
    return text


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Case-folded word and number tokens with possessives removed; stopwords kept."""
    folded = _THOUSANDS.sub("", fold(text))
    found: list[str] = _TOKEN.findall(folded)
    if "'s" not in folded:  # then no word ends in it
        return found
    return [w[:-2] if w.endswith("'s") else w for w in found]


def fold(text: str) -> str:
    """The case-folded, normalised text that words are found in."""
    return normalize(text).casefold()


def word_codes(
    texts: list[str], folded: bool = False
) -> tuple[npt.NDArray[np.int64], list[str]]:
    """The words of many texts, DOC_BREAK between texts, as codes into the distinct words
    (numbered by first appearance). Possessives are still on: `index_tokens` takes them off.
    `folded`: the texts are already `fold`ed.

    No regex match holds a byte that _RUN_BYTES blanks, so the matches in the whole text are
    those in each run of kept bytes on its own: a byte translation and a split cut the text
    into runs (twice as fast as a regex over all of it), and only each distinct run meets
    the regex. Folding text by text and joining gives the same words as `words` on each
    text, as no fold, number or word match crosses a line break."""
    # Text by text: one non-Latin-1 character would widen a joined string and slow its
    # encoding, where an ASCII text encodes by a plain copy.
    encoded = [
        (_THOUSANDS.sub("", t) if "," in t else t).encode("utf-8", "surrogatepass")
        for t in (texts if folded else map(fold, texts))
    ]
    runs = _BREAK.encode().join(encoded).translate(_RUN_BYTES).split()
    run_of: defaultdict[bytes, int] = defaultdict(itertools.count().__next__)
    run_codes = np.fromiter(map(run_of.__getitem__, runs), np.int64, len(runs))
    # Runs in order of first appearance, so words get their codes in that order too.
    found = list(map(_words_of_run, run_of))
    code_of: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    per_run = np.fromiter(map(len, found), np.int64, len(found))
    flat = np.fromiter(
        map(code_of.__getitem__, itertools.chain.from_iterable(found)), np.int64,
        int(per_run.sum()),
    )
    if bool((per_run == 1).all()):  # one word a run
        return flat[run_codes], list(code_of)
    counts = per_run[run_codes]
    first_word = (np.cumsum(per_run) - per_run)[run_codes]
    first_out = np.cumsum(counts) - counts
    at = np.repeat(first_word - first_out, counts) + np.arange(int(counts.sum()))
    return flat[at], list(code_of)


def _words_of_run(run: bytes) -> list[str]:
    # Most runs are one ASCII word or number, perhaps with punctuation around it ("end.",
    # "'quoted'"), which no match would take in.
    core = run.strip(b"',.")
    if core.isalpha() or core.isdigit():
        return [core.decode("ascii")]
    if not core:
        return []
    if run.isascii():
        words_: list[str] = _ASCII_TOKEN.findall(run.decode("ascii"))
    else:
        words_ = _TOKEN.findall(run.decode("utf-8", "surrogatepass"))
    return words_


def index_tokens(raw: list[str]) -> list[str]:
    """The index token of each raw word (possessive still on), DROPPED for those without."""
    return _tokens_of([w[:-2] if w.endswith("'s") else w for w in raw])


def tokenize(text: str) -> list[str]:
    """The index tokens of a text: words without stopwords, stemmed."""
    return tokens_of_words(words(text))


def tokens_of_words(found: list[str]) -> list[str]:
    """`tokenize` of a text whose `words` are `found`."""
    return list(filter(DROPPED.__ne__, _tokens_of(found)))


# An operator written as inline code ("`^`", "`?`", "`+=`"): in documentation it is the name
# of a thing, and a question about it ("what does ? do") has no other word to find it by.
OPERATOR_CHARS = "!#$%&*+-./:;<=>?@^|~"
_OPERATOR = re.compile(rf"[{re.escape(OPERATOR_CHARS)}]{{1,3}}")
_CODE_SPAN = re.compile(r"`([^`]+)`")
# A camelCase or PascalCase name ("peerDependencies", "createServer", "BitXor").
CAMEL = re.compile(r"\b[A-Za-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+\b")
CAMEL_PART = re.compile(r"[A-Z]?[a-z0-9]+")


def camel_parts(code: str) -> list[str]:
    """The tokens of the words inside the camelCase names of code ("peerDependencies" ->
    peer, depend), so "peer dependencies" finds the name; the name's own token stays."""
    out: list[str] = []
    for m in CAMEL.finditer(code):
        out.extend(tokenize(" ".join(CAMEL_PART.findall(m.group(0)))))
    return out


def code_tokens(code: str) -> list[str]:
    """The tokens of code: its words, and the words inside its camelCase names."""
    return tokenize(code) + camel_parts(code)


def _span_extras(code: str) -> list[str]:
    """What one inline code span adds to its words: a span that is only an operator is a
    token of its own (no word token is made of those characters, so the two never clash),
    any other gives the words inside its camelCase names."""
    return [code] if _OPERATOR.fullmatch(code) else camel_parts(code)


def code_extras(text: str) -> list[str]:
    """The tokens inline code adds to `tokenize(text)`. An index counts `tokenize(text) +
    code_extras(text)`, which keeps the fast path for plain text."""
    if "`" not in text:
        return []
    return [tok for m in _CODE_SPAN.finditer(text) for tok in _span_extras(m.group(1))]


def inline_code_tokens(text: str) -> list[str]:
    """`tokenize(text) + code_extras(text)` in text order, for positions in a sentence."""
    if "`" not in text:
        return tokenize(text)
    out: list[str] = []
    at = 0
    for m in _CODE_SPAN.finditer(text):
        out.extend(tokenize(text[at : m.end()]))  # an operator span gives no word token
        out.extend(_span_extras(m.group(1)))
        at = m.end()
    out.extend(tokenize(text[at:]))
    return out


# Marks that prose uses on their own between words: read as punctuation, not operators.
_PROSE_MARKS = frozenset({"-", "--", ".", "..", "...", ":", ";", "/", "&"})
_BACKTICKED_OPERATOR = re.compile(rf"`([{re.escape(OPERATOR_CHARS)}]{{1,3}})`")
_BARE_OPERATOR = re.compile(
    rf"(?:(?<=\s)|^)([{re.escape(OPERATOR_CHARS)}]{{1,3}})(?=\s|$)"
)
# A bare mark is an operator asked about only in a question about using or meaning one
# ("can I use ? on an Option", "what does ^ mean"); elsewhere a spaced "?" or "*" is chat
# punctuation ("what is shadowing ? and why").
OPERATOR_CUES = frozenset(
    """operator operators symbol symbols sign use using used mean means meaning overload
    overloading overloads do does""".split()
)


def asked_operators(question: str, read: str = "") -> list[str]:
    """The operators a question names, each once: any written as inline code ("overload
    `^`"), and bare ones ("what does ? do") when the question, or `read` (its slips as
    corrected), has a word of OPERATOR_CUES; a mark ending the question is punctuation."""
    found = _BACKTICKED_OPERATOR.findall(question)
    cued = not OPERATOR_CUES.isdisjoint(fold(f"{question} {read}").split())
    if cued:
        body = question.rstrip().rstrip("?!.")
        found += [op for op in _BARE_OPERATOR.findall(body) if op not in _PROSE_MARKS]
    return list(dict.fromkeys(found))


def _tokens_of(found: list[str]) -> list[str]:
    cached = list(map(_TOKEN_OF.get, found))
    if None in cached:
        fresh = _index_tokens([w for w, t in zip(found, cached, strict=True) if t is None])
        cached = list(map(fresh.get, found, cached))  # the fresh token, else the cached one
    return cast(list[str], cached)


# Each word's index token is a function of the word alone, and corpora repeat words: caching
# it saves most of the filtering and stemming (a third of indexing time). NUL marks a dropped
# word; no word contains one.
DROPPED = "\0"
_TOKEN_OF: dict[str, str] = {}
_TOKEN_CACHE_SIZE = 500_000


def _index_tokens(new: list[str]) -> dict[str, str]:
    distinct = list(dict.fromkeys(new))
    kept = [w for w in distinct if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    stems = _stemmer().stemWords([w.replace("'", "") for w in kept])
    fresh = dict.fromkeys(distinct, DROPPED)
    fresh.update(zip(kept, stems, strict=True))
    if len(_TOKEN_OF) + len(fresh) > _TOKEN_CACHE_SIZE:
        _TOKEN_OF.clear()
    _TOKEN_OF.update(fresh)
    return fresh

