"""Figures in text and where sources disagree on them."""

from __future__ import annotations

import pytest

from retrieval.quantities import Quantity, disagreements, quantities


def figures(text: str) -> list[tuple[str, float, str]]:
    return [(q.kind, q.value, q.unit) for q in quantities(text)]


@pytest.mark.parametrize(
    ("text", "value", "unit", "shown"),
    [
        ("Meta invested $14.3 billion in the startup.", 14.3e9, "$", "$14.3 billion"),
        ("The deal valued Scale at $29bn.", 29e9, "$", "$29bn"),
        ("Google planned to pay $200 million this year.", 200e6, "$", "$200 million"),
        ("It raised €5 million.", 5e6, "€", "€5 million"),
        ("A fee of £1,250 was paid.", 1250.0, "£", "£1,250"),
    ],
)
def test_money(text: str, value: float, unit: str, shown: str) -> None:
    (q,) = quantities(text)
    assert q.kind == "money"
    assert q.value == pytest.approx(value)
    assert q.unit == unit
    assert q.text == shown


@pytest.mark.parametrize(
    "text", ["Meta took a 49% stake.", "Meta took a 49 percent stake.", "Meta took 49 per cent."]
)
def test_percent(text: str) -> None:
    assert quantities(text) == [Quantity("percent", 49.0, "%", "49%")]


def test_years() -> None:
    assert figures("Scale AI was founded in 2016.") == [("year", 2016.0, "")]
    assert figures("Between 1998 and 2024 much changed.") == [
        ("year", 1998.0, ""),
        ("year", 2024.0, ""),
    ]
    # A day of the month is not a figure; the year after it is.
    assert figures("Meta announced it on June 12, 2025.") == [("year", 2025.0, "")]


def test_counts_carry_their_unit() -> None:
    assert figures("Scale employs 100,000 contractors.") == [("count", 100000.0, "contractors")]
    assert figures("The app has 3.5 million users.") == [("count", 3.5e6, "users")]
    (q,) = quantities("It cut 300 jobs.")
    assert (q.kind, q.value, q.unit, q.text) == ("count", 300.0, "jobs", "300")


def test_mixed_sentence() -> None:
    kinds = [q.kind for q in quantities("In 2025 Meta paid $14.3 billion for 49% of 1 company.")]
    assert kinds == ["year", "money", "percent", "count"]


def test_bare_numbers_are_not_figures() -> None:
    assert quantities("He founded it at 19, on the 18th.") == []
    assert quantities("No figures here at all.") == []


@pytest.mark.parametrize(
    "text",
    [
        "Meta aimed to invest about $14 billion.",
        "It is worth around $29 billion.",
        "Nearly 50% of staff left.",
        "It employs over 100,000 contractors.",
        "Meta will invest more than $10 billion.",
        "Roughly 300 employees were laid off.",
        "Costs were approximately $5 million.",
        "It reached up to 40% at times.",
        "At least 200 clients signed up.",
        "Valued at ~$29 billion.",
    ],
)
def test_hedged_figures_are_skipped(text: str) -> None:
    assert quantities(text) == []


def test_only_the_hedged_figure_is_skipped() -> None:
    assert figures("Meta paid $14.3 billion, about $1 billion more than planned.") == [
        ("money", 14.3e9, "$"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Insurance will cover $200 million of the losses.",
        "Scale hopes to recover $5 million from the contract.",
        "A handsome $5 billion payout followed.",
    ],
)
def test_words_ending_like_a_hedge_do_not_hide_a_figure(text: str) -> None:
    assert [q.kind for q in quantities(text)] == ["money"]


def test_year_after_a_month_is_a_year() -> None:
    assert figures("Scale AI was founded in June 2016.") == [("year", 2016.0, "")]


def money(text: str) -> list[Quantity]:
    return quantities(f"Meta paid {text} for the stake.")


def test_close_figures_from_different_sources_disagree() -> None:
    found = [("A:1", money("$14.3 billion")), ("B:6", money("$14.8 billion")),
             ("C:2", money("$14.3 billion"))]
    result = disagreements(found)
    assert result is not None
    kind, values = result
    assert kind == "money"
    assert values == [("$14.3 billion", ["A:1", "C:2"]), ("$14.8 billion", ["B:6"])]


def test_agreeing_sources_give_no_disagreement() -> None:
    assert disagreements([("A", money("$14.3 billion")), ("B", money("$14.3bn"))]) is None
    assert disagreements([("A", money("$29 billion")), ("B", money("$29,000 million"))]) is None


def test_far_apart_or_other_kinds_are_not_a_disagreement() -> None:
    # Different things, not one thing told differently.
    assert disagreements([("A", money("$14.3 billion")), ("B", money("$200 million"))]) is None
    assert disagreements([("A", money("$5 million")), ("B", money("€5.5 million"))]) is None
    assert disagreements(
        [("A", quantities("Founded in 2016.")), ("B", quantities("Founded in 2017."))]
    ) is None
    assert disagreements([("A", money("$14.3 billion")), ("B", quantities("It took 49%."))]) is None


def test_kinds_filter_and_anchor() -> None:
    found = [("A", quantities("It took 49% for $14.3 billion.")),
             ("B", quantities("It took 45% for $14.8 billion."))]
    money_only = disagreements(found, {"money"})
    assert money_only is not None and money_only[0] == "money"
    percent_only = disagreements(found, {"percent"})
    assert percent_only is not None
    assert percent_only == ("percent", [("49%", ["A"]), ("45%", ["B"])])
    assert disagreements(found, {"year"}) is None
    # The best source's figures are the anchor: a source without any gives nothing to compare.
    assert disagreements([("A", []), *found]) is None
    assert disagreements([]) is None


def test_same_amount_in_other_units_is_not_a_disagreement() -> None:
    assert disagreements([("A", money("$4.1 billion")), ("B", money("$4,100 million"))]) is None
