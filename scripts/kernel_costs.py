"""The engine's time per path, by company, against the market kernel's, in one process.

    python scripts/kernel_costs.py [--scenario FILE] [--drop NAME ...] [--groups G] [--repeats R] [--rounds K]

For the scenario as it is and for each variant without one company (``--drop``, repeatable; by
default each company in turn, then all of them), this times the engine on ``32 G`` paths, one
thread: its market kernel alone (:func:`simulator.engine.run_market`) and the whole simulation,
market and companies (:func:`simulator.engine.run`, per-path results only), the least time of
``R`` repeats of each. The variants take turns, ``K`` rounds, all in one process, so that a slow
spell of the machine falls on all of them; the market kernel's time, which no variant changes,
shows how steady the machine was.

A company's cost is the engine's time on the whole scenario less that on the variant without it.
A contract with a dropped company is kept, with an external counterparty that never defaults
(``hazard: 0``), so the other companies keep their contracts' loops. The variant without any
company is the engine's market and its company kernel's fixed cost (set-up and step loop).

Compare variants within one process: whole runs of one version of the code vary by 10 % and more
from one process to the next on the machine of ``docs/performance.md`` (section 20), so a
difference of a few per cent between two processes (two versions of the code) is not a
measurement; ``scripts/engine_compare.py`` compares two versions in one process.
"""

import argparse
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def variant(path: str, drop: tuple) -> object:
    """The scenario at ``path`` without the companies in ``drop`` (their contracts with the others
    made external, never defaulting)."""
    from simulator.scenario.loader import resolve_dict, validate

    data, sources = resolve_dict(path, ())  # a fresh mapping, read from the files
    for name in drop:
        del data["companies"][name]
    for co in data["companies"].values():
        for k in co.get("contracts") or ():
            if k.get("counterparty") in drop:
                k["counterparty"] = "external"
                k["hazard"] = 0.0
    return validate(data, sources, path)


class Timing:
    """The engine on ``paths`` paths of one scenario variant: its market kernel alone
    (:func:`simulator.engine.run_market`) and the whole simulation, market and companies
    (:func:`simulator.engine.run`, per-path results only), as :mod:`scripts.time_split` times them."""

    def __init__(self, sc, paths: int):
        from simulator.company import pack_companies
        from simulator.drivers import pack_market

        self.sc, self.paths = sc, paths
        self.mi, self.ci = pack_market(sc), pack_companies(sc)

    def market(self) -> None:
        from simulator.engine import run_market

        run_market(self.sc, n_paths=self.paths, inputs=self.mi)

    def engine(self) -> None:
        from simulator.engine import run

        run(self.sc, n_paths=self.paths, inputs=self.mi, companies=self.ci, full=False, keep_market=False)

    def least(self, repeats: int) -> tuple[float, float]:
        """Least seconds per path of the market kernel and of the engine over ``repeats``."""
        tm, te = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            self.market()
            tm.append(time.perf_counter() - t)
            t = time.perf_counter()
            self.engine()
            te.append(time.perf_counter() - t)
        return min(tm) / self.paths, min(te) / self.paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "avalanche.yaml"))
    ap.add_argument("--drop", action="append", help="a company to drop (repeatable); default: each in turn")
    ap.add_argument("--groups", type=int, default=300, help="paths, in lane groups of 32 (default 300)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from simulator._kernels.blocks import num_threads
    from simulator.scenario import load_scenario

    if num_threads() != 1:
        sys.exit("run it on one thread: NUMBA_NUM_THREADS=1 python scripts/kernel_costs.py ...")
    names = tuple(load_scenario(args.scenario).companies)
    unknown = sorted(set(args.drop or ()) - set(names))
    if unknown:
        sys.exit(f"no company {', '.join(unknown)} in {args.scenario} (it has {', '.join(names)})")
    drops = [()] + [(d,) for d in (args.drop or names)] + [names]
    timings = [Timing(variant(args.scenario, d), 32 * args.groups) for d in drops]
    for t in timings:  # compile (or load) and warm up outside the timing
        t.market()
        t.engine()
    best = [[np.inf, np.inf] for _ in drops]
    for _ in range(args.rounds):
        for k, t in enumerate(timings):
            m, c = t.least(args.repeats)
            best[k] = [min(best[k][0], m), min(best[k][1], c)]
    whole = best[0][1]
    print(f"{pathlib.Path(args.scenario).name}: {args.groups * 32} paths, least of {args.repeats} x {args.rounds}, "
          "one thread; us per path")
    print(f"{'variant':<28}{'market':>9}{'engine':>9}{'company cost':>14}")
    for d, (m, c) in zip(drops, best):
        label = "as it is" if not d else ("without every company" if d == names and len(d) > 1
                                         else "without " + ", ".join(d))
        cost = "" if not d or len(d) > 1 else f"{(whole - c) * 1e6:14.2f}"
        print(f"{label:<28}{m * 1e6:9.2f}{c * 1e6:9.2f}{cost}")


if __name__ == "__main__":
    main()
