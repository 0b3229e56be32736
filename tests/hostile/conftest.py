"""Fixtures of the hostile suite: a copy of the seeds, a cache folder, unreadable paths."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.index import Index
from tests.hostile.faults import CONFIG, SEEDS, Deny, Results, results, unreadable_paths


@pytest.fixture(scope="session")
def expected() -> Results:
    return results(Index.from_folder(SEEDS, CONFIG))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def deny(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deny]:
    with unreadable_paths(monkeypatch) as make_unreadable:
        yield make_unreadable
