"""The fused engine kernel: market and companies on each path, blocks of paths on a thread pool.

For every path, :func:`~simulator._kernels.market.market_path` fills a per-path
market buffer; then :func:`~simulator._kernels.company.companies_lanes` steps
all companies month by month on ``NL`` such paths at once, one per lane. Paths are independent and every variate is
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
from simulator._kernels.company import NL
from simulator._kernels.market import market_constants, market_path, market_work_size


def simulate(k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series,
             dle, net_hr, subsidy, cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, do_full,
             market_out, pint, pflt, alarms, full, market_step, company_step, operations, financing, outcome):
    """Every path of ``pint.shape[0]``, in blocks on numba's thread count (arguments: :func:`simulate_block`)."""
    run_blocks(simulate_block, pint.shape[0],
               (k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series, dle, net_hr,
                subsidy, cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, do_full, market_out, pint, pflt,
                alarms, full, market_step, company_step, operations, financing, outcome))


@jit
def market_lanes(p0, nl, k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series, shocks, buf):
    """The market paths of local paths ``p0 .. p0 + nl - 1`` (global ``path0 + p``) into the lanes
    ``buf[:, :, 0 .. nl - 1]`` of the company kernel (``buf[t, v, l]``: lane last, so that a step's
    market values are a row of lanes); the lanes after them repeat the last path (the caller drops
    their results)."""
    mc = market_constants(dt, params, models, btc_series)  # once for the lanes, not once a path
    work = np.empty(market_work_size(n_steps))
    bases = np.empty(L.N_MARKET_STREAMS, dtype=np.uint64)
    for l in range(buf.shape[2]):
        if l < nl:
            market_path(k0, k1, path0 + p0 + l, p0 + l, n_steps, dt, mps, chol, btc_series, rate_series, shocks, mc,
                        work, bases, buf[:, :, l])
        else:
            for t in range(n_steps):
                for v in range(buf.shape[1]):
                    buf[t, v, l] = buf[t, v, nl - 1]


@jit
def group_scalars(p0, nl, pi, pf, pint, pflt):
    """The per-path scalars of lanes ``0 .. nl - 1`` (``pi[l]``, ``pf[l]`` of the company kernel) into
    rows ``p0 .. p0 + nl - 1`` of the run's ``pint``, ``pflt``, lanes innermost: where the run keeps
    them with the paths last (:func:`simulator.stream.run_summary`), a column's values of the lane
    group are written together."""
    for c in range(pi.shape[1]):
        for k in range(pi.shape[2]):
            for l in range(nl):
                pint[p0 + l, c, k] = pi[l, c, k]
        for k in range(pf.shape[2]):
            for l in range(nl):
                pflt[p0 + l, c, k] = pf[l, c, k]


@jit
def simulate_block(p_begin, p_end, k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series,
             dle, net_hr, subsidy, cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, do_full,
             market_out, pint, pflt, alarms, full, market_step, company_step, operations, financing, outcome):
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
    pint : PINT_DTYPE[n_paths, n_comp, N_PINT]
    pflt : float64[n_paths, n_comp, N_PFLT]
    alarms : int8[n_paths, n_comp, n_steps]
        ALARM_* bits per company-step (0 once defaulted).
    full : float64[N_OUT, n_comp, n_paths or 0, n_steps]
    market_step, company_step : :class:`~simulator._kernels.fnvalue.CompiledKernel`
        :func:`~simulator._kernels.engine.market_lanes` and
        :func:`~simulator._kernels.company.companies_lanes`, compiled for the arguments they get
        here (:func:`simulator.precompile.lane_kernels`).
    operations, financing, outcome : :class:`~simulator._kernels.fnvalue.CompiledKernel`
        The company step's three parts, passed on to ``company_step``.
    """
    keep_market = market_out.shape[1] > 0
    n_comp = cpar.shape[0]
    nm = L.N_MARKET_VARS
    # NL paths at a time through the company kernel, one per lane (lanes past p_end repeat the last
    # path; their results are dropped)
    buf = np.empty((n_steps, L.N_MARKET_BUF, NL))
    lines = np.arange(CL.N_OUT) if do_full else np.zeros(0, dtype=np.int64)  # every O_* line, or none
    fp = np.zeros((lines.shape[0], n_comp, n_steps, NL))
    pi = np.empty((NL, n_comp, CL.N_PINT), dtype=np.int64)
    pf = np.empty((NL, n_comp, CL.N_PFLT))
    al = np.empty((n_comp, n_steps, NL), dtype=np.int8)
    for p0 in range(p_begin, p_end, NL):
        nl = min(NL, p_end - p0)
        market_step(p0, nl, k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series, shocks,
                     buf)
        company_step(k0, k1, path0 + p0, p0, n_steps, dt, mps, buf, params, dle, net_hr, subsidy,
                     cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, lines, pi, pf, al, fp, operations, financing,
                     outcome)
        group_scalars(p0, nl, pi, pf, pint, pflt)
        for l in range(nl):
            p = p0 + l
            if keep_market:
                for v in range(nm):
                    for t in range(n_steps):
                        market_out[v, p, t] = buf[t, v, l]
            for c in range(n_comp):
                for t in range(n_steps):
                    alarms[p, c, t] = al[c, t, l]
            if do_full:
                for v in range(CL.N_OUT):
                    for c in range(n_comp):
                        for t in range(n_steps):
                            full[v, c, p, t] = fp[v, c, t, l]
