"""Scenario -> packed arrays -> kernels -> raw arrays.

Every execution mode (threads, chunks of paths) goes through :func:`run_market`,
so they all draw the same numbers: a path's variates depend only on the seed,
its global index and the step.
"""

from __future__ import annotations

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers import MarketInputs, pack_market

_NO_SHOCKS = np.zeros((0, 0, 0))


def set_threads(threads: int | None) -> None:
    """Use ``threads`` numba threads (None: numba's default, all cores)."""
    if threads is not None:
        import numba

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def run_market(scenario, path0: int = 0, n_paths: int | None = None, shocks: np.ndarray | None = None,
               inputs: MarketInputs | None = None) -> np.ndarray:
    """Market driver paths ``[var, path, step]`` for global paths ``path0 .. path0 + n_paths - 1``.

    ``shocks`` (float64[n_paths, n_steps, >= N_MARKET_STREAMS]) replaces the
    generator with given variates (tests, the numpy reference engine).
    """
    from simulator._kernels.market import simulate_market

    mi = inputs if inputs is not None else pack_market(scenario)
    if n_paths is None:
        n_paths = scenario.simulation.paths
    if shocks is None:
        shocks = _NO_SHOCKS
    else:
        shocks = np.ascontiguousarray(shocks, dtype=np.float64)
        if shocks.shape[0] != n_paths or shocks.shape[1] != mi.n_steps or shocks.shape[2] < L.N_MARKET_STREAMS:
            raise ValueError(f"shocks must be [{n_paths}, {mi.n_steps}, >={L.N_MARKET_STREAMS}], got {shocks.shape}")
    out = np.empty((L.N_MARKET_VARS, n_paths, mi.n_steps))
    simulate_market(mi.k0, mi.k1, path0, mi.n_steps, mi.dt, mi.months_per_step, mi.chol, mi.params,
                    mi.models, mi.btc_series, mi.rate_series, shocks, out)
    return out


def n_streams(n_companies: int) -> int:
    """Width of an injected ``shocks`` array for a scenario with ``n_companies``."""
    return L.COMPANY_STREAM0 + n_companies * L.STREAMS_PER_COMPANY


def run(scenario, path0: int = 0, n_paths: int | None = None, shocks: np.ndarray | None = None,
        full: bool = False, keep_market: bool = True, inputs: MarketInputs | None = None,
        companies=None) -> dict:
    """Market and companies on global paths ``path0 .. path0 + n_paths - 1`` (one fused kernel).

    Parameters
    ----------
    scenario : Scenario
    path0, n_paths : int
        First global path and number of paths (default: ``simulation.paths``).
    shocks : float64[n_paths, n_steps, >= n_streams(n_companies)], optional
        Injected variates instead of the generator (tests, reference engines).
        Company ``c`` reads stream ``COMPANY_STREAM0 + c * STREAMS_PER_COMPANY + k``;
        its external-counterparty stream (k = K_EXT) is indexed by contract, not step.
    full : bool
        Also return per-(company, path, step) lines.
    keep_market : bool
        Return the market paths ``[var, path, step]``.

    Returns
    -------
    dict
        ``market`` float64[N_MARKET_VARS, n_paths, n_steps] or None;
        ``pint`` PINT_DTYPE[n_paths, n_comp, N_PINT]; ``pflt`` float64[n_paths, n_comp, N_PFLT];
        ``alarms`` int8[n_paths, n_comp, n_steps] (ALARM_* bits; transient, not kept in summary results);
        ``full`` float64[N_OUT, n_comp, n_paths, n_steps] or None; ``companies`` the
        :class:`~simulator.company.CompanyInputs`; ``inputs`` the market inputs.
    """
    from simulator._kernels import company_layout as CL
    from simulator._kernels.engine import simulate
    from simulator._kernels.fnvalue import raising_kernel_errors
    from simulator.company import pack_companies
    from simulator.precompile import compile_ahead, finish, kernel_plan, lane_kernels

    mi = inputs if inputs is not None else pack_market(scenario)
    ci = companies if companies is not None else pack_companies(scenario)
    if n_paths is None:
        n_paths = scenario.simulation.paths
    n = mi.n_steps
    if shocks is None:
        shocks = _NO_SHOCKS
    else:
        shocks = np.ascontiguousarray(shocks, dtype=np.float64)
        width = n_streams(ci.n)
        if shocks.shape[0] != n_paths or shocks.shape[1] != n or shocks.shape[2] < width:
            raise ValueError(f"shocks must be [{n_paths}, {n}, >={width}], got {shocks.shape}")
        if ci.max_contracts() > n:
            raise ValueError(f"injected shocks index external-default uniforms by contract: "
                             f"at most {n} contracts per company")
    market = np.empty((L.N_MARKET_VARS, n_paths if keep_market else 0, n))
    pint = np.empty((n_paths, ci.n, CL.N_PINT), dtype=CL.PINT_DTYPE)
    pflt = np.empty((n_paths, ci.n, CL.N_PFLT))
    alarms = np.empty((n_paths, ci.n, n), dtype=np.int8)
    fullarr = np.empty((CL.N_OUT, ci.n, n_paths if full else 0, n))
    # a cold cache: compile on two cores (a full result's bands are exact quantiles: results.from_full)
    child = compile_ahead(kernel_plan(mi, ci, "exact" if full else None))
    with raising_kernel_errors():
        simulate(mi.k0, mi.k1, path0, n, mi.dt, mi.months_per_step, mi.chol, mi.params, mi.models,
                 mi.btc_series, mi.rate_series, np.ascontiguousarray(mi.demand_log_expected, dtype=float),
                 np.ascontiguousarray(mi.network_hashrate, dtype=float),
                 np.ascontiguousarray(mi.block_subsidy, dtype=float), ci.cpar, ci.kpar, ci.kptr, ci.tpar, ci.tptr,
                 ci.fpar, ci.fptr, shocks, bool(full), market, pint, pflt, alarms, fullarr, *lane_kernels(mi, ci, shocks))
    finish(child)
    return {"market": market if keep_market else None, "pint": pint, "pflt": pflt, "alarms": alarms,
            "full": fullarr if full else None, "companies": ci, "inputs": mi}


#: Paths per call of the numpy reference engine (bounds its temporaries).
REFERENCE_CHUNK = 4096


def run_reference(scenario, inputs: MarketInputs | None = None, companies=None, chunk: int = REFERENCE_CHUNK,
                  advance=None) -> dict:
    """Every path through the plain-numpy reference engine (``--engine numpy``), in chunks.

    Returns the dict of :func:`run` with ``full=True``. The chunks' arrays
    are concatenated: memory grows with paths x steps as in ``--output full``
    (the reference is an oracle, not the engine that scales).
    """
    from simulator.company import pack_companies
    from simulator.reference import run as reference_run

    mi = inputs if inputs is not None else pack_market(scenario)
    ci = companies if companies is not None else pack_companies(scenario)
    n_paths = scenario.simulation.paths
    parts = []
    for path0 in range(0, n_paths, chunk):
        m = min(chunk, n_paths - path0)
        parts.append(reference_run(scenario, path0=path0, n_paths=m, inputs=mi, companies=ci))
        if advance is not None:
            advance(m)
    return {"market": np.concatenate([p["market"] for p in parts], axis=1),
            "pint": np.concatenate([p["pint"] for p in parts]), "pflt": np.concatenate([p["pflt"] for p in parts]),
            "alarms": np.concatenate([p["alarms"] for p in parts]),
            "full": np.concatenate([p["full"] for p in parts], axis=2), "companies": ci, "inputs": mi}
