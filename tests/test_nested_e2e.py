"""citebot end to end on a corpus of nested folders: the real discord.py client against the
loopback fake Discord, asserting what the user sees."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import CiteBot
from tests.discordtest import OWNER, make_bot, make_settings
from tests.fakediscord import FakeDiscord, run_bot
from tests.nestedcorpus import INSTALL, NOTES, write

# One-line paragraphs with blank lines between them (as in tests/nestedcorpus.py).
FILES = {
    "guide/index.md": [
        "# Ferry guide",
        "",
        "The harbour ferry guide explains the morning crossing in detail.",
        "",
        "## Boarding",
        "",
        "Boarding starts at the north pier at seven every weekday morning.",
    ],
    "api/index.md": [
        "# Timetable API",
        "",
        "The timetable service returns every ferry departure as a list.",
        "",
        "Call `get_departures()` first, then tell @everyone and <@123> the results.",
    ],
    "guide/install.md": INSTALL,
    "notes.txt": NOTES,
}
CITATION = re.compile(r"`([^`\s]+):(\d+)(?:-(\d+))?`$")


@pytest.fixture
async def bot(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[CiteBot]:
    for name, lines in FILES.items():
        write(tmp_path, name, lines)
    async with run_bot(make_bot(make_settings(corpus=tmp_path)), fake) as running:
        yield running


async def reply_to(fake: FakeDiscord, content: str) -> str:
    before = len(fake.find_requests("POST", "/channels/{channel_id}/messages", ok=True))
    await fake.dispatch_message(content)
    sent = await fake.wait_for_messages(before + 1)
    text: str = sent[before]["content"]
    assert sent[before]["allowed_mentions"]["parse"] == []
    return text


def assert_cites(text: str, file: str, line: int) -> None:
    """The reply ends with a citation of `file` whose span holds `line`."""
    match = CITATION.search(text)
    assert match is not None, text
    start, end = int(match.group(2)), int(match.group(3) or match.group(2))
    assert match.group(1) == file and start <= line <= end, text


async def test_source_by_path_and_line_under_its_section(
    fake: FakeDiscord, bot: CiteBot
) -> None:
    text = await reply_to(fake, "!source guide/index.md 3")
    assert text.splitlines()[:2] == [
        "§ Ferry guide", "> The harbour ferry guide explains the morning crossing in detail.",
    ]
    assert_cites(text, "guide/index.md", 3)
    text = await reply_to(fake, "!source guide/index.md:7")
    assert text.splitlines()[:2] == [
        "§ Ferry guide › Boarding",
        "> Boarding starts at the north pier at seven every weekday morning.",
    ]


async def test_source_by_base_name_citation(fake: FakeDiscord, bot: CiteBot) -> None:
    text = await reply_to(fake, "!source install.md:5")
    assert "> After installing, sign in with the token from the harbour office." in text
    assert_cites(text, "guide/install.md", 5)


async def test_a_base_name_in_two_folders_lists_both(fake: FakeDiscord, bot: CiteBot) -> None:
    text = await reply_to(fake, "!source index.md")
    assert text.splitlines() == [
        "`index.md` matches 2 files; give its path:", "`api/index.md`", "`guide/index.md`",
    ]


@pytest.mark.parametrize("line", ["-1", "0", "abc", "²", "1" * 5000])
async def test_a_bad_line_gets_one_clear_line(
    fake: FakeDiscord, bot: CiteBot, line: str
) -> None:
    text = await reply_to(fake, f"!source guide/install.md {line}")
    assert text == "The line must be a number from 1 to 7 in `guide/install.md`."


async def test_a_line_past_the_end_says_so(fake: FakeDiscord, bot: CiteBot) -> None:
    text = await reply_to(fake, "!source guide/install.md:40")
    assert text == "`guide/install.md` has no passage at line 40 (it has lines up to 7)."


async def test_sources_summarises_the_folders(fake: FakeDiscord, bot: CiteBot) -> None:
    lines = (await reply_to(fake, "!sources")).splitlines()
    assert lines[0].startswith("4 files, ") and lines[0].endswith(" passages in these folders:")
    assert [re.sub(r", \d+ passages?$", "", line) for line in lines[1:4]] == [
        "`api/` — 1 file", "`guide/` — 2 files", "(top level) — 1 file",
    ]
    assert "sources <folder>" in lines[-1]


async def test_sources_of_a_folder_lists_its_files(fake: FakeDiscord, bot: CiteBot) -> None:
    lines = (await reply_to(fake, "!sources guide")).splitlines()
    assert re.fullmatch(r"`guide/`: 2 files, \d+ passages:", lines[0])
    assert [line.split(" — ")[0] for line in lines[1:]] == [
        "`guide/index.md`", "`guide/install.md`",
    ]
    assert await reply_to(fake, "!sources nope") == (
        "No folder `nope` in the corpus. `sources` lists the folders."
    )


async def test_slash_source_and_sources(fake: FakeDiscord, bot: CiteBot) -> None:
    await fake.dispatch_interaction("source", {"file": "guide/install.md", "line": 3})
    await fake.dispatch_interaction("sources", {"folder": "api"})
    [source, sources] = await fake.wait_for_interaction_responses(2)
    assert "> The installer asks which pier you usually travel from." in source["data"]["content"]
    assert_cites(source["data"]["content"], "guide/install.md", 3)
    assert sources["data"]["content"].splitlines()[1].startswith("`api/index.md` — ")


async def test_autocomplete_matches_anywhere_in_the_path(fake: FakeDiscord, bot: CiteBot) -> None:
    await fake.dispatch_autocomplete("source", {"file": "ind"}, focused="file")
    [response] = await fake.wait_for_interaction_responses(1)
    assert [c["value"] for c in response["data"]["choices"]] == [
        "api/index.md", "guide/index.md",
    ]


async def test_line_is_an_integer_option_of_at_least_one(fake: FakeDiscord, bot: CiteBot) -> None:
    await fake.dispatch_message("!sync global", author_id=OWNER)
    [put] = await fake.wait_for_requests("PUT", "/applications/{application_id}/commands", 1)
    source = next(c for c in put.json if c["name"] == "source")
    line = next(o for o in source["options"] if o["name"] == "line")
    assert (line["type"], line["min_value"], line.get("required", False)) == (4, 1, False)
    sources = next(c for c in put.json if c["name"] == "sources")
    assert [(o["name"], o.get("required", False)) for o in sources["options"]] == [
        ("folder", False)
    ]


async def test_answers_keep_inline_code_and_ping_nobody(fake: FakeDiscord, bot: CiteBot) -> None:
    text = await reply_to(fake, "!ask which function do I call first for departures")
    lines = text.splitlines()
    assert lines[0] == "§ Timetable API" and lines[1].startswith("> ")
    assert "`get_departures()`" in lines[1]
    assert "@everyone" not in text and not re.search(r"<@\d+>", text)
    first = next(line for line in text.splitlines() if line.startswith("[1] "))
    assert_cites(first, "api/index.md", 5)
