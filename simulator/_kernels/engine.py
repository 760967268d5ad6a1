"""The fused engine kernel: market and companies on each path, blocks of paths on a thread pool.

For every path, :func:`~simulator._kernels.market.market_path` fills a per-path
market buffer, then :func:`~simulator._kernels.company.companies_path` steps
all companies month by month on it. Paths are independent and every variate is
a function of (seed, global path, stream, step), so results do not depend on
the thread count or on how paths are chunked.

A serial, GIL-free block kernel run by :func:`~simulator._kernels.blocks.run_blocks`
rather than ``prange`` (the parfor wrapper re-optimises the whole per-path
body; see :mod:`simulator._kernels.blocks`).
"""

import numpy as np

from simulator._kernels import company_layout as CL
from simulator._kernels import layout as L
from simulator._kernels._jit import jit
from simulator._kernels.blocks import run_blocks
from simulator._kernels.company import companies_path
from simulator._kernels.market import market_path


def simulate(k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series,
             dle, net_hr, subsidy, cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, do_full,
             market_out, pint, pflt, alarms, full):
    """Every path of ``pint.shape[0]``, in blocks on numba's thread count (arguments: :func:`simulate_block`)."""
    run_blocks(simulate_block, pint.shape[0],
               (k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series, dle, net_hr,
                subsidy, cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, do_full, market_out, pint, pflt,
                alarms, full))


@jit
def simulate_block(p_begin, p_end, k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series,
             dle, net_hr, subsidy, cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, do_full,
             market_out, pint, pflt, alarms, full):
    """Simulate local paths ``p_begin .. p_end - 1`` (global ``path0 + p``).

    Parameters
    ----------
    k0, k1 : uint64
        Key of the counter-based generator.
    path0 : int
        Global index of the first path.
    n_steps : int
    dt : float
        Step length, years.
    mps : int
        Months per step.
    chol, params, models, btc_series, rate_series
        Market inputs, as for :func:`~simulator._kernels.market.market_path`.
    dle, net_hr, subsidy : float64[n_steps]
        ln E[D_t]; network hashrate (EH/s); block subsidy (BTC).
    cpar, kpar, kptr, tpar, tptr, fpar, fptr
        Packed companies (:mod:`simulator._kernels.company_layout`).
    shocks : float64[n_paths, n_steps, n_streams] or shape[0] == 0
        Injected variates, or draw from the generator.
    do_full : bool
        Fill ``full``; otherwise ``full`` may have zero paths.
    market_out : float64[N_MARKET_VARS, n_paths or 0, n_steps]
        Market paths, written when its path axis is not empty.
    pint : int64[n_paths, n_comp, N_PINT]
    pflt : float64[n_paths, n_comp, N_PFLT]
    alarms : int8[n_paths, n_comp, n_steps]
        ALARM_* bits per company-step (0 once defaulted).
    full : float64[N_OUT, n_comp, n_paths or 0, n_steps]
    """
    keep_market = market_out.shape[1] > 0
    n_comp = cpar.shape[0]
    buf = np.empty((n_steps, L.N_MARKET_VARS))
    fp = np.zeros((CL.N_OUT, n_comp, n_steps)) if do_full else np.zeros((CL.N_OUT, n_comp, 1))
    lines = np.arange(CL.N_OUT) if do_full else np.zeros(0, dtype=np.int64)  # every O_* line, or none
    for p in range(p_begin, p_end):
        market_path(k0, k1, path0 + p, p, n_steps, dt, mps, chol, params, models,
                    btc_series, rate_series, shocks, buf)
        if keep_market:
            for v in range(L.N_MARKET_VARS):
                for t in range(n_steps):
                    market_out[v, p, t] = buf[t, v]
        pint[p, :, :] = 0
        pflt[p, :, :] = 0.0
        alarms[p, :, :] = 0
        companies_path(k0, k1, path0 + p, p, n_steps, dt, mps, buf, params, dle, net_hr, subsidy,
                       cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, lines, pint[p], pflt[p], alarms[p], fp)
        if do_full:
            for v in range(CL.N_OUT):
                for c in range(n_comp):
                    for t in range(n_steps):
                        full[v, c, p, t] = fp[v, c, t]
