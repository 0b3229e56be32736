"""The feedback database (bot/feedback.py) and `citebot feedback`, without Discord."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.feedback import (
    SCHEMA_VERSION,
    FeedbackError,
    FeedbackStore,
    Vote,
    export_line,
    run_feedback,
)
from retrieval.evaluate import load_questions

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FeedbackStore]:
    s = FeedbackStore(tmp_path / "nested" / "folder" / "feedback.sqlite3")
    yield s
    s.close()


def test_created_on_first_use_with_its_folder_wal_and_schema_version(
    store: FeedbackStore,
) -> None:
    assert not store.path.parent.exists()
    store.record_answer("who?", ["a.txt:1"], "corpus", True, "prefix")
    assert store.path.exists()
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_user_hashes_are_keyed_stable_and_never_the_raw_id(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    first = FeedbackStore(path)
    hashed = first.hash_user(4000)
    first.close()
    again = FeedbackStore(path)
    assert again.hash_user(4000) == hashed  # the salt is kept in the database
    assert again.hash_user(4001) != hashed
    again.close()
    other = FeedbackStore(tmp_path / "other.sqlite3")
    assert other.hash_user(4000) != hashed  # another database, another salt
    other.close()
    assert "4000" not in hashed


def test_one_vote_per_user_per_answer_a_second_click_changes_it(store: FeedbackStore) -> None:
    answer_id = store.record_answer("who is the CEO?", ["a.txt:9"], "c", True, "slash")
    alice, bob = store.hash_user(1), store.hash_user(2)
    first = store.vote(answer_id, alice, Vote.WRONG)
    assert first is not None and first.previous is None
    changed = store.vote(answer_id, alice, Vote.HELPFUL)
    assert changed is not None and changed.previous is Vote.WRONG
    store.vote(answer_id, bob, Vote.WRONG)
    with sqlite3.connect(store.path) as conn:
        rows = sorted(conn.execute("SELECT user_hash, vote FROM votes").fetchall())
    assert rows == sorted([(alice, 1), (bob, -1)])
    assert store.vote("0" * 16, alice, Vote.WRONG) is None  # unknown answer


def test_summary_counts_kinds_and_ranks_the_downvoted(store: FeedbackStore) -> None:
    ceo = [store.record_answer("Who is the CEO?", ["a.txt:9"], "c", True, "prefix"),
           store.record_answer("who is  the ceo?", ["a.txt:9"], "c", True, "slash")]
    liked = store.record_answer("when was it founded?", ["b.txt:2"], "c", True, "mention")
    missed = store.record_answer("what is the stock price?", [], "c", False, "prefix")
    users = [store.hash_user(n) for n in range(3)]
    for answer_id in ceo:
        for user in users[:2]:
            store.vote(answer_id, user, Vote.WRONG)
    store.vote(liked, users[0], Vote.HELPFUL)
    store.vote(missed, users[2], Vote.WRONG)
    summary = store.summary()
    assert (summary.answers, summary.answered, summary.votes) == (4, 3, 6)
    kinds = {k.kind: (k.answers, k.helpful, k.wrong) for k in summary.by_kind}
    assert kinds == {"prefix": (2, 0, 3), "slash": (1, 0, 2), "mention": (1, 1, 0)}
    # The same question however cased or spaced is one entry.
    assert [(d.wrong, d.answers) for d in summary.downvoted] == [(4, 2), (1, 1)]
    assert summary.downvoted[0].last_citation == "a.txt:9"
    assert summary.downvoted[1].question == "what is the stock price?"


def test_export_lines_are_a_question_set_with_stable_ids(
    store: FeedbackStore, tmp_path: Path
) -> None:
    answer_id = store.record_answer("who is the CEO?", ["a.txt:9"], "c", True, "prefix")
    store.vote(answer_id, store.hash_user(1), Vote.WRONG)
    target = tmp_path / "missed.jsonl"
    assert run_feedback(store.path, target) == 0
    [line] = target.read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert entry == {"id": entry["id"], "question": "who is the CEO?", "answers": [],
                     "sources": []}
    [question] = load_questions(target)
    assert question.question == "who is the CEO?" and question.sources == []
    assert export_line(store.downvoted()[0]) == line  # same id on every export


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(FeedbackError, match="schema version"):
        FeedbackStore(path).open()


def run_cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CITEBOT_FEEDBACK_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "feedback", *args], cwd=db.parent, env=env,
        capture_output=True, text=True, timeout=60,
    )


def test_cli_summary_and_export(store: FeedbackStore) -> None:
    answer_id = store.record_answer("who is the CEO?", ["a.txt:9"], "c", True, "prefix")
    store.vote(answer_id, store.hash_user(1), Vote.WRONG)
    store.close()
    done = run_cli(db=store.path)
    assert done.returncode == 0, done.stderr
    assert "answers 1 (1 answered, 0 not found), votes 1" in done.stdout
    assert "    1        0  who is the CEO?  [a.txt:9]" in done.stdout
    exported = run_cli("--export", "-", db=store.path)
    assert json.loads(exported.stdout)["question"] == "who is the CEO?"


def test_cli_without_a_database_does_not_create_one(tmp_path: Path) -> None:
    db = tmp_path / "none.sqlite3"
    done = run_cli(db=db)
    assert done.returncode == 0 and "no feedback yet" in done.stdout
    assert not db.exists()


def test_an_unusable_database_still_hashes_users_and_is_tried_once(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    store = FeedbackStore(blocked / "votes.sqlite3")
    with pytest.raises(FeedbackError):
        store.record_answer("q", [], "c", True, "prefix")
    first = store.hash_user(1)
    blocked.unlink()  # the folder could now be made, but the hash stays this process's own
    assert store.hash_user(1) == first and not blocked.exists()
