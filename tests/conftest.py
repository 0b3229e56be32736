"""Fixtures shared by the tests: the seed corpus and its index, built once; a copy of the
seeds and a cache folder to build it in; and (tests/discordtest.py) citebot on the fake
Discord."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrieval.engines import RankingConfig
from retrieval.index import Index
from tests.oracle import Corpus, build_index, load_corpus
from tests.seedcorpus import SEEDS

pytest_plugins = ["tests.discordtest"]


@pytest.fixture(scope="session")
def seeds() -> Corpus:
    return load_corpus(SEEDS)


@pytest.fixture(scope="session")
def seed_index(seeds: Corpus) -> Index:
    return build_index(seeds, RankingConfig())


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"
