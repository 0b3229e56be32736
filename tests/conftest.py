"""Fixtures shared by the retrieval tests: the seed corpus and its index, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.corpus import Corpus, load_corpus
from retrieval.engines import RankingConfig
from retrieval.index import Index

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="session")
def seeds() -> Corpus:
    return load_corpus(SEEDS)


@pytest.fixture(scope="session")
def seed_index(seeds: Corpus) -> Index:
    return Index.build(seeds, RankingConfig())
