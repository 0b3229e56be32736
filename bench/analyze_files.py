"""One worker's analysis of a few files of a benchmark corpus, for instruction counts:

    valgrind --tool=callgrind .venv/bin/python -m bench.analyze_files --files 100:103
    valgrind --tool=callgrind .venv/bin/python -m bench.analyze_files --files 0:0  # imports only

callgrind counts instructions, which the load of a shared machine does not change; the
difference of the two totals is the analysis.
"""

from __future__ import annotations

import argparse

from bench.corpora import corpus_for
from retrieval.build import analyze_files
from retrieval.corpus import corpus_files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1M")
    parser.add_argument("--files", default="100:103", help="a slice of the corpus files")
    args = parser.parse_args()
    corpus = corpus_for(args.size)
    start, stop = (int(part) for part in args.files.split(":"))
    names = [path.relative_to(corpus.folder).as_posix() for path in corpus_files(corpus.folder)]
    batch = analyze_files((str(corpus.folder), names[start:stop]))
    print(f"{len(batch.files)} files, {len(batch.headline)} blocks")


if __name__ == "__main__":
    main()
