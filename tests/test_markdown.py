"""Markdown read by its structure: sections on every passage, code and links handled, markup
dropped, long blocks cut, citations at their own file, and field scores equal rank-bm25's."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.answer import answer
from retrieval.documents.dialects import to_commonmark
from retrieval.documents.markdown import page_name, read_markdown
from retrieval.documents.windows import PASSAGE_CHARS
from retrieval.engines import RankBM25Engine, RankingConfig
from retrieval.index import Index
from tests.oracle import build_index, load_corpus

GUIDE = """\
---
title: Storage Guide
sort_rank: 3
---

Prometheus keeps samples on local disk in blocks of two hours.

## Retention

Blocks are kept for fifteen days unless told otherwise.

Older data is removed in the background, block by block, so the disk never
fills up without warning. It happens without a restart of the server.

```yaml
storage:
  purge_horizon: 15d
```

### Size-based limits

A byte limit can be set as well: whichever limit is reached first wins.

{{#include ../listings/retention.md}}

```mermaid
graph TD; compactor --> deleter
```

See the [compaction design](https://example.com/very/long/compaction-url) for details.

You can take three actions on a block, which we call the block operations. They include:

- compacting it with its neighbours,
- deleting it once it is too old,
- snapshotting it for backups.

| flag | default | meaning |
|------|---------|---------|
| `--storage.tsdb.path` | data/ | where the blocks live |
| `--storage.tsdb.retention.time` | 15d | how long blocks are kept |
"""


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "storage.md").write_text(GUIDE, encoding="utf-8")
    (tmp_path / "other.md").write_text(
        "# Other page\n\nBlocks are kept for fifteen days unless told otherwise.\n\n"
        "The `add_user()` call registers a person.\n",
        encoding="utf-8",
    )
    return tmp_path


def blocks_of(text: str) -> list[tuple[int, int, str, str]]:
    return [(b.line_start, b.line_end, b.section, b.text) for b in read_markdown(text)]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_every_passage_carries_its_section_path() -> None:
    found = {text: section for _, _, section, text in blocks_of(GUIDE)}
    assert found["Prometheus keeps samples on local disk in blocks of two hours."] == (
        "Storage Guide"
    )
    removed = next(t for t in found if t.startswith("Older data is removed"))
    # The second paragraph of a section has its heading too, not only the first.
    assert found[removed] == "Storage Guide › Retention"
    byte_limit = next(t for t in found if t.startswith("A byte limit"))
    assert found[byte_limit] == "Storage Guide › Retention › Size-based limits"


def test_front_matter_code_directives_and_diagrams_are_not_passages() -> None:
    texts = " ".join(text for _, _, _, text in blocks_of(GUIDE))
    for junk in ("sort_rank", "purge_horizon", "{{#include", "graph TD", "compactor"):
        assert junk not in texts


def test_hard_wrapped_paragraph_is_one_passage_cited_by_its_lines() -> None:
    spans = {text[:12]: (a, b) for a, b, _, text in blocks_of(GUIDE)}
    first = line_of(GUIDE, "Older data is removed")
    assert spans["Older data i"] == (first, first + 1)


def test_links_show_their_text_and_drop_the_url() -> None:
    see = next(b for b in read_markdown(GUIDE) if b.text.startswith("See the"))
    assert see.text == "See the compaction design for details."
    assert not see.reference  # a sentence with a link is prose, not a bibliography entry


def test_a_list_goes_with_the_sentence_that_introduces_it() -> None:
    block = next(b for b in read_markdown(GUIDE) if "snapshotting" in b.text)
    assert block.text.startswith("You can take three actions")
    assert block.line_start == line_of(GUIDE, "You can take three actions")
    assert block.line_end == line_of(GUIDE, "snapshotting")


def test_table_rows_are_passages_labelled_by_their_columns() -> None:
    row = next(b for b in read_markdown(GUIDE) if "how long blocks are kept" in b.text)
    assert row.text == (
        "flag: `--storage.tsdb.retention.time`; default: 15d; meaning: how long blocks are kept"
    )
    assert (row.line_start, row.line_end) == (line_of(GUIDE, "retention.time` |"),) * 2


def test_long_block_is_cut_into_windows_with_their_own_lines() -> None:
    sentence = "Each block holds samples of many series over two hours of time. "
    lines = [sentence * 3 for _ in range(40)]  # one hard-wrapped paragraph of 40 lines
    found = read_markdown("# Long\n\n" + "\n".join(lines) + "\n")
    assert len(found) > 1
    assert all(len(b.text) <= PASSAGE_CHARS for b in found)
    assert found[0].line_start == 3 and found[-1].line_end == 42
    assert all(a.line_end <= b.line_start for a, b in itertools.pairwise(found))


def test_one_huge_line_is_cut_without_sentence_ends() -> None:
    found = read_markdown("word " * 100_000)
    assert len(found) >= 250
    assert all(len(b.text) <= PASSAGE_CHARS and b.line_start == 1 for b in found)


def test_same_text_in_two_files_stays_at_both_places(docs: Path) -> None:
    index = Index.build_folder(docs, RankingConfig())
    same = [
        p.citation
        for p in index.passages
        if p.text == "Blocks are kept for fifteen days unless told otherwise."
    ]
    assert len(same) == 2 and {c.split(":")[0] for c in same} == {"guide/storage.md", "other.md"}


def test_section_words_find_a_paragraph_that_never_names_them(docs: Path) -> None:
    index = Index.build_folder(docs, RankingConfig())
    a = answer(index, "size-based limits which wins")
    assert a.passages[0].text.startswith("A byte limit")
    assert a.passages[0].heading == "Storage Guide › Retention › Size-based limits"
    assert a.passages[0].file == "guide/storage.md"


def test_code_words_are_searchable_but_never_quoted(docs: Path) -> None:
    index = Index.build_folder(docs, RankingConfig())
    hits = index.search("purge horizon", 3)
    # Only the code under it holds the word: the prose before the code is found.
    assert hits and hits[0].passage.text.startswith("Older data is removed")
    # Inline code stays prose and its words are words: add_user() matches "add user".
    assert index.search("add user")[0].passage.file == "other.md"


def test_field_scores_equal_rank_bm25_per_field(docs: Path) -> None:
    for variant in ("okapi", "l", "plus"):
        config = RankingConfig(variant=variant)
        index = Index.build_folder(docs, config)
        reference = RankBM25Engine(index.postings, config)
        for question in ("blocks kept fifteen days", "retention purge limits", "add user"):
            terms = index.terms(question)
            assert terms.scoring
            assert np.allclose(index.engine.scores(terms.scoring),
                               reference.scores(terms.scoring), rtol=0, atol=1e-9)
        # Section and code terms took part.
        both = index.terms("retention purge")
        assert len(both.scoring) > len(both.known)


def test_the_build_equals_the_reference_chunker(docs: Path) -> None:
    built = Index.build_folder(docs, RankingConfig())
    reference = build_index(load_corpus(docs), RankingConfig())
    assert built.passages == reference.passages
    assert built.postings.vocab == reference.postings.vocab
    assert np.array_equal(built.postings.doc_len, reference.postings.doc_len)


def test_mdx_and_container_syntax_leave_only_prose() -> None:
    source = (
        "import Tabs from '@theme/Tabs';\n"
        "export const meta = {a: 1};\n\n"
        "# Title\n\n"
        "Import the module first; then export your data from the store.\n\n"
        ":::note\nNotes are shown in a box.\n:::\n\n"
        "<Tabs>\n<TabItem value=\"a\">\n\nTab content is prose too.\n\n</TabItem>\n</Tabs>\n"
    )
    assert [(b.line_start, b.text) for b in read_markdown(source)] == [
        (6, "Import the module first; then export your data from the store."),
        (9, "Notes are shown in a box."),
        (15, "Tab content is prose too."),
    ]


def test_other_markdown_and_text_suffixes_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.mdx").write_text("# Setup\n\nRun the installer twice.\n", encoding="utf-8")
    (tmp_path / "b.rst").write_text("Setup\n=====\n\nRun the wizard once.\n", encoding="utf-8")
    index = Index.build_folder(tmp_path, RankingConfig())
    assert index.files == ["a.mdx", "b.rst"]
    assert index.passages[0].heading == "Setup"


def test_a_lead_in_with_nothing_under_it_is_kept() -> None:
    found = read_markdown("# A\n\nThe options are:\n\n# B\n\nThe end is near:\n")
    assert [(b.line_start, b.section, b.text) for b in found] == [
        (3, "A", "The options are:"),
        (7, "A › B", "The end is near:"),
    ]


def test_citations_count_line_breaks_inside_inline_markup() -> None:
    # Code spans, images and inline HTML have no break token for a line break inside them:
    # the lines after one are still counted.
    for inline in ("`some\ncode`", "![alt\ntext](x.png)", "<span\nclass='x'>word</span>"):
        source = f"# T\n\nStart {inline} more\nlast line here.\n"
        assert [(b.line_start, b.line_end) for b in read_markdown(source)] == [(3, 5)], inline


def test_citations_reach_the_last_line_of_wrapped_items_and_lead_ins() -> None:
    found = read_markdown(
        "# A\n\nThe options for this\nthing are:\n\n# B\n\n"
        "These steps, which we\nwrap, include:\n\n- item one\n  continues here\n"
        "- item two\n  continues here too\n"
    )
    assert [(b.line_start, b.line_end) for b in found] == [(3, 4), (8, 14)]


def test_a_long_lead_in_cut_into_windows_keeps_its_lines() -> None:
    sentence = "Each block holds samples of many series over two hours of time. "
    lead = "\n".join(sentence * 3 for _ in range(20)) + "They include:"
    found = read_markdown(f"# Long\n\n{lead}\n\n- one\n- two\n")
    assert len(found) > 1
    assert found[0].line_start == 3 and found[0].line_end > 3
    assert found[0].line_end == 13 and found[-1].line_end == 25
    assert all(a.line_end <= b.line_start for a, b in itertools.pairwise(found))


def test_a_lead_in_followed_by_another_is_kept() -> None:
    found = read_markdown(
        "# Install\n\nIn Windows CMD, use:\n\n```\necho %HOME%\n```\n\n"
        "In PowerShell, use:\n\n```\necho $env:HOME\n```\n\nThen restart.\n"
    )
    assert [(b.line_start, b.text) for b in found] == [
        (3, "In Windows CMD, use:"),
        (9, "In PowerShell, use:"),
        (15, "Then restart."),
    ]
    # Each lead-in holds the code it introduces.
    assert "%HOME%" in found[0].code and "$env:HOME" in found[1].code


MKDOCS = """\
# Install

=== "Linux"

    Install the package from your distribution's repository.

    ```
    apt install foo
    ```

=== "Windows"

    Run the installer and tick **Add to PATH**.

!!! note "Upgrading"
    === "pip"

        Upgrade in place with pip.

## Configure { #configure }

Turn caching on with `cache: true` :material-check:. { .annotate }

*[PATH]: the list of folders searched for programs
"""


def test_mkdocs_content_tabs_are_prose_led_by_their_label() -> None:
    found = [(b.line_start, b.line_end, b.section, b.text, b.code) for b in read_markdown(MKDOCS)]
    assert found == [
        (3, 5, "Install", "Linux: Install the package from your distribution's repository.",
         "apt install foo\n"),
        (11, 13, "Install", "Windows: Run the installer and tick Add to PATH.", ""),
        # The note's own title and the tab's label both introduce the tab's text.
        (15, 18, "Install", "Upgrading: pip: Upgrade in place with pip.", ""),
        # The attribute lists and the icon are styling; the abbreviation line is a glossary.
        (22, 22, "Install › Configure", "Turn caching on with `cache: true`.", ""),
    ]


def test_myst_prose_directives_are_prose_and_code_directives_stay_code() -> None:
    source = (
        "# Guide\n\n"
        "```{note}\n:class: tip\nNotes in MyST are read as prose.\n```\n\n"
        "````{admonition} Careful\nThe example below is code:\n\n```python\nx = 1\n```\n````\n\n"
        "```{code-block} python\nprint('a {note} in code')\n```\n\n"
        "````markdown\n```{note}\nAn example of the syntax is code.\n```\n````\n"
    )
    found = read_markdown(source)
    assert [(b.line_start, b.text) for b in found] == [
        (5, "Notes in MyST are read as prose."),
        (8, "Careful: The example below is code:"),  # the admonition's own title leads
    ]
    assert "x = 1" in found[0].code + found[1].code
    assert "An example of the syntax" in found[0].code + found[1].code


@given(
    st.lists(
        st.sampled_from(['=== "a"', "    b", "```{note}", "```", "````", ":k: v", "---",
                         "*[X]: y", "", "c"]),
        max_size=40,
    )
)
def test_dialect_rewrites_keep_every_line_at_its_number(lines: list[str]) -> None:
    source = "\n".join(lines)
    assert to_commonmark(source).count("\n") == source.count("\n")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # FastAPI's pymdownx blocks: the title introduces the body; the markers go.
        ("/// warning | Careful\n\nDo not reuse the client.\n\n///\n",
         [(1, "Careful: Do not reuse the client.")]),
        # Hugo's code shortcodes are code fences.
        ("{{< code-toggle file=hugo >}}\ntitle = 'x'\n{{< /code-toggle >}}\n\nHugo is fast.\n",
         [(5, "Hugo is fast.")]),
        # MyST targets and colon-fence options are not prose.
        ("(install-steps)=\n:::{note}\n:class: dropdown\nNever run as root.\n:::\n",
         [(4, "Never run as root.")]),
        # A paragraph all in bold is a heading for what follows; "**Note**" alone goes;
        # a bold lead-in ("**Example:**") and a bold sentence stay prose.
        ("# Errors\n\n**ResponseError Class**\n\nIt holds the status.\n\n**Note**\n\n"
         "Mind it.\n\n**Example:** run it.\n\n**All of this is bold.**\n",
         [(5, "It holds the status."), (9, "Mind it."), (11, "Example: run it."),
          (13, "All of this is bold.")]),
        # A target may hold spaces; a version directive says what it notes, as in rst.
        ("(SSL Certificate Verification)=\n\n```{versionadded} 1.3\nThe flag is new.\n```\n",
         [(3, "New in version 1.3: The flag is new.")]),
        # Footnote marks, callout labels, emoji and MDX comments go; paths keep their colons.
        ("> [!NOTE]\n> Use std::io::Read here[^1] :heavy_check_mark: {/* ok */}.\n\n"
         "[^1]: A footnote is prose.\n",
         [(1, "Use std::io::Read here."), (4, "A footnote is prose.")]),
        # A reference whose target is defined elsewhere shows its text.
        ("Raises [`ValidationError`][pydantic_core.ValidationError] on bad\ninput.\n",
         [(1, "Raises `ValidationError` on bad input.")]),
        # A defined term introduces its definition; later paragraphs of it stay prose.
        ("`site_url`\n\n:   The canonical URL.\n\n    It matters for sitemaps.\n",
         [(1, "`site_url`: The canonical URL."), (5, "It matters for sitemaps.")]),
        # A note's own title introduces it; a bare kind does not.
        ('!!! tip "Use the CLI"\n    Run it daily.\n\n!!! note\n    Plain note.\n',
         [(1, "Use the CLI: Run it daily."), (5, "Plain note.")]),
        # Jinja-style macros in prose stand for text that is not there.
        ("The version is {{ config.version }} today.\n", [(1, "The version is today.")]),
        # What is not markup stays: indexing in code and prose, placeholders, SQLite's
        # :memory:, a MyST role's code span; a self-closing Hugo shortcode opens no code.
        ("Use `grid[row][col]` or m[0][1] with :memory: and {kbd}`Ctrl`.\n",
         [(1, "Use `grid[row][col]` or m[0][1] with :memory: and `Ctrl`.")]),
        ("## GET /users/{id}\n\n{{< code-toggle config=build />}}\n\nFetch one user.\n",
         [(5, "Fetch one user.")]),
    ],
)
def test_documentation_tool_markup_is_not_quoted(
    source: str, expected: list[tuple[int, str]]
) -> None:
    assert [(b.line_start, b.text) for b in read_markdown(source)] == expected


def test_toml_front_matter_gives_the_title() -> None:
    found = read_markdown('+++\ntitle = "Hosting"\nweight = 10\n+++\n\nHugo builds sites fast.\n')
    assert [(b.line_start, b.section, b.text) for b in found] == [
        (6, "Hosting", "Hugo builds sites fast.")
    ]


def test_templates_inside_code_stay_searchable() -> None:
    found = read_markdown(
        "# Alerts\n\nUse labels in the summary:\n\n"
        "```yaml\nsummary: '{{ $labels.job }} down'\n```\n"
    )
    assert "$labels.job" in found[0].code


def test_a_page_without_a_title_is_named_by_its_file() -> None:
    assert page_name("guide/remote-write.md") == "remote write"
    assert page_name("guide/service_discovery/index.md") == "service discovery"
    assert page_name("README.md") == ""  # the root's own page has no name to give
    found = read_markdown("Intro text.\n\n## Tuning\n\nSet the limit.\n", page="remote write")
    assert [b.section for b in found] == ["remote write", "remote write › Tuning"]
    titled = read_markdown("# Remote Write\n\nIntro text.\n", page="remote write")
    assert [b.section for b in titled] == ["Remote Write"]
    # A page opening with a lower heading names itself by it, not by its file.
    opens = read_markdown("## Validating References\n\nText.\n\n### Elision\n\nMore.\n",
                          page="ch10 03 lifetime syntax")
    assert [b.section for b in opens] == [
        "Validating References", "Validating References › Elision"
    ]


def test_a_paragraph_introducing_a_quote_leads_it() -> None:
    # Who is quoted is in the sentence before the quote: one passage holds both.
    found = read_markdown(
        "# Speed\n\nThis is how Bjarne Stroustrup, who designed C++, puts it in a long\n"
        "sentence that runs past a few words:\n\n"
        "> What you don't use, you don't pay for.\n\nThe next paragraph.\n"
    )
    assert [(b.line_start, b.line_end) for b in found] == [(3, 6), (8, 8)]
    assert "Stroustrup" in found[0].text and "pay for" in found[0].text


OPERATORS = """\
# Operators

| Operator | Example | Overloadable? |
|----------|---------|---------------|
| `+` | `a + b` | `Add` |
| `^` | `a ^ b` | `BitXor` |
| `?` | `expr?` | |

The `?` operator returns early with the error; it works on a `Result` and an `Option`.

Writing a - b or a / b in prose is arithmetic, explained elsewhere: see the trait list.
"""


@pytest.fixture
def operators(tmp_path: Path) -> Path:
    (tmp_path / "operators.md").write_text(OPERATORS, encoding="utf-8")
    (tmp_path / "traits.md").write_text(
        "# Traits\n\nA trait is overloaded for an operator by implementing it.\n",
        encoding="utf-8",
    )
    return tmp_path


def test_an_operator_written_as_code_is_found_by_the_operator(operators: Path) -> None:
    index = Index.build_folder(operators, RankingConfig())
    found = answer(index, "which trait overloads ^ operator")
    assert found.passages[0].text.startswith("Operator: `^`")
    assert "BitXor" in found.passages[0].text
    early = answer(index, "what does `?` do on an option")
    assert early.passages[0].text.startswith("The `?` operator")
    # A mark ending the question, or prose punctuation, is not an operator asked about.
    assert "?" not in index.terms("what does the operator do ?").tokens
    # A bare mark in a question that is not about using or meaning one is chat punctuation.
    assert "^" not in index.terms("traits ^ and more").tokens
    assert "?" not in index.terms("what is a trait ? and why").tokens
    assert index.terms("what does ^ mean").tokens.count("^") == 1
    # Both paths read operators alike.
    reference = build_index(load_corpus(operators), RankingConfig())
    assert index.postings.vocab == reference.postings.vocab
    assert "^" in index.postings.vocab and "?" in index.postings.vocab


def test_a_one_word_label_over_code_keeps_its_code(tmp_path: Path) -> None:
    (tmp_path / "usage.md").write_text(
        "# Usage\n\nThe tool reads its settings from the environment.\n\n"
        "Example:\n\n```sh\nrunner --frobnicate-widgets\n```\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    hits = index.search("frobnicate widgets")
    assert hits and hits[0].passage.text == "Example:"


PARAMETERS = """\
# Server

## listen

* `options` {Object} Supports the following properties:
  * `backlog` {number} Length of the queue
    of pending connections.
  * `exclusive` {boolean} **Default:** `false`

  The options are read once.
* `callback` {Function}
"""


def test_a_nested_list_item_is_a_line_of_its_own(tmp_path: Path) -> None:
    (block,) = read_markdown(PARAMETERS)
    assert block.text == (
        "• `options` {Object} Supports the following properties:\n"
        "◦ `backlog` {number} Length of the queue of pending connections.\n"
        "◦ `exclusive` {boolean} Default: `false`\n"
        "The options are read once.\n"  # the item goes on after its nested list
        "• `callback` {Function}"
    )
    assert (block.line_start, block.line_end) == (5, 11)
    # Each option is a sentence of its own: the default quoted is the one asked about.
    (tmp_path / "server.md").write_text(PARAMETERS, encoding="utf-8")
    found = answer(Index.build_folder(tmp_path, RankingConfig()), "exclusive default")
    assert found.passages[0].marked == "◦ `exclusive` {boolean} Default: `false`"


def test_a_long_nested_list_is_cut_with_each_window_at_its_own_line() -> None:
    options = [f"  * `option{n}` {{number}} Sets how many workers take part in round {n}."
               for n in range(60)]
    source = "# Pool\n\n* `settings` {Object} Supports:\n" + "\n".join(options) + "\n"
    found = read_markdown(source)
    assert len(found) > 1
    for block in found:
        first = block.text.splitlines()[0].removeprefix("◦ ").removeprefix("• ")
        assert first[:12] in source.splitlines()[block.line_start - 1]


def test_a_bold_line_inside_a_box_or_quote_heads_nothing() -> None:
    boxed = read_markdown(
        "## Configure\n\n!!! warning\n    **Never share the token**\n\n"
        "    It grants full access.\n\nThe token lives in the config file.\n"
    )
    assert boxed[-1].section == "Configure"
    quoted = read_markdown("> **Do not run as root**\n\nText after.\n", page="guide")
    assert [b.section for b in quoted] == ["guide", "guide"]
    # A page opening with a bold line keeps its file's name.
    opened = read_markdown("**Experimental**\n\nIntro.\n\n## Options\n\nMore.\n", page="retries")
    assert [b.section for b in opened] == ["retries › Experimental", "retries › Options"]
    # MyST colon fences say their version note too.
    assert read_markdown(":::{deprecated} 2.0\nUse cert.\n:::\n")[0].text == (
        "Deprecated since version 2.0: Use cert."
    )


def test_a_bold_heading_joins_the_section_path_until_the_next_heading() -> None:
    found = read_markdown(
        "# Errors\n\n**ResponseError Class**\n\nIt holds the status.\n\n## Other\n\nMore.\n"
    )
    assert [(b.text, b.section) for b in found] == [
        ("It holds the status.", "Errors › ResponseError Class"),
        ("More.", "Errors › Other"),
    ]
