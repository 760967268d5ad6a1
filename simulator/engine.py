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
