"""Compile a cold run's kernels on two cores: part of the company kernel here, the rest in a second process.

numba compiles one function at a time in a process (a global lock), so a
cold first run compiles every kernel in a row: the company kernel
(:func:`~simulator._kernels.company.companies_lanes` and its three parts,
the longest units), the market kernel, then the summary kernels that fold
the bands. The functions are independent until the kernel that calls them
is compiled, and numba's on-disk cache (``NUMBA_CACHE_DIR``) is shared
between processes. So when the cache lacks them, :func:`compile_ahead`

1. starts ``python -m simulator.precompile`` and sends it the company
   kernel's opening state and two of its step's three parts, the market
   kernel and the reduction kernels, with the exact signatures the run will
   call them with; that process compiles them into the cache and exits;
2. compiles the third part and the company kernel itself in this process
   meanwhile;

and the run goes on as usual: the company kernel gets the step's parts, and
the block kernel the market and company kernels, as function values
(:func:`part_kernels`, :func:`lane_kernels`,
:mod:`simulator._kernels.fnvalue`), so that no kernel compiles another's
code again, and numba loads from the cache what the second process
compiled. If the second process is not done by then, or failed, numba
compiles what is missing here, as it would have anyway. Compiled code does
not depend on which process compiled it, so results are the same bits.

The signatures are those of the calls in
:func:`simulator._kernels.company.companies_lanes`,
:func:`simulator._kernels.summary.summary_block` and
:func:`simulator.stream.run_summary` (and in
:func:`simulator._kernels.engine.simulate_block`, the same for the market and
company kernels): :func:`kernel_plan` and :func:`lane_argtypes` build
arguments of the same types. ``tests/test_precompile.py`` checks that
summary runs in both regimes and the fused engine compile exactly these
signatures, so a drift shows there, not as a slower first run. Used by
:func:`simulator.stream.run_summary` and :func:`simulator.engine.run`;
measured in ``docs/performance.md`` sections 11 to 14.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Plan:
    """Kernels to compile: ``(dispatcher, signature)`` pairs, a signature being a tuple of numba
    types; ``here`` in the run's process, ``elsewhere`` in the second one."""

    here: list = field(default_factory=list)
    elsewhere: list = field(default_factory=list)


def part_argtypes(mi, ci) -> tuple[tuple, tuple, tuple]:
    """The argument types of the company step's three parts,
    :func:`~simulator._kernels.company._operations`, :func:`~simulator._kernels.company._financing`
    and :func:`~simulator._kernels.company._outcome`, as
    :func:`~simulator._kernels.company.companies_lanes` calls them with its own scratch arrays."""
    from numba import typeof

    from simulator._kernels.company import NL
    from simulator._kernels.summary import SUMMARY_LINES

    def sig(*args):
        return tuple(typeof(a) for a in args)

    n, nc = mi.n_steps, ci.n
    i = 0  # an int64 (a step, lane or row count)
    dle = subsidy = np.zeros(n)
    no_shocks = np.zeros((0, 0, 0))
    lines = np.array(SUMMARY_LINES, dtype=np.int64)
    al = np.empty((nc, n, NL), dtype=np.int8)
    f1, f2, f3, f4 = (np.zeros((1,) * d) for d in range(1, 5))
    i1 = np.zeros(1, dtype=np.int64)
    b1, b2 = (np.zeros((1,) * d, dtype=np.bool_) for d in range(1, 3))
    u3 = np.zeros((1, 1, 1), dtype=np.uint64)
    skey = np.uint64(0)
    hours, W = float(mi.dt), int(mi.months_per_step)  # a float64 and an int64
    operations = sig(i, i, mi.dt, hours, skey, lines, no_shocks, i1, u3, f2, f2, f1, f1, dle, subsidy, ci.cpar,
                     ci.kpar, ci.kptr, ci.fpar, i1, i1, b2, f2, i1, i1, i1, f3, f3, f3)
    financing = sig(i, i, mi.dt, W, i1, i1, i1, b2, f2, f1, ci.cpar, ci.tpar, ci.tptr, ci.fpar, i1, i1, b1, f3, f3, f3,
                    f3, f4, b2, f4)
    outcome = sig(i, i, lines, b2, f1, ci.cpar, ci.tpar, ci.tptr, f3, f3, f3, f4, f3, al)
    return operations, financing, outcome


def part_kernels(argtypes) -> tuple:
    """The company step's three parts, compiled for ``argtypes`` (:func:`part_argtypes`), as the
    function values :func:`~simulator._kernels.company.companies_lanes` calls
    (:class:`~simulator._kernels.fnvalue.CompiledKernel`: each compiled once, not again inside the
    company kernel)."""
    from simulator._kernels.company import _financing, _operations, _outcome
    from simulator._kernels.fnvalue import CompiledKernel

    return tuple(CompiledKernel(d, t) for d, t in zip((_operations, _financing, _outcome), argtypes))


def lane_argtypes(mi, ci, parts, shocks=None) -> tuple[tuple, tuple]:
    """The argument types of :func:`~simulator._kernels.engine.market_lanes` and
    :func:`~simulator._kernels.company.companies_lanes` as the block kernels call them
    (:func:`~simulator._kernels.summary.summary_block`,
    :func:`~simulator._kernels.engine.simulate_block`: the same types), with their own scratch
    arrays; ``parts`` the company step's parts (:func:`part_kernels`), ``shocks`` the injected
    variates, if any."""
    from numba import typeof

    from simulator._kernels import company_layout as CL
    from simulator._kernels import layout as L
    from simulator._kernels.company import NL

    n, nc = mi.n_steps, ci.n
    i = 0  # an int64 (a path index)
    dle = np.zeros(n)
    shocks = np.zeros((0, 0, 0)) if shocks is None else shocks
    buf = np.empty((n, L.N_MARKET_BUF, NL))
    market = (i, i, mi.k0, mi.k1, i, n, mi.dt, mi.months_per_step, mi.chol, mi.params, mi.models, mi.btc_series,
              mi.rate_series, shocks, buf)
    company = (mi.k0, mi.k1, i, i, n, mi.dt, mi.months_per_step, buf, mi.params, dle, dle, dle, ci.cpar, ci.kpar,
               ci.kptr, ci.tpar, ci.tptr, ci.fpar, ci.fptr, shocks, np.zeros(0, dtype=np.int64),
               np.empty((NL, nc, CL.N_PINT), dtype=np.int64), np.empty((NL, nc, CL.N_PFLT)),
               np.empty((nc, n, NL), dtype=np.int8), np.zeros((1, nc, n, NL))) + tuple(parts)
    return tuple(typeof(a) for a in market), tuple(typeof(a) for a in company)


def lane_kernels(mi, ci, shocks=None) -> tuple:
    """:func:`~simulator._kernels.engine.market_lanes`,
    :func:`~simulator._kernels.company.companies_lanes` and the company step's three parts as the
    function values the block kernels call and pass on
    (:class:`~simulator._kernels.fnvalue.CompiledKernel`: each compiled once, not again inside each
    caller)."""
    from simulator._kernels.company import companies_lanes
    from simulator._kernels.engine import market_lanes
    from simulator._kernels.fnvalue import CompiledKernel

    parts = part_kernels(part_argtypes(mi, ci))
    market, company = lane_argtypes(mi, ci, parts, shocks)
    return (CompiledKernel(market_lanes, market), CompiledKernel(companies_lanes, company)) + parts


def kernel_plan(mi, ci, bands: str | None) -> Plan:
    """The kernels a run calls, with the argument types of those calls: a part of the company step
    and the company kernel for this process, the others for the second one.

    ``bands``: ``"exact"`` or ``"sketch"`` for a summary-mode run
    (:func:`simulator.stream.run_summary`, its band kernels included); None for
    the fused engine (:func:`simulator.engine.run`), whose block kernel calls
    the market and company kernels with the same types.
    """
    from numba import typeof

    from simulator._kernels import company_layout as CL
    from simulator._kernels.company import _financing, _operations, _outcome, companies_lanes, init_state
    from simulator._kernels.engine import market_lanes
    from simulator._kernels.quantiles import exact_rows, sketch_rows
    from simulator._kernels.summary import hist_rows
    from simulator._kernels.transpose import paths_last_block
    from simulator.stream import _band_buffer

    def sig(*args):
        return tuple(typeof(a) for a in args)

    i = 0  # an int64 (a row index)
    plan = Plan()
    # the company step: one part here, then the kernel, which calls the parts as function values
    # (it only needs their types) and links the opening state, which the second process compiles
    # first (measured in docs/performance.md, section 14), then the other two parts
    part_types = part_argtypes(mi, ci)
    operations, financing, outcome = part_types
    market_types, company_types = lane_argtypes(mi, ci, part_kernels(part_types))
    plan.here.append((_financing, financing))
    plan.here.append((companies_lanes, company_types))
    f3, f4 = np.zeros((1, 1, 1)), np.zeros((1, 1, 1, 1))
    i1 = np.zeros(1, dtype=np.int64)
    b2 = np.zeros((1, 1), dtype=np.bool_)
    plan.elsewhere.append((init_state, sig(
        ci.cpar, ci.tpar, ci.tptr, ci.fpar, ci.fptr, mi.dt, f3, f4, f3, f3, f4, b2, i1, i1, i1, i1, i1, i1, i)))
    plan.elsewhere.append((_operations, operations))
    plan.elsewhere.append((_outcome, outcome))
    plan.elsewhere.append((market_lanes, market_types))  # with the market kernel it calls
    # band kernels, called from Python (only dtype, dimensions and layout make a type: small arrays do)
    vals = _band_buffer(1, 1, 8)
    qs = lo = np.zeros(1)
    out = np.zeros((1, 1))
    if bands == "exact":
        plan.elsewhere.append((exact_rows, sig(i, i, vals.reshape(1, -1), i, i, qs, out)))
    elif bands == "sketch":
        bins = _band_buffer(1, 1, 8, np.int16)
        plan.elsewhere.append((hist_rows, sig(i, i, bins, i, np.zeros((1, 1, 1), dtype=np.int32))))
        plan.elsewhere.append((sketch_rows, sig(i, i, np.zeros((1, 1), dtype=np.int32), qs, lo, lo, out)))
    else:
        # the engine keeps per-path results path by path: the summaries and the results file copy them
        # with the paths last (a summary-mode run writes them so)
        for dtype in (CL.PINT_DTYPE, np.float64):
            a = np.zeros((1, 1, 1), dtype=dtype)
            plan.elsewhere.append((paths_last_block, sig(i, i, a, a)))
    return plan


def _compiled(dispatcher, sig) -> bool:
    """Whether ``dispatcher`` has ``sig`` in memory or in numba's on-disk cache (read from its index,
    without loading the code). Errs on "compiled" when numba's cache cannot be read."""
    if sig in dispatcher.overloads:
        return True
    try:
        cache = dispatcher._cache
        key = cache._index_key(sig, dispatcher.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - numba internals changed or the cache is off: do nothing
        return True


def compile_ahead(plan: Plan):
    """Compile ``plan`` if the cache lacks it: ``plan.elsewhere`` in a second process, ``plan.here`` in
    this one. Returns the second process (pass it to :func:`finish`), or None."""
    import numba

    if numba.config.DISABLE_JIT or all(_compiled(d, s) for d, s in plan.here):
        return None  # the long unit is there: nothing to overlap with
    todo = [(d, s) for d, s in plan.elsewhere if not _compiled(d, s)]
    child = None
    if todo and sys.executable:  # an embedded interpreter may have no executable to start
        payload = pickle.dumps([(d.py_func.__module__, d.py_func.__name__, s) for d, s in todo])
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            child = subprocess.Popen([sys.executable, "-m", "simulator.precompile"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            child.stdin.write(payload)
            child.stdin.close()
        except OSError:
            child = None  # no second process: numba compiles everything here, as usual
    for d, s in plan.here:
        d.compile(s)
    return child


def finish(child, timeout: float = 60.0) -> None:
    """Wait for the second process (it is normally long done); stop it if it hangs."""
    if child is None:
        return
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _main() -> None:
    """The second process: compile the kernels named on standard input into numba's cache."""
    import importlib

    from simulator._kernels._jit import without_optional_imports

    todo = pickle.loads(sys.stdin.buffer.read())
    with without_optional_imports():
        for module, name, sig in todo:
            getattr(importlib.import_module(module), name).compile(sig)


if __name__ == "__main__":
    _main()
