"""Build times of several systems, alternated over a few rounds, so a shared machine's drift
lands on all of them alike.

    .venv/bin/python -m bench.build_rounds [--size 1M] [--systems citebot-sparse,tantivy]
                                          [--rounds 3]

Each build is `bench.run`'s build phase in a fresh process from an empty cache folder. Prints
each build's wall seconds and CPU seconds (user + system, the process and its children),
then each system's median wall time.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics

from bench.corpora import DATA, corpus_for
from bench.run import run_worker


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1M")
    parser.add_argument("--systems", default="citebot-sparse,tantivy")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus = corpus_for(args.size)
    systems = args.systems.split(",")
    walls: dict[str, list[float]] = {system: [] for system in systems}
    for round_ in range(1, args.rounds + 1):
        # Each round starts with the system that went last in the round before.
        order = systems if round_ % 2 else systems[::-1]
        for system in order:
            cache = DATA / "cache" / corpus.name / f"rounds-{system}"
            shutil.rmtree(cache, ignore_errors=True)
            cpu_before = _cpu_of_children()
            built = run_worker(
                system, "build", ["--corpus", str(corpus.folder), "--cache", str(cache)]
            )
            cpu = _cpu_of_children() - cpu_before
            shutil.rmtree(cache, ignore_errors=True)
            walls[system].append(float(built["build_s"]))
            print(
                f"round {round_} {system}: {built['build_s']:.1f} s wall, {cpu:.1f} s CPU, "
                f"peak RSS {built['rss_build_mb']:,.0f} MB",
                flush=True,
            )
    for system, times in walls.items():
        print(f"{system}: median {statistics.median(times):.1f} s over {len(times)} builds")


if __name__ == "__main__":
    main()
