"""Votes on answers ("Helpful", "Wrong") in SQLite, and what `citebot feedback` reports.

No chat library in here: the Discord buttons (bot/buttons.py) and the CLI both use it.
Users are stored only as a keyed hash (blake2b with a salt made once and kept in the
database), never as raw ids. Calls block; the bot makes them off the event loop.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, TextIO

# PRAGMA user_version of the schema this code writes; a newer database is refused.
SCHEMA_VERSION = 1
SALT_KEY = "user_salt"
SALT_BYTES = 16
USER_HASH_BYTES = 8
ANSWER_ID_BYTES = 8
# A writer waits this long for another one (the CLI reading while the bot writes).
BUSY_TIMEOUT_S = 5.0
# Questions shown under "most downvoted".
TOP_DOWNVOTED = 10
EXPORT_ID_PREFIX = "feedback-"

_SCHEMA = [
    # version 1
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        question TEXT NOT NULL,
        citations TEXT NOT NULL,      -- JSON list of the passages shown, best first
        corpus TEXT NOT NULL,         -- fingerprint of the index that answered
        answered INTEGER NOT NULL,    -- 0: it said it could not find the answer
        kind TEXT NOT NULL,           -- prefix, mention, slash
        created TEXT NOT NULL         -- ISO 8601, UTC
    );
    CREATE TABLE votes (
        answer_id TEXT NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
        user_hash TEXT NOT NULL,
        vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
        time TEXT NOT NULL,
        PRIMARY KEY (answer_id, user_hash)
    );
    CREATE INDEX votes_by_vote ON votes(vote, answer_id);
    """,
]


class FeedbackError(Exception):
    """The database cannot be used (unreadable, or made by a newer citebot)."""


class Vote(IntEnum):
    WRONG = -1
    HELPFUL = 1


@dataclass(frozen=True)
class StoredAnswer:
    id: str
    question: str
    citations: tuple[str, ...]
    corpus: str
    answered: bool
    kind: str
    created: str


@dataclass(frozen=True)
class VoteResult:
    previous: Vote | None  # None: the user's first vote on this answer
    vote: Vote


@dataclass(frozen=True)
class KindCounts:
    kind: str
    answers: int
    helpful: int
    wrong: int


@dataclass(frozen=True)
class Downvoted:
    question: str
    wrong: int
    helpful: int
    answers: int  # how many times it was asked and voted on
    last_citation: str  # the top passage shown the last time, "" when none


@dataclass(frozen=True)
class Summary:
    answers: int
    answered: int
    votes: int
    by_kind: tuple[KindCounts, ...]
    downvoted: tuple[Downvoted, ...]  # wrong > helpful, most wrong first


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_answer_id() -> str:
    # Random rather than a row number: a button of a deleted database never names a new answer.
    return secrets.token_hex(ANSWER_ID_BYTES)


def normalise_question(question: str) -> str:
    return " ".join(question.split()).casefold()


class FeedbackStore:
    """One SQLite file, opened on first use (its folder created), WAL mode. Safe to call
    from several threads: one connection, one lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._salt: bytes | None = None
        # Hashes users when the database cannot be opened: stable for this process only.
        self._process_salt = secrets.token_bytes(SALT_BYTES)
        self._open_failed = False
        self._lock = threading.Lock()

    # -- connection and schema ------------------------------------------------------------

    def open(self) -> None:
        """Create or migrate the database now (else on first use); raises FeedbackError."""
        with self._locked():
            pass

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            yield self._conn

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                isolation_level=None,  # explicit transactions below
            )
        except (OSError, sqlite3.Error) as exc:
            raise FeedbackError(f"cannot open the feedback database {self.path}: {exc}") from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL never corrupts the database; a power cut may lose the last
            # votes. FULL would fsync every vote (5 ms each here, against 0.1 ms).
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._migrate(conn)
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (SALT_KEY,)).fetchone()
            self._salt = bytes.fromhex(row[0])
        except sqlite3.Error as exc:
            conn.close()
            raise FeedbackError(f"cannot use the feedback database {self.path}: {exc}") from exc
        except FeedbackError:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise FeedbackError(
                f"{self.path} has schema version {version}; this citebot knows up to "
                f"{SCHEMA_VERSION}"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the write lock.
                current = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if current < target:
                    for statement in _SCHEMA[target - 1].split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    if target == 1:
                        conn.execute(
                            "INSERT INTO meta VALUES (?, ?)",
                            (SALT_KEY, secrets.token_hex(SALT_BYTES)),
                        )
                    conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- writing ---------------------------------------------------------------------------

    def hash_user(self, user_id: int) -> str:
        """A keyed hash of a user id: the same user gets the same hash in this database,
        and no one without the salt can go back from it. Never raises: without a usable
        database the salt is this process's own."""
        if self._salt is None and not self._open_failed:
            try:
                self.open()
            except FeedbackError:
                self._open_failed = True  # not again on every question (on the event loop)
        salt = self._salt or self._process_salt
        digest = hashlib.blake2b(str(user_id).encode(), key=salt, digest_size=USER_HASH_BYTES)
        return digest.hexdigest()

    def record_answer(
        self,
        question: str,
        citations: Sequence[str],
        corpus: str,
        answered: bool,
        kind: str,
    ) -> str:
        """Store an answer that was shown; returns its id (what the buttons carry)."""
        answer_id = new_answer_id()
        with self._locked() as conn:
            conn.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?)",
                (answer_id, question, json.dumps(list(citations)), corpus, int(answered), kind,
                 now_iso()),
            )
        return answer_id

    def answer(self, answer_id: str) -> StoredAnswer | None:
        with self._locked() as conn:
            row = conn.execute(
                "SELECT id, question, citations, corpus, answered, kind, created "
                "FROM answers WHERE id = ?", (answer_id,),
            ).fetchone()
        if row is None:
            return None
        return StoredAnswer(row[0], row[1], tuple(json.loads(row[2])), row[3], bool(row[4]),
                            row[5], row[6])

    def vote(self, answer_id: str, user_hash: str, vote: Vote) -> VoteResult | None:
        """One vote per user per answer; a second one replaces the first. None when the
        answer is not in the database."""
        with self._locked() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() \
                        is None:
                    conn.execute("ROLLBACK")
                    return None
                row = conn.execute(
                    "SELECT vote FROM votes WHERE answer_id = ? AND user_hash = ?",
                    (answer_id, user_hash),
                ).fetchone()
                conn.execute(
                    "INSERT INTO votes VALUES (?, ?, ?, ?) ON CONFLICT(answer_id, user_hash) "
                    "DO UPDATE SET vote = excluded.vote, time = excluded.time",
                    (answer_id, user_hash, int(vote), now_iso()),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return VoteResult(None if row is None else Vote(row[0]), vote)

    # -- reading ---------------------------------------------------------------------------

    def summary(self, top: int = TOP_DOWNVOTED) -> Summary:
        with self._locked() as conn:
            answers, answered = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM answers"
            ).fetchone()
            votes = conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0]
            kinds = conn.execute(
                "SELECT a.kind, COUNT(DISTINCT a.id), "
                "COALESCE(SUM(v.vote = 1), 0), COALESCE(SUM(v.vote = -1), 0) "
                "FROM answers a LEFT JOIN votes v ON v.answer_id = a.id "
                "GROUP BY a.kind ORDER BY a.kind"
            ).fetchall()
            downvoted = self._downvoted(conn, top)
        return Summary(
            int(answers), int(answered), int(votes),
            tuple(KindCounts(k, int(n), int(up), int(down)) for k, n, up, down in kinds),
            tuple(downvoted),
        )

    def downvoted(self, limit: int | None = None) -> list[Downvoted]:
        with self._locked() as conn:
            return self._downvoted(conn, limit)

    @staticmethod
    def _downvoted(conn: sqlite3.Connection, limit: int | None) -> list[Downvoted]:
        """Questions (the same words however spaced or cased) with more Wrong votes than
        Helpful ones over all the times they were asked, most Wrong first."""
        rows = conn.execute(
            "SELECT a.question, a.citations, a.created, "
            "SUM(v.vote = -1), SUM(v.vote = 1) "
            "FROM answers a JOIN votes v ON v.answer_id = a.id "
            "GROUP BY a.id ORDER BY a.created"
        ).fetchall()
        grouped: dict[str, dict[str, Any]] = {}
        for question, citations, _, wrong, helpful in rows:
            key = normalise_question(question)
            entry = grouped.setdefault(key, {"wrong": 0, "helpful": 0, "answers": 0})
            shown = json.loads(citations)
            entry.update(question=question, last=shown[0] if shown else "")
            entry["wrong"] += int(wrong)
            entry["helpful"] += int(helpful)
            entry["answers"] += 1
        out = [
            Downvoted(e["question"], e["wrong"], e["helpful"], e["answers"], e["last"])
            for e in grouped.values()
            if e["wrong"] > e["helpful"]
        ]
        out.sort(key=lambda d: (-d.wrong, d.helpful, normalise_question(d.question)))
        return out if limit is None else out[:limit]


# -- `citebot feedback` ----------------------------------------------------------------------


def export_line(d: Downvoted) -> str:
    """A question-set line (../shared/eval/README.md) with no answers or sources yet: someone
    labels them. The id is stable for the same question, so a later export lines up."""
    digest = hashlib.blake2b(normalise_question(d.question).encode(), digest_size=6).hexdigest()
    entry = {"id": EXPORT_ID_PREFIX + digest, "question": d.question, "answers": [],
             "sources": []}
    return json.dumps(entry, ensure_ascii=False)


def format_summary(store: FeedbackStore, summary: Summary) -> str:
    lines = [
        f"feedback database {store.path}",
        f"answers {summary.answers} ({summary.answered} answered, "
        f"{summary.answers - summary.answered} not found), votes {summary.votes}",
    ]
    if summary.by_kind:
        lines.append(f"{'kind':<10}{'answers':>8}{'helpful':>9}{'wrong':>7}")
        lines.extend(
            f"{k.kind:<10}{k.answers:>8}{k.helpful:>9}{k.wrong:>7}" for k in summary.by_kind
        )
    if summary.downvoted:
        lines.append("most downvoted (more Wrong than Helpful):")
        lines.append(f"{'wrong':>5}{'helpful':>9}  question  [top passage shown]")
        for d in summary.downvoted:
            shown = f"  [{d.last_citation}]" if d.last_citation else ""
            lines.append(f"{d.wrong:>5}{d.helpful:>9}  {' '.join(d.question.split())}{shown}")
    else:
        lines.append("no downvoted questions")
    return "\n".join(lines)


def run_feedback(path: Path, export_to: Path | None, out: TextIO | None = None) -> int:
    """`citebot feedback [--export FILE]`: the summary, or the export ('-' for stdout). A
    missing database is not created just to be read: the bot makes it on its first answer."""
    out = out or sys.stdout
    if not path.exists() and export_to is None:
        print(f"no feedback yet: {path} does not exist", file=out)
        return 0
    downvoted: list[Downvoted] = []
    if path.exists():
        store = FeedbackStore(path)
        try:
            if export_to is None:
                print(format_summary(store, store.summary()), file=out)
                return 0
            downvoted = store.downvoted()
        except (FeedbackError, sqlite3.Error) as exc:
            print(f"citebot: {exc}", file=sys.stderr)
            return 2
        finally:
            store.close()
    assert export_to is not None
    lines = "".join(export_line(d) + "\n" for d in downvoted)
    if str(export_to) == "-":
        out.write(lines)
        return 0
    try:
        export_to.write_text(lines, encoding="utf-8")
    except OSError as exc:
        print(f"citebot: cannot write {export_to}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(downvoted)} downvoted questions to {export_to}", file=out)
    return 0
