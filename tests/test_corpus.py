"""Files to passages: chunking of each seed file's shape, chrome, duplicates, headlines, errors."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from retrieval.corpus import CorpusError, Passage, _dedup_key_folded, is_chrome
from retrieval.engines import RankingConfig
from retrieval.index import Index
from tests.oracle import Corpus, build_index, chunk, load_corpus

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
F000 = "000_ea1b4204a10c4bc9.txt"
F001 = "001_4373e6166a8514e4.txt"
F002 = "002_d7c87949017108c3.txt"
F003 = "003_832bb31bae35d997.txt"
F004 = "004_bbdec2aa2fae0f2f.txt"

# (line_start, line_end) of every passage, read off `cat -n seeds/FILE`. A span starting
# before its last line starts at the headline above the paragraph.
SPANS = {
    # One paragraph per line, no headlines.
    F000: [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7)],
    # Blank lines between paragraphs; a headline on line 1; "Read More" on 19.
    F001: [(1, 3), (5, 5), (7, 7), (9, 9), (11, 11), (13, 13), (15, 15), (17, 17)],
    # Headline, three bullets, a lone "meta", three paragraphs, then page furniture.
    F003: [(1, 3), (4, 4), (5, 5), (9, 9), (11, 11), (13, 13)],
    # One paragraph per line, with headlines on lines 3 and 7.
    F004: [(1, 1), (2, 2), (3, 4), (5, 5), (6, 6), (7, 8), (9, 9), (10, 10)],
}
# 002: lines 7-8 are one headline written twice, line 10 repeats line 3, and line 24
# ("References:") is a lone label; the paragraph on line 12 sits under the headline.
F002_LINE_ENDS = [3, 5, 12, 14, 16, 18, 20, 22, 26, 28, 30, 32, 34, 35]

# Page chrome by (file, line): no passage may cover these lines.
CHROME = [
    (F001, 19),  # Read More
    (F002, 1),  # Skip to content
    (F002, 24),  # References:
    (F002, 37),  # Read also:
    (F002, 39),  # Latest
    (F003, 7),  # meta
    (F003, 15),  # ... does not provide investment advice. All rights reserved.
    (F003, 17),  # Disclaimer: This page contains affiliate links ...
    (F003, 19),  # Be the first to comment
    (F003, 21),  # Leave a Reply
    (F003, 23),  # Your email address will not be published.
    (F003, 26),  # *
    (F003, 28),  # This site uses Akismet to reduce spam ...
]


def lines_of(name: str) -> list[str]:
    return (SEEDS / name).read_text(encoding="utf-8").splitlines()


def covers(p: Passage, line: int) -> bool:
    return p.line_start <= line <= p.line_end


def test_every_seed_file_is_read_without_warnings(seeds: Corpus) -> None:
    assert sorted(seeds.files) == sorted(p.name for p in SEEDS.iterdir())
    assert seeds.warnings == []
    assert all(count > 0 for count in seeds.files.values())
    assert sum(seeds.files.values()) == len(seeds.passages)


@pytest.mark.parametrize("name", sorted(SPANS))
def test_passage_spans_follow_the_file(seeds: Corpus, name: str) -> None:
    passages = seeds.passages_of(name)
    assert [(p.line_start, p.line_end) for p in passages] == SPANS[name]
    assert [p.ordinal for p in passages] == list(range(len(passages)))


@pytest.mark.parametrize("name", [F000, F001, F002, F003, F004])
def test_passage_text_is_the_paragraph_at_its_lines(seeds: Corpus, name: str) -> None:
    lines = lines_of(name)
    for p in seeds.passages_of(name):
        # Every paragraph of the seeds is a single line: the last line of its span.
        assert p.text == lines[p.line_end - 1].strip()
        if p.heading:
            assert p.line_start < p.line_end
            assert lines[p.line_start - 1].strip().lstrip("#").strip() == p.heading
        else:
            assert p.line_start == p.line_end


def test_one_paragraph_per_line_files_give_one_passage_per_line(seeds: Corpus) -> None:
    lines = lines_of(F000)
    passages = seeds.passages_of(F000)
    assert len(passages) == len(lines)
    for n, p in enumerate(passages, 1):
        assert p.citation == f"{F000}:{n}"


def test_blank_line_file_with_duplicates_and_references(seeds: Corpus) -> None:
    passages = seeds.passages_of(F002)
    assert [p.line_end for p in passages] == F002_LINE_ENDS
    # The headline is not a passage of its own, and the paragraph under it is findable by it.
    headed = [p for p in passages if p.heading]
    assert len(headed) == 1
    assert headed[0].line_end == 12
    assert "Meta Acquires Substantial Ownership" in headed[0].heading
    assert headed[0].line_start in (7, 8)


def test_repeated_headline_span_starts_at_its_first_copy(seeds: Corpus) -> None:
    headed = [p for p in seeds.passages_of(F002) if p.heading]
    assert headed[0].line_start == 7
    passages, _, _ = chunk("a.txt", "Title Line Here\nTitle Line Here\n\nThe body is a sentence.\n")
    assert [(p.line_start, p.line_end) for p in passages] == [(1, 4)]


def test_exact_duplicate_paragraph_is_dropped(seeds: Corpus) -> None:
    lines = lines_of(F002)
    assert lines[2] == lines[9]  # the seed repeats line 3 on line 10
    same = [p for p in seeds.passages if p.text == lines[2].strip()]
    assert [p.citation for p in same] == [f"{F002}:3"]


def test_duplicates_across_files_are_dropped(tmp_path: Path) -> None:
    text = "Scale AI was founded in 2016 by Alexandr Wang.\nIt labels data for AI models.\n"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "b.txt").write_text(text.replace("It labels", "Meta now owns 49% of"), "utf-8")
    corpus = load_corpus(tmp_path)
    founded = [p for p in corpus.passages if "founded" in p.text]
    assert [p.citation for p in founded] == ["a.txt:1"]
    assert corpus.dropped == 1
    assert len(corpus.passages_of("b.txt")) == 1


@pytest.mark.parametrize(("name", "line"), CHROME)
def test_page_chrome_is_dropped(seeds: Corpus, name: str, line: int) -> None:
    assert is_chrome(lines_of(name)[line - 1])
    assert not [p.citation for p in seeds.passages_of(name) if covers(p, line)]


def test_chrome_text_never_reaches_a_passage(seeds: Corpus) -> None:
    for p in seeds.passages:
        folded = p.text.casefold()
        for phrase in ("skip to content", "read more", "leave a reply", "akismet",
                       "does not provide investment advice", "affiliate links",
                       "be the first to comment", "will not be published"):
            assert phrase not in folded, (p.citation, phrase)
    assert seeds.dropped >= len(CHROME)


def test_sentences_that_merely_mention_chrome_words_are_kept(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "Analysts told readers to read more than one report before judging the deal.\n"
        "The latest filing shows that Meta bought a 49% stake in Scale AI.\n",
        encoding="utf-8",
    )
    assert len(load_corpus(tmp_path).passages) == 2


@pytest.mark.parametrize(
    "sentence",
    [
        "Subscribers to the service grew to 5 million in 2024.",
        "Relatedly, Google cut its spending with Scale AI by half.",
        "Advertisement revenue at Meta rose 22% in 2024.",
        "Latest figures show Scale AI employs 100,000 contractors.",
    ],
)
def test_real_sentences_starting_with_a_chrome_word_are_kept(sentence: str) -> None:
    assert not is_chrome(sentence)


def test_headline_attaches_to_the_paragraph_below(seeds: Corpus) -> None:
    lines = lines_of(F004)
    headlines = {p.line_start: p for p in seeds.passages_of(F004) if p.heading}
    assert sorted(headlines) == [3, 7]
    assert headlines[7].heading == lines[6].strip()
    assert headlines[7].text == lines[7].strip()
    # No passage is the headline alone.
    assert all(p.text != lines[6].strip() for p in seeds.passages)


@pytest.mark.parametrize(
    ("question", "word", "name", "headline_line"),
    [
        ("Scale AI leadership shuffle", "shuffle", F004, 7),
        ("Google drops Scale AI", "drops", F003, 1),
    ],
)
def test_headline_words_find_the_paragraph_under_it(
    seed_index: Index, question: str, word: str, name: str, headline_line: int
) -> None:
    # The word is in the headline and in no paragraph of that file.
    assert word in lines_of(name)[headline_line - 1].casefold()
    assert all(word not in p.text.casefold() for p in seed_index.find(name))
    hits = seed_index.search(question, 3)
    found = [h.passage for h in hits if h.passage.file == name and covers(h.passage, headline_line)]
    assert found, [h.passage.citation for h in hits]


def test_shuffle_headline_paragraph_ranks_first(seed_index: Index) -> None:
    hits = seed_index.search("leadership shuffle")
    assert hits[0].passage.citation == f"{F004}:7-8"


def test_bullets_are_separate_passages(seeds: Corpus) -> None:
    lines = lines_of(F003)
    bullets = [n for n, line in enumerate(lines, 1) if line.strip().startswith("•")]
    assert bullets == [3, 4, 5]
    for n in bullets:
        owners = [p for p in seeds.passages_of(F003) if p.line_end == n]
        assert len(owners) == 1
        assert owners[0].text == lines[n - 1].strip()


def test_numbered_items_are_separate_passages(seeds: Corpus) -> None:
    items = [p for p in seeds.passages_of(F002) if p.text[:2] in ("1.", "2.")]
    assert [p.citation for p in items] == [f"{F002}:34", f"{F002}:35"]


def test_reference_list_is_kept_and_marked(seeds: Corpus, seed_index: Index) -> None:
    refs = [p for p in seeds.passages if p.reference]
    assert [p.citation for p in refs] == [f"{F002}:{n}" for n in (26, 28, 30, 32)]
    assert all(p.text.startswith(f"[{i}]") for i, p in enumerate(refs, 1))
    assert not any(p.reference for p in seeds.passages if not p.text.startswith("["))
    # Still searchable: a question only the reference list answers finds it.
    hits = seed_index.search("VentureBeat")
    assert hits[0].passage.citation == f"{F002}:26"


def test_reference_does_not_outrank_prose(seed_index: Index) -> None:
    hits = seed_index.search("why is OpenAI moving away from Scale AI", 10)
    assert hits
    assert not hits[0].passage.reference
    refs = [h for h in hits if h.passage.reference]
    assert all(h.score < hits[0].score for h in refs)


def test_multi_line_block_is_one_passage(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "# Deal notes\n"
        "\n"
        "Meta agreed to buy a 49% stake in Scale AI on Thursday.\n"
        "Google then paused its contracts with Scale AI.\n"
        "\n"
        "Microsoft is reviewing its own contracts.\n",
        encoding="utf-8",
    )
    passages = load_corpus(tmp_path).passages
    # A Markdown heading is no passage line: it is the section of every passage under it.
    assert [(p.line_start, p.line_end) for p in passages] == [(3, 4), (6, 6)]
    assert [p.heading for p in passages] == ["Deal notes", "Deal notes"]
    assert passages[0].text == (
        "Meta agreed to buy a 49% stake in Scale AI on Thursday. "
        "Google then paused its contracts with Scale AI."
    )


@pytest.mark.parametrize(
    ("name", "headline", "heading", "first_line"),
    [
        ("a.md", "# Deal notes", "Deal notes", 2),
        ("a.txt", "Meta Buys Into Scale AI", "Meta Buys Into Scale AI", 1),
    ],
)
def test_headline_directly_above_its_paragraph(
    tmp_path: Path, name: str, headline: str, heading: str, first_line: int
) -> None:
    (tmp_path / name).write_text(
        f"{headline}\n"
        "Meta agreed to buy a 49% stake in Scale AI on Thursday.\n"
        "\n"
        "Google paused its contracts with Scale AI.\n",
        encoding="utf-8",
    )
    first, second = load_corpus(tmp_path).passages
    # A clipping's headline is cited with its paragraph; a Markdown heading is the section.
    assert (first.line_start, first.line_end) == (first_line, 2)
    assert first.heading == heading
    # The headline heads the paragraph; it is not glued into the quoted text.
    assert first.text == "Meta agreed to buy a 49% stake in Scale AI on Thursday."
    assert second.citation == f"{name}:4"


WRAPPED = (
    "Meta agreed on Thursday to buy a 49% stake in Scale AI, the data\n"
    "labeling company founded by Alexandr Wang, for $14.3 billion, and\n"
    "hired Wang to lead a new superintelligence unit.\n"
    "\n"
    "Google paused its contracts with Scale AI the next day.\n"
)


def test_hard_wrapped_paragraph_is_one_passage(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(WRAPPED, encoding="utf-8")
    passages = load_corpus(tmp_path).passages
    assert [(p.line_start, p.line_end) for p in passages] == [(1, 3), (5, 5)]
    assert passages[0].text.startswith("Meta agreed")
    assert passages[0].text.endswith("superintelligence unit.")


def test_crlf_and_bom_do_not_shift_lines(tmp_path: Path) -> None:
    body = "First paragraph of the file.\r\n\r\nSecond paragraph of the file.\r\n"
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    corpus = load_corpus(tmp_path)
    assert corpus.warnings == []
    assert [(p.citation, p.text) for p in corpus.passages] == [
        ("a.txt:1", "First paragraph of the file."),
        ("a.txt:3", "Second paragraph of the file."),
    ]


def test_nested_files_are_named_relative_to_the_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_text("A nested note about Scale AI.\n", "utf-8")
    (tmp_path / "UPPER.TXT").write_text("An upper case suffix is fine too.\n", "utf-8")
    (tmp_path / ".hidden.txt").write_text("A hidden file is not part of the corpus.\n", "utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    corpus = load_corpus(tmp_path)
    assert sorted(corpus.files) == ["UPPER.TXT", "sub/deep.txt"]


def test_non_utf8_file_is_read_with_a_warning_naming_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.txt").write_text("A clean file about the Scale AI deal.\n", "utf-8")
    latin1 = "Café owners in Zürich met about prices.\n".encode("latin-1")
    (tmp_path / "latin1.txt").write_bytes(latin1)
    with caplog.at_level(logging.WARNING, logger="retrieval.corpus"):
        corpus = load_corpus(tmp_path)
    assert len(corpus.warnings) == 1
    assert "latin1.txt" in corpus.warnings[0]
    assert "good.txt" not in corpus.warnings[0]
    assert any("latin1.txt" in r.getMessage() for r in caplog.records)
    # The readable parts of the file are still indexed.
    index = build_index(corpus, RankingConfig())
    assert index.search("owners prices")[0].passage.citation == "latin1.txt:1"


def one_line_error(folder: Path) -> str:
    with pytest.raises(CorpusError) as info:
        load_corpus(folder)
    message = str(info.value)
    assert message
    assert "\n" not in message
    return message


def test_missing_folder_is_a_corpus_error(tmp_path: Path) -> None:
    message = one_line_error(tmp_path / "nope")
    assert "not found" in message
    assert "nope" in message


def test_empty_folder_is_a_corpus_error(tmp_path: Path) -> None:
    message = one_line_error(tmp_path)
    assert ".txt" in message and ".md" in message


def test_folder_without_text_files_is_a_corpus_error(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    message = one_line_error(tmp_path)
    assert ".txt" in message


def test_file_instead_of_folder_is_a_corpus_error(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Some text here.\n", "utf-8")
    assert "folder" in one_line_error(path)


def test_folder_of_only_chrome_is_a_corpus_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Skip to content\n\nRead More\n\n*\n", "utf-8")
    (tmp_path / "b.md").write_text("", "utf-8")
    assert "paragraphs" in one_line_error(tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        "a b", " a", "a ", "a  b", "a\tb", "", "x\u2009y", "a\u3000b", "caf\u00e9 b", "a\u00a0b",
        "a\x1fb", "a\x0bb", "caf\u00e9\x85b", "a\r\nb", "ab",
    ],
)
def test_dedup_key_ignores_spacing_only(text: str) -> None:
    # The fast path (text already single-spaced) must give the key the full fold gives.
    spaced = " ".join(text.split())
    assert _dedup_key_folded(text) == _dedup_key_folded(spaced)
    assert _dedup_key_folded(text) == hashlib.blake2b(spaced.encode(), digest_size=16).digest()


def test_a_form_feed_or_line_separator_does_not_shift_citations(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "First paragraph here.\x0c\n\nSecond\u2028paragraph continues.\r\n\r\n"
        "Third paragraph is at line five.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    cited = {p.text: (p.line_start, p.line_end) for p in index.passages}
    assert cited["Third paragraph is at line five."] == (5, 5)
    assert cited["Second paragraph continues."] == (3, 3)
