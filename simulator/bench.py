"""``simulate bench``: the hot loop's throughput on this machine, as ratios.

Every row is timed in the same process, in interleaved rounds (row A, row B,
..., then again), and reported as the median over rounds, so the ratios hold
on a noisy machine. Compilation happens in a warm-up call before the first
round and is never timed.

Rows
----
- RNG floor: NumPy's fastest generator (SFC64, float64 ``standard_normal``, one
  thread) drawing the run's shocks, ``paths x months x 10`` normals, into a
  reused buffer. Every other row is divided by it.
- numba RNG, 1 and all threads: the counter-based generator drawing the same
  count of normals (:func:`simulator._kernels.bench.normal_sum`).
- numba engine, 1 and all threads; numpy engine (the plain-numpy reference,
  drawing its shocks with :func:`simulator.rng.draw` chunk by chunk).
- whole run: ``python -m simulator run SCENARIO --paths N -q`` as a child
  process (process start, scenario loading, cached-kernel loading, results
  file), after one warm-up run that fills the compile cache. Its paths can be
  set apart from the other rows (``whole_run_paths``): a process pays a fixed
  start-up of a second or more, which only a large run amortises. Then the RNG
  floor is timed a second time at that size, and the whole run is divided by it.

The engines timed are :data:`ENGINES`: the full engine (market and every
company of the scenario), the numba one exactly as a summary-mode run calls
it (:func:`simulator.stream.run_summary`), the numpy one the plain-numpy
reference (:func:`simulator.reference.run`) in chunks of
``REFERENCE_CHUNK`` paths. Throughput is path-months x companies per second
for every row, the RNG floor included (its count of normals is fixed at
``paths x months x 10`` by the issue), so the last column compares times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

#: Normals per path-month in the RNG floor (the model's shocks per month).
NORMALS_PER_MONTH = 10
#: Paths per chunk for the numpy engine (bounds its shock array's memory).
NUMPY_CHUNK = 4096


@dataclass(frozen=True)
class Workload:
    """One scenario, packed once, and the size of the run."""

    scenario: object
    inputs: object
    paths: int
    n_steps: int
    months: int
    companies: int
    companies_inputs: object = None


@dataclass(frozen=True)
class EngineSet:
    """The engines the table times: ``run(workload)`` simulates ``workload.paths``."""

    numba: Callable[[Workload], object]
    numpy: Callable[[Workload], object]
    simulates_companies: bool


def _market_numba(w: Workload):
    from simulator.engine import run_market

    return run_market(w.scenario, n_paths=w.paths, inputs=w.inputs)


def _market_numpy(w: Workload):
    from simulator._kernels import layout as L
    from simulator.reference import simulate_market
    from simulator.rng import draw

    streams = np.arange(L.N_MARKET_STREAMS)
    last = None
    for path0 in range(0, w.paths, NUMPY_CHUNK):
        n = min(NUMPY_CHUNK, w.paths - path0)
        shocks = draw(w.scenario.simulation.seed, path0, n, w.n_steps, streams, L.MARKET_STREAM_KINDS)
        last = simulate_market(w.scenario, shocks, btc_series=w.inputs.btc_series, rate_series=w.inputs.rate_series)
    return last


def _full_numba(w: Workload):
    """The numba engine as a summary-mode run uses it: market + every company, streamed and reduced."""
    from simulator.stream import run_summary

    return run_summary(w.scenario, n_paths=w.paths, inputs=w.inputs, companies=w.companies_inputs)


def _full_numpy(w: Workload):
    """The plain-numpy reference engine of the whole model, chunk by chunk (results not kept)."""
    from simulator.engine import REFERENCE_CHUNK
    from simulator.reference import run as reference_run

    last = None
    for path0 in range(0, w.paths, REFERENCE_CHUNK):
        n = min(REFERENCE_CHUNK, w.paths - path0)
        last = reference_run(w.scenario, path0=path0, n_paths=n, inputs=w.inputs, companies=w.companies_inputs)
    return last


#: Market drivers only (phase 1; kept for comparison).
MARKET_ENGINES = EngineSet(numba=_market_numba, numpy=_market_numpy, simulates_companies=False)
#: What the "engine" rows time: the full engine, market and every company of the scenario.
ENGINES = EngineSet(numba=_full_numba, numpy=_full_numpy, simulates_companies=True)


def workload(scenario_file: str | os.PathLike, paths: int) -> Workload:
    from simulator.company import pack_companies
    from simulator.drivers import pack_market
    from simulator.scenario import load_scenario

    sc = load_scenario(scenario_file, paths=paths)
    sim = sc.simulation
    return Workload(scenario=sc, inputs=pack_market(sc), paths=paths, n_steps=sim.n_steps,
                    months=sim.n_steps * sim.months_per_step, companies=len(sc.companies),
                    companies_inputs=pack_companies(sc))


# ---------------------------------------------------------------- timed bodies
def _numpy_floor(n_normals: int, chunk: int = 1 << 20):
    gen = np.random.Generator(np.random.SFC64(12345))
    buf = np.empty(min(chunk, n_normals))
    done = 0
    while done < n_normals:
        k = min(buf.size, n_normals - done)
        gen.standard_normal(out=buf[:k])
        done += k


def _numba_rng(w: Workload):
    from simulator._kernels.bench import normal_sum

    inp = w.inputs
    return normal_sum(inp.k0, inp.k1, 0, w.paths, w.months, NORMALS_PER_MONTH)


def _set_threads(n: int) -> None:
    import numba

    numba.set_num_threads(n)


def _whole_run(scenario_file, paths: int, out_dir: str):
    """``python -m simulator run`` in a child process importing this same package."""
    pkg_root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([pkg_root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    cmd = [sys.executable, "-m", "simulator", "run", str(scenario_file), "--paths", str(paths), "-q",
           "-o", os.path.join(out_dir, "bench.nc"), "--force"]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@dataclass
class Row:
    name: str
    seconds: float
    units: float  # path-months (x companies) per run

    @property
    def throughput(self) -> float:
        return self.units / self.seconds


def measure(scenario_file, paths: int = 20_000, repeats: int = 5, whole_run: bool = True,
            progress: Callable[[str], None] | None = None, whole_run_paths: int | None = None) -> dict:
    """Time every row; returns ``{"rows": [Row, ...], "ratios": {...}, "meta": {...}}``.

    ``whole_run_paths``: paths of the whole-run row (default ``paths``).
    """
    import numba

    w = workload(scenario_file, paths)
    all_threads = numba.config.NUMBA_NUM_THREADS
    per_path = w.months * (w.companies if ENGINES.simulates_companies and w.companies else 1)
    n_normals = w.paths * w.months * NORMALS_PER_MONTH
    tmp = tempfile.TemporaryDirectory(prefix="simulate-bench-")

    # name: (body, paths); every row's throughput is paths x per_path (path-months x companies) per second
    bodies = {
        "RNG floor: numpy SFC64, 1 thread": (lambda: _numpy_floor(n_normals), paths),
        "numba RNG, 1 thread": (lambda: (_set_threads(1), _numba_rng(w)), paths),
        f"numba RNG, {all_threads} threads": (lambda: (_set_threads(all_threads), _numba_rng(w)), paths),
        "numba engine, 1 thread": (lambda: (_set_threads(1), ENGINES.numba(w)), paths),
        f"numba engine, {all_threads} threads": (lambda: (_set_threads(all_threads), ENGINES.numba(w)), paths),
        "numpy engine (reference)": (lambda: (_set_threads(all_threads), ENGINES.numpy(w)), paths),
    }
    wpaths = paths if whole_run_paths is None else int(whole_run_paths)
    whole_name = f"whole run, summary mode, process ({all_threads} threads)"
    floor_name = "RNG floor: numpy SFC64, 1 thread"
    if whole_run and wpaths != paths:
        whole_name += f", {wpaths} paths"
        floor_name = f"RNG floor: numpy SFC64, 1 thread, {wpaths} paths"
        bodies[floor_name] = (lambda: _numpy_floor(wpaths * w.months * NORMALS_PER_MONTH), wpaths)
    if whole_run:
        bodies[whole_name] = (lambda: _whole_run(scenario_file, wpaths, tmp.name), wpaths)

    # Warm-up: compile every kernel (and fill the on-disk cache for the child process).
    small = Workload(w.scenario, w.inputs, min(paths, 64), w.n_steps, w.months, w.companies, w.companies_inputs)
    _numba_rng(small)
    ENGINES.numba(small)
    ENGINES.numpy(small)
    if whole_run:
        _whole_run(scenario_file, min(paths, 64), tmp.name)

    times = {name: [] for name in bodies}
    try:
        for r in range(repeats):
            for name, (body, _) in bodies.items():
                if progress:
                    progress(f"round {r + 1}/{repeats}: {name}")
                t0 = time.perf_counter()
                body()
                times[name].append(time.perf_counter() - t0)
    finally:
        _set_threads(all_threads)
        tmp.cleanup()

    rows = [Row(name, float(np.median(times[name])), float(bodies[name][1] * per_path)) for name in bodies]
    t = {row.name: row.seconds for row in rows}
    floor = t["RNG floor: numpy SFC64, 1 thread"]
    ratios = {
        "numba engine speed-up over numpy engine (target >= 5)":
            t["numpy engine (reference)"] / t[f"numba engine, {all_threads} threads"],
        "numba engine speed-up over numpy engine, numba on 1 thread":
            t["numpy engine (reference)"] / t["numba engine, 1 thread"],
        f"numba RNG speed-up over numpy SFC64 ({all_threads} threads vs 1)":
            floor / t[f"numba RNG, {all_threads} threads"],
        "numba engine thread scaling (1 thread / all threads)":
            t["numba engine, 1 thread"] / t[f"numba engine, {all_threads} threads"],
    }
    if whole_run:
        ratios["whole run / RNG floor (target <= 2)" + (f", {wpaths} paths" if wpaths != paths else "")] = \
            t[whole_name] / t[floor_name]
    meta = {"scenario": str(scenario_file), "paths": w.paths, "months": w.months, "companies": w.companies,
            "engine": "market + companies" if ENGINES.simulates_companies else "market drivers only",
            "threads": all_threads, "repeats": repeats, "numba": numba.__version__, "numpy": np.__version__,
            "whole_run_paths": wpaths if whole_run else None}
    return {"rows": rows, "ratios": ratios, "meta": meta}


def format_table(result: dict) -> str:
    """Markdown table (pastes into the README as it is)."""
    m = result["meta"]
    unit = "path-months x companies / s" if ENGINES.simulates_companies else "path-months / s"
    # each row against the RNG floor timed at its own size (the same paths: the same units)
    floors = {row.units: row.seconds for row in result["rows"] if row.name.startswith("RNG floor")}
    lines = [
        f"{m['scenario']}: {m['paths']} paths x {m['months']} months, engine: {m['engine']}; "
        f"median of {m['repeats']} interleaved rounds; numba {m['numba']}, numpy {m['numpy']}",
        "",
        f"| row | seconds | {unit} | time / RNG floor |",
        "|---|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(f"| {row.name} | {row.seconds:.4f} | {row.throughput:.3e} | {row.seconds / floors[row.units]:.2f} |")
    lines += ["", "| ratio | value |", "|---|---:|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in result["ratios"].items()]
    return "\n".join(lines)
