"""The analyzer: one token stream for questions and passages alike."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from retrieval import analyze
from retrieval.analyze import (
    STOPWORDS,
    asked_operators,
    inline_code_tokens,
    normalize,
    tokenize,
    words,
)
from retrieval.engines import RankingConfig
from retrieval.index import passage_tokens
from tests.oracle import build_index, load_corpus


@pytest.mark.parametrize("form", ["Scale's", "Scale’s", "SCALE'S", "scale", "Scale"])
def test_possessive_is_the_same_token_as_the_name(form: str) -> None:
    assert tokenize(form) == tokenize("Scale")
    assert len(tokenize(form)) == 1


def test_possessive_inside_a_phrase() -> None:
    assert tokenize("Scale's interim CEO") == tokenize("Scale interim CEO")
    assert tokenize("Meta’s stake") == tokenize("Meta stake")


def test_curly_quotes_and_apostrophes_are_folded() -> None:
    assert normalize("“superintelligence” ‘unit’ O’Brien") == "\"superintelligence\" 'unit' O'Brien"
    assert tokenize("“superintelligence”") == tokenize('"superintelligence"')
    assert tokenize("O’Brien") == tokenize("O'Brien")
    # A contraction spelled with a curly apostrophe is still the stopword it spells.
    assert tokenize("don’t") == tokenize("don't") == []


@pytest.mark.parametrize("number", ["14.3", "100,000", "2016", "1,000,000", "3.5"])
def test_numbers_stay_whole(number: str) -> None:
    tokens = tokenize(number)
    assert len(tokens) == 1
    # Not split at the separator: no piece of the number is a token of its own.
    pieces = number.replace(",", ".").split(".")
    if len(pieces) > 1:
        assert all(tokens != [piece] for piece in pieces)


def test_numbers_in_running_text() -> None:
    assert tokenize("founded in 2016.") == tokenize("founded 2016")
    assert tokenize("2016.") == tokenize("2016") == ["2016"]
    assert tokenize("$14.3 billion") == [*tokenize("14.3"), *tokenize("billion")]
    assert tokenize("14.3") != tokenize("14.8")
    # The same figure written with or without thousands separators matches.
    assert tokenize("100,000 contractors") == tokenize("100000 contractors")
    assert tokenize("49%") == tokenize("49")


def test_stopwords_are_removed() -> None:
    assert tokenize("what is the") == []
    assert tokenize("Who is the CEO of it?") == tokenize("CEO")
    for word in ("the", "is", "what", "who", "of"):
        assert word in STOPWORDS
        assert tokenize(word) == []
    # `words` keeps them: it is the plain word split, before stopword removal.
    assert words("What is the Stake?") == ["what", "is", "the", "stake"]


def test_single_letters_are_dropped_but_single_digits_kept() -> None:
    assert tokenize("x") == []
    assert tokenize("7") == ["7"]


@pytest.mark.parametrize("form", ["invested", "investment", "investments", "investing", "invests"])
def test_stemming_joins_word_forms(form: str) -> None:
    assert tokenize(form) == tokenize("invest")


def test_case_unicode_width_and_hyphens_are_normalised() -> None:
    assert tokenize("ＳＣＡＬＥ ＡＩ") == tokenize("scale ai")
    assert tokenize("data-labeling") == tokenize("data labeling")
    assert tokenize("ﬁnance") == tokenize("finance")


def test_question_and_passage_get_the_same_analysis(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(
        "Meta’s investments in “Scale AI” reached $14.3 billion in 2025.\n"
        "The weather in Lisbon was mild and sunny all week long.\n",
        encoding="utf-8",
    )
    corpus = load_corpus(tmp_path)
    index = build_index(corpus, RankingConfig())
    target = corpus.passages[0]
    assert set(tokenize("Meta invest Scale AI 14.3 billion 2025")) <= set(passage_tokens(target))
    for question in (
        "How much did Meta invest in Scale AI?",
        "meta's investment in scale ai",
        "META INVESTED 14.3 BILLION",
        "investing in Scale’s AI",
    ):
        hits = index.search(question)
        assert hits, question
        assert hits[0].passage == target, question
        assert index.terms(question).tokens == tokenize(question)
        assert index.terms(question).unknown == []


def _regex_words(texts: list[str]) -> list[str]:
    """The reference: the Unicode pattern over each text on its own, DOC_BREAK between."""
    expected: list[str] = []
    for n, text in enumerate(texts):
        if n:
            expected.append(analyze.DOC_BREAK)
        folded = analyze._THOUSANDS.sub("", analyze.normalize(text).casefold())
        expected.extend(analyze._TOKEN.findall(folded))
    return expected


def test_words_of_many_texts_are_each_texts_words_with_breaks() -> None:
    texts = ["", "the end", "Caf\u00e9 Bob's", "Q QQ q", "", "1,000 x", "na\u00efve", "plain", ""]
    expected = _regex_words(texts)
    codes, distinct = analyze.word_codes(texts)
    assert [distinct[c] for c in codes] == expected
    assert distinct == list(dict.fromkeys(expected))  # numbered by first appearance
    assert expected.count(analyze.DOC_BREAK) == len(texts) - 1


def test_word_codes_match_the_regex_on_punctuated_ascii() -> None:
    texts = [
        "a,b 1,234,567 x.y 3.14. 'quoted' don't O'Neil's ,,, ..., 12,34 a'b'c' _x_ 1_000",
        "end.", "'", "..1..2,,3''a''b", "1,000,000th 2,5 x1y2 r&d AT&T e-mail",
        "\tTabs\tand\nnew lines 7.", "Mixed café line", "back to ascii, 9,999.",
    ]
    codes, distinct = analyze.word_codes(texts)
    assert [distinct[c] for c in codes] == _regex_words(texts)


def test_word_codes_match_the_regex_on_random_ascii() -> None:
    rng = random.Random(7)
    alphabet = "ab'.,019 _-\nXz"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(500)]
    codes, distinct = analyze.word_codes(texts)
    assert [distinct[c] for c in codes] == _regex_words(texts)


def test_operators_in_inline_code_are_tokens_in_place() -> None:
    assert inline_code_tokens("the `?` operator on a `Result`") == ["?", "oper", "result"]
    # Longer code is words, as before; a question's own punctuation is no operator.
    assert inline_code_tokens("`a ^ b` and `^=`") == [*tokenize("a b and"), "^="]
    assert asked_operators("can i use ? on an option?") == ["?"]
    assert asked_operators("how does it work ?") == []
    assert asked_operators("overload `+=` - not / this") == ["+="]


def test_camel_case_names_in_code_also_give_their_words() -> None:
    found = inline_code_tokens("npm ignores `peerDependencies` here")
    assert found[:3] == ["npm", "ignor", "peerdepend"]
    assert {"peer", "depend"} <= set(found)
    # Prose keeps its words whole: only code is split.
    assert "java" not in inline_code_tokens("JavaScript and `readFile`")
    assert {"read", "file"} <= set(inline_code_tokens("JavaScript and `readFile`"))
