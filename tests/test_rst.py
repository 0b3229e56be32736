"""reStructuredText read by its structure: titles as sections, code as code, admonitions as
prose, markup gone, and every line at its number."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from retrieval.answer import answer
from retrieval.documents.rst import rst_to_commonmark
from retrieval.engines import RankingConfig
from retrieval.index import Index
from tests.oracle import build_index, load_corpus

PAGE = """\
.. _add-test:

add_test
--------

Add a test to the project to be run by :manual:`ctest(1)`.

.. code-block:: cmake

  add_test(NAME <name> COMMAND <command> [<arg>...])

Options
^^^^^^^

``WORKING_DIRECTORY``
  Set the test property that names the directory
  in which to run the test.

  If not given, the test runs in the build directory.

.. versionadded:: 3.18
  Arguments may contain generator expressions.

.. note::

   Tests are run by :ref:`the ctest tool <ctest>` only after ``enable_testing()``.

.. image:: diagram.png
   :alt: a diagram nobody asks about

Example::

    add_test(NAME mytest COMMAND testDriver --config $<CONFIG>)

See `the CTest wiki <https://example.com/ctest>`_ for more.
"""


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@given(st.lists(st.sampled_from(
    ["Title", "=====", "-----", "", "  indented", ".. note::", ".. code-block:: c", "text::",
     "   code", ".. _t:", "``x``", ":ref:`a <b>`", "* item", "#. step", "=====  =====",
     "`link <http://x>`_", "word", "windows\r", "odd\u2028break", "   "]
), max_size=40), st.booleans())
def test_every_line_keeps_its_number(lines: list[str], newline_at_end: bool) -> None:
    source = "\n".join(lines) + ("\n" if newline_at_end else "")
    # Lines end at "\n", "\r\n" or a lone "\r", as the Markdown reader counts them.
    breaks = source.replace("\r\n", "\n").replace("\r", "\n").count("\n")
    assert rst_to_commonmark(source).count("\n") == breaks


def test_a_sphinx_page_reads_as_sections_prose_and_code(tmp_path: Path) -> None:
    (tmp_path / "add_test.rst").write_text(PAGE, encoding="utf-8")
    index = Index.build_folder(tmp_path, RankingConfig())
    texts = {p.text: p for p in index.passages}
    joined = "\n".join(texts)
    # Markup and targets are gone; code is never a passage; the image directive goes.
    for gone in (".. ", "``", ":ref:", ":manual:", "------", "^^^^", "add_test(NAME", "diagram"):
        assert gone not in joined, gone
    first = next(p for t, p in texts.items() if t.startswith("Add a test"))
    assert first.heading == "add_test" and first.line_start == line_of(PAGE, "Add a test")
    option = next(p for t, p in texts.items() if "names the directory" in t)
    assert option.heading == "add_test › Options"
    assert option.text.startswith("`WORKING_DIRECTORY`")
    assert option.line_start == line_of(PAGE, "``WORKING_DIRECTORY``")
    assert "New in version 3.18: Arguments may contain" in joined
    assert any(t.startswith("Tests are run by the ctest tool") for t in texts)
    assert any(t == "See the CTest wiki for more." for t in texts)
    # The code under "Example::" is searchable as code, and the sentence before it stays.
    assert index.search("testDriver")[0].passage.text.startswith("Example")
    version = answer(index, "which version allowed generator expressions in arguments")
    assert "3.18" in version.passages[0].marked


def test_a_rubric_heads_the_text_under_it(tmp_path: Path) -> None:
    (tmp_path / "pip.rst").write_text(
        "pip\n===\n\nGeneral options.\n\n.. rubric:: Build System Interface\n\n"
        "This is now covered elsewhere.\n",
        encoding="utf-8",
    )
    index = Index.build_folder(tmp_path, RankingConfig())
    assert [(p.text, p.heading) for p in index.passages] == [
        ("General options.", "pip"),
        ("This is now covered elsewhere.", "pip › Build System Interface"),
    ]


def test_the_build_reads_rst_as_the_reference_chunker_does(tmp_path: Path) -> None:
    (tmp_path / "add_test.rst").write_text(PAGE, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("Plain text stays plain.\n", encoding="utf-8")
    built = Index.build_folder(tmp_path, RankingConfig())
    reference = build_index(load_corpus(tmp_path), RankingConfig())
    assert built.passages == reference.passages
    assert built.postings.vocab == reference.postings.vocab
    assert np.array_equal(built.postings.doc_len, reference.postings.doc_len)


def test_review_cases_read_as_sphinx_means_them(tmp_path: Path) -> None:
    cases = {
        "bare.rst": "Run.\n\n::\n\n    aws s3 ls\n",
        "nested.rst": ".. note::\n\n   .. code-block:: cmake\n\n      foo()\n\n   Then call it.\n",
        "angle.rst": "CMAKE_<LANG>_FLAGS\n------------------\n\n<CONFIG>-specific flags.\n",
        "wrapped.rst": (
            "See :ref:`semicolon-separated\nlist <Lists>` and `Text\n<http://x>`_ too.\n"
        ),
        "tab.rst": "  .. code-block:: c\n\n\tcode_here()\n\nAfter.\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    index = Index.build_folder(tmp_path, RankingConfig())
    texts = {p.file: (p.text, p.heading) for p in index.passages}
    # Code after a bare "::" or inside a note, or indented by a tab, is never prose.
    assert "aws s3 ls" not in str(texts) and "foo()" not in str(texts)
    assert "code_here" not in str(texts)
    assert texts["nested.rst"][0] == "Then call it."
    assert texts["angle.rst"] == ("<CONFIG>-specific flags.", "CMAKE_<LANG>_FLAGS")
    assert texts["wrapped.rst"][0] == "See semicolon-separated list and Text too."
    assert index.search("aws s3")[0].passage.file == "bare.rst"  # as code


def test_long_lines_of_markup_characters_cost_linear_time() -> None:
    for line in ("a:" * 20000, "==" + " " * 20000 + "x", ":x:`" + "a" * 20000, "`" + "a " * 20000):
        assert rst_to_commonmark(line).count("\n") == 0


def test_a_short_title_is_a_title() -> None:
    converted = rst_to_commonmark("Go\n==\n\nThe go tool builds.\n\nNotes\n-----\n\nA note.\n")
    assert converted.splitlines()[0] == "# Go" and "## Notes" in converted
