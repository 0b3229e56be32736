"""The reference ingestion: one file at a time, one Passage object and one token list per
passage, counted with Counters. Slow and plain on purpose; the tests check that the real
build (`retrieval/build.py`: batches, worker processes, column tables) gives the same
passages and postings, count for count."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.analyze import code_extras, tokenize
from retrieval.build import count_documents
from retrieval.corpus import (
    Block,
    CorpusError,
    Passage,
    assemble,
    corpus_files,
    display_name,
    is_markdown,
    read_text,
    scan,
)
from retrieval.engines import RankingConfig
from retrieval.fields import field_tokens
from retrieval.index import BuildStats, Index, passage_tokens

log = logging.getLogger(__name__)


@dataclass
class Corpus:
    folder: Path
    passages: list[Passage]
    files: dict[str, int]
    dropped: int = 0
    warnings: list[str] = field(default_factory=list)
    # Per passage: its tokens for the index and its text's length for BM25.
    tokens: list[tuple[list[str], int]] = field(default_factory=list)

    def passages_of(self, file: str) -> list[Passage]:
        return [p for p in self.passages if p.file == file]


def make_passage(file: str, ordinal: int, block: Block, head: Block | None) -> Passage:
    return Passage(
        file=file,
        # The span includes the headline, so a citation of it lands here.
        line_start=head.line_start if head is not None else block.line_start,
        line_end=block.line_end,
        ordinal=ordinal,
        text=block.text,
        heading=block.section or (head.heading if head is not None else ""),
        reference=block.reference,
    )


def index_tokens(passage: Passage, block: Block, markdown: bool) -> tuple[list[str], int]:
    if not markdown:
        tokens = passage_tokens(passage)  # a headline adds its new words to the text's
        return tokens, len(tokens)
    text = passage.body_for_index()
    body = tokenize(text) + code_extras(text)
    return body + field_tokens(block.section, block.code), len(body)


def chunk(
    file: str, text: str, seen: set[bytes] | None = None
) -> tuple[list[Passage], list[tuple[list[str], int]], int]:
    """Passages of one file, their tokens, and how many chrome or duplicate paragraphs
    were dropped. Markdown drops only repeats within the file."""
    blocks, chrome = scan(text, file)
    markdown = is_markdown(file)
    pool = set() if seen is None or markdown else seen
    kept, duplicates = assemble([b.key for b in blocks], [b.headline for b in blocks], pool)
    passages: list[Passage] = []
    tokens: list[tuple[list[str], int]] = []
    for i, k in enumerate(kept):
        head = None if k.heading is None else blocks[k.heading]
        p = make_passage(file, i, blocks[k.block], head)
        passages.append(p)
        tokens.append(index_tokens(p, blocks[k.block], markdown))
    return passages, tokens, chrome + duplicates


def load_corpus(folder: Path | str, files: Iterable[Path] | None = None) -> Corpus:
    root = Path(folder)
    paths = list(files) if files is not None else corpus_files(root)
    corpus = Corpus(root, [], {})
    seen: set[bytes] = set()
    for path in paths:
        name = display_name(path.relative_to(root).as_posix())
        text = read_text(path, corpus.warnings, name)
        if text is None:
            continue
        found, tokens, lost = chunk(name, text, seen)
        corpus.passages.extend(found)
        corpus.tokens.extend(tokens)
        corpus.files[name] = len(found)
        corpus.dropped += lost
    for warning in corpus.warnings:
        log.warning(warning)
    if not corpus.passages:
        raise CorpusError(f"no readable paragraphs in corpus folder {root}")
    return corpus


def build_index(corpus: Corpus, config: RankingConfig | None = None) -> Index:
    postings = count_documents(corpus.tokens)
    stats = BuildStats(
        files=len(corpus.files),
        passages=len(corpus.passages),
        dropped=corpus.dropped,
        vocabulary=len(postings.vocab),
        warnings=list(corpus.warnings),
    )
    return Index(corpus.passages, postings, config or RankingConfig(), stats=stats)
