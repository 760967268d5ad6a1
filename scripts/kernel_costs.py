"""The company kernel's cost per path, by company, against the market kernel's, in one process.

    python scripts/kernel_costs.py [--scenario FILE] [--drop NAME ...] [--groups G] [--repeats R] [--rounds K]

For the scenario as it is and for each variant without one company (``--drop``, repeatable; by
default each company in turn, then all of them), this fills the market buffers of ``G`` lane
groups of 32 paths with :func:`~simulator._kernels.engine.market_lanes`, then steps the companies
on them with :func:`~simulator._kernels.company.companies_lanes`, one thread, and keeps the least
time of ``R`` repeats of each. The variants take turns, ``K`` rounds, all in one process, so that a
slow spell of the machine falls on all of them; the market kernel's time, which no variant
changes, shows how steady the machine was.

A company's cost is the time of the whole scenario less that of the variant without it. A
contract with a dropped company is kept, with an external counterparty that never defaults
(``hazard: 0``), so the other companies keep their contracts' loops. The variant without any
company is the kernel's fixed cost: its set-up, its step loop, and the call from Python once per
lane group, which a run does not make (a run calls it from compiled code).

Compare variants within one process. On the machine of ``docs/performance.md`` (section 20), nine
processes of one version of the code gave the whole scenario 13.30-14.00 us a path and the market
kernel 5.10-5.31: a difference of a few per cent between two processes (two versions of the
code) is not a measurement.
"""

import argparse
import copy
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def variant(path: str, drop: tuple) -> object:
    """The scenario at ``path`` without the companies in ``drop`` (their contracts with the others
    made external, never defaulting)."""
    from simulator.scenario.loader import resolve_dict, validate

    data, sources = resolve_dict(path, ())
    data = copy.deepcopy(data)
    for name in drop:
        del data["companies"][name]
    for co in data["companies"].values():
        for k in co.get("contracts") or ():
            if k.get("counterparty") in drop:
                k["counterparty"] = "external"
                k["hazard"] = 0.0
    return validate(data, sources, path)


class Timing:
    """Market and company kernel on ``groups`` lane groups of one scenario variant."""

    def __init__(self, sc, groups: int):
        from simulator._kernels import company_layout as CL
        from simulator._kernels import layout as L
        from simulator._kernels.company import NL
        from simulator._kernels.summary import SUMMARY_LINES
        from simulator.company import pack_companies
        from simulator.drivers import pack_market
        from simulator.precompile import lane_kernels

        self.mi, self.ci = mi, ci = pack_market(sc), pack_companies(sc)
        self.kernels = lane_kernels(mi, ci)
        n, nc = mi.n_steps, ci.n
        self.groups, self.nl = groups, NL
        self.bufs = np.empty((groups, n, L.N_MARKET_BUF, NL))
        self.no_shocks = np.zeros((0, 0, 0))
        self.series = tuple(np.ascontiguousarray(a, dtype=float)
                            for a in (mi.demand_log_expected, mi.network_hashrate, mi.block_subsidy))
        self.lines = np.array(SUMMARY_LINES, dtype=np.int64)
        self.out = (np.empty((NL, nc, CL.N_PINT), dtype=np.int64), np.empty((NL, nc, CL.N_PFLT)),
                    np.empty((nc, n, NL), dtype=np.int8), np.zeros((len(SUMMARY_LINES), nc, n, NL)))

    def market(self) -> None:
        mi, market = self.mi, self.kernels[0]
        for g in range(self.groups):
            market(g * self.nl, self.nl, mi.k0, mi.k1, 0, mi.n_steps, mi.dt, mi.months_per_step, mi.chol, mi.params,
                   mi.models, mi.btc_series, mi.rate_series, self.no_shocks, self.bufs[g])

    def companies(self) -> None:
        mi, ci = self.mi, self.ci
        company, parts = self.kernels[1], self.kernels[2:]
        for g in range(self.groups):
            company(mi.k0, mi.k1, g * self.nl, g * self.nl, mi.n_steps, mi.dt, mi.months_per_step, self.bufs[g],
                    mi.params, *self.series, ci.cpar, ci.kpar, ci.kptr, ci.tpar, ci.tptr, ci.fpar, ci.fptr,
                    self.no_shocks, self.lines, *self.out, *parts)

    def least(self, repeats: int) -> tuple[float, float]:
        """Least seconds per path of the market and of the company kernel over ``repeats``."""
        tm, tc = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            self.market()
            tm.append(time.perf_counter() - t)
            t = time.perf_counter()
            self.companies()
            tc.append(time.perf_counter() - t)
        n = self.groups * self.nl
        return min(tm) / n, min(tc) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "avalanche.yaml"))
    ap.add_argument("--drop", action="append", help="a company to drop (repeatable); default: each in turn")
    ap.add_argument("--groups", type=int, default=300, help="lane groups of 32 paths (default 300)")
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
    timings = [Timing(variant(args.scenario, d), args.groups) for d in drops]
    for t in timings:  # compile (or load) and warm up outside the timing
        t.market()
        t.companies()
    best = [[np.inf, np.inf] for _ in drops]
    for _ in range(args.rounds):
        for k, t in enumerate(timings):
            m, c = t.least(args.repeats)
            best[k] = [min(best[k][0], m), min(best[k][1], c)]
    whole = best[0][1]
    print(f"{pathlib.Path(args.scenario).name}: {args.groups * 32} paths, least of {args.repeats} x {args.rounds}, "
          "one thread; us per path")
    print(f"{'variant':<28}{'market':>9}{'companies':>11}{'company cost':>14}")
    for d, (m, c) in zip(drops, best):
        label = "as it is" if not d else ("without every company" if d == names and len(d) > 1
                                         else "without " + ", ".join(d))
        cost = "" if not d or len(d) > 1 else f"{(whole - c) * 1e6:14.2f}"
        print(f"{label:<28}{m * 1e6:9.2f}{c * 1e6:11.2f}{cost}")


if __name__ == "__main__":
    main()
