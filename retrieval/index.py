"""The BM25 index: build from a corpus, search(question, k), save and load."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Container, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from retrieval.acronyms import (
    DEFINITION_PASSAGES,
    Group,
    acronym_groups,
    compound_groups,
    expansion_in,
)
from retrieval.analyze import asked_operators, code_extras, index_tokens, tokenize, words
from retrieval.asker import common_words, understand
from retrieval.build import build_folder, release_free_memory
from retrieval.corpus import Passage, corpus_files, is_markdown
from retrieval.engines import (
    Engine,
    FloatArray,
    IntArray,
    Postings,
    RankBM25Engine,
    RankingConfig,
    SparseEngine,
    idf_table,
    top_k,
)
from retrieval.fields import PREFIXES
from retrieval.impacts import Impacts
from retrieval.passages import PassageTable
from retrieval.specific import NAME_SAMPLE_PASSAGES, capitalised_in
from retrieval.spelling import Spellings

log = logging.getLogger(__name__)

# A bibliography entry may answer a question nobody else answers, but never beats prose.
# At most 1: the sparse engine's impact bounds assume boosts never raise a score.
REFERENCE_WEIGHT = 0.5
# Holders of an acronym read for its definition when a question asks what it stands for (one
# decoded passage each: a bound on a common acronym's cost in a large corpus).
ASKED_DEFINITION_PASSAGES = 1024

Progress = Callable[[int, int], None]
# A word typed in capitals ("WAL", "SLOs") is asked as an acronym even if it is English.
_CAPITALS = re.compile(r"\b[A-Z]{2,6}(?=s?\b)")
# Postings per slice when computing contributions: bounds the float64 temporaries.
WEIGHT_CHUNK = 1 << 20
# A word held by more than this share of the passages is the corpus's topic ("prometheus" in
# its docs): that a typo's reading goes with it says nothing. In a small corpus, where any
# word is in a tenth of the passages, a word must be in at least TOPIC_MIN_PASSAGES.
TOPIC_SHARE = 0.1
TOPIC_MIN_PASSAGES = 20


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    index: int


@dataclass(frozen=True)
class QueryTerms:
    """A question's tokens, with the ones the corpus knows and their idf. `scoring`: the
    term ids to score, the text's (`known`) and those of the other fields
    (`retrieval.fields`)."""

    tokens: list[str]
    known: list[int]
    idf: list[float]
    unknown: list[str]
    scoring: list[int]
    # Question words the documents have nowhere (see `retrieval.asker`).
    missing: list[str] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)
    # Acronyms and spelled-out forms asked, with the other form (`retrieval.acronyms`).
    groups: list[Group] = field(default_factory=list)

    def present(self, found: Container[str]) -> Container[str]:
        """The question tokens a text with tokens `found` holds, counting a token of a group
        as held where the text has one of the group's other forms in full."""
        if not self.groups:
            return found
        held = {tok for tok in self.tokens if tok in found}
        for group in self.groups:
            if any(all(t in found for t in other) for other in group.others):
                held.update(group.own)
        return held


def passage_tokens(passage: Passage) -> list[str]:
    """The words a passage is known by: its text's tokens plus the words its heading adds,
    each once (a headline of a clipping, or a Markdown block's section path), so a heading
    counts towards how much of a question a passage covers."""
    body = passage.body_for_index()
    tokens = tokenize(body) + (code_extras(body) if is_markdown(passage.file) else [])
    if passage.heading:
        have = set(tokens)
        for tok in tokenize(passage.heading):
            if tok not in have:
                tokens.append(tok)
                have.add(tok)
    return tokens


@dataclass
class BuildStats:
    files: int = 0
    passages: int = 0
    dropped: int = 0
    vocabulary: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _slices(postings: Postings, size: int) -> Iterator[tuple[int, int]]:
    """Term ranges [a, b) holding about `size` postings each (a frequent term alone)."""
    indptr = postings.indptr
    n_terms = len(indptr) - 1
    a = 0
    while a < n_terms:
        b = int(np.searchsorted(indptr, indptr[a] + size, side="right")) - 1
        b = min(max(b, a + 1), n_terms)
        yield a, b
        a = b


def contributions(
    postings: Postings, config: RankingConfig, chunk: int = WEIGHT_CHUNK
) -> FloatArray:
    """`SparseEngine.contributions`, computed a slice of terms at a time so its float64
    temporaries stay small. Each slice is the same computation on fewer postings; a slice
    whose idf would differ (Okapi's floor uses the mean idf) sends it all to one call."""
    if len(postings.docs) <= chunk:
        return SparseEngine.contributions(postings, config)
    n = postings.n_docs
    idf = idf_table(config, postings.doc_freq(), n, postings.fields)
    parts: list[tuple[int, Postings]] = []
    for a, b in _slices(postings, chunk):
        lo, hi = int(postings.indptr[a]), int(postings.indptr[b])
        part = Postings(
            vocab={},
            indptr=postings.indptr[a : b + 1] - lo,
            docs=postings.docs[lo:hi],
            tf=postings.tf[lo:hi],
            doc_len=postings.doc_len,
            fields=None if postings.fields is None else postings.fields[a:b],
        )
        if not np.array_equal(idf_table(config, part.doc_freq(), n, part.fields), idf[a:b]):
            return SparseEngine.contributions(postings, config)
        parts.append((lo, part))
    out = np.empty(len(postings.docs), dtype=np.float64)

    def fill(item: tuple[int, Postings]) -> None:
        lo, part = item
        out[lo : lo + len(part.docs)] = SparseEngine.contributions(part, config)

    # numpy lets go of the GIL in elementwise work, so slices fill in parallel.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(fill, parts))
    release_free_memory()
    return out


class Index:
    def __init__(
        self,
        passages: Sequence[Passage],
        postings: Postings,
        config: RankingConfig,
        weights: FloatArray | None = None,
        stats: BuildStats | None = None,
        impacts: Impacts | None = None,
        spellings: Sequence[str] = (),
    ) -> None:
        self.passages = (
            passages if isinstance(passages, PassageTable) else PassageTable.from_passages(passages)
        )
        self.postings = postings
        self.config = config
        self.stats = stats or BuildStats()
        if weights is None:
            weights = contributions(postings, config)
        self.weights = weights
        self.sparse = SparseEngine(postings, config, weights, impacts)
        self.engine: Engine = (
            self.sparse
            if config.resolved_engine() == "sparse"
            else RankBM25Engine(postings, config)
        )
        self.idf = self.sparse.idf
        self.max_idf = float(self.idf.max()) if len(self.idf) else 1.0
        # Each passage's weight on its BM25 score (REFERENCE_WEIGHT for bibliography entries).
        self.boost: FloatArray = np.where(self.passages.reference, REFERENCE_WEIGHT, 1.0)
        self.files = self.passages.present_files()
        self._terms_cache: dict[int, frozenset[str]] = {}
        self._definitions: dict[str, str | None] = {}
        self._names: dict[str, bool] = {}
        self.spellings = Spellings(spellings)

    @classmethod
    def build_folder(
        cls,
        folder: Path | str,
        config: RankingConfig,
        progress: Progress | None = None,
        workers: int | None = None,
        batch_bytes: int | None = None,
    ) -> Index:
        """The index of a corpus folder: the one ingestion path. The files are analysed in
        `workers` processes (default: by corpus size)."""
        started = time.perf_counter()
        root = Path(folder)
        built = build_folder(
            root, corpus_files(root), progress, workers, batch_bytes
        )
        for warning in built.warnings:
            log.warning(warning)
        stats = BuildStats(
            files=len(built.files),
            passages=len(built.table),
            dropped=built.dropped,
            vocabulary=len(built.postings.vocab),
            warnings=built.warnings,
        )
        index = cls(built.table, built.postings, config, stats=stats, spellings=built.spellings)
        stats.seconds = time.perf_counter() - started
        return index

    @classmethod
    def from_folder(cls, folder: Path | str, config: RankingConfig | None = None) -> Index:
        return cls.build_folder(folder, config or RankingConfig())

    def with_engine(self, config: RankingConfig) -> Index:
        """The same passages and postings scored by another engine (same variant)."""
        return Index(
            self.passages, self.postings, config, self.weights, self.stats, self.sparse.impacts,
            self.spellings.words,
        )

    def terms(self, question: str) -> QueryTerms:
        indptr = self.postings.indptr
        understood = understand(
            question, self.postings.vocab, lambda t: int(indptr[t + 1] - indptr[t]),
            self.held_together, self.spellings.near,
        )
        tokens = understood.tokens + [
            op
            for op in asked_operators(question, " ".join(understood.corrections.values()))
            if op in self.postings.vocab
        ]
        known: list[int] = []
        idf: list[float] = []
        unknown: list[str] = []
        other: list[int] = []
        vocab = self.postings.vocab
        fielded = self.postings.fields is not None
        for tok in tokens:
            t = vocab.get(tok)
            found = [] if not fielded else [
                f for f in (vocab.get(p + tok) for p in PREFIXES) if f is not None
            ]
            other.extend(found)
            if t is None:
                if not found:
                    unknown.append(tok)
            else:
                known.append(t)
                idf.append(float(self.idf[t]))
        asked = set(tokens)
        capitals = {w.casefold() for w in _CAPITALS.findall(question)}
        common = common_words()

        def plain(word: str) -> bool:
            return word in common and word not in capitals

        raw = words(question)
        raw_tokens = index_tokens(raw)  # once, for both kinds of group
        groups: list[Group] = []
        taken: set[str] = set()  # a token is in one group at most
        for group in acronym_groups(
            raw, raw_tokens, vocab.__contains__, self._defined, plain
        ) + compound_groups(raw, raw_tokens, vocab.__contains__):
            if asked.issuperset(group.own) and taken.isdisjoint(group.own):
                groups.append(group)
                taken.update(group.own)
        return QueryTerms(
            tokens, known, idf, unknown, known + other, understood.missing,
            understood.corrections, groups,
        )

    def _defined(self, acronym: str, token: str, beside: str = "") -> str | None:
        """What the passages holding an acronym define it as ("Service Level Objective
        (SLO)"), read from the first DEFINITION_PASSAGES of them; with `beside`, of those
        that also hold that token (the first word of a spelled-out form asked, which a
        definition holds too). Remembered."""
        key = f"{acronym} {beside}"
        if key not in self._definitions:
            holders = self._holders(token)
            if beside:  # (a word the corpus lacks leaves no passage to read)
                other = self._holders(beside)
                # Both ascending: look the few holders up in the other postings.
                at = np.minimum(np.searchsorted(other, holders), max(len(other) - 1, 0))
                holders = holders[other[at] == holders] if len(other) else other
            found = self._first_definition(acronym, holders)
            self._definitions[key] = found[1] if found else None
        return self._definitions[key]

    def _first_definition(
        self, acronym: str, holders: npt.NDArray[np.int32], limit: int = DEFINITION_PASSAGES
    ) -> tuple[int, str] | None:
        """The first of the first `limit` holders that defines an acronym, and what as."""
        for i in holders[:limit].tolist():
            found = expansion_in(acronym, self.passages[i].text)
            if found is not None:
                return i, found
        return None

    def defining_passage(self, acronym: str) -> int | None:
        """A passage that spells out an acronym (case-folded letters): "TOML (Tom's
        Obvious, Minimal Language)". Asked for outright, so more of its holders are read
        than for a definition looked for by the way."""
        token = index_tokens([acronym])[0]
        found = self._first_definition(acronym, self._holders(token), ASKED_DEFINITION_PASSAGES)
        return found[0] if found else None

    @property
    def _field_prefixes(self) -> tuple[str, ...]:
        """The prefix of each field a token may be in: the text's "" and, for Markdown, the
        other fields'."""
        return ("", *PREFIXES) if self.postings.fields is not None else ("",)

    def _scoring_ids(self, tokens: Sequence[str]) -> list[int]:
        """Term ids of tokens in the text and in the other fields."""
        vocab = self.postings.vocab
        return [
            t for tok in tokens for p in self._field_prefixes
            if (t := vocab.get(p + tok)) is not None
        ]

    def _holding_all(self, tokens: Sequence[str]) -> IntArray:
        """The passages holding every one of the tokens in their text, ascending."""
        p = self.postings
        counts = np.zeros(p.n_docs, dtype=np.uint8)
        for t in {p.vocab[tok] for tok in tokens}:
            counts[p.docs[p.indptr[t] : p.indptr[t + 1]]] += 1
        held: IntArray = np.flatnonzero(counts == len(set(tokens)))
        return held

    def _held_scores(self, ids: list[int]) -> FloatArray:
        """Every passage's score for these term ids where it holds one of them, 0 elsewhere."""
        out = np.zeros(self.postings.n_docs, dtype=np.float64)
        if isinstance(self.engine, SparseEngine):
            found, scores = self.engine.matched(ids)
            out[found] = scores
        else:  # rank-bm25 credits every passage; keep the holders'
            found = self.sparse.holders_of(ids)
            out[found] = self.engine.scores(ids)[found]
        return out

    def _scores_at(self, ids: list[int], docs: IntArray) -> FloatArray:
        """The scores of a few passages `docs` (ascending, each holding one of the ids)."""
        if isinstance(self.engine, SparseEngine):
            return self.engine.scores_at(ids, docs)
        out: FloatArray = self.engine.scores(ids)[docs]
        return out

    def _group_scores(self, terms: QueryTerms) -> tuple[IntArray, FloatArray]:
        """The passages a question with groups matches (ascending) and their boosted scores:
        the ungrouped tokens' BM25 sum plus, for each group, its best form's, so a passage
        with both forms is not credited twice. Another form counts only where the passage
        holds all of its tokens, and weighs as the asked form would with the same counts:
        each of its tokens' scores carries the asked tokens' mean idf instead of its own, and
        is shared out over its tokens ("chief executive officer" for "CEO" weighs as one
        word, and as CEO does)."""
        grouped = {tok for g in terms.groups for tok in g.own}
        alone = [t for t in dict.fromkeys(terms.tokens) if t not in grouped]
        total = self._held_scores(self._scoring_ids(alone))
        matched = np.zeros(self.postings.n_docs, dtype=bool)
        matched[self.sparse.holders_of(terms.scoring)] = True
        vocab = self.postings.vocab
        for group in terms.groups:
            best = self._held_scores(self._scoring_ids(group.own))
            # A word the corpus lacks ("nick" of "nick name") weighs as the rarest word.
            asked_idf = float(
                np.mean([self.idf[vocab[t]] if t in vocab else self.max_idf for t in group.own])
            )
            for other in group.others:
                held = self._holding_all(other)
                matched[held] = True
                found = np.zeros(len(held), dtype=np.float64)
                for tok in other:
                    own_idf = float(self.idf[vocab[tok]])
                    scale = asked_idf / own_idf if own_idf else 0.0
                    found += self._scores_at(self._scoring_ids([tok]), held) * scale
                found *= len(group.own) / len(other)
                best[held] = np.maximum(best[held], found)
            total += best
        docs: IntArray = np.flatnonzero(matched)
        scores: FloatArray = total[docs] * self.boost[docs]
        return docs, scores

    def scores(self, terms: QueryTerms) -> FloatArray:
        if terms.groups:  # the matching passages' scores; 0 elsewhere
            out = np.zeros(self.postings.n_docs, dtype=np.float64)
            docs, scores = self._group_scores(terms)
            out[docs] = scores
            return out
        out = self.engine.scores(terms.scoring) * self.boost
        return out

    def search(self, question: str | QueryTerms, k: int = 10) -> list[Hit]:
        terms = self.terms(question) if isinstance(question, str) else question
        ids = terms.scoring
        if not ids:
            return []
        if terms.groups:  # rare: no impact pass, as the best form differs by passage
            candidates, scores = self._group_scores(terms)
            best = top_k(scores, k)
            return [
                Hit(self.passages[int(i)], float(s), int(i))
                for i, s in zip(candidates[best].tolist(), scores[best].tolist(), strict=True)
            ]
        # BM25+ credits every passage a little for each query term; only real matches count,
        # so only they are boosted and ranked (ties still go to the lower index).
        if isinstance(self.engine, SparseEngine):
            found, scores = self.engine.best(ids, k, self.boost)
        else:
            candidates = self.sparse.holders_of(ids)
            scores = self.scores(terms)[candidates]
            best = top_k(scores, k)
            found, scores = candidates[best], scores[best]
        return [
            Hit(self.passages[int(i)], float(s), int(i))
            for i, s in zip(found.tolist(), scores.tolist(), strict=True)
        ]

    def _holders(self, term: str) -> npt.NDArray[np.int32]:
        """The passages whose postings hold an index term, ascending."""
        p = self.postings
        t = p.vocab.get(term)
        return p.docs[p.indptr[t] : p.indptr[t + 1]] if t is not None else p.docs[:0]

    def held_together(self, token: str, others: Sequence[str]) -> int:
        """The most of `others` that one passage holding a token holds too, the corpus's
        topic words aside (see TOPIC_SHARE). Costs the tokens' passage counts."""
        most = max(TOPIC_SHARE * self.postings.n_docs, TOPIC_MIN_PASSAGES)
        holders = self._holders(token)
        beside = [h for h in map(self._holders, dict.fromkeys(others)) if 0 < len(h) <= most]
        if not beside or not len(holders):
            return 0
        held = np.zeros(len(holders), dtype=np.int32)
        for h in beside:
            held += np.isin(holders, h, assume_unique=True)
        return int(held.max())

    def holder_count(self, token: str) -> int:
        """How many passages' text holds a token."""
        return len(self._holders(token))

    def written_as_name(self, word: str, token: str) -> bool:
        """Whether the passages holding a word write it as a name (see
        `retrieval.specific.capitalised_in`), from the first few of them. Remembered."""
        if word not in self._names:
            holders = self._holders(token)[:NAME_SAMPLE_PASSAGES]
            texts = (self.passages[int(i)].text for i in holders)
            self._names[word] = capitalised_in(word, texts)
        return self._names[word]

    def file_holds(self, token: str, passage: int) -> bool:
        """Whether any passage of passage `passage`'s file holds a token, in its text or
        another field (a section heading, code)."""
        return bool(self.page_holding([token], passage))

    def page_holding(
        self, tokens: Sequence[str], passage: int, prefixes: Sequence[str] | None = None
    ) -> list[int]:
        """The passages of passage `passage`'s file that hold every token, each in its text
        or another field (with `prefixes`, in those fields only). Read from the postings: the
        cost follows the tokens' passage counts, not the file's length."""
        if prefixes is None:
            prefixes = self._field_prefixes
        file = self.passages.file_id(passage)
        found: npt.NDArray[np.int32] | None = None
        for token in dict.fromkeys(tokens):
            held = np.unique(np.concatenate([self._holders(p + token) for p in prefixes]))
            held = held[self.passages.file_ids(held) == file]
            found = held if found is None else np.intersect1d(found, held)
        return [] if found is None else found.tolist()

    def passage_terms(self, i: int) -> frozenset[str]:
        found = self._terms_cache.get(i)
        if found is None:
            found = self._terms_cache[i] = frozenset(passage_tokens(self.passages[i]))
        return found

    def find(self, file: str) -> list[Passage]:
        return [self.passages[i] for i in self.passages.indices_of(file)]
