"""A question's names (products, people, years, versions) must be on the answering page:
a confident match from a page that never says the name answers something else."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.answer import answer
from retrieval.engines import RankingConfig
from retrieval.index import Index
from retrieval.specific import capitalised_in, specific_terms, unmatched_compounds

# Pages of a small monitoring manual: each program's page says its own default port, and
# enough other pages that one program's name is a detail, not the corpus's topic.
PAGES = {
    "perses.md": "# Perses\n\nBy default, Perses listens on port 8080 for its web interface.\n",
    "grafana.md": "# Grafana\n\nBy default, Grafana listens on port 3000. The login is admin.\n",
    "pushgateway.md": (
        "# Batch jobs\n\nThe Pushgateway accepts metrics that batch jobs push to it.\n\n"
        "Each push replaces the group of metrics sent before.\n\n"
        "Teams often run one Pushgateway each.\n"
    ),
    "promcon.md": "# Conference\n\nPromCon 2025 takes place in Munich in October.\n",
    **{
        f"topic{n}.md": f"# Topic {n}\n\nAlerting rules number {n} fire when the query "
        "returns samples for longer than the rule's duration.\n"
        for n in range(20)
    },
}


@pytest.fixture(scope="module")
def manual(tmp_path_factory: pytest.TempPathFactory) -> Index:
    folder = tmp_path_factory.mktemp("manual")
    for name, text in PAGES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return Index.build_folder(folder, RankingConfig())


@pytest.mark.parametrize(
    ("word", "texts", "expected"),
    [
        ("pushgateway", ["The Pushgateway accepts.", "Run the Pushgateway next to it."], True),
        ("pushgateway", ["Pushgateway starts a sentence.", "So does: Pushgateway runs."], False),
        ("ram", ["The RAM goes.", "More RAM helps."], False),  # acronyms: kinds of things
        ("gateway", ["the gateway pushes.", "A Gateway is a thing."], False),
        ("pushgateway", ["Only once is the Pushgateway named."], False),
    ],
)
def test_a_name_is_what_texts_capitalise_inside_sentences(
    word: str, texts: list[str], expected: bool
) -> None:
    assert capitalised_in(word, texts) is expected


def test_names_and_long_numbers_are_specific_and_everyday_words_are_not(manual: Index) -> None:
    found = specific_terms(manual, "What port does the Pushgateway listen on in 2025?")
    assert [s.word for s in found] == ["pushgateway", "2025"]
    # Lower case as typed in chat: the corpus writes it as a name.
    assert [s.word for s in specific_terms(manual, "pushgateway port")] == ["pushgateway"]
    # "Alerting" is an everyday word, "8080" is held by one page, "10" is too short.
    assert [s.word for s in specific_terms(manual, "Alerting on 10 rules at 8080")] == ["8080"]


def test_a_name_the_best_page_lacks_is_said_instead_of_answering(manual: Index) -> None:
    a = answer(manual, "What port does the Pushgateway listen on by default?")
    assert not a.answered
    assert a.reason == "unmatched"
    assert a.unmatched == ["pushgateway"]
    assert "**pushgateway**" in a.message
    assert a.passages  # the closest passages are still shown, as not an answer


def test_a_year_the_best_page_lacks_is_unmatched(manual: Index) -> None:
    a = answer(manual, "When and where is PromCon 2026 taking place?")
    assert not a.answered
    assert a.unmatched == ["2026"]
    assert answer(manual, "When and where is PromCon 2025 taking place?").answered


def test_the_name_may_be_elsewhere_on_the_answering_page(manual: Index) -> None:
    a = answer(manual, "what replaces the group of metrics on each Pushgateway push")
    assert a.answered, a.message
    assert a.passages[0].file == "pushgateway.md"
    assert "Pushgateway" not in a.passages[0].text  # the page says it, not the passage
    assert answer(manual, "What port does Perses listen on by default?").answered


def test_a_name_typed_with_a_slip_is_the_name(manual: Index) -> None:
    a = answer(manual, "What port does the Puhgateway listen on by default?")
    assert a.unmatched == ["pushgateway"]


def test_a_hyphen_joined_term_the_page_never_has_together_is_unmatched(tmp_path: Path) -> None:
    (tmp_path / "manifest.md").write_text(
        "# Manifest\n\n## Keys\n\nThe `edition` key in the manifest tells which edition of "
        "Rust to use, and the version key gives the package's version.\n\n"
        "## fetch-timeout\n\nHow long to wait for a download, in milliseconds.\n\n"
        "Zero installs keep every dependency in the repository.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    missing = answer(index, "what does the rust-version key in the manifest do")
    assert not missing.answered and missing.unmatched == ["rust-version"]
    assert "not about **rust-version**" in missing.message
    # Together in a heading, spaced, or with a plural's "s": the page has it.
    assert not unmatched_compounds(index, "what is the fetch-timeout in the manifest", 0)
    assert not unmatched_compounds(index, "what does the zero-install mode keep", 0)
    assert not unmatched_compounds(index, "what does the edition-key do", 0)  # `edition` key
    assert unmatched_compounds(index, "what does the package-edition do", 0) == [
        "package-edition"
    ]
    # Words made with an English prefix are written many ways; they are left alone.
    assert not unmatched_compounds(index, "can the manifest be re-read", 0)
    # A command-line flag is such a term too, dashes aside.
    assert unmatched_compounds(index, "what does --rust-version do to the manifest", 0) == [
        "rust-version"
    ]
    assert not unmatched_compounds(index, "what does --fetch-timeout set", 0)


def test_english_compounds_code_and_other_joints_count_as_together(tmp_path: Path) -> None:
    (tmp_path / "config.md").write_text(
        "# Config\n\nA how-to guide walks through the setup.\n\n"
        "Set the honor_labels option for each job.\n\n"
        'Write the key in the manifest:\n\n```toml\nrust-version = "1.70"\n```\n\n'
        "Values live on the heap.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    asked = "how-to honor-labels rust-version heap-allocated built-in read-only stack-based"
    # Stopwords only, an underscore, code, and English adjectives: none is a missing name.
    assert unmatched_compounds(index, asked, 0) == []
    assert unmatched_compounds(index, "what is the scrape-pool", 0) == ["scrape-pool"]


def test_a_code_name_the_page_never_writes_is_unmatched(tmp_path: Path) -> None:
    (tmp_path / "path.md").write_text(
        "# Path\n\n## `path.join([...paths])`\n\nThe `path.join()` method joins the segments "
        "and normalizes the resulting path.\n\n## `path.normalize(path)`\n\nThe "
        "`path.normalize()` method resolves '..' and '.' segments of a path.\n\n"
        "Call `hashText()` to get a digest; see `String::from` and `histogram_quantile()`.\n\n"
        "Settings live in package.json, and Node.js reads them.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    asked = "What does path.sanitize() return for a path with '..' segments?"
    missing = answer(index, asked)
    assert not missing.answered and missing.unmatched == ["path.sanitize()"]
    assert "not about **path.sanitize()**" in missing.message
    # A camelCase call is one name, not its words ("hash password" is not `hashPassword()`).
    assert unmatched_compounds(index, "what does hashPassword() return", 0) == ["hashPassword()"]
    assert answer(index, "what does path.normalize() do with '..' segments").answered
    # Written as the page writes it, in any case, with `::` or an underscore: it is there.
    for asked in ("what does Path.Join do", "what does hashText() give",
                  "how is String::from used", "what does histogram_quantile() return"):
        assert unmatched_compounds(index, asked, 0) == [], asked
    # File names, hosts and abbreviations with dots are no code names.
    for asked in ("where is package.json read", "does Node.js read it", "e.g. the path"):
        assert unmatched_compounds(index, asked, 0) == [], asked


def test_a_code_name_is_about_its_member_and_runs_on_or_files_are_none(tmp_path: Path) -> None:
    (tmp_path / "result.md").write_text(
        "# Result\n\nAn instance of `Result` has an `expect` method that panics with a "
        "message.\n\nThe `queue config` section tunes the queue. Move the value first.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    # The page writes the member without its type, or spaced: it is about it.
    for asked in ("what does Result::expect do", "how do I set remote_write.queue_config"):
        assert unmatched_compounds(index, asked, 0) == [], asked
    assert unmatched_compounds(index, "what does Result::unwrap_or do", 0) == [
        "Result::unwrap_or"
    ]
    # Two words run together over a full stop, a key file and a host are no code names.
    for asked in ("I moved the value.Why can't I use it", "where does server.crt go",
                  "can I scrape api.internal.corp"):
        assert unmatched_compounds(index, asked, 0) == [], asked


def test_a_code_name_typed_with_a_slip_is_read_as_corrected(tmp_path: Path) -> None:
    (tmp_path / "fs.md").write_text(
        "# File system\n\nThe `fs.readFile()` method reads a whole file and returns its "
        "contents.\n\nThe `fs.open()` method opens a file descriptor.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    found = answer(index, "what does fs.raedFile() return")
    assert found.answered and "readFile" in found.passages[0].quote
