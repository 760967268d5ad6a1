"""Summary mode that scales: the run streamed in chunks of paths, reduced on the fly.

Memory does not grow with ``paths x months``: per path only the scalars
``pint``/``pflt`` are kept (default step and cause, recovery step and status,
stress and trough steps, trough metric, loss, ...); per step only aggregates:

- integer counts per company and step (:mod:`simulator._kernels.summary`:
  alive at the start and at the end of the step, demand / leverage /
  avalanche lights lit): exact;
- sums of every market variable per step (-> means), added per 512-path block
  in path order and then block by block in global block order: bit-identical
  for any chunk size and thread count;
- quantile bands of the market variables and of each company's cash, FCF and
  net leverage (over the paths where it is alive in the step): exact
  (:func:`numpy.quantile` over every path) when the band values of the whole
  run fit ``exact_bytes``; otherwise the fixed-bin histogram sketch of
  :mod:`simulator.sketch` (relative error <= 2**-6).

The conditional P(default within 12 months | avalanche on) needs no alarm
history: the kernel counts its windows per path (``pint`` columns ``P_AV_N``,
``P_AV_DEF12``, ``P_ALL_N``, ``P_ALL_DEF12``), which the summaries add up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._kernels import company_layout as CL
from simulator._kernels import layout as L

#: Paths per chunk (a multiple of the block), or one block per thread if that is more. Chunk
#: buffers are reused chunk after chunk: avalanche's chunk of binned band values is 53 MB, and
#: the sketch keeps two (the histogram of one chunk's bins is added while the next chunk runs).
#: The threads wait for each other at the end of every chunk: with 32 blocks a chunk, rather than
#: 8, they are busy 1.91-1.95 of the time on two threads instead of 1.81 (docs/performance.md,
#: section 14); the histogram rows of the chunk before, queued after its blocks, fill that tail.
CHUNK_PATHS = 16384
#: Memory the exact quantile path may use for the band values of the whole run.
EXACT_BYTES = 256 * 2**20


@dataclass
class Summary:
    """What a summary-mode run keeps.

    Attributes
    ----------
    pint : PINT_DTYPE[n_paths, n_comp, N_PINT]; pflt : float64[n_paths, n_comp, N_PFLT]
        Kept with the paths last in memory (each ``[:, c, k]`` contiguous: the summaries and the
        results file read them so).
    counts : int64[n_comp, N_COUNTS, n_steps]
        ``simulator._kernels.summary.CN_*`` columns.
    market_mean : float64[N_MARKET_VARS, n_steps]
    bands : float64[len(quantiles), n_band_vars, n_steps]
        Market variables, then per company cash, FCF, net leverage.
    quantiles : tuple of float
    exact : bool
        True: bands by :func:`numpy.quantile` over every path; False: histogram sketch.
    relative_error : float
        Stated error bound of the bands (0 when exact).
    band_range : float64[2, n_band_vars, n_steps] or None
        Sketch: the least and greatest value of each band row, exact (the sketch bands are
        clamped to it; NaN for a row without values). None when the bands are exact.
    """

    pint: np.ndarray
    pflt: np.ndarray
    counts: np.ndarray
    market_mean: np.ndarray
    bands: np.ndarray
    quantiles: tuple
    exact: bool
    relative_error: float
    companies: object
    inputs: object
    band_range: np.ndarray | None = None


def band_bytes(n_paths: int, n_steps: int, n_comp: int) -> int:
    """Bytes of the band values of a whole run (what the exact quantiles hold)."""
    from simulator._kernels.summary import N_COMPANY_BANDS

    return (L.N_MARKET_VARS + N_COMPANY_BANDS * n_comp) * n_paths * n_steps * 8


def chunk_bytes(chunk: int, n_steps: int, n_comp: int) -> int:
    """Bytes of the reused chunk buffers of the sketch (two of 2-byte bins of the band values, and
    each slot's range of them; per-path scalars excluded)."""
    from simulator._kernels.blocks import BLOCK_PATHS

    nv = L.N_MARKET_VARS + 3 * n_comp
    return nv * n_steps * (2 * 2 * chunk + 2 * 8 * -(-chunk // BLOCK_PATHS))


def sketch_bytes(n_steps: int, n_comp: int) -> int:
    """Bytes of the histograms (int32 counts, and the count of values skipped)."""
    from simulator._kernels.summary import N_BINS, N_COMPANY_BANDS

    return (L.N_MARKET_VARS + N_COMPANY_BANDS * n_comp) * n_steps * (N_BINS + 1) * 4


def _band_buffer(nv: int, n_steps: int, n_paths: int, dtype=np.float64) -> np.ndarray:
    """Uninitialised ``dtype[nv, n_steps, row]`` for band values (or their bins), rows of
    ``n_paths`` rounded up to a cache line plus one line (the rows of a tile do not all map to
    the same cache sets), the first row 64-byte aligned:
    :func:`~simulator._kernels.summary.summary_block` then writes whole cache lines."""
    per_line = 64 // np.dtype(dtype).itemsize
    row = -(-n_paths // per_line) * per_line + per_line
    raw = np.empty(nv * n_steps * row + per_line, dtype=dtype)
    skip = (-raw.ctypes.data % 64) // np.dtype(dtype).itemsize
    return raw[skip:skip + nv * n_steps * row].reshape(nv, n_steps, row)


def _lower(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``x < m`` elementwise in the order where ``-0.0 < 0.0``
    (:func:`simulator._kernels.summary.lower`): extremes that do not depend on the order of paths."""
    return (x < m) | ((x == m) & np.signbit(x) & ~np.signbit(m))


def exact_bands(vals: np.ndarray, qs, n_paths: int | None = None) -> np.ndarray:
    """Bands from band values ``vals[var, step, path]`` (paths ``:n_paths``): :func:`numpy.quantile`
    for the market rows, the same over the non-NaN values for company rows (NaN = not alive).

    ``vals``: C-contiguous float64 (not modified). The rows are spread over numba's threads.
    """
    from simulator._kernels.blocks import run_blocks
    from simulator._kernels.quantiles import exact_rows

    nv, n = vals.shape[0], vals.shape[1]
    n_paths = vals.shape[2] if n_paths is None else n_paths
    rows = vals.reshape(nv * n, vals.shape[2])
    out = np.empty((len(qs), nv * n))
    run_blocks(exact_rows, nv * n, (rows, n_paths, L.N_MARKET_VARS * n, np.asarray(qs, dtype=float), out), block=1)
    return out.reshape(len(qs), nv, n)


def run_summary(scenario, n_paths: int | None = None, inputs=None, companies=None, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95),
                chunk: int | None = None, exact_bytes: int = EXACT_BYTES, advance=None) -> Summary:
    """Simulate ``n_paths`` paths (default ``simulation.paths``) in chunks; keep summaries only.

    ``chunk`` (default ``CHUNK_PATHS``, or one block per thread if that is
    more) is rounded up to a multiple of the block (512 paths); results do
    not depend on it, nor on the thread count. ``advance(n)`` is called after
    each chunk with its number of paths (a progress bar).
    """
    from simulator._kernels.blocks import BLOCK_PATHS, num_threads, run_jobs
    from simulator._kernels.fnvalue import raising_kernel_errors
    from simulator._kernels.summary import N_BINS, N_COUNTS, hist_rows, summary_block
    from simulator.company import pack_companies
    from simulator.drivers import pack_market
    from simulator.precompile import compile_ahead, finish, kernel_plan, lane_kernels
    from simulator.sketch import RELATIVE_ERROR, quantiles as sketch_quantiles

    mi = inputs if inputs is not None else pack_market(scenario)
    ci = companies if companies is not None else pack_companies(scenario)
    if n_paths is None:
        n_paths = scenario.simulation.paths
    n = mi.n_steps
    nc = ci.n
    block = BLOCK_PATHS
    if chunk is None:
        chunk = max(CHUNK_PATHS, num_threads() * block)
    chunk = max(block, -(-int(chunk) // block) * block)
    chunk = min(chunk, -(-n_paths // block) * block)
    nv = L.N_MARKET_VARS + 3 * nc
    exact = band_bytes(n_paths, n, nc) <= exact_bytes
    # a cold cache: the company kernel compiles here while a second process compiles the others
    # (if this run fails, that process still ends on its own once it has compiled them)
    child = compile_ahead(kernel_plan(mi, ci, "exact" if exact else "sketch"))

    # per-path scalars [path, company, column] with the paths last in memory, as the summaries and the
    # results file read them (a company's column at a time): no copy of them afterwards
    pint = np.empty((nc, CL.N_PINT, n_paths), dtype=CL.PINT_DTYPE).transpose(2, 0, 1)
    pflt = np.empty((nc, CL.N_PFLT, n_paths)).transpose(2, 0, 1)
    counts = np.zeros((nc, N_COUNTS, n), dtype=np.int64)
    msum = np.zeros((L.N_MARKET_VARS, n))
    n_slots = chunk // block
    c_counts = np.zeros((n_slots, nc, N_COUNTS, n), dtype=np.int64)
    c_sums = np.zeros((n_slots, L.N_MARKET_VARS, n))
    none = np.zeros((0, 0, 0))
    if exact:
        # the kernel writes the band values of the whole run straight here, rows [var, step]
        vals = _band_buffer(nv, n, n_paths)
        bins, c_min, c_max = [np.zeros((0, 0, 0), dtype=np.int16)], none, none
    else:
        # the chunk's band values as histogram bins (2 bytes each, not 8), two buffers used in turn
        # (one chunk's histogram is added while the next chunk runs);
        # then the histograms, and the exact range of each band's values: sketch quantiles are
        # clamped to it (min and max do not depend on the order, so this keeps results identical
        # for any chunking)
        vals = none
        bins = [_band_buffer(nv, n, chunk, np.int16) for _ in range(2)]
        hist = np.zeros((nv, n, N_BINS + 1), dtype=np.int32)  # + the count of values skipped
        c_min = np.empty((n_slots, nv, n))
        c_max = np.empty((n_slots, nv, n))
        v_min = np.full((nv, n), np.inf)
        v_max = np.full((nv, n), -np.inf)
    step_kernels = lane_kernels(mi, ci)  # market, company, and the company step's three parts
    dle = np.ascontiguousarray(mi.demand_log_expected, dtype=float)
    net_hr = np.ascontiguousarray(mi.network_hashrate, dtype=float)
    subsidy = np.ascontiguousarray(mi.block_subsidy, dtype=float)

    with raising_kernel_errors():
        binned = []  # the histogram job of the chunk before, if its bins are not added yet
        for k, path0 in enumerate(range(0, n_paths, chunk)):
            m = min(chunk, n_paths - path0)
            c_counts[:] = 0
            c_sums[:] = 0.0
            c_min[:] = np.inf
            c_max[:] = -np.inf
            b = bins[k % len(bins)]
            args = (mi.k0, mi.k1, path0, n, mi.dt, mi.months_per_step, mi.chol, mi.params, mi.models,
                    mi.btc_series, mi.rate_series, dle, net_hr, subsidy, ci.cpar, ci.kpar, ci.kptr, ci.tpar, ci.tptr,
                    ci.fpar, ci.fptr, block, pint[path0:path0 + m], pflt[path0:path0 + m], c_counts, c_sums, vals,
                    path0, b, c_min, c_max) + step_kernels
            # the chunk's blocks, then the histogram rows of the chunk before (its other bins buffer):
            # integer counts, the same in any order
            run_jobs([(summary_block, m, args, block)] + binned)
            binned = [] if exact else [(hist_rows, nv, (b, m, hist), 1)]
            for s in range(-(-m // block)):  # global block order: the same additions for any chunking
                msum += c_sums[s]
                if not exact:
                    np.copyto(v_min, c_min[s], where=_lower(c_min[s], v_min))
                    np.copyto(v_max, c_max[s], where=_lower(v_max, c_max[s]))
            counts += c_counts.sum(axis=0)
            if advance is not None:
                advance(m)
        run_jobs(binned)

    finish(child)  # the band kernels it compiled are in the cache
    qs = tuple(float(q) for q in quantiles)
    if exact:
        bands = exact_bands(vals, qs, n_paths)
        del vals
    else:
        empty = (v_min == np.inf) & (v_max == -np.inf)  # no value in the row: its bands are NaN
        v_min[empty] = np.nan
        v_max[empty] = np.nan
        bands = np.clip(sketch_quantiles(hist, qs), v_min, v_max)
    return Summary(pint=pint, pflt=pflt, counts=counts, market_mean=msum / n_paths, bands=bands, quantiles=qs,
                   exact=exact, relative_error=0.0 if exact else RELATIVE_ERROR, companies=ci, inputs=mi,
                   band_range=None if exact else np.stack([v_min, v_max]))


def from_full(res: dict, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95)):
    """The summary aggregates computed from a ``full=True`` result of :func:`simulator.engine.run`
    (tests, and the ``--output full`` dataset): counts, market means and exact bands."""
    from simulator._kernels.summary import COMPANY_BANDS, N_COUNTS, CN_ALIVE, CN_AVALANCHE, CN_DEMAND, \
        CN_LEVERAGE, CN_STEPPED

    market, full, alarms = res["market"], res["full"], res["alarms"]
    nc = full.shape[1]
    counts = np.zeros((nc, N_COUNTS, market.shape[2]), dtype=np.int64)
    counts[:, CN_STEPPED] = (full[CL.O_ALIVE] > 0.5).sum(axis=1)
    for col, bit in ((CN_ALIVE, CL.ALARM_ALIVE), (CN_DEMAND, CL.ALARM_DEMAND), (CN_LEVERAGE, CL.ALARM_LEVERAGE),
                     (CN_AVALANCHE, CL.ALARM_AVALANCHE)):
        counts[:, col] = ((alarms & bit) > 0).sum(axis=0)
    rows = [market]
    for c in range(nc):
        alive = full[CL.O_ALIVE, c] > 0.5
        for o in COMPANY_BANDS:
            rows.append(np.where(alive, full[o, c], np.nan)[None])
    vals = np.ascontiguousarray(np.concatenate(rows, axis=0).transpose(0, 2, 1))
    return counts, market.mean(axis=1), exact_bands(vals, tuple(quantiles))


def summary_from_full(res: dict, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95)) -> Summary:
    """A :class:`Summary` (exact bands) from a full result held in memory (the numpy reference engine)."""
    counts, mean, bands = from_full(res, quantiles)
    return Summary(pint=res["pint"], pflt=res["pflt"], counts=counts, market_mean=mean, bands=bands,
                   quantiles=tuple(float(q) for q in quantiles), exact=True, relative_error=0.0,
                   companies=res["companies"], inputs=res["inputs"])
