"""The words of a question that name one particular thing: a product, a project, a person, a
year or a version ("What port does the **Pushgateway** listen on?", "When is PromCon
**2026**?"). A passage that answers such a question comes from a page that has that name: a
confident match from a page that never says it answers some other question (the port of
another program, the conference of another year), so citebot says what the closest passages
lack instead of quoting them.

Only names that few passages hold count (a project's own name is on every page, so its docs
need not repeat it), and only names that are no everyday English word: the asker's "Church" or
"Bible" is too often written another way in the answer ("Methodist", "Genesis")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from retrieval.analyze import DROPPED, fold, index_tokens, normalize, tokenize, words
from retrieval.asker import everyday_words
from retrieval.fields import CODE_PREFIX

if TYPE_CHECKING:
    from retrieval.index import Index

# A name held by more than this share of the passages is the corpus's topic, not a detail.
MAX_HOLDER_SHARE = 0.1
# A number this long, or one with a dot, names something (a year, a version, a port); a short
# one is as often written out ("8 days", "eight days").
MIN_NUMBER_CHARS = 3
# Whether the corpus writes a word as a name is read from this many of its passages.
NAME_SAMPLE_PASSAGES = 32
# ... and it does when at least this share of its uses inside a sentence are capitalised,
NAME_CAPITAL_SHARE = 0.7
# ... out of at least this many.
NAME_MIN_USES = 2

# A word the asker capitalises: an initial capital followed by a small letter ("PromCon",
# "OpenAI"); all capitals are acronyms, a kind of thing more than a name ("RAM", "CEO").
_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][a-z][\w-]*")
# What ends a sentence or starts a heading, list item or quote: the next word's capital
# says nothing about it being a name.
_SENTENCE_START = frozenset(".!?:;\n•*#-—–\"“‘'(")


@dataclass(frozen=True)
class Specific:
    word: str  # as the question has it, case-folded
    token: str  # its index token


def capitalised_in(word: str, texts: Iterable[str]) -> bool:
    """Whether texts write `word` (case-folded) with a capital where a sentence does not
    start: as a name ("the Pushgateway exposes…")."""
    pattern = re.compile(rf"(?<![\w]){re.escape(word)}(?![\w])", re.IGNORECASE)
    capitals = uses = 0
    for text in texts:
        for found in pattern.finditer(text):
            before = text[: found.start()].rstrip()
            if not before or before[-1] in _SENTENCE_START:
                continue
            uses += 1
            written = found.group(0)
            capitals += written[0].isupper() and not written.isupper()
    return uses >= NAME_MIN_USES and capitals >= NAME_CAPITAL_SHARE * uses


def specific_terms(
    index: Index, question: str, corrections: Mapping[str, str] | None = None
) -> list[Specific]:
    """The question's words that name one thing and that few passages hold. `corrections`:
    typed words and what they were read as (see `retrieval.asker`), so a name typed with a
    slip ("Puhgateway") is the name."""
    fixed = {typed: read for typed, read in (corrections or {}).items() if " " not in read}
    raw = [fixed.get(w, w) for w in words(question)]
    tokens = index_tokens(raw)
    # The first word is capitalised as a sentence's is, not as a name.
    after_first = normalize(question).partition(" ")[2]
    asked_capitalised = {
        fixed.get(typed, typed)
        for typed in (w.casefold() for w in _CAPITALISED.findall(after_first))
    }
    everyday = everyday_words()
    most = MAX_HOLDER_SHARE * len(index.passages)
    out: list[Specific] = []
    for word, token in zip(raw, tokens, strict=True):
        if token == DROPPED or any(s.token == token for s in out):
            continue
        held = index.holder_count(token)
        if held > most:
            continue
        if any(ch.isdigit() for ch in token):  # (a year no page has is no page's either)
            named = len(token) >= MIN_NUMBER_CHARS or "." in token
        else:  # (a word no page has is said to be missing: see `retrieval.asker`)
            named = held > 0 and word.isalpha() and word not in everyday and (
                word in asked_capitalised or index.written_as_name(word, token)
            )
        if named:
            out.append(Specific(word, token))
    return out


def unmatched(
    index: Index, question: str, passage: int, corrections: Mapping[str, str] | None = None
) -> list[str]:
    """The question's names that neither a passage nor any other passage of its file has,
    as read (see `specific_terms`)."""
    specific = specific_terms(index, question, corrections)
    if not specific:
        return []
    held = index.passage_terms(passage)
    return [
        s.word for s in specific
        if s.token not in held and not index.file_holds(s.token, passage)
    ]


# A term the asker joins with hyphens, written in small letters ("rust-version",
# "zero-installs"): a setting, a flag or a feature, named as one word. A page that answers
# about it has the parts together ("rust-version", "rust version", "`rust` version").
_COMPOUND = re.compile(r"(?<![\w-])[a-z]+(?:-[a-z]+)+(?![\w-])")
# The dashes that open a command-line flag ("--dry-run", "-e").
_FLAG_DASHES = re.compile(r"(?<![\w-])--?(?=[a-z])")
# English words made with these prefixes ("re-read", "non-empty", "self-hosted") are written
# many ways, or not at all, by a page that answers.
ENGLISH_PREFIXES = frozenset(
    {"re", "pre", "non", "co", "un", "sub", "self", "multi", "anti", "semi", "per", "ex", "vice",
     "mid", "post"}
)
# So are English adjectives and participles made of two words ("heap-allocated",
# "built-in", "read-only", "stack-based", "long-term").
_ADJECTIVE_END = re.compile(
    r"(?:ed|ing)$|^(?:based|only|in|on|off|out|up|like|free|safe|aware|wide|specific|level"
    r"|time|term|side|end|day)$"
)
# A name written as code: a dotted or `::` path ("path.join()", "fs.promises",
# "String::from") or a camelCase or snake_case call ("hashPassword()", "rate_limit()"). A
# page that documents it writes it so.
_IDENTIFIER = re.compile(
    r"(?<![\w.$:/-])[A-Za-z_$][\w$]*(?:(?:\.|::)[A-Za-z_$][\w$]*)+(?:\(\))?(?![\w/-])"
    r"|(?<![\w.$:/-])[a-z]+(?:[A-Z][a-z0-9]*|_[a-z0-9]+)+\(\)"
)
# A dotted name ending so is a file or a host ("package.json", "Node.js", "server.crt",
# "example.com", "db.internal").
_FILE_OR_HOST_END = frozenset(
    """js mjs cjs ts tsx jsx json md mdx rst adoc yml yaml toml txt py rs go rb java kt kts cpp
    hpp cs php lua vue html htm css scss sh lock cfg conf ini properties xml log csv tsv sql db
    sqlite zip gz tar tgz png jpg jpeg gif svg pdf ico map wasm node gyp so dll exe bin key crt
    pem csr cer pfx env bak tmp service tf hcl mod sum com org net io dev app ai co uk de us
    local localhost internal corp lan home test example""".split()
)
# "value.Why": two words run together over a full stop, not a name.
_RUN_ON = re.compile(r"[a-z]+\.[A-Z][a-z]+")
_IDENTIFIER_PART = re.compile(r"::|\.")
# Between the parts on the page: nothing, a hyphen, a space, an underscore, a dot, colons or
# code marks ("rust-version", "rust version", "rust_version", "`rust` version", "fs.watch").
_JOINT = r"[-_.:\s`'\"]{0,3}"


def code_names(question: str) -> list[tuple[str, list[str]]]:
    """The code names a question writes ("server.listen()", "hashPassword()"), each with its
    parts, case-folded; file names and hosts ("package.json") are none."""
    out: list[tuple[str, list[str]]] = []
    for name in dict.fromkeys(_IDENTIFIER.findall(question)):
        # A camelCase part is one word as the index reads code ("hashPassword").
        parts = [p for p in _IDENTIFIER_PART.split(name.removesuffix("()")) if p]
        if min(map(len, parts), default=0) < 2 or parts[-1].casefold() in _FILE_OR_HOST_END:
            continue  # "e.g", "package.json"
        if _RUN_ON.fullmatch(name):
            continue
        out.append((name, [p.casefold() for p in parts]))
    return out


def written_together(parts: list[str]) -> re.Pattern[str]:
    """Finds the parts together in folded text, as written, spaced, with an underscore, dot,
    colons or code marks between them, and each with a plural's "s" on or off."""
    return re.compile(_JOINT.join(re.escape(p.removesuffix("s")) + "(?:e?s)?" for p in parts))


def _joined_terms(question: str, typed: str) -> list[tuple[str, list[str]]]:
    """The question's hyphen-joined terms and code names, each with the parts a page that is
    about it has together. `typed`: the question as typed, where code names are read (a
    camelCase name is not split there). For a code name that is its last part, the member
    a page documents ("Result::expect" is about `expect`, which its page may write without
    "Result::"; "queue_config" may be written "queue config")."""
    out: list[tuple[str, list[str]]] = []
    # A command-line flag is a term too: "--break-system-packages" is "break-system-packages".
    for compound in dict.fromkeys(_COMPOUND.findall(_FLAG_DASHES.sub(" ", question))):
        parts = compound.split("-")
        if parts[0] not in ENGLISH_PREFIXES and not _ADJECTIVE_END.search(parts[-1]):
            out.append((compound, parts))
    for name, parts in code_names(typed):
        member = [p for p in parts[-1].split("_") if p]
        if member:
            out.append((name, member))
    return out


def unmatched_compounds(
    index: Index, question: str, passage: int, typed: str | None = None
) -> list[str]:
    """The question's hyphen-joined terms and code names (`fs.watch()`) that the passage's
    page (its text, headings and code) never has with their parts together. `typed`: the
    question as typed, when `question` is it with slips corrected."""
    out: list[str] = []
    for compound, parts in _joined_terms(question, question if typed is None else typed):
        tokens = [t for part in parts for t in tokenize(part)]
        if not tokens:  # "how-to": stopwords only, which no index holds
            continue
        if index.page_holding(tokens, passage, (CODE_PREFIX,)):
            continue  # code on the page has every part; the term may well be there
        together = written_together(parts)
        if not any(
            together.search(fold(f"{p.heading}\n{p.text}"))
            for p in (index.passages[i] for i in index.page_holding(tokens, passage))
        ):
            out.append(compound)
    return out
