"""Fixtures of the hostile suite: the seeds' expected results, unreadable paths. (A copy of
the seeds and a cache folder come from tests/conftest.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from retrieval.index import Index
from tests.hostile.faults import Deny, Results, results, unreadable_paths
from tests.seedcorpus import CONFIG, SEEDS


@pytest.fixture(scope="session")
def expected() -> Results:
    return results(Index.from_folder(SEEDS, CONFIG))


@pytest.fixture
def deny(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deny]:
    with unreadable_paths(monkeypatch) as make_unreadable:
        yield make_unreadable
