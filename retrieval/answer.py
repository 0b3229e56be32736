"""Hits to an Answer: the best sentence quoted and marked, citations, abstention, and a note
when the sources give different figures for the same thing."""

from __future__ import annotations

import itertools
import re
from collections.abc import Container
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from retrieval.analyze import CAMEL, STOPWORDS, fold, inline_code_tokens, tokenize, words
from retrieval.fields import PREFIXES
from retrieval.index import Hit, Index, QueryTerms
from retrieval.quantities import Quantity, disagreements, quantities
from retrieval.specific import code_names, unmatched, unmatched_compounds, written_together

MAX_QUESTION_CHARS = 1000
QUOTE_CHARS = 350
MAX_MISSING_SHOWN = 3
# A question word the documents lack is incidental to a question that has at least this many
# other words ("too many open files errors on my macbook when i read a bunch of
# files in parallel"): it no longer rules the answer out (see `incidental`).
INCIDENTAL_CONTEXT = 8


@dataclass(frozen=True)
class AnswerConfig:
    top_k: int = 3
    candidates: int = 20
    # Below this confidence (see `confidence`) we abstain; calibrated with `citebot eval`.
    min_confidence: float = 0.35
    # Weights, against the paragraph's BM25 score (scaled to the best hit's), of the share of
    # question weight that the best sentence holds and that the whole paragraph holds.
    sentence_weight: float = 1.0
    passage_weight: float = 0.5
    # Bonus, in question-weight share, for a sentence holding the kind of thing asked for.
    type_bonus: float = 0.25
    # A passage from an already shown file gives way to another file's within this ratio.
    diversity: float = 0.9
    # Weight of question word pairs found close together in the sentence (term proximity).
    proximity_weight: float = 0.5
    # Two question words count as together when at most this many tokens apart.
    proximity_window: int = 3
    # Bonus for a passage whose own section is titled by a code name the question writes.
    title_bonus: float = 0.25


@dataclass(frozen=True)
class AnswerPassage:
    file: str
    line_start: int
    line_end: int
    score: float
    text: str
    quote: str
    mark_start: int
    mark_end: int
    heading: str = ""

    @property
    def citation(self) -> str:
        if self.line_start == self.line_end:
            return f"{self.file}:{self.line_start}"
        return f"{self.file}:{self.line_start}-{self.line_end}"

    @property
    def marked(self) -> str:
        return self.quote[self.mark_start : self.mark_end]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line_start": self.line_start,
            "line_end": self.line_end,
            "score": round(self.score, 4),
            "quote": self.quote,
            "text": self.text,
            "mark": [self.mark_start, self.mark_end],
        }


@dataclass(frozen=True)
class Variant:
    value: str
    citations: list[str]


@dataclass(frozen=True)
class Disagreement:
    """Sources that give different figures of one kind for what the question asks."""

    kind: str
    variants: list[Variant]

    def describe(self) -> str:
        parts = [f"{v.value} ({', '.join(v.citations)})" for v in self.variants]
        return "The sources differ: " + " vs ".join(parts) + "."


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    passages: list[AnswerPassage] = field(default_factory=list)
    # Why there is no answer: "empty", "too_long", "no_terms", "not_found", "not_mentioned"
    # (a question word is nowhere in the documents), "unmatched" (a name of the question is
    # not on the closest passage's page), "no_figure" (it asks how many, how much, when,
    # which version or the default of something, and the closest passage states no such
    # figure or default), "no_name" (it asks who, and the closest passage names no one the
    # question does not); "" when answered.
    reason: str = ""
    disagreement: Disagreement | None = None
    # Question words found nowhere in the documents (case-folded letters only).
    missing: list[str] = field(default_factory=list)
    # Names of the question (see `retrieval.specific`) that the closest passage's file lacks.
    unmatched: list[str] = field(default_factory=list)
    # How well the best passages cover the question (see `confidence`); below
    # `AnswerConfig.min_confidence` it abstains.
    confidence: float = 0.0

    @property
    def message(self) -> str:
        if self.answered and self.missing:  # answered around an incidental word
            named = " or ".join(f"**{w}**" for w in self.missing[:MAX_MISSING_SHOWN])
            return f"The documents don't mention {named}; the passages answer the rest."
        if self.reason == "not_mentioned":
            named = " or ".join(f"**{w}**" for w in self.missing[:MAX_MISSING_SHOWN])
            return f"The documents don't mention {named}."
        if self.reason == "unmatched":
            named = " or ".join(f"**{w}**" for w in self.unmatched[:MAX_MISSING_SHOWN])
            return f"The closest passages are not about {named}, so they don't answer this."
        return NO_ANSWER_MESSAGES.get(self.reason, "")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question,
            "answered": self.answered,
            "passages": [p.to_json() for p in self.passages],
        }
        if self.reason or self.message:
            if self.reason:
                out["reason"] = self.reason
            out["message"] = self.message
        if self.disagreement is not None:
            out["sources_differ"] = self.disagreement.describe()
        if self.missing:
            out["missing"] = self.missing
        if self.unmatched:
            out["unmatched"] = self.unmatched
        return out


NO_ANSWER_MESSAGES = {
    "empty": "Ask a question after the command, e.g. `ask who is Scale's interim CEO?`",
    "too_long": f"That question is too long; keep it under {MAX_QUESTION_CHARS} characters.",
    "no_terms": "That question has no words to search for; try naming what you are after.",
    "not_found": "I couldn't find that in the documents.",
    "no_figure": "The closest passage doesn't give the figure or value asked for, so the"
    " documents don't answer this.",
    "no_name": "The closest passage names no one besides those the question names, so the"
    " documents don't answer this.",
}

# A sentence ends after its stop and any closing quotes or brackets; the space goes to neither.
_SENTENCE_END = re.compile(r"(?<=[.!?…])([\"'”’)]*)\s+(?=[\"'“‘(\[]?[A-Z0-9$])|\n\s*")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b")
_PLACE = re.compile(r"\b(?:in|at|based in|from)\s+[A-Z][^\W\d_A-Z]+\b")
_MONEY_OR_PERCENT = re.compile(r"[$€£]\s?\d|\d\s?%|\bper\s?cent\b|\b\d+(?:\.\d+)?\s+(?:b|m)illion")
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b|\b(?:January|February|March|April|May|June|July|"
                   r"August|September|October|November|December)\b")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
# A default stated with its value: "Default: false", "defaults to `15d`", "the default
# scrape timeout is 10s".
_DEFAULT_VALUE = re.compile(
    r"\bdefaults?\b(?:\s+[\w-]+){0,6}?\s*(?:\bis\b|\bare\b|\bof\b|\bto\b|:|=)\s*"
    r"(?:\d|`|\"|'|\b(?:true|false|null|none|on|off|enabled|disabled)\b)",
    re.I,
)
# A version or release number: "v2.25.0", "1.85.0", "TLS 1.2".
_VERSION = re.compile(r"\bv?\d+(?:\.\d+)+\b")
# A count in words, as prose writes small numbers ("at most one library crate").
_COUNT = re.compile(
    r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|hundred|thousand|million|billion|once|twice|single|dozen)\b",
    re.I,
)

# A question asking for a figure: a count, an amount, a price, a date, a version, the most
# or least of something ("the maximum length of a name") or a quantity in a unit ("the
# timeout in seconds"). Its
# answer states one; a passage stating none but the question's own does not answer it.
# ("cost" and "worth" are left out: docs speak of the cost of a call, and "is it worth …"
# asks for advice.)
_FIGURE_ASKED = re.compile(
    r"\bhow (?:much|many)\b|\bwhat percentage\b|\b(?:price|valuation|revenue|salary)\b"
    r"|\b(?:maximum|minimum|max|min)\s+(?:[\w-]+\s+)?(?:number|size|length|count|amount)\b"
    r"|\bin\s+(?:milliseconds|seconds|minutes|hours|days|weeks|bytes|kilobytes|megabytes)\b"
    r"|\b(?:which|what)\s+(?:(?!(?:is|are|was|were|does|do|did|the|a|an)\b)\w+\s+){0,2}"
    r"(?:version|release)\b",
    re.I,
)
# A date: "what year", or "when" of a past or coming event ("when was it released"); "when
# is drop called" asks about a condition.
_DATE_ASKED = re.compile(
    r"\b(?:what|which) (?:year|date|month|day)\b"
    r"|\b(?:what|when)(?:'s|\s+is|\s+was|\s+are|\s+were)\s+the\s+"
    r"(?:release|launch|publication|birth|due)\s+date\b"
    r"|^(?:(?:so|and|but|ok|then)\s+)?when\s+(?:was|were|did|will)\b",
    re.I,
)
# "What is the default …", "what is pip's default …", "at what default interval …",
# "default value of …": the answer states a default with its
# value ("by default" asks how something behaves, and "the default implementation" names
# a thing).
_DEFAULT_ASKED = re.compile(
    r"\bwhat(?:['’]s|\s+is|\s+are|\s+was)?\s+(?:the\s+|[\w.-]+['’]s\s+)?default\b"
    r"|\bdefault\s+value\b",
    re.I,
)
# A default stated with a value in one sentence: "Default: false", "the default edition is
# 2015", "10 seconds by default", "by default, the timeout is 10s", "`OFF` is the default".
DEFAULT_STATED = re.compile(
    r"\bdefaults?\b[^.!?\n]{0,80}?(?:\d|`|\"|\b(?:true|false|null|none|on|off|enabled|disabled)\b)"
    r"|(?:\d|`[^`\n]+`|\b(?:true|false|on|off|enabled|disabled)\b)[^.!?\n]{0,40}?\bby default\b"
    r"|(?:\d|`[^`\n]+`|\b(?:true|false|on|off|enabled|disabled)\b)\s+(?:is|are)\s+(?:the\s+)?"
    r"default\b",
    re.I,
)
# A number stands alone or as a version ("v2.25"); digits inside a name ("CMP0141") are not
# a figure.
_NUMBER_WORDS = (
    r"\bv?\d[\d.,]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
    r"hundred|thousand|million|billion|trillion|once|twice|dozen)\b"
)
_FIGURE = re.compile(_NUMBER_WORDS, re.I)
# A date is written in digits or names a month, capitalised ("one" or "first" is no date,
# and "may" no month).
_DATE = re.compile(
    r"\b\d[\d.,/-]*|\bcentury\b|\b(?:January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b"
)


# A number that labels a part of the document ("Listing 10-20", "Figure 3", "Chapter 8")
# states no figure: it points elsewhere.
_LABEL_NUMBER = re.compile(
    r"\b(?:Listings?|Figures?|Fig\.|Tables?|Chapters?|Sections?|Appendix|Appendices|Examples?|"
    r"Exercises?|Pages?|Equations?)\s+[A-Z]?\d[\d.-]*(?:\s*(?:and|or|to|-|–)\s*[A-Z]?\d[\d.-]*)?"
)
# The start of every word _LABEL_NUMBER knows: a text without one labels nothing.
_LABEL_WORD = re.compile(r"\b(?:List|Fig|Tabl|Chapt|Sect|Append|Exam|Exerc|Page|Equat)")


@lru_cache(maxsize=4096)  # the top passages recur across questions, as in _sentence_positions
def without_labels(text: str) -> str:
    """The text with the numbers that label parts of a document blanked out, each by as
    many spaces, so offsets into the text still hold (most texts name no part: one quick
    search says so)."""
    if not _LABEL_WORD.search(text):
        return text
    return _LABEL_NUMBER.sub(lambda m: " " * len(m.group(0)), text)


# A note of the version that added or changed a thing, as documentation tools write it
# ("New in version 1.3:"; not "added in 2019"): its number is the figure only of a question
# about versions.
_VERSION_NOTE = re.compile(
    r"\b(?:New|Changed|Added) in version\s+v?\d[\w.]*:?|\bDeprecated since version\s+v?\d[\w.]*:?"
)
_ASKS_VERSION = re.compile(r"\b(?:version|release)", re.I)


def states_figure(question: str, text: str, figure: re.Pattern[str] = _FIGURE) -> bool:
    """Whether a text states a figure (a number or a number word; with `_DATE`, a month
    too) that the question does not already say."""
    said = {m.group(0).casefold().rstrip(".,") for m in figure.finditer(question)}
    plain = without_labels(text)
    if not _ASKS_VERSION.search(question):
        plain = _VERSION_NOTE.sub(lambda m: " " * len(m.group(0)), plain)
    return any(
        m.group(0).casefold().rstrip(".,") not in said for m in figure.finditer(plain)
    )


@lru_cache(maxsize=4096)
def said_words(text: str) -> frozenset[str]:
    """A text's words as `retrieval.analyze.words` reads them (case-folded, no punctuation,
    no possessive "'s"), as a set."""
    return frozenset(words(text))


# A question that opens "who is/was …" or "who founded/wrote/leads …" asks for a person or
# a body by name; "who can call this", "who emits the event" or "a worker who throws" ask
# about a role or a thing, which documentation names in small letters or in code.
_NAME_ASKED = re.compile(
    r"^\W*(?:(?:so|and|but|hey|then)\W+)?who(?:['’]s\b|\s+(?:is|was|are|were)\b)"
    r"(?!\s+(?:allowed|able|responsible|supposed|required|permitted|expected|eligible)\b)"
    r"|^\W*(?:(?:so|and|but|hey|then)\W+)?who\s+(?:first\s+)?(?:founded|co-founded|created|"
    r"wrote|invented|started|designed|leads|led|heads|headed|chairs|chaired|reported|"
    r"announced|said|won|bought|acquired|replaced|succeeded)\b",
    re.I,
)
# A name: capitalised words, "of" or "the" between them ("Bureau of Labor Statistics"). One
# capitalised word names something only inside a sentence, where capitals are not owed.
_CAPITALISED_RUN = re.compile(
    r"(?<![\w'’])[A-Z][\w'’.-]*(?:\s+(?:(?:of|the)\s+)?[A-Z][\w'’.-]*)*"
)
_SENTENCE_OPENERS = frozenset(".!?:;\n•◦*#-—–\"“‘'(")


# An acronym of a phrase the question says has this many letters (two-letter ones are
# made by chance: "TS", "SC").
MIN_INITIALS, MAX_INITIALS = 3, 6


def _initials_asked(question: str) -> frozenset[str]:
    """The acronyms of the question's capitalised phrases and of each run of their words,
    of MIN_INITIALS to MAX_INITIALS words ("TSC" and "NTSC" for "Node.js Technical Steering
    Committee")."""
    out: set[str] = set()
    for found in _CAPITALISED_RUN.finditer(question):
        first = [w[0].casefold() for w in found.group(0).split() if w not in ("of", "the")]
        for i in range(len(first)):
            for j in range(i + MIN_INITIALS, min(i + MAX_INITIALS, len(first)) + 1):
                out.add("".join(first[i:j]))
    return frozenset(out)


def names_anyone_new(question: str, text: str) -> bool:
    """Whether a text names someone or something, in capitals, that the question does not
    (the acronym of a phrase the question says is said: "TSC" for "Technical Steering
    Committee")."""
    asked = said_words(question)
    initials = _initials_asked(question)
    for found in _CAPITALISED_RUN.finditer(text):
        named = said_words(found.group(0))
        if len(named) == 1 and found.group(0).isupper() and next(iter(named)) in initials:
            continue
        at = found.start() - 1
        while at >= 0 and text[at].isspace():
            at -= 1
        if len(named) == 1 and (at < 0 or text[at] in _SENTENCE_OPENERS):
            continue  # "However", "The": a sentence's first word
        if not named - {"of", "the"} <= asked:
            return True
    return False


# An amount of money asked: its answer states one, with a currency or in millions ("net
# worth" is money, "worth it" is advice).
_MONEY_ASKED = re.compile(
    r"\bwhat(?:['’]s|\s+is|\s+was|\s+are|\s+were)\s+(?:[\w'’]+\s+){0,2}?"
    r"(?:net\s+worth|valuation|salary|price|revenue)\b"
    r"|\bhow\s+much\s+(?:money|cash|funding|capital)\b"
    # "how much time is spent", "how much memory does it spend" ask for no money.
    r"|\bhow\s+much\s+(?!(?:time|memory|ram|cpu|disk|space|overhead|effort|data|bandwidth|"
    r"traffic|storage|load|work|power|energy|code)\b)(?:\w+\s+){0,3}?(?:invest|pay|paid|"
    r"spend|spent|raise|raised|earn)(?:s|ed|ing)?\b",
    re.I,
)
# Money: a currency sign or name, or an amount in thousands to trillions ("5m" is a
# duration as often as an amount).
_MONEY = re.compile(
    r"[$€£¥]\s?\d|\b\d[\d.,]*+\s?(?:thousand|million|billion|trillion)\b"
    r"|\b(?:USD|EUR|GBP|dollars?|euros?|pounds?|yen)\b",
)


def figure_asked(question: str) -> re.Pattern[str] | None:
    """What a question asking for a figure or a default accepts as one; None for other
    questions."""
    if _DATE_ASKED.search(question):
        return _DATE
    if _MONEY_ASKED.search(question):
        return _MONEY
    if _DEFAULT_ASKED.search(question):
        return DEFAULT_STATED
    return _FIGURE if _FIGURE_ASKED.search(question) else None


# A question asking what an acronym stands for: "what does SLO stand for", "TOML stands for",
# "what is WAL short for", "meaning of TTL".
_ACRONYM = r"([A-Za-z][A-Za-z0-9]{1,9})"
_STANDS_FOR = re.compile(
    rf"\b{_ACRONYM}\s+(?:stands?\s+for|is\s+short\s+for)\b"
    rf"|\bwhat\s+(?:does|do|is)\s+(?:an?\s+|the\s+)?{_ACRONYM}\s+(?:mean|short\s+for)\b"
    rf"|\b(?:meaning|expansion|full\s+form|long\s+form)\s+of\s+(?:an?\s+|the\s+)?{_ACRONYM}\b",
    re.IGNORECASE,
)

# Which figure kinds a question form asks about, for the "sources differ" note.
_KINDS = [("money", _MONEY_OR_PERCENT), ("percent", _MONEY_OR_PERCENT), ("year", _YEAR),
          ("count", _NUMBER)]

# Question forms and the kind of text that answers them; general, not tied to the corpus.
_ANSWER_TYPES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    (
        re.compile(
            r"\bhow (?:much|big|large)\b|\bwhat (?:stake|share|percent|valuation)|"
            r"\bvalu|\bworth\b|\bcost\b|\bprice\b|\brevenue\b|\bspend",
            re.I,
        ),
        _MONEY_OR_PERCENT,
    ),
    (re.compile(r"\b(?:which|what)\s+(?:\w+\s+){0,2}(?:version|release)\b", re.I), _VERSION),
    (re.compile(r"\bdefaults?\b", re.I), _DEFAULT_VALUE),
    (re.compile(r"\bwhen\b|\bwhat year\b|\bwhich year\b|\bwhat date\b", re.I), _YEAR),
    (re.compile(r"\bhow (?:many|old|long)\b", re.I), _COUNT),
    (re.compile(r"\bwho\b|\bwhose\b", re.I), _NAME),
    (re.compile(r"\bwhere\b", re.I), _PLACE),
]


@lru_cache(maxsize=65536)
def _sentence_positions(sentence: str) -> dict[str, tuple[int, ...]]:
    """Each token of the sentence and where it stands. Top passages recur across questions,
    so their sentences are analysed once; callers only read the result."""
    positions: dict[str, list[int]] = {}
    for i, tok in enumerate(inline_code_tokens(sentence)):
        positions.setdefault(tok, []).append(i)
    return {tok: tuple(at) for tok, at in positions.items()}


def _share(weights: dict[str, float], present: Container[str], total: float) -> float:
    """The share of the question's weight held by a text with these tokens."""
    return sum(w for tok, w in weights.items() if tok in present) / total


def _pairs(tokens: list[str], weights: dict[str, float]) -> list[tuple[str, str, float]]:
    """Neighbouring question words, each pair weighted by the mean of its words' weights."""
    out: list[tuple[str, str, float]] = []
    for a, b in itertools.pairwise(tokens):
        if a != b:
            out.append((a, b, (weights[a] + weights[b]) / 2))
    return out


def proximity(sentence: str, pairs: list[tuple[str, str, float]], window: int) -> float:
    """Weight of the question's word pairs that the sentence holds within `window` tokens of
    each other, in either order: "initial investments" answers "initial investment" better
    than the two words far apart."""
    positions = _sentence_positions(sentence)
    found = 0.0
    for a, b, w in pairs:
        pa, pb = positions.get(a), positions.get(b)
        if pa and pb and any(abs(i - j) <= window for i in pa for j in pb):
            found += w
    return found


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) of a paragraph; a line break (between list items) ends
    one too."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.start() if m.group(1) is None else m.end(1)))
        start = m.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _weights(index: Index, terms: QueryTerms) -> tuple[dict[str, float], float]:
    """idf of each distinct question term; unknown terms weigh as the rarest known term."""
    weights: dict[str, float] = {}
    for tok in terms.tokens:
        t = index.postings.vocab.get(tok)
        weights[tok] = float(index.idf[t]) if t is not None else index.max_idf
    total = sum(weights.values()) or 1.0
    return weights, total


def known_idf(index: Index, terms: QueryTerms) -> dict[str, float]:
    """idf of each distinct question term the corpus holds, in question order (a set's
    order changes with the process's string hashing, and so would the float sums). A term
    only a heading or code holds ("deleteCookie" in its section's title) weighs as that
    field's term."""
    vocab = index.postings.vocab
    out: dict[str, float] = {}
    for tok in dict.fromkeys(terms.tokens):
        t = vocab.get(tok)
        if t is None:
            t = next((f for f in (vocab.get(p + tok) for p in PREFIXES) if f is not None), None)
        if t is not None:
            out[tok] = float(index.idf[t])
    return out


def confidence(
    index: Index, terms: QueryTerms, hit: Hit, known: dict[str, float] | None = None
) -> float:
    """How well one passage covers the question, 0..1: the share of the known question
    terms' idf it holds, shrunk by the share of question words the corpus has never seen.
    A passage matching fewer than two distinct terms of a longer question scores 0, so
    one shared rare word ("Paris") does not make an answer. `known`: `known_idf`, when the
    caller checks several passages."""
    distinct = set(terms.tokens)
    if known is None:
        known = known_idf(index, terms)
    total = sum(known.values())
    if not known or total <= 0:
        return 0.0
    present = terms.present(index.passage_terms(hit.index))
    matched = [tok for tok in known if tok in present]
    if len(matched) < min(2, len(distinct)):
        return 0.0
    share = _share(known, present, total)
    unseen = 1 - len(known) / len(distinct)
    return float(share * (1 - unseen) ** 0.5)


def _about_option(question: str, text: str, figure: re.Pattern[str]) -> str:
    """For a default asked of an option the question names in camelCase ("the default of
    the maxRetries option"), the lines of a text that name it (a list of options states
    each one's default on its own line); the whole text otherwise."""
    if figure is not DEFAULT_STATED:
        return text
    names = _camel_names(question)
    if not names:
        return text
    return "\n".join(
        line for line in text.split("\n") if any(name in line.casefold() for name in names)
    )


def _camel_names(question: str) -> list[str]:
    """The camelCase words a question writes outside dotted paths, case-folded
    ("allocUnsafe"; not the "PoolStats" of "PoolStats.free")."""
    spans = [m.span() for m in _CODE_NAME_SPANS.finditer(question)]
    return [
        m.group(0).casefold() for m in CAMEL.finditer(question)
        if not any(lo <= m.start() < hi for lo, hi in spans)
    ]


def _code_titles(question: str) -> list[re.Pattern[str]]:
    """Patterns for the code names a question writes, as a section title would have them
    whole: dotted paths ("PoolStats.free") and camelCase words outside them."""
    return [
        re.compile(rf"(?<!\w){written_together(parts).pattern}(?!\w)")
        for parts in [p for _, p in code_names(question)]
        + [[w] for w in _camel_names(question)]
    ]


# A dotted or `::` path as the question writes it (the spans its camelCase words lie in).
_CODE_NAME_SPANS = re.compile(r"[\w$]+(?:(?:\.|::)[\w$]+)+")


def titled_by(heading: str, names: list[re.Pattern[str]]) -> bool:
    """Whether a passage's own section (the last of its heading path) is titled by a code
    name the question writes ("PoolStats.free" for the section `PoolStats.free`)."""
    own = fold(heading.rpartition(" › ")[2])
    return any(name.search(own) for name in names)


def incidental(question: str, missing: list[str], others: int) -> bool:
    """Whether the one question word the documents lack is a passing detail of a long
    question, not its topic: typed in small letters (a name or an acronym the asker
    capitalises is what is asked about), beside at least INCIDENTAL_CONTEXT other distinct
    words (`others`). Measured on the eight question sets of eval/README.md: each such
    word of an answerable question ("macbook", "webhook") and none of a no-answer one."""
    if len(missing) != 1 or others < INCIDENTAL_CONTEXT:
        return False
    return re.search(rf"(?<![\w'’]){re.escape(missing[0])}(?!\w)", question) is not None


def _expected(question: str) -> list[re.Pattern[str]]:
    return [answer for ask, answer in _ANSWER_TYPES if ask.search(question)]


@dataclass(frozen=True)
class _Scored:
    hit: Hit
    sentence: tuple[int, int]
    coverage: float
    rank_score: float


def _score_sentences(
    hit: Hit, terms: QueryTerms, weights: dict[str, float], total: float,
    expected: list[re.Pattern[str]], question: str, cfg: AnswerConfig,
    pairs: list[tuple[str, str, float]],
) -> tuple[tuple[int, int], float]:
    text = hit.passage.text
    best = (0, len(text))
    best_score = -1.0
    asked = said_words(question)
    asked_as_typed = frozenset(fold(question).split())
    counted = _counted(question) if _COUNT in expected else ()
    plain_text = without_labels(text) if expected else text
    for start, end in split_sentences(text):
        sentence = text[start:end]
        score = _share(weights, terms.present(_sentence_positions(sentence)), total)
        if pairs and cfg.proximity_weight:
            near = proximity(sentence, pairs, cfg.proximity_window)
            score += cfg.proximity_weight * near / total
        plain = plain_text[start:end]
        for pattern in expected:
            # The answer is something the question does not already say: a place or a
            # name in other words than its own, small words aside ("in Scale" is no place
            # for "where is Scale based"); a figure or value as written.
            words_of = pattern is _PLACE or pattern is _NAME
            new = [
                m for m in pattern.finditer(plain)
                if not (
                    said_words(m.group(0)) - STOPWORDS <= asked if words_of
                    else set(fold(m.group(0)).split()) <= asked_as_typed
                )
            ]
            if new:
                # A count of the thing asked about ("three rules" for "how many rules") is
                # the answer; a count of something else is only likely to be.
                whole = pattern is not _COUNT or not counted or any(
                    set(counted) & set(tokenize(plain[m.end() : m.end() + COUNT_NOUN_CHARS]))
                    for m in new
                )
                score += cfg.type_bonus if whole else cfg.type_bonus * 0.5
                break
        if score > best_score:
            best, best_score = (start, end), score
    return best, best_score


# A count names what it counts within this many characters after it ("three input rules").
COUNT_NOUN_CHARS = 24
# What "how many" counts is in this many words after it.
COUNTED_WORDS = 3
_HOW_MANY = re.compile(r"\bhow many\s+((?:[\w'-]+\s*)+)", re.I)


@lru_cache(maxsize=1024)
def _counted(question: str) -> tuple[str, ...]:
    """The index tokens of what "how many …" counts: its next words, up to COUNTED_WORDS,
    before the question goes on in small words or "per" ("how many library crates can a
    package hold": library, crates; "how many labels per metric": labels)."""
    found = _HOW_MANY.search(question)
    if found is None:
        return ()
    head: list[str] = []
    for word in found.group(1).split()[:COUNTED_WORDS]:
        if word.casefold() in STOPWORDS or word.casefold() == "per":
            break
        head.append(word)
    return tuple(tokenize(" ".join(head)))


def _quote(text: str, sentence: tuple[int, int], terms: set[str]) -> tuple[str, int, int]:
    """The paragraph trimmed to about QUOTE_CHARS around the marked sentence."""
    s, e = sentence
    if e - s > QUOTE_CHARS:
        s, e = _window(text, s, e, terms)
        return _ellipsize(text, s, e, s, e)
    lo, hi = s, e
    spans = split_sentences(text)
    i = next(n for n, span in enumerate(spans) if span[0] <= s < span[1] or span == sentence)
    before, after = i - 1, i + 1
    while True:
        grew = False
        if after < len(spans) and spans[after][1] - lo <= QUOTE_CHARS:
            hi = spans[after][1]
            after += 1
            grew = True
        if before >= 0 and hi - spans[before][0] <= QUOTE_CHARS:
            lo = spans[before][0]
            before -= 1
            grew = True
        if not grew:
            break
    return _ellipsize(text, lo, hi, s, e)


def _window(text: str, s: int, e: int, terms: set[str]) -> tuple[int, int]:
    """The QUOTE_CHARS-wide stretch of a long sentence holding most question terms."""
    hits = [
        m.start()
        for m in re.finditer(r"\w[\w'’]*", text[s:e])
        if tokenize(m.group(0)) and tokenize(m.group(0))[0] in terms
    ]
    best_lo, best_n = s, -1
    for h in hits or [0]:
        lo = max(s, s + h - QUOTE_CHARS // 4)
        n = sum(1 for x in hits if lo <= s + x < lo + QUOTE_CHARS)
        if n > best_n:
            best_lo, best_n = lo, n
    lo = min(best_lo, max(s, e - QUOTE_CHARS))
    hi = min(e, lo + QUOTE_CHARS)
    # Cut at word boundaries.
    if lo > s:
        space = text.find(" ", lo)
        lo = space + 1 if 0 <= space < hi else lo
    if hi < e:
        space = text.rfind(" ", lo, hi)
        hi = space if space > lo else hi
    return lo, hi


def _ellipsize(text: str, lo: int, hi: int, s: int, e: int) -> tuple[str, int, int]:
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < len(text) else ""
    body = text[lo:hi]
    quote = prefix + body.strip() + suffix
    shift = len(prefix) - lo - (len(body) - len(body.lstrip()))
    start = max(len(prefix), s + shift)
    end = min(len(quote) - len(suffix), e + shift)
    return quote, start, end


def _passage(hit: Hit, sentence: tuple[int, int], terms: set[str], score: float) -> AnswerPassage:
    quote, start, end = _quote(hit.passage.text, sentence, terms)
    p = hit.passage
    return AnswerPassage(p.file, p.line_start, p.line_end, score, p.text, quote, start, end,
                         p.heading)


def _diverse(ranked: list[_Scored], k: int, ratio: float) -> list[_Scored]:
    """Best first; then prefer a file not yet shown when it scores within `ratio` of the
    best remaining candidate."""
    chosen: list[_Scored] = []
    # The same text at another place (documentation repeats itself) is shown once: at its
    # best-ranked place, where the section matched best.
    seen_texts: set[str] = set()
    rest = []
    for s in ranked:
        if s.hit.passage.text not in seen_texts:
            seen_texts.add(s.hit.passage.text)
            rest.append(s)
    while rest and len(chosen) < k:
        shown = {c.hit.passage.file for c in chosen}
        pick = rest[0]
        if chosen and pick.hit.passage.file in shown:
            for cand in rest[1:]:
                close = cand.rank_score >= ratio * pick.rank_score
                if cand.hit.passage.file not in shown and close:
                    pick = cand
                    break
        chosen.append(pick)
        rest.remove(pick)
    # Shown in score order: a passage chosen for its file may outscore none shown after it.
    chosen.sort(key=lambda s: -s.rank_score)
    return chosen


def read_as(question: str, corrections: dict[str, str]) -> str:
    """The question with each word the asker slipped on, or abbreviated, written as the
    corpus writes it ("toml stnads for" -> "toml stands for")."""
    for typed, meant in corrections.items():
        # Split and joined, not re.sub, so the corpus word is never read as a template.
        parts = re.split(rf"(?i)(?<!\w){re.escape(typed)}(?!\w)", question)
        question = meant.join(parts)
    return question


def _definition_asked(index: Index, question: str) -> int | None:
    """For "what does TOML stand for", a passage that spells out the acronym (see
    `retrieval.acronyms.expansion_in`), if the documents have one."""
    found = _STANDS_FOR.search(question)
    if found is None:
        return None
    acronym = next(g for g in found.groups() if g).casefold()
    return index.defining_passage(acronym)


def answer(index: Index, question: str, config: AnswerConfig | None = None) -> Answer:
    cfg = config or AnswerConfig()
    question = " ".join(question.split())
    if not question:
        return Answer(question, False, reason="empty")
    if len(question) > MAX_QUESTION_CHARS:
        return Answer(question[:80] + "…", False, reason="too_long")
    terms = index.terms(question)
    if not terms.tokens:
        return Answer(question, False, reason="no_terms")
    hits = index.search(terms, cfg.candidates)
    if not hits:
        reason = "not_mentioned" if terms.missing else "not_found"
        return Answer(question, False, reason=reason, missing=terms.missing)

    weights, total = _weights(index, terms)
    # The question's forms ("stands for", "how many") are read with its slips corrected.
    read = read_as(question, terms.corrections)
    # Slips corrected, camelCase names kept whole: code names are read from this.
    single = {typed: meant for typed, meant in terms.corrections.items() if " " not in meant}
    as_typed = read_as(question, single)
    expected = _expected(read)
    pairs = _pairs(terms.tokens, weights)
    top = hits[0].score or 1.0
    named_code = _code_titles(as_typed)
    scored: list[_Scored] = []
    for hit in hits:
        sentence, coverage = _score_sentences(
            hit, terms, weights, total, expected, read, cfg, pairs
        )
        held = _share(weights, terms.present(index.passage_terms(hit.index)), total)
        rank_score = hit.score / top + cfg.sentence_weight * coverage + cfg.passage_weight * held
        if named_code and titled_by(hit.passage.heading, named_code):
            rank_score += cfg.title_bonus
        scored.append(_Scored(hit, sentence, coverage, rank_score))
    # Rounded so that float noise between engines never reorders equal passages.
    scored.sort(key=lambda s: (-round(s.rank_score, 9), s.hit.index))

    defining = _definition_asked(index, read)
    if defining is not None:  # the passage that spells out the acronym asked about is first
        hit = Hit(index.passages[defining], hits[0].score, defining)
        sentence, coverage = _score_sentences(
            hit, terms, weights, total, expected, read, cfg, pairs
        )
        scored = [_Scored(hit, sentence, coverage, scored[0].rank_score)] + [
            s for s in scored if s.hit.index != defining
        ]
    shown = _diverse(scored, cfg.top_k, cfg.diversity)
    known = known_idf(index, terms)
    best = max(confidence(index, terms, s.hit, known) for s in scored[:5])
    if defining is not None:
        best = 1.0  # the spelled-out form is the whole answer, whatever words it shares
    # A word of the question that the documents have nowhere, in any form: whatever else
    # matches, they cannot be about it.
    lacking = bool(terms.missing) and not incidental(
        question, terms.missing, len(set(terms.tokens)) - 1
    )
    answered = best >= cfg.min_confidence and not lacking
    # A name of the question that the best passage's page never says: it answers for
    # something else (another program's port, another year's conference).
    apart = (
        unmatched(index, question, shown[0].hit.index, terms.corrections)
        + unmatched_compounds(index, read, shown[0].hit.index, as_typed)
        if answered and shown else []
    )
    answered = answered and not apart
    # A question asking for a figure that the best passage does not state: it is about the
    # thing asked, not the figure ("how much does X cost" against a page on X).
    figure = figure_asked(read) if answered and shown else None
    unstated = figure is not None and not states_figure(
        read, _about_option(read, shown[0].hit.passage.text, figure), figure
    )
    answered = answered and not unstated
    # Likewise a question asking who, against a passage naming no one it does not.
    nameless = (
        answered and bool(shown) and _NAME_ASKED.search(read) is not None
        and not names_anyone_new(read, shown[0].hit.passage.text)
    )
    answered = answered and not nameless
    term_set = set(terms.tokens)

    disagreement = None
    if answered:
        kinds = {kind for kind, pattern in _KINDS if pattern in expected}
        if kinds:
            disagreement, shown = _find_disagreement(scored, shown, cfg, kinds)
    # The score shown is the one the passages were ranked by, so [1] never shows less than [2].
    passages = [_passage(s.hit, s.sentence, term_set, s.rank_score) for s in shown]
    reason = (
        "" if answered else "not_mentioned" if lacking else "unmatched" if apart
        else "no_figure" if unstated else "no_name" if nameless else "not_found"
    )
    return Answer(
        question, answered, passages, reason=reason, disagreement=disagreement,
        missing=terms.missing, unmatched=apart, confidence=best,
    )


def _find_disagreement(
    scored: list[_Scored], shown: list[_Scored], cfg: AnswerConfig, kinds: set[str]
) -> tuple[Disagreement | None, list[_Scored]]:
    """Compare the figures in the best sentences of the strong candidates. A disagreeing
    passage that is not among those shown takes the last place, so both sides are cited."""
    best = scored[0].coverage
    strong = [s for s in scored[: cfg.candidates] if s.coverage >= 0.75 * best][:6]
    found: list[tuple[_Scored, list[Quantity]]] = []
    for s in strong:
        text = s.hit.passage.text[s.sentence[0] : s.sentence[1]]
        found.append((s, quantities(text)))
    groups = disagreements([(s.hit.passage.citation, q) for s, q in found], kinds)
    if not groups:
        return None, shown
    kind, values = groups
    by_key = {s.hit.passage.citation: s for s, _ in found}
    variants = [
        Variant(value, [by_key[k].hit.passage.citation for k in keys]) for value, keys in values
    ]
    shown = list(shown)
    for _, keys in values:
        if not any(by_key[k] in shown for k in keys):
            shown[-1 if len(shown) >= cfg.top_k else len(shown):] = [by_key[keys[0]]]
    return Disagreement(kind, variants), shown
