"""Discord rendering of answers built from real corpora."""

from __future__ import annotations

import re
from pathlib import Path

from bot.render import (
    LIMIT,
    SOURCES_HINT,
    code_span,
    render_answer,
    render_inline,
    render_listing,
    render_passage,
    render_sources,
)
from bot.service import TOP_LEVEL, FileList, Folder, FolderSummary, NoFolder
from retrieval.answer import Answer, AnswerPassage, answer
from retrieval.corpus import Passage
from retrieval.index import Index

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def seeds_index() -> Index:
    return Index.from_folder(SEEDS)


def test_answer_has_quote_bold_sentence_and_code_citation() -> None:
    text = render_answer(answer(seeds_index(), "who is Scale's interim CEO?"))
    first = text.splitlines()[0]
    assert first.startswith("> ")
    assert "**Jason Droege" in first and "interim CEO.**" in first
    assert "[1] `004_bbdec2aa2fae0f2f.txt:9`" in text


def test_not_found_is_said_and_closest_passages_are_labelled() -> None:
    a = answer(seeds_index(), "who won the 2018 FIFA world cup")
    text = render_answer(a)
    assert not a.answered and text.startswith(a.message or "I couldn't find that")
    if "> " in text:
        assert "Closest passages (not an answer):" in text


def test_an_answer_around_a_word_the_documents_lack_names_it_first(tmp_path: Path) -> None:
    (tmp_path / "limits.txt").write_text(
        "Opening many files at once in parallel can fail with too many open files errors "
        "when the file descriptor limit of the process is low; raise the limit to fix it.\n",
        encoding="utf-8",
    )
    a = answer(
        Index.from_folder(tmp_path),
        "getting too many open files errors on my macbook when i read a bunch of files in "
        "parallel, how do i fix it",
    )
    lines = render_answer(a).splitlines()
    assert a.answered
    assert lines[0] == "The documents don't mention **macbook**; the passages answer the rest."
    assert lines[1].startswith("> ") and "not an answer" not in "\n".join(lines)


def test_sources_differ_note_cites_both_sides() -> None:
    text = render_answer(answer(seeds_index(), "How much did Meta invest in Scale AI?"))
    note = next(line for line in text.splitlines() if "sources differ" in line)
    assert "$14.3 billion" in note and "$14.8 billion" in note
    assert "`002_d7c87949017108c3.txt:14`" in note


def test_markdown_and_mentions_in_the_corpus_are_defused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(
        "The launch party is **mandatory** for @everyone and <@123> on the platform team.\n"
        "The budget for the platform team is __secret__ this year.\n",
        encoding="utf-8",
    )
    index = Index.from_folder(tmp_path)
    text = render_answer(answer(index, "who must attend the launch party"))
    assert "@everyone" not in text and "<@123>" not in text
    assert "\\*\\*mandatory\\*\\*" in text


def test_long_paragraphs_stay_under_the_limit_with_every_citation(tmp_path: Path) -> None:
    filler = " ".join(f"The committee reviewed budget item {n} at length." for n in range(300))
    lines = [f"Paragraph {i} about the quarterly budget review. {filler}" for i in range(5)]
    (tmp_path / "long.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    index = Index.from_folder(tmp_path)
    a = answer(index, "quarterly budget review committee")
    assert len(a.passages) == 3
    for limit in (LIMIT, 500, 300):
        text = render_answer(a, limit=limit)
        assert len(text) <= limit
        for p in a.passages:
            assert f"`{p.citation}`" in text


def test_passage_and_sources_render_within_limit() -> None:
    index = seeds_index()
    text = render_passage(index.find("004_bbdec2aa2fae0f2f.txt")[0])
    assert text.endswith("`004_bbdec2aa2fae0f2f.txt:1`")
    files = {f"file_{n:04d}.txt": n for n in range(500)}
    listing = render_sources(files)
    assert len(listing) <= LIMIT and "more" in listing.splitlines()[-1]


# -- Markdown from the docs, section paths, listings ---------------------------------------


def quoted(quote: str, heading: str = "", file: str = "guide/install.md", line: int = 3,
           mark: tuple[int, int] = (0, 0)) -> AnswerPassage:
    return AnswerPassage(
        file=file, line_start=line, line_end=line, score=1.0, text=quote, quote=quote,
        mark_start=mark[0], mark_end=mark[1], heading=heading,
    )


def test_inline_code_from_the_docs_stays_code_and_the_rest_is_escaped() -> None:
    assert render_inline("call `add_user()` first") == "call `add_user()` first"
    assert render_inline("a ``x`y`` b") == "a `` x`y `` b"
    assert render_inline("*not* `a_b` _this_") == "\\*not\\* `a_b` \\_this\\_"
    # Unbalanced and fenced backticks are escaped, so they open nothing.
    assert render_inline("one ` two") == "one \\` two"
    assert render_inline("```py") == "\\`\\`\\`py"


def test_code_span_holds_any_name() -> None:
    assert code_span("guide/install.md:3") == "`guide/install.md:3`"
    assert code_span("a`b.md") == "`` a`b.md ``"
    assert code_span("a``b.md") == "`aʹʹb.md`"
    assert code_span("@everyone.md") == "`@\u200beveryone.md`"
    assert "\n" not in code_span("two\nlines.md")


def test_the_section_path_is_shown_above_the_quote() -> None:
    p = quoted(
        "Rust uses the `stack` for values of known size.", mark=(0, 47),
        heading="Ownership › The Stack and the Heap",
    )
    lines = render_answer(Answer("q", True, [p])).splitlines()
    assert lines == [
        "§ Ownership › The Stack and the Heap",
        "> **Rust uses the `stack` for values of known size.**",
        "[1] `guide/install.md:3`",
    ]
    text = render_passage(
        Passage("guide/install.md", 3, 4, 0, "Line one *x*\nline `two`", heading="A › *B*")
    )
    assert text.splitlines() == [
        "§ A › \\*B\\*", "> Line one \\*x\\*", "> line `two`", "`guide/install.md:3-4`",
    ]


def test_section_lines_count_toward_the_limit() -> None:
    filler = "The committee reviewed the `budget` item at length. " * 40
    passages = [quoted(filler, heading="Section " * 40, line=n) for n in range(1, 4)]
    a = Answer("q", True, passages)
    for limit in (LIMIT, 900, 400):
        text = render_answer(a, limit=limit)
        assert len(text) <= limit
        for p in passages:
            assert code_span(p.citation) in text


def test_a_mark_never_cuts_a_code_span() -> None:
    text = "Then call `add_user()` first."
    rendered = render_answer(Answer("q", True, [quoted(text, mark=(13, 29))]))
    assert rendered.splitlines()[0] == "> Then call **`add_user()` first.**"


def test_folder_summary_and_folder_listing_fit_one_message() -> None:
    folders = tuple(Folder(f"folder-{n:03d}-" + "x" * 40, n % 7 + 1, n) for n in range(300))
    text = render_listing(FolderSummary((*folders, Folder(TOP_LEVEL, 2, 5))))
    lines = text.splitlines()
    assert len(text) <= LIMIT
    assert re.fullmatch(r"… and \d+ more folders", lines[-2]) and "sources" in lines[-1]
    # The biggest folders are the ones shown.
    assert lines[1].startswith("`folder-293-")  # 7 files, the most passages
    small = render_listing(FolderSummary((Folder("api", 1, 2), Folder(TOP_LEVEL, 1, 1),
                                          Folder("guide", 3, 9))))
    assert small.splitlines() == [
        "5 files, 12 passages in these folders:",
        "`api/` — 1 file, 2 passages",
        "`guide/` — 3 files, 9 passages",
        "(top level) — 1 file, 1 passage",
        SOURCES_HINT,
    ]
    files = {f"guide/deep/{n:04d}-" + "y" * 60 + ".md": n + 1 for n in range(400)}
    listing = render_listing(FileList("guide", files))
    assert len(listing) <= LIMIT
    assert listing.splitlines()[0] == "`guide/`: 400 files, 80200 passages:"
    assert re.fullmatch(r"… and \d+ more", listing.splitlines()[-1])
    assert render_listing(NoFolder("nope")) == (
        "No folder `nope` in the corpus. `sources` lists the folders."
    )
