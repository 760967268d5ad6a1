"""Time the fixed-cost steps of a summary run, one after the other, in one fresh process.

The steps are those of :func:`simulator.api._simulate` for one scenario
(``docs/performance.md`` section 3, "The fixed cost of a run"). Run from the
project root with a warm ``NUMBA_CACHE_DIR``, several times (the first
process after an edit also compiles)::

    python scripts/startup_phases.py [SCENARIO] [PATHS]

Prints ``step<TAB>seconds`` lines (``time.perf_counter`` between steps).
"""

import sys
import time

_T0 = time.perf_counter()
_MARKS = []


def _mark(step: str) -> None:
    _MARKS.append((step, time.perf_counter()))


def main(scenario_file: str = "scenarios/avalanche.yaml", paths: int = 512) -> None:
    from pathlib import Path

    import numpy  # noqa: F401

    _mark("import numpy")
    import simulator.cli  # noqa: F401

    _mark("import click, simulator.cli")
    from simulator.scenario import load_scenario

    _mark("import the scenario schema (pydantic)")
    sc = load_scenario(scenario_file, (), paths=paths)
    _mark("read and validate the scenario")
    from simulator._kernels._jit import without_optional_imports
    from simulator.company import pack_companies
    from simulator.drivers import pack_market
    from simulator.resources import check_fits
    from simulator.stream import run_summary

    _mark("import numba and the kernel modules")
    target = Path("/tmp") / f"startup_phases_{sc.name}.nc"
    check_fits(sc, False, target)
    mi, ci = pack_market(sc), pack_companies(sc)
    _mark("check_fits, pack")
    with without_optional_imports():
        s = run_summary(sc, inputs=mi, companies=ci)
    _mark("first kernel call: numba's CPU target, cached kernel load, the run")
    from simulator.results import company_data, market_data, write_dataset

    res = {"market": None, "pint": s.pint, "pflt": s.pflt, "counts": s.counts, "bands": s.bands,
           "exact": s.exact, "relative_error": s.relative_error, "companies": ci, "inputs": mi, "summary": s}
    data = market_data(sc, None, mi, full=False, summary=s)
    if ci.n:
        data = data.merge(company_data(sc, res, full=False))
    _mark("build the labelled results")
    write_dataset(data, target, force=True)
    _mark("write the NetCDF file")
    target.unlink()


if __name__ == "__main__":
    sys.path.insert(0, ".")  # this checkout's simulator
    main(*(sys.argv[1:2] or []), *(int(a) for a in sys.argv[2:3]))
    prev = _T0
    for step, t in _MARKS:
        print(f"{step}\t{t - prev:.4f}")
        prev = t
    print(f"total in the process\t{prev - _T0:.4f}")
