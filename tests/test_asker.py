"""The asker's words: typos read as the corpus's words (guarded), abbreviations both ways,
words found nowhere reported, and no passage credited twice for one question word."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.analyze import tokenize, words
from retrieval.answer import answer
from retrieval.asker import ABBREVIATIONS, common_words, understand
from retrieval.engines import RankingConfig
from retrieval.index import Index


def build(tmp_path: Path, *paragraphs: str) -> Index:
    (tmp_path / "doc.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return Index.build_folder(tmp_path, RankingConfig())


@pytest.fixture
def index(tmp_path: Path) -> Index:
    return build(
        tmp_path,
        "Lifetime elision rules let the compiler infer lifetimes in common cases.",
        "The chief executive officer of the company resigned on Monday.",
        "Receivers get every message the sender puts on the channel.",
        "Take the stake and the case to the office before noon.",
    )


def test_the_word_list_ships_with_the_package() -> None:
    assert {"the", "take", "java", "inhibition"} <= common_words()
    assert "webassembly" not in common_words()


def test_a_typo_is_read_as_the_corpus_word(index: Index) -> None:
    terms = index.terms("how many lifetime elison rules")
    assert terms.corrections == {"elison": "elision"}
    assert not terms.missing
    a = answer(index, "what are lifetime elison rules for")
    assert a.answered and a.passages[0].text.startswith("Lifetime elision")


def test_common_words_are_never_corrected(index: Index) -> None:
    # "make" is one edit from "take" and "came" from "case": common words the corpus lacks
    # are the asker's filler, not typos.
    terms = index.terms("make it so came back")
    assert terms.corrections == {}
    assert not terms.missing


def test_short_and_unlike_words_are_not_corrected(index: Index) -> None:
    terms = index.terms("what does asm do to the stake")
    assert "asm" not in terms.corrections  # too short to guess
    assert terms.missing == ["asm"]


def test_abbreviation_read_as_the_corpus_spells_it(index: Index) -> None:
    terms = index.terms("who was the ceo")
    assert terms.corrections == {"ceo": "chief executive officer"}
    assert answer(index, "who was the ceo").passages[0].text.startswith("The chief executive")


def test_spelled_out_phrase_read_as_the_corpus_abbreviation(tmp_path: Path) -> None:
    index = build(tmp_path, "Our CFO signed the annual report in March.", "Other text here.")
    terms = index.terms("who is the chief financial officer")
    assert terms.corrections == {"chief financial officer": "cfo"}
    assert answer(index, "who is the chief financial officer").passages[0].text.startswith(
        "Our CFO"
    )


def test_no_rewrite_when_the_corpus_has_the_question_form(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "The CEO spoke first.",
        "The chief executive officer spoke second, after the board.",
    )
    # Both forms are in the corpus: the question is searched as typed, and "ceo" is not
    # also counted as the three words (no passage is credited twice for one word).
    terms = index.terms("what did the ceo say")
    assert terms.corrections == {}
    assert terms.tokens == ["ceo", "say"]


def test_one_form_per_word_so_nothing_counts_twice(index: Index) -> None:
    typed = index.terms("recievers of messages")
    right = index.terms("receivers of messages")
    assert typed.corrections == {"recievers": "receivers"}
    assert typed.tokens == right.tokens
    assert [h.score for h in index.search(typed)] == [h.score for h in index.search(right)]


def test_documents_dont_mention_a_word_they_lack(index: Index) -> None:
    a = answer(index, "how do I compile the office to webassembly")
    assert not a.answered
    assert a.reason == "not_mentioned"
    assert a.message == "The documents don't mention **webassembly**."
    # The closest passages are still shown, labelled as not an answer by the front ends.
    assert a.passages


def test_a_missing_word_in_passing_does_not_rule_out_the_answer(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "Opening many files at once in parallel can fail with too many open files errors "
        "when the file descriptor limit of the process is low; raise the limit to fix it.",
        "Reading a file streams its bytes from the disk.",
    )
    long = ("getting too many open files errors on my macbook when i read a bunch of "
            "files in parallel, how do i fix it")
    a = answer(index, long)
    assert a.answered and a.missing == ["macbook"]
    assert "descriptor limit" in a.passages[0].text
    assert a.message == "The documents don't mention **macbook**; the passages answer the rest."
    assert a.to_json()["message"] == a.message and "reason" not in a.to_json()
    # The same word capitalised names what is asked about; in a short question it is the topic.
    for question in (long.replace("macbook", "MacBook"), "fix open files errors on macbook"):
        named = answer(index, question)
        assert not named.answered and named.reason == "not_mentioned", question
    # When the answer fails for another reason, that reason is given, not the waived word.
    counted = answer(index, "what is the default file descriptor limit for reading open "
                     "files in parallel on my macbook when errors happen")
    assert not counted.answered and counted.reason == "no_figure", counted.reason
    # Two words the documents lack are no passing detail.
    two = answer(index, long.replace("in parallel", "in parallel with zigbee"))
    assert not two.answered and two.reason == "not_mentioned"


def test_a_word_with_two_slips_is_no_missing_topic(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "The company was worth about 29 billion dollars after the deal.",
        "Other text here.",
    )
    # "vaiuatitn" is two slips from "valuation", which the documents lack: a slip, not a
    # topic, so no "don't mention" reply; "zigbeeflux" is two slips from nothing.
    assert index.terms("what was the company's vaiuatitn after the deal").missing == []
    assert index.terms("what was the company's zigbeeflux after the deal").missing == [
        "zigbeeflux"
    ]


def test_a_slipped_question_form_is_still_read(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "Jason Droege became the interim chief executive of Scale.",
        "Droege joined Scale from Uber, where he led Uber Eats.",
    )
    # "slaary" is "salary", which the documents lack: searched as typed, but the question
    # still asks for an amount of money, which no passage states.
    terms = index.terms("what is jason droege's slaary at scale")
    assert terms.corrections == {"slaary": "salary"} and not terms.missing
    a = answer(index, "what is jason droege's slaary at scale")
    assert not a.answered and a.reason == "no_figure"


def test_understand_needs_no_index() -> None:
    vocab = {"receiv": 0, "messag": 1}
    got = understand("recievers and messages", vocab, lambda t: 5)
    assert got.tokens == ["receiv", "messag"]


def test_a_missing_word_asked_twice_is_named_once(index: Index) -> None:
    a = answer(index, "webassembly or webassembly in the office")
    assert a.missing == ["webassembly"]
    assert a.message == "The documents don't mention **webassembly**."


def test_every_abbreviation_is_one_word_the_index_keeps() -> None:
    # "q1" would be indexed as "1" and "k8s" as "8": the corpus cannot be told to have them.
    for abbreviation in ABBREVIATIONS:
        assert words(abbreviation) == [abbreviation], abbreviation
        assert tokenize(abbreviation), abbreviation


def test_a_spelled_out_phrase_is_never_read_as_a_digit(tmp_path: Path) -> None:
    index = build(tmp_path, "Revenue rose in the first 1 months.", "Other text here.")
    assert index.terms("first quarter revenue").tokens == ["first", "quarter", "revenu"]


def test_a_spelled_out_phrase_counts_only_as_whole_words(tmp_path: Path) -> None:
    index = build(tmp_path, "Our SSL setup is old.", "Other text here.")
    # "mtls" holds the letters of "tls", the expansion of "ssl", but is not that word.
    assert index.terms("how does mtls work").corrections == {}


def test_a_slip_on_an_english_word_is_not_a_missing_topic(index: Index) -> None:
    # "wehre" is "where" (a stopword) and "exaclly" is "exactly" (not in the documents):
    # neither is a topic the documents lack, so no "don't mention" reply.
    for question in ("wehre did the chief executive officer resign",
                     "what exaclly did the chief executive officer do"):
        a = answer(index, question)
        assert not a.missing, question
        assert a.answered and "resigned" in a.passages[0].text
    # A short word is no slip by chance ("json" is one edit from "son").
    assert index.terms("json receivers").missing == ["json"]


def test_a_long_word_with_two_slips_is_read_when_one_reading_fits(index: Index) -> None:
    terms = index.terms("what do recieevrs get")
    assert terms.corrections == {"recieevrs": "receivers"}
    assert answer(index, "what do recieevrs get").passages[0].text.startswith("Receivers")
    # Two edits from several English words the corpus has, or from none: left as typed.
    assert index.terms("webassembli targets").missing == ["webassembli"]


def test_the_one_rare_reading_of_a_longer_word_is_taken(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "Jason Droege became chief strategy officer in September.",
        "The board met on Tuesday to approve the budget.",
    )
    # "droege" is in one passage and no English word: the only reading of "droee".
    terms = index.terms("what did droee become")
    assert terms.corrections == {"droee": "droege"}
    assert answer(index, "what did droee become").passages[0].text.startswith("Jason Droege")


def test_a_slip_on_a_stopword_is_dropped(index: Index) -> None:
    # "whch" is "which": not a word to search for, and not one the documents lack.
    assert index.terms("whch channel sender").tokens == index.terms("which channel sender").tokens


def test_a_three_letter_word_missing_an_inner_letter_is_read(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "The netrc file is read from the home folder.",
        "Each request carries a timeout.",
    )
    assert index.terms("netrc fle location").corrections == {"fle": "file"}
    assert answer(index, "netrc fle location").answered
    # Only a dropped letter: "asm" is a replacement away from "ask", and stays missing.
    assert index.terms("asm macro syntax").missing == ["asm"]
    # A word typed in capitals is an acronym: "FLE" is no slip on "file".
    assert index.terms("netrc FLE location").corrections == {}


def test_a_slip_on_a_question_word_still_asks_it(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "Scale AI is based in San Francisco, where its offices are.",
        "Scale AI was based on data labelling work for many years.",
    )
    right = answer(index, "where is scale ai based")
    assert "in San Francisco" in right.passages[0].marked
    for typed in ("whure is scale ai based", "whee is scale ai based", "wehre is scale ai based"):
        a = answer(index, typed)
        assert a.passages[0] == right.passages[0], typed
        assert index.terms(typed).corrections == {typed.split()[0]: "where"}, typed
    # An English word read as a question word only where one stands, opening the question.
    assert index.terms("is scale ai whee based").corrections == {}


def test_of_several_readings_of_a_typo_the_one_its_question_goes_with_wins(
    tmp_path: Path,
) -> None:
    index = build(
        tmp_path,
        "The gateway keeps old series until you clean them up by hand.",
        *[f"Note {n}: the mean of the samples is what the summary means." for n in range(6)],
    )
    # "cean" is one edit from "clean" and from "mean"; "mean" is the more frequent, but only
    # "clean" is in a passage with the question's other words.
    terms = index.terms("does the gateway ever cean up old series")
    assert terms.corrections == {"cean": "clean"}
    alone = index.terms("cean")  # no other word to go with: the more frequent reading
    assert alone.corrections == {"cean": "mean"}


def test_a_word_only_in_headings_or_code_is_not_missing(tmp_path: Path) -> None:
    (tmp_path / "crypto.md").write_text(
        "# Crypto\n\n## `crypto.randomUUID()`\n\nGenerates a random version 4 identifier.\n\n"
        "Call it like this:\n\n```js\nconst id = crypto.randomBytes(16);\n```\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    for question in ("what does randomUUID return", "when to use randomBytes"):
        terms = index.terms(question)
        assert not terms.missing, question
    assert answer(index, "what does randomUUID generate").passages[0].text.startswith(
        "Generates a random"
    )


def test_a_camel_case_name_the_corpus_lacks_whole_is_read_as_its_words(
    tmp_path: Path,
) -> None:
    (tmp_path / "events.md").write_text(
        "# Events\n\nAt most ten listeners may be registered for one event by default.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    terms = index.terms("how many eventListeners can be registered")
    assert terms.corrections == {"eventlisteners": "event Listeners"}
    assert not terms.missing and {"event", "listen"} <= set(terms.tokens)


def test_a_capitalised_word_one_letter_from_english_is_a_name(index: Index) -> None:
    # "Bazel" is a slip away from "babel", but written as a name it is one the corpus lacks.
    assert index.terms("how do I enable remote caching in Bazel").missing == ["bazel"]
    assert index.terms("bazel remote caching").missing == []


def test_chat_filler_is_not_searched(tmp_path: Path) -> None:
    # "actually" is in the documents, but "what does it actually do" does not ask about it.
    index = build(
        tmp_path,
        "The lab labels images and text for training models.",
        "Actually shipping the lab's work took years, as the founders actually admitted.",
    )
    asked = index.terms("hey, what does the lab actually do")
    assert "actual" not in asked.tokens and "hey" not in asked.tokens
    found = answer(index, "hey, what does the lab actually do")
    assert found.passages[0].line_start == 1
    assert "hey" not in found.missing


def test_filler_inside_code_or_naming_code_is_kept(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        "Date.now() returns the number of milliseconds since the epoch.",
        "Ok wraps the success value of a Result.",
    )
    assert "now" in index.terms("what does Date.now() return").tokens
    assert "now" in index.terms("what does Instant::now give").tokens
    assert "ok" in index.terms("what does ok wrap in a result").tokens
    assert "now" not in index.terms("who runs the lab now").tokens
    # "What kind of …" frames the question; "kind" alone may be the topic.
    assert "kind" not in index.terms("what kinds of results does ok wrap").tokens
    assert "kind" in index.terms("which error kind is returned").tokens
