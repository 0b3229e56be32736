"""Build times of several systems, alternated over a few rounds, so a shared machine's drift
lands on all of them alike.

    .venv/bin/python -m bench.build_rounds [--size 1M] [--systems citebot-sparse,tantivy]
                                          [--rounds 3]
    .venv/bin/python -m bench.build_rounds --systems citebot-sparse,citebot-sparse@0e69ada

Each build is `bench.run`'s build phase in a fresh process from an empty cache folder.
`SYSTEM@REV` builds SYSTEM with the code of git revision REV: the revision's files are
exported (`git archive`) into a temporary folder, and the worker runs there with PYTHONPATH
pointing at it, so its own bench and retrieval code build the index. Prints each build's wall
seconds and CPU seconds (user + system, the process and its children), then each system's
median wall and CPU time.
"""

from __future__ import annotations

import argparse
import io
import resource
import shutil
import statistics
import subprocess
import tarfile
import tempfile
from pathlib import Path

from bench.corpora import DATA, corpus_for
from bench.run import ROOT, prepare_peer_passages, run_worker
from bench.systems import CITEBOT


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def export_revision(rev: str, parent: Path) -> Path:
    """The files of git revision `rev` of this repository, in a new folder under `parent`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev], cwd=ROOT, capture_output=True, check=False
    )
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip()
        raise SystemExit(f"cannot export revision {rev}: {message}")
    target = parent / f"citebot-{rev.replace('/', '_')}"
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def checkouts(systems: list[str], parent: Path) -> dict[str, tuple[str, Path]]:
    """Each system label's system name and the checkout its worker runs in."""
    out: dict[str, tuple[str, Path]] = {}
    exported: dict[str, Path] = {}
    for label in systems:
        name, _, rev = label.partition("@")
        if rev and rev not in exported:
            exported[rev] = export_revision(rev, parent)
        out[label] = (name, exported[rev] if rev else ROOT)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1M")
    parser.add_argument(
        "--systems",
        default="citebot-sparse,tantivy",
        help="comma-separated; SYSTEM@REV builds SYSTEM with the code of git revision REV",
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus = corpus_for(args.size)
    systems = args.systems.split(",")
    walls: dict[str, list[float]] = {system: [] for system in systems}
    cpus: dict[str, list[float]] = {system: [] for system in systems}
    if any(label.partition("@")[0] not in CITEBOT for label in systems):
        prepare_peer_passages(corpus.folder, DATA / "cache" / corpus.name)
    with tempfile.TemporaryDirectory(prefix="citebot-rounds-") as tmp:
        where = checkouts(systems, Path(tmp))
        for round_ in range(1, args.rounds + 1):
            # Each round starts with the system that went last in the round before.
            order = systems if round_ % 2 else systems[::-1]
            for label in order:
                name, root = where[label]
                safe = label.replace("@", "-at-").replace("/", "_")
                cache = DATA / "cache" / corpus.name / f"rounds-{safe}"
                shutil.rmtree(cache, ignore_errors=True)
                cpu_before = _cpu_of_children()
                built = run_worker(
                    name,
                    "build",
                    ["--corpus", str(corpus.folder), "--cache", str(cache)],
                    root=root,
                )
                cpu = _cpu_of_children() - cpu_before
                shutil.rmtree(cache, ignore_errors=True)
                walls[label].append(float(built["build_s"]))
                cpus[label].append(cpu)
                print(
                    f"round {round_} {label}: {built['build_s']:.1f} s wall, {cpu:.1f} s CPU, "
                    f"peak RSS {built['rss_build_mb']:,.0f} MB",
                    flush=True,
                )
    for label, times in walls.items():
        print(
            f"{label}: median {statistics.median(times):.1f} s wall, "
            f"{statistics.median(cpus[label]):.1f} s CPU over {len(times)} builds"
        )


if __name__ == "__main__":
    main()
