"""The whole model in plain numpy: market drivers then companies, the test oracle.

:func:`run` mirrors :func:`simulator.engine.run` (``full=True``) key for key,
from the same variates: injected ``shocks``, or drawn here with
:func:`simulator.rng.draw` exactly as the numba engine's generator would draw
them, so that ``--engine numpy`` reproduces the numba engine for a seed.
"""

from __future__ import annotations

import numpy as np

from simulator._kernels import company_layout as CL
from simulator._kernels import layout as L
from simulator.reference.company import simulate_companies
from simulator.reference.market import simulate_market


def company_stream(c: int, k: int) -> int:
    """Stream number of company ``c``'s stream ``k`` (``K_UTIL``, ``K_CORE``, ``K_EXT``)."""
    return L.COMPANY_STREAM0 + c * L.STREAMS_PER_COMPANY + k


def draw_shocks(scenario, n_companies: int, path0: int = 0, n_paths: int | None = None,
                n_rows: int | None = None) -> np.ndarray:
    """Every variate a scenario reads, as the generator draws them.

    Parameters
    ----------
    scenario : Scenario
    n_companies : int
    path0, n_paths : int
        Global paths ``path0 .. path0 + n_paths - 1`` (default ``simulation.paths``).
    n_rows : int, optional
        Rows of the step axis (default ``n_steps``); more rows give the
        external-default uniforms of companies with more contracts than steps.

    Returns
    -------
    float64[n_paths, n_rows, n_streams(n_companies)]
        ``[p, t, s]``: stream ``s`` at step (or, for ``K_EXT``, contract) ``t``;
        the market streams, the used company streams; unused streams are 0.
    """
    from simulator.rng import draw

    sim = scenario.simulation
    n_paths = sim.paths if n_paths is None else n_paths
    n_rows = sim.n_steps if n_rows is None else n_rows
    width = L.COMPANY_STREAM0 + n_companies * L.STREAMS_PER_COMPANY
    streams = list(range(L.N_MARKET_STREAMS))
    kinds = list(L.MARKET_STREAM_KINDS)
    for c in range(n_companies):
        for k in range(CL.N_COMPANY_STREAMS_USED):
            streams.append(company_stream(c, k))
            kinds.append(CL.COMPANY_STREAM_KINDS[k])
    out = np.zeros((n_paths, n_rows, width))
    out[:, :, streams] = draw(sim.seed, path0, n_paths, n_rows, streams, kinds)
    return out


def run(scenario, path0=0, n_paths=None, shocks=None, inputs=None, companies=None) -> dict:
    """Market and companies on global paths ``path0 .. path0 + n_paths - 1``, in plain numpy.

    The oracle of the numba engine: same model (MODEL.md sections 3-7 and the
    choices of docs/company-model.md), written independently, vectorised over
    paths (loops over steps and companies). Slow; for tests and ``--engine numpy``.

    Parameters
    ----------
    scenario : Scenario
    path0, n_paths : int
        First global path and number of paths (default: ``simulation.paths``).
        ``path0`` only matters when the variates are drawn here.
    shocks : float64[n_paths, n_steps, >= n_streams(n_companies)], optional
        Injected variates, laid out as for :func:`simulator.engine.run`
        (company ``c``'s external-default uniforms by contract position on
        the step axis). Default: drawn with :func:`simulator.rng.draw` from the
        scenario's seed, the numbers the numba engine's generator produces.
    inputs : MarketInputs, optional
        Deterministic market inputs (ln E[D_t], hashrate, subsidy); default
        :func:`simulator.drivers.pack_market`.
    companies : CompanyInputs, optional
        Packed companies; default :func:`simulator.company.pack_companies`.

    Returns
    -------
    dict
        As :func:`simulator.engine.run` with ``full=True``:
        ``market`` float64[N_MARKET_VARS, n_paths, n_steps] (step-end values);
        ``pint`` int32[n_paths, n_comp, N_PINT] (months are step indices, -1 = never);
        ``pflt`` float64[n_paths, n_comp, N_PFLT] (USD, or the recovery metric);
        ``alarms`` int8[n_paths, n_comp, n_steps] (ALARM_* bits, 0 once defaulted);
        ``full`` float64[N_OUT, n_comp, n_paths, n_steps] (USD per step for flows,
        USD for cash, debt and RPO, BTC for holdings); ``companies``; ``inputs``.
    """
    from simulator.company import pack_companies
    from simulator.drivers import pack_market
    from simulator.engine import n_streams

    mi = inputs if inputs is not None else pack_market(scenario)
    ci = companies if companies is not None else pack_companies(scenario)
    n = mi.n_steps
    if n_paths is None:
        n_paths = scenario.simulation.paths
    width = n_streams(ci.n)
    kmax = ci.max_contracts()
    if shocks is None:
        shocks = draw_shocks(scenario, ci.n, path0, n_paths, max(n, kmax))
    else:
        shocks = np.asarray(shocks, dtype=np.float64)
        if shocks.shape[0] != n_paths or shocks.shape[1] != n or shocks.shape[2] < width:
            raise ValueError(f"shocks must be [{n_paths}, {n}, >={width}], got {shocks.shape}")
        if kmax > n:
            raise ValueError(f"injected shocks index external-default uniforms by contract: "
                             f"at most {n} contracts per company")
    cols = [company_stream(c, CL.K_UTIL) for c in range(ci.n)]
    util_z = shocks[:, :n, cols]
    core_z = shocks[:, :n, [company_stream(c, CL.K_CORE) for c in range(ci.n)]]
    ext_u = shocks[:, :, [company_stream(c, CL.K_EXT) for c in range(ci.n)]]
    market = simulate_market(scenario, np.ascontiguousarray(shocks[:, :n, :]))
    out = simulate_companies(scenario, market, util_z, core_z, ext_u, companies=ci, inputs=mi)
    return {"market": market, "pint": out["pint"], "pflt": out["pflt"], "alarms": out["alarms"],
            "full": out["full"], "companies": ci, "inputs": mi}
