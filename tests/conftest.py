"""Fixtures shared by the retrieval tests: the seed corpus and its index, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.engines import RankingConfig
from retrieval.index import Index
from tests.oracle import Corpus, build_index, load_corpus

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="session")
def seeds() -> Corpus:
    return load_corpus(SEEDS)


@pytest.fixture(scope="session")
def seed_index(seeds: Corpus) -> Index:
    return build_index(seeds, RankingConfig())
