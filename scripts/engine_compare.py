"""Time the engine of a git revision against the working tree's, in one process.

    NUMBA_CACHE_DIR=/tmp/nc python scripts/engine_compare.py [REV] [--paths N] [--reps R] [--mode sim|summary]
                                                             [--threads T]

Both versions of the whole ``simulator`` package are imported side by side
(the revision's copy renamed to ``simulator_rev``) and timed in interleaved
repetitions (the machine is shared): on one thread by ``time.thread_time``,
on more (``--threads``) by wall time, ``time.perf_counter``:

- ``sim``: :func:`simulator.engine.run` without full output or market paths
  (market drivers and every company; per-path scalars only);
- ``summary``: :func:`simulator.stream.run_summary` in the histogram-sketch
  regime (what a large summary-mode run does).

Scenario ``scenarios/avalanche.yaml`` of the working tree, for both. Prints
the minimum and median of each, in ns per path-month, and their ratios.
REV defaults to ``main``.
"""

import argparse
import importlib
import pathlib
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def import_revision(rev: str, tmp: pathlib.Path):
    """The package at ``rev``, extracted into ``tmp`` and imported as ``simulator_rev``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "simulator"], check=True,
                             capture_output=True).stdout
    (tmp / "src.tar").write_bytes(archive)
    with tarfile.open(tmp / "src.tar") as tar:
        tar.extractall(tmp, filter="data")
    pkg = tmp / "simulator_rev"
    (tmp / "simulator").rename(pkg)
    for path in pkg.rglob("*.py"):
        path.write_text(re.sub(r"\bsimulator(?=[.\s])", "simulator_rev", path.read_text()))
    sys.path.insert(0, str(tmp))
    return pkg


def body(tag: str, mode: str, paths: int):
    bench = importlib.import_module(f"{tag}.bench")
    w = bench.workload(str(ROOT / "scenarios" / "avalanche.yaml"), paths)
    if mode == "sim":
        engine = importlib.import_module(f"{tag}.engine")
        return w.months, lambda n=paths: engine.run(w.scenario, n_paths=n, inputs=w.inputs,
                                                    companies=w.companies_inputs, full=False, keep_market=False)
    stream = importlib.import_module(f"{tag}.stream")
    return w.months, lambda n=paths: stream.run_summary(w.scenario, n_paths=n, inputs=w.inputs,
                                                        companies=w.companies_inputs, exact_bytes=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", nargs="?", default="main")
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--mode", choices=("sim", "summary"), default="sim")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import numba

    numba.set_num_threads(args.threads)
    clock = time.thread_time if args.threads == 1 else time.perf_counter
    with tempfile.TemporaryDirectory() as tmp:
        import_revision(args.rev, pathlib.Path(tmp))
        sys.path.insert(0, str(ROOT))
        names = {"simulator_rev": args.rev, "simulator": "working tree"}
        fns = {}
        for tag in names:
            months, fns[tag] = body(tag, args.mode, args.paths)
        for f in fns.values():  # compile outside the timed part
            f(600)
        times = {tag: [] for tag in names}
        for r in range(args.reps):
            for tag in names if r % 2 == 0 else reversed(list(names)):
                t0 = clock()
                fns[tag]()
                times[tag].append(clock() - t0)
    pm = args.paths * months
    print(f"scenarios/avalanche.yaml, {args.paths} paths, mode {args.mode}, {args.threads} thread(s), "
          f"{args.reps} interleaved reps")
    for tag, name in names.items():
        print(f"  {name:14s} min {min(times[tag]) / pm * 1e9:7.1f}  median {statistics.median(times[tag]) / pm * 1e9:7.1f}"
              "  ns per path-month")
    a, b = times["simulator_rev"], times["simulator"]
    print(f"  working tree / {args.rev}: min {min(b) / min(a):.3f}  median {statistics.median(b) / statistics.median(a):.3f}")


if __name__ == "__main__":
    main()
