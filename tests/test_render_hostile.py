"""Rendering text from hostile documents: seeded random texts, headings and file names built
from Markdown, Discord syntax, mentions and line breaks. Whatever they hold, a reply stays
within 2,000 characters, pings nobody, keeps each quote one block and opens no code that
crosses a line."""

from __future__ import annotations

import random
import re

import pytest

from bot.render import LIMIT, render_answer, render_listing, render_passage, render_source
from bot.service import TOP_LEVEL, Ambiguous, FileList, Folder, FolderSummary
from retrieval.answer import Answer, AnswerPassage, Disagreement, Variant
from retrieval.corpus import Passage

SEEDS = range(8)
ROUNDS = 150
PIECES = [
    "*", "**", "_", "__", "~~", "|", "||", ">", "> ", ">>> ", "#", "# ", "-# ", "1. ", "- ",
    "`", "``", "```", "```py\n", "`code`", "``a`b``", "\\", "\\`", "[x](https://evil.example)",
    "](", "@everyone", "@here", "<@123>", "<@!123456789012345678>", "<#1>", "<@&1>",
    "@123456789012345678", "\n", "\n\n", "\r\n", "\r", "\u2028", "\x85", "\x0b", "\t", "\x00",
    "https://x.example/a_b`c|d", "<https://x.example/`>", " ", "  ", "word", "Ferry", "é",
    "§", "›", "…", "\u200b",
]
# Lines a reply may hold besides quote lines.
CITATION = re.compile(r"\[\d+\] `")
FRAME = ("§ ", "I couldn't", "Closest passages", "⚠️ The sources differ")
# Discord's inline code rule (simple-markdown): a run of backticks closed by the same run.
INLINE_CODE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
PUNCTUATION = re.compile(r"[^0-9A-Za-z\s]")
PING = re.compile(r"@everyone|@here|<@[!&]?\d+>|<#\d+>")


def hostile(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, most)))


def hostile_name(rng: random.Random) -> str:
    return "/".join(hostile(rng, 4).replace("/", "") or "x" for _ in range(rng.randint(1, 3)))


def live_code_spans(text: str) -> list[str]:
    """The code spans Discord would see, read left to right as its parser does: a backslash
    escapes the punctuation mark after it, a backtick run opens code if a run closes it."""
    spans: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and PUNCTUATION.match(text[i + 1]):
            i += 2
            continue
        if text[i] == "`":
            m = INLINE_CODE.match(text, i)
            if m is not None:
                spans.append(m.group())
                i = m.end()
                continue
        i += 1
    return spans


def check_reply(text: str, limit: int = LIMIT) -> None:
    assert len(text) <= limit
    assert not PING.search(text), text
    for span in live_code_spans(text):
        assert "\n" not in span, span
        assert not span.startswith("```"), span


def check_answer_lines(text: str, passages: int) -> None:
    """Each passage is: an optional section line, one quote block, its citation line."""
    blocks = 0
    previous = ""
    for line in text.split("\n"):
        if line.startswith("> "):
            if not previous.startswith("> "):
                blocks += 1
        else:
            assert CITATION.match(line) or line.startswith(FRAME), repr(line)
            if CITATION.match(line):
                assert previous.startswith("> ") or previous.endswith("…"), repr(previous)
        previous = line
    assert blocks == passages, text


def hostile_answer(rng: random.Random) -> Answer:
    passages = []
    for n in range(rng.randint(1, 3)):
        quote = hostile(rng, 80)
        start = rng.randint(0, len(quote))
        end = rng.randint(start, len(quote))
        passages.append(AnswerPassage(
            file=hostile_name(rng), line_start=n + 1, line_end=n + rng.randint(1, 3),
            score=1.0, text=quote, quote=quote, mark_start=start, mark_end=end,
            heading=hostile(rng, 12),
        ))
    disagreement = None
    if rng.random() < 0.3:
        disagreement = Disagreement("money", [
            Variant(hostile(rng, 5), [passages[0].citation]),
            Variant(hostile(rng, 5), [passages[-1].citation]),
        ])
    return Answer("q", rng.random() < 0.7, passages, "" if rng.random() < 0.7 else "not_found",
                  disagreement)


@pytest.mark.parametrize("seed", SEEDS)
def test_hostile_answers_stay_one_quote_per_passage_and_ping_nobody(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(ROUNDS):
        a = hostile_answer(rng)
        for limit in (LIMIT, 600):
            text = render_answer(a, limit=limit)
            check_reply(text, limit)
            if limit == LIMIT:
                check_answer_lines(text, len(a.passages))


@pytest.mark.parametrize("seed", SEEDS)
def test_hostile_passages_and_names_render_safely(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(ROUNDS):
        p = Passage(hostile_name(rng), 2, 4, 0, hostile(rng, 400), hostile(rng, 12))
        text = render_passage(p)
        check_reply(text)
        body = text.split("\n")
        if body[0].startswith("§ "):
            body = body[1:]
        assert all(line.startswith("> ") for line in body[:-1]), text
        assert body[-1].startswith("`")
        names = [hostile_name(rng) for _ in range(rng.randint(1, 40))]
        check_reply(render_source(Ambiguous(hostile(rng, 6), tuple(names))))
        check_reply(render_listing(FileList(hostile_name(rng), {n: 3 for n in names})))
        folders = (*(Folder(n, 2, 7) for n in names), Folder(TOP_LEVEL, 1, 1))
        check_reply(render_listing(FolderSummary(folders)))


def test_a_long_hostile_passage_is_cut_without_leaving_the_quote() -> None:
    rng = random.Random(99)
    text = "".join(rng.choice(["`", "*", "\n", "@everyone ", "<@1>", "x"]) for _ in range(6000))
    rendered = render_passage(Passage("a.md", 1, 200, 0, text, "H"))
    check_reply(rendered)
    lines = rendered.split("\n")
    assert lines[0] == "§ H" and lines[-1] == "`a.md:1-200`"
    assert all(line.startswith("> ") for line in lines[1:-1])
