"""Where a summary-mode run's simulation time goes: market kernel, companies, reduction.

    NUMBA_CACHE_DIR=/tmp/nc python scripts/time_split.py [--paths N] [--reps R] [--threads T]

Times, in one process and interleaved repetitions (``time.perf_counter``;
kernels compiled first), on ``scenarios/avalanche.yaml``:

- market: :func:`simulator.engine.run_market` (the market kernel, paths kept);
- simulation: :func:`simulator.engine.run` without full output or market paths
  (market and every company; per-path scalars only);
- summary: :func:`simulator.stream.run_summary` in the histogram-sketch regime
  (what a large summary-mode run does: simulation, counts, bands).

Prints the medians in ns per path-month and the differences: companies =
simulation - market, reduction = summary - simulation. The fixed cost of a
process (imports, cached-kernel loading, writing the file) is timed by
``scripts/startup_phases.py``.
"""

import argparse
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import numba

    from simulator.bench import workload
    from simulator.engine import run, run_market
    from simulator.stream import run_summary

    w = workload(ROOT / "scenarios" / "avalanche.yaml", args.paths)
    bodies = {
        "market": lambda n: run_market(w.scenario, n_paths=n, inputs=w.inputs),
        "simulation": lambda n: run(w.scenario, n_paths=n, inputs=w.inputs, companies=w.companies_inputs,
                                    full=False, keep_market=False),
        "summary": lambda n: run_summary(w.scenario, n_paths=n, inputs=w.inputs, companies=w.companies_inputs,
                                         exact_bytes=0),
    }
    for f in bodies.values():
        f(600)  # compile outside the timed part
    numba.set_num_threads(args.threads)
    times = {k: [] for k in bodies}
    for _ in range(args.reps):
        for k, f in bodies.items():
            t0 = time.perf_counter()
            f(args.paths)
            times[k].append(time.perf_counter() - t0)
    pm = args.paths * w.months
    med = {k: statistics.median(v) / pm * 1e9 for k, v in times.items()}
    print(f"scenarios/avalanche.yaml, {args.paths} paths x {w.months} months, {args.threads} thread(s), "
          f"median of {args.reps} interleaved reps, wall ns per path-month")
    print(f"  market kernel               {med['market']:8.1f}")
    print(f"  companies (sim - market)    {med['simulation'] - med['market']:8.1f}")
    print(f"  reduction (summary - sim)   {med['summary'] - med['simulation']:8.1f}")
    print(f"  summary run, in all         {med['summary']:8.1f}")


if __name__ == "__main__":
    main()
