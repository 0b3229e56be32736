"""Answers: quotes and marks, top-k without repeats, abstention, bad input, disagreeing sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.answer import (
    _DATE,
    DEFAULT_STATED,
    MAX_QUESTION_CHARS,
    NO_ANSWER_MESSAGES,
    QUOTE_CHARS,
    Answer,
    AnswerConfig,
    AnswerPassage,
    _code_titles,
    answer,
    figure_asked,
    names_anyone_new,
    split_sentences,
    states_figure,
    titled_by,
)
from retrieval.engines import RankingConfig
from retrieval.index import Index
from retrieval.specific import written_together
from tests.oracle import build_index, load_corpus

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
F002 = "002_d7c87949017108c3.txt"
ELLIPSIS = "…"

ANSWERABLE = [
    "who is Scale's interim CEO?",
    "How much did Meta invest in Scale AI?",
    "How big a stake did Meta take in Scale AI?",
    "When was Scale AI founded?",
    "Where is Scale AI based?",
    "how many contractors does Scale employ",
    "why is OpenAI moving away from Scale AI",
    "Who founded Scale AI?",
]
OFF_TOPIC = [
    "how do I bake sourdough bread",
    "what is the capital of France",
    "What is the boiling point of mercury?",
]


@pytest.fixture(scope="module")
def index() -> Index:
    return Index.from_folder(SEEDS)


def body(p: AnswerPassage) -> str:
    return p.quote.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS)


def check_quote(p: AnswerPassage) -> None:
    assert len(p.quote) <= QUOTE_CHARS + 2 * len(ELLIPSIS), p.citation
    assert body(p) in p.text, p.citation
    assert p.quote.startswith(ELLIPSIS) == (not p.text.startswith(body(p)))
    assert p.quote.endswith(ELLIPSIS) == (not p.text.endswith(body(p)))
    assert 0 <= p.mark_start < p.mark_end <= len(p.quote)
    assert p.marked == p.quote[p.mark_start : p.mark_end]
    assert p.marked.strip() == p.marked
    assert ELLIPSIS not in p.marked or ELLIPSIS in p.text
    assert p.marked in p.text


@pytest.mark.parametrize("question", ANSWERABLE)
def test_answerable_questions_are_answered_with_well_formed_quotes(
    index: Index, question: str
) -> None:
    a = answer(index, question)
    assert a.answered, question
    assert a.reason == ""
    assert a.message == ""
    assert 1 <= len(a.passages) <= AnswerConfig().top_k
    for p in a.passages:
        check_quote(p)


@pytest.mark.parametrize("question", ANSWERABLE + OFF_TOPIC)
def test_passages_shown_are_distinct(index: Index, question: str) -> None:
    a = answer(index, question)
    texts = [p.text for p in a.passages]
    assert len(texts) == len(set(texts))
    citations = [p.citation for p in a.passages]
    assert len(citations) == len(set(citations))


def test_interim_ceo_is_marked(index: Index) -> None:
    a = answer(index, "who is Scale's interim CEO?")
    top = a.passages[0]
    assert top.citation == "004_bbdec2aa2fae0f2f.txt:9"
    assert "Jason Droege" in top.marked
    assert "interim CEO" in top.marked


def test_top_k_is_respected(index: Index) -> None:
    for k in (1, 2, 5):
        a = answer(index, "What did OpenAI decide about Scale AI?", AnswerConfig(top_k=k))
        assert len(a.passages) == k


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_abstain(index: Index, question: str) -> None:
    a = answer(index, question)
    assert not a.answered
    assert a.reason == "not_found"
    assert a.message == NO_ANSWER_MESSAGES["not_found"]
    assert a.disagreement is None
    data = a.to_json()
    assert data["answered"] is False
    assert data["message"] == a.message


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * 10_000, "too_long"),
        ("why " * (MAX_QUESTION_CHARS // 4 + 1), "too_long"),
        ("what is the", "no_terms"),
        ("?!?", "no_terms"),
        ("zyzzyva quokka", "not_mentioned"),
    ],
)
def test_bad_input_gives_a_clear_no_answer(index: Index, question: str, reason: str) -> None:
    a = answer(index, question)
    assert not a.answered
    assert a.reason == reason
    assert a.message
    assert a.passages == []
    assert len(a.question) <= 100  # a huge question is not echoed back whole
    assert a.to_json()["reason"] == reason


def test_question_white_space_is_collapsed(index: Index) -> None:
    a = answer(index, "  who is\n Scale's   interim CEO?  ")
    assert a.question == "who is Scale's interim CEO?"
    assert a.passages[0].citation == answer(index, a.question).passages[0].citation


def test_disagreeing_sources_are_reported(index: Index) -> None:
    a = answer(index, "how much did Meta invest in Scale AI")
    assert a.answered
    assert a.disagreement is not None
    note = a.disagreement.describe()
    assert "$14.3 billion" in note
    assert "$14.8 billion" in note
    values = {v.value: v.citations for v in a.disagreement.variants}
    assert set(values) >= {"$14.3 billion", "$14.8 billion"}
    files_143 = {c.rpartition(":")[0] for c in values["$14.3 billion"]}
    files_148 = {c.rpartition(":")[0] for c in values["$14.8 billion"]}
    assert files_143 - files_148 and files_148 - files_143
    # Both sides are among the passages shown, and the $14.8 billion one is 002's.
    shown = {p.citation for p in a.passages}
    assert shown & set(values["$14.3 billion"])
    assert shown & set(values["$14.8 billion"])
    assert any(p.file == F002 and "$14.8 billion" in p.quote for p in a.passages)
    assert a.to_json()["sources_differ"] == note


@pytest.mark.parametrize(
    "question",
    ["When was Scale AI founded?", "who is Scale's interim CEO?", "Who founded Scale AI?"],
)
def test_agreeing_sources_get_no_note(index: Index, question: str) -> None:
    assert answer(index, question).disagreement is None


def test_long_sentence_is_windowed_around_the_question_terms(tmp_path: Path) -> None:
    filler = ", ".join(f"item number {n} of the long list" for n in range(40))
    text = f"The inventory lists {filler}, and the zebra crossing at the end, {filler}."
    (tmp_path / "a.txt").write_text(text + "\n", encoding="utf-8")
    index = build_index(load_corpus(tmp_path), RankingConfig())
    a = answer(index, "where is the zebra crossing")
    (p,) = a.passages
    assert len(p.text) > 3 * QUOTE_CHARS
    check_quote(p)
    assert p.quote.startswith(ELLIPSIS) and p.quote.endswith(ELLIPSIS)
    assert "zebra crossing" in p.marked


def test_quote_grows_around_a_short_sentence(tmp_path: Path) -> None:
    sentences = [f"Sentence {n} is about topic {n} at some length for padding." for n in range(12)]
    sentences[6] = "The zebra crossing was repainted in May."
    (tmp_path / "a.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    index = build_index(load_corpus(tmp_path), RankingConfig())
    (p,) = answer(index, "when was the zebra crossing repainted").passages
    check_quote(p)
    assert p.marked == sentences[6]
    # Context on both sides, as much as fits.
    assert len(p.quote) > QUOTE_CHARS - 80
    assert p.quote.index(p.marked) > 1


def test_split_sentences() -> None:
    text = "Scale was founded in 2016. Then 49% was sold! Was it $14 billion? Yes. a b. Wang left"
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == [
        "Scale was founded in 2016.",
        "Then 49% was sold!",
        "Was it $14 billion?",
        "Yes. a b.",
        "Wang left",
    ]


def test_sentence_keeps_its_closing_quotation_mark() -> None:
    text = 'The CFO said "We agree." Then the board voted. Wang said \u201cNo.\u201d It ended.'
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts[0] == 'The CFO said "We agree."'
    assert parts[2] == "Wang said \u201cNo.\u201d"


def test_answer_to_json_shape(index: Index) -> None:
    a: Answer = answer(index, "who is Scale's interim CEO?")
    data = a.to_json()
    assert set(data) == {"question", "answered", "passages"}
    for p, item in zip(a.passages, data["passages"], strict=True):
        assert item["file"] == p.file
        assert item["line_start"] == p.line_start and item["line_end"] == p.line_end
        assert item["quote"] == p.quote and item["text"] == p.text
        assert isinstance(item["score"], float)
        start, end = item["mark"]
        assert item["quote"][start:end] == p.marked


def test_question_words_close_together_outrank_the_same_words_far_apart(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "Initial talks with the bank stalled for months before any investment came.\n\n"
        "Its initial investment came from a startup accelerator in California, which has "
        "backed hundreds of companies across many industries over the last two decades.\n",
        encoding="utf-8",
    )
    index = build_index(load_corpus(tmp_path), RankingConfig())
    question = "who made the initial investment"
    # Without proximity the short paragraph wins on BM25's length normalisation...
    plain = answer(index, question, AnswerConfig(proximity_weight=0.0))
    assert plain.passages[0].line_start == 1
    # ...with it, "initial investment" side by side wins.
    assert answer(index, question).passages[0].line_start == 3


@pytest.mark.parametrize("question", ANSWERABLE)
def test_scores_shown_follow_the_ranking(seed_index: Index, question: str) -> None:
    a = answer(seed_index, question)
    scores = [p.score for p in a.passages]
    if a.disagreement is None:  # a disagreeing passage may be moved up to be cited
        assert scores == sorted(scores, reverse=True)


def test_how_many_counts_numbers_written_as_words(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "A package can contain library crates and binary crates, as the guide explains for "
        "every package. A package can contain at most one library crate.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    a = answer(index, "how many library crates can a package contain")
    assert "at most one library crate" in a.passages[0].marked


@pytest.mark.parametrize(
    ("page", "question", "stated"),
    [
        (
            "# Query log\n\nThe query log was added to the server.\n\n"
            "The query log was added in 2.16.0 of the server.\n",
            "which version added the query log",
            "2.16.0",
        ),
        (
            "# Scrape timeout\n\nThe default scrape timeout varies.\n\n"
            "The default scrape timeout is 10s for each job.\n",
            "what is the default scrape timeout",
            "10s",
        ),
    ],
)
def test_a_version_or_default_is_answered_by_the_sentence_stating_it(
    tmp_path: Path, page: str, question: str, stated: str
) -> None:
    # Both paragraphs say the same words; the shorter one outranks on BM25 alone.
    (tmp_path / "page.md").write_text(page, encoding="utf-8")
    index = Index.build_folder(tmp_path, RankingConfig())
    assert stated in answer(index, question).passages[0].marked


def test_a_word_only_the_section_title_holds_counts_towards_the_answer(tmp_path: Path) -> None:
    (tmp_path / "cookies.md").write_text(
        "# Cookies\n\n## `deleteCookie(headers, name)`\n\nSets the expiry time of the cookie "
        "to the unix epoch, so browsers delete it.\n\n## `getCookies(headers)`\n\n"
        "Parses the cookie header into an object.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    a = answer(index, "What does deleteCookie do?")
    assert a.answered and a.confidence > 0.9
    assert a.passages[0].text.startswith("Sets the expiry time")


def test_the_sectiontitled_by_a_code_name_asked_comes_first(tmp_path: Path) -> None:
    (tmp_path / "stats.md").write_text(
        "# Pool stats\n\nEach pool returns a `PoolStats` object.\n\n"
        "## `PoolStats.free`\n\nNumber of open connections without an active request.\n\n"
        "## `PoolStats.size`\n\nNumber of requests in the queue.\n\n"
        "## Free list\n\nThe free list holds idle connections.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    question = "What does PoolStats.free represent?"
    titled = answer(index, question, AnswerConfig(title_bonus=1.0))
    assert titled.passages[0].text.startswith("Number of open connections")
    # Without the bonus, a passage saying a word of the name in its text wins.
    flat = answer(index, question, AnswerConfig(title_bonus=0.0))
    assert flat.passages[0].text.startswith("The free list")
    # A camelCase name written without its object is a code name too.
    (tmp_path / "buffer.md").write_text(
        "# Buffer\n\nAllocation with `allocUnsafe` is fast: buffer memory, for allocUnsafe, "
        "is cheap.\n\n"
        "## `Buffer.allocUnsafe(size)`\n\nThe memory of the new buffer is left as it was.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    camel = answer(index, "buffer allocUnsafe memory", AnswerConfig(title_bonus=1.0))
    assert camel.passages[0].text.startswith("The memory of the new buffer")
    assert answer(index, "buffer allocUnsafe memory", AnswerConfig(title_bonus=0.0)).passages[
        0
    ].text.startswith("Allocation with")
    # The name whole: not a sibling of its object, nor a longer name.
    names = _code_titles("What does PoolStats.free represent?")
    assert titled_by("Pool › `PoolStats.free`", names)
    assert not titled_by("Pool › `PoolStats.size`", names)
    assert not titled_by("Pool › `PoolStats.freeList`", names)
    assert not titled_by("B › `Buffer.allocUnsafeSlow(size)`", _code_titles("allocUnsafe"))
    # Only the passage's own section counts, not the page's title above it.
    assert not titled_by("PoolStats.free › Fields", [written_together(["poolstats", "free"])])


def test_a_figure_asked_for_and_not_stated_is_not_answered(tmp_path: Path) -> None:
    (tmp_path / "plans.md").write_text(
        "# Plans\n\nThe team plan gives every member a private workspace and shared "
        "billing.\n\nThe team plan was launched in 2021 for small companies.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    priced = answer(index, "how much does the team plan cost per member")
    assert not priced.answered and priced.reason == "no_figure"
    assert "figure" in priced.message and priced.passages  # the closest ones still shown
    # The most or least of something is a figure too.
    most = answer(index, "what is the maximum number of members of the team plan")
    assert not most.answered and most.reason == "no_figure"
    launched = answer(index, "when was the team plan launched")
    assert launched.answered and "2021" in launched.passages[0].marked
    # A figure the question already says is not an answer to it.
    assert not states_figure("is 2021 the launch year", "The plan launched in 2021.")
    assert states_figure("when did it launch", "The plan launched in 2021.")
    # The number of a version note is a figure only for a question about versions.
    noted = "New in version 1.3: By default, pip verifies certificates."
    assert not states_figure("how many times does pip retry by default", noted)
    assert not states_figure("what is the default timeout", noted, DEFAULT_STATED)
    assert states_figure("which version added certificate checks", noted)
    # Only a note as documentation tools write it: a year in prose is a date.
    assert states_figure("when was the retry option added", "It was added in 2019.", _DATE)
    # A month dates something; it is no amount.
    assert not states_figure("what is her salary", "She joined in September.")
    # "when" that opens a condition does not ask for a date.
    assert answer(index, "when I join the team plan, do I get a private workspace").answered


def test_the_default_asked_for_and_not_stated_is_not_answered(tmp_path: Path) -> None:
    (tmp_path / "queue.md").write_text(
        "# Queue\n\n## Max shards\n\nMax shards sets the largest number of shards that one "
        "queue may use at a time.\n\n## Capacity\n\nThe default capacity of a shard is 2500 "
        "samples.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    unstated = answer(index, "what is the default value of max shards for a queue")
    assert unstated.reason == "no_figure"
    assert unstated.passages[0].text.startswith("Max shards")
    stated = answer(index, "what is the default capacity of a shard")
    assert stated.answered and "2500" in stated.passages[0].marked
    # A default asked for in other words than "what is the default".
    for asked in ("what is pip's default timeout", "at what default interval are pings sent"):
        assert figure_asked(asked) is DEFAULT_STATED, asked
    assert figure_asked("what happens by default") is None
    # A quantity in a unit is a figure.
    assert figure_asked("what is the shard timeout in seconds") is not None
    # The value may come first: "`OFF` is the default value".
    assert DEFAULT_STATED.search("If no value is given, `OFF` is the default value.")
    assert not DEFAULT_STATED.search("This is the default value of the option.")


def test_the_default_of_an_option_named_must_be_on_its_own_line(tmp_path: Path) -> None:
    (tmp_path / "watch.md").write_text(
        "# Watch\n\n## `watch(path[, options])`\n\nOptions of the watcher:\n\n"
        "* `persistent` {boolean} Keep the process running. Default: `true`.\n"
        "* `recursive` {boolean} Watch every subfolder. Default: `false`.\n"
        "* `retryDelay` {number} Wait between retries of the watcher.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    stated = answer(index, "what is the default value of the recursive option of the watcher")
    assert stated.answered
    # The list states defaults, but not retryDelay's.
    unstated = answer(index, "what is the default value of the retryDelay option of watch")
    assert not unstated.answered and unstated.reason == "no_figure"


def test_questions_that_ask_no_figure_are_not_held_to_one(tmp_path: Path) -> None:
    (tmp_path / "drop.md").write_text(
        "# Drop\n\nThe drop method is called when a value goes out of scope, and the default "
        "implementation of a trait method is used when a type does not override it.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    # "when is … called" asks for a condition, "the default implementation" names a thing.
    assert answer(index, "when is the drop method called").answered
    assert answer(index, "what does the default implementation of a trait method do").answered
    assert answer(index, "is it worth overriding the drop method").reason != "no_figure"
    # A default stated after its value, or after "by default", is a default stated.
    assert states_figure("what is the default timeout", "It waits 10 seconds by default.",
                         DEFAULT_STATED)
    assert states_figure("what is the default timeout", "By default, the timeout is 10s.",
                         DEFAULT_STATED)


def test_a_date_is_digits_or_a_month_and_a_name_with_digits_is_no_figure() -> None:
    date = figure_asked("What was the release date of the 3.25 release?")
    assert date is not None
    # "one" and "may" date nothing; digits inside a name are not a number.
    assert not states_figure("release date of 3.25", "In 3.25 one may set CMP0141.", date)
    assert states_figure("release date of 3.25", "It came out in May.", date)
    assert not states_figure("how many options", "Policy CMP0141 sets the format.")
    assert states_figure("which version added it", "It was added in v2.25.")


@pytest.mark.parametrize(
    "question", ["where are Ostrava Labs offices", "where is Ostrava's office"]
)
def test_a_place_must_be_other_than_the_place_asked_about(tmp_path: Path, question: str) -> None:
    # "in Ostrava" repeats the name asked about; "in Brno" is the place that answers.
    (tmp_path / "a.txt").write_text(
        "Ostrava Labs opened an office in Ostrava.\n\n"
        "Ostrava Labs keeps its office in Brno, next to the university campus and "
        "the old railway station.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    assert "in Brno" in answer(index, question).passages[0].marked


def test_a_place_is_a_whole_capitalised_word(tmp_path: Path) -> None:
    # "in OpenAI" is no place: "Open" is only the start of a name.
    (tmp_path / "a.txt").write_text(
        "Scale staff work in OpenAI teams.\n\n"
        "Scale staff work in Brno and nearby towns, far from the old offices of the group.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    assert "in Brno" in answer(index, "where do scale staff work").passages[0].marked


def test_a_number_labelling_a_listing_or_figure_is_no_figure(tmp_path: Path) -> None:
    # "Listing 10-20" points at code; "three rules" is the count asked for.
    (tmp_path / "rules.md").write_text(
        "# Elision\n\nThe compiler applies the elision rules to the code in Listing 10-20 "
        "and reports an error.\n\nThe compiler uses three rules when elision applies, as the "
        "rest of this section shows with longer examples.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    assert "three rules" in answer(index, "how many elision rules").passages[0].marked
    assert not states_figure("how many rules", "See Listing 10-20 and Figure 3 for the rules.")
    assert states_figure("how many rules", "See Listing 10-20: there are 3 rules.")


def test_a_who_question_against_a_passage_naming_no_one_new_is_not_answered(
    tmp_path: Path,
) -> None:
    (tmp_path / "people.md").write_text(
        "# Thanks\n\nWith thanks to the Tern Foundation's director:\n\n"
        "* Ada Quill, Executive Director of the Tern Foundation\n\n"
        "# Crates\n\nAnyone with an account on the registry can publish a crate.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    before = answer(index, "who was the tern foundation's executive director before ada quill")
    assert not before.answered and before.reason == "no_name"
    assert "names no one" in before.message
    named = answer(index, "who's the executive director of the tern foundation")
    assert named.answered and "Ada Quill" in named.passages[0].quote
    # "Who can …" asks about a role, which a passage may state without a name.
    assert answer(index, "who can publish a crate on the registry").answered
    asked = "who is Ada Quill of the Tern Foundation"
    assert not names_anyone_new(asked, "However, Ada Quill of the Tern Foundation spoke.")
    assert names_anyone_new("who is the director", "The director is Ada Quill.")
    # The acronym of a phrase the question says names no one new.
    chair = "who chairs the Technical Steering Committee"
    assert not names_anyone_new(chair, "Nominations go to the TSC for review.")
    assert names_anyone_new(chair, "The TSC chair is Ada Quill.")
    assert names_anyone_new(chair, "The CPC meets weekly.")


def test_how_many_prefers_a_count_of_the_thing_asked(tmp_path: Path) -> None:
    # "two input lifetimes" counts something else; "three rules" counts the rules asked.
    (tmp_path / "rules.md").write_text(
        "# Elision\n\nWith two input lifetimes the compiler applies the elision rules.\n\n"
        "Three elision rules are what the compiler applies to each function signature it "
        "reads.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    found = answer(index, "how many elision rules does the compiler apply")
    assert found.passages[0].marked.startswith("Three elision rules")


def test_an_amount_of_money_asked_is_answered_only_by_money(tmp_path: Path) -> None:
    (tmp_path / "founder.txt").write_text(
        "Ada Quill founded Tern Labs at 19 with Bo Lind, who now runs the lab.\n\n"
        "Tern Labs was valued at $2 billion after its last round.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    # An age is a number, not what someone is worth.
    worth = answer(index, "what is bo lind's net worth")
    assert not worth.answered and worth.reason == "no_figure"
    assert answer(index, "what is tern labs' valuation").answered
    assert answer(index, "how old was ada quill when she founded tern labs").answered
    # A salary or a price merely named is no question about money.
    assert figure_asked("what is used to decide a teacher's salary") is not figure_asked(
        "what is her salary"
    )


@pytest.mark.parametrize(
    "question",
    [
        "what happens to a worker who throws an uncaught exception",
        "who emits the close event on a stream",
        "who is allowed to close the stream",
        "who owns the file descriptor after it is opened",
    ],
)
def test_a_who_about_a_role_or_in_a_clause_is_not_held_to_a_name(
    tmp_path: Path, question: str
) -> None:
    (tmp_path / "streams.md").write_text(
        "# Streams\n\nA worker that throws an uncaught exception emits the error event.\n\n"
        "The stream emits the close event once its file descriptor is closed; the stream "
        "owns the descriptor it opened, and only its owner is allowed to close it.\n",
        encoding="utf-8",
    )
    found = answer(Index.build_folder(tmp_path, RankingConfig()), question)
    assert found.reason != "no_name"


def test_question_marks_and_curly_apostrophes_do_not_hide_a_question_word(
    tmp_path: Path,
) -> None:
    (tmp_path / "people.md").write_text(
        "# Thanks\n\nWith thanks to the Tern Foundation's director:\n\n"
        "* Ada Quill, Executive Director of the Tern Foundation\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    for question in ("who was the tern foundation's executive director before ada quill?",
                     "who’s the tern foundation’s executive director before ada quill?"):
        assert answer(index, question).reason == "no_name", question
    assert not names_anyone_new("who was director before Ada Quill?", "It is Ada Quill.")
    assert figure_asked("what’s bo lind’s net worth") is figure_asked("what's bo lind's net worth")


def test_time_or_memory_spent_is_no_money(tmp_path: Path) -> None:
    assert figure_asked("how much time is spent in garbage collection") is not figure_asked(
        "how much did meta spend on scale"
    )
    (tmp_path / "gc.md").write_text(
        "# Garbage collection\n\nAbout 5% of the time is spent in garbage collection, in "
        "pauses of 5m or less.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    assert answer(index, "how much time is spent in garbage collection").answered
    # A duration written "5m" is no amount of money.
    money = figure_asked("what is its price")
    assert money is not None
    assert not states_figure("what is its price", "It waits 5m.", money)
    assert states_figure("what is its price", "It costs $5.", money)


def test_how_many_reads_what_it_counts_before_per_or_a_verb(tmp_path: Path) -> None:
    (tmp_path / "events.md").write_text(
        "# Events\n\nEach event has 2 handlers by default, and the emitter warns.\n\n"
        "An emitter allows 10 listeners per event before it prints a warning to the log.\n\n"
        "The client retries a failed request once, then gives up and reports the error.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    found = answer(index, "how many listeners per event before a warning")
    assert "10 listeners" in found.passages[0].marked
    # "once" is a count, though a small word.
    assert "once" in answer(index, "how many times does the client retry a request").passages[
        0
    ].marked
