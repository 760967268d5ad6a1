"""Summary-mode kernels: simulate a chunk of paths and reduce it on the fly.

Nothing here holds a ``[path, step]`` array of the whole run. The engine
(:mod:`simulator.stream`) walks the run in chunks of paths; for each chunk
:func:`summary_block` simulates ``BLOCK``-path blocks (run on the thread pool
by :func:`~simulator._kernels.blocks.run_blocks`) and writes

- the per-path scalars ``pint``/``pflt`` of the chunk's paths;
- per block slot: integer counts per company and step (``counts``) and the
  sums of the market variables over the block's paths in path order (``sums``);
- the band values ``vals[var, step, voff + path]`` (market variables, then
  company cash, FCF and net leverage, NaN where the company is not alive):
  straight into the store of the whole run (exact quantiles, ``voff`` the
  chunk's first path), or into a chunk buffer reused chunk after chunk, which
  :func:`hist_rows` folds into the histograms (the sketch). Each ``[var,
  step]`` row is contiguous over the paths, so the readers (:func:`hist_rows`,
  :mod:`simulator._kernels.quantiles`) stream whole rows. The company kernel
  steps ``NL = 16`` paths at once (its lanes); the writer then writes each
  row's 16 values of them together (two cache lines when ``voff`` and the row
  length are multiples of 8 and the buffer is 64-byte aligned): one store
  burst per line instead of one cache miss per path, variable and step.

Block slots are fixed by the global path index (chunks start on multiples of
the block), so the engine can add the slots in global block order and get the
same bits for any chunk size and thread count.

Band variables: ``v < N_MARKET_VARS`` market variable ``v``; then company
``c``'s cash, FCF and net leverage at ``N_MARKET_VARS + 3 c + k``.
Count columns: ``CN_STEPPED`` (alive at the start of the step: the band
population), ``CN_ALIVE`` (alive at the end), ``CN_DEMAND``, ``CN_LEVERAGE``,
``CN_AVALANCHE`` (alarm lights lit, among paths alive at the end).

Histogram sketch (:func:`bin_index`): a log-linear binning (the octave and
the top mantissa bits of the float, exact), ``SUB_BITS`` mantissa bits per octave between ``2**E_MIN`` and
``2**E_MAX`` in magnitude, both signs, a zero bin for ``|x| < 2**E_MIN`` and
two end bins for larger magnitudes and infinities. A bin ``[lo, hi)`` has
``hi - lo <= 2**-SUB_BITS * lo``.
"""

import math

import numpy as np

from simulator._kernels import company_layout as CL
from simulator._kernels import layout as L
from simulator._kernels._jit import jit
from simulator._kernels.company import NL, companies_lanes
from simulator._kernels.engine import lane_scalars, market_lanes

CN_STEPPED, CN_ALIVE, CN_DEMAND, CN_LEVERAGE, CN_AVALANCHE = range(5)
N_COUNTS = 5
#: Company band variables, in order, per company.
COMPANY_BANDS = (CL.O_CASH, CL.O_FCF, CL.O_NET_LEVERAGE)
N_COMPANY_BANDS = 3
#: The only company lines :func:`summary_block` asks the company kernel for: whether the company
#: was stepped, then the band variables (line ``1 + k`` is ``COMPANY_BANDS[k]``).
SUMMARY_LINES = (CL.O_ALIVE,) + COMPANY_BANDS

#: Mantissa bits per octave of the histogram (relative bin width <= 2**-SUB_BITS).
SUB_BITS = 6
#: Smallest and largest binned magnitudes (powers of two).
E_MIN = -20
E_MAX = 100
#: Bins per sign.
NB = (E_MAX - E_MIN) << SUB_BITS
#: Index layout: 0 = -inf and below -2**E_MAX; 1 .. NB negative (descending magnitude);
#: NB + 1 zero bin; NB + 2 .. 2 NB + 1 positive (ascending); 2 NB + 2 = +inf and above.
N_BINS = 2 * NB + 3


@jit
def bin_index(x):
    """Histogram bin of a non-NaN float (see the module docstring)."""
    a = abs(x)
    if a < 2.0 ** E_MIN:
        return NB + 1
    if a >= 2.0 ** E_MAX:
        return 0 if x < 0.0 else 2 * NB + 2
    m, e = math.frexp(a)  # a = m 2**e, 0.5 <= m < 1: octave e - 1, then the top mantissa bits
    j = ((e - 1 - E_MIN) << SUB_BITS) + int((2.0 * m - 1.0) * (1 << SUB_BITS))
    if x < 0.0:
        return NB - j
    return NB + 2 + j


@jit
def summary_block(p_begin, p_end, k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series,
                  rate_series, dle, net_hr, subsidy, cpar, kpar, kptr, tpar, tptr, fpar, fptr, block,
                  pint, pflt, counts, sums, vals, voff):
    """Simulate chunk-local paths ``p_begin .. p_end - 1`` (global ``path0 + p``) and reduce them.

    Parameters
    ----------
    block : int
        Paths per block slot; ``p_begin`` is a multiple of it.
    pint : int64[chunk, n_comp, N_PINT]; pflt : float64[chunk, n_comp, N_PFLT]
        Per-path scalars (rows of the chunk).
    counts : int64[n_slots, n_comp, N_COUNTS, n_steps]
        Zeroed by the caller; slot ``p // block`` gets path ``p``.
    sums : float64[n_slots, N_MARKET_VARS, n_steps]
        Zeroed by the caller; market variables summed over the slot's paths in path order.
    vals : float64[N_MARKET_VARS + 3 n_comp, n_steps, >= voff + chunk]
        Band values of path ``p`` at ``vals[:, :, voff + p]`` (NaN for a company not alive in the step).
    """
    n_comp = cpar.shape[0]
    nm = L.N_MARKET_VARS
    no_shocks = np.zeros((0, 0, 0))
    # the market and company buffers of NL paths (the lanes of the company kernel): their band values
    # go out together, two cache lines of each [var, step] row at a time (see the module docstring)
    buf = np.empty((NL, n_steps, nm))
    lines = np.array(SUMMARY_LINES, dtype=np.int64)
    fp = np.zeros((len(SUMMARY_LINES), n_comp, n_steps, NL))
    pi = np.empty((NL, n_comp, CL.N_PINT), dtype=np.int64)
    pf = np.empty((NL, n_comp, CL.N_PFLT))
    al = np.empty((n_comp, n_steps, NL), dtype=np.int8)
    for p0 in range(p_begin, p_end, NL):
        nl = min(NL, p_end - p0)  # lanes past p_end repeat the last path; their results are dropped
        market_lanes(p0, nl, k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series,
                     no_shocks, buf)
        for l in range(nl):  # market sums in path order
            slot = (p0 + l) // block
            for t in range(n_steps):
                for v in range(nm):
                    sums[slot, v, t] += buf[l, t, v]
        companies_lanes(k0, k1, path0 + p0, p0, n_steps, dt, mps, buf, params, dle, net_hr, subsidy,
                        cpar, kpar, kptr, tpar, tptr, fpar, fptr, no_shocks, lines, pi, pf, al, fp)
        for l in range(nl):
            p = p0 + l
            slot = p // block
            lane_scalars(l, p, pi, pf, pint, pflt)
            for c in range(n_comp):
                for t in range(n_steps):
                    if fp[0, c, t, l] > 0.5:
                        counts[slot, c, CN_STEPPED, t] += 1
                    a = al[c, t, l]
                    if a & CL.ALARM_ALIVE:
                        counts[slot, c, CN_ALIVE, t] += 1
                    if a & CL.ALARM_DEMAND:
                        counts[slot, c, CN_DEMAND, t] += 1
                    if a & CL.ALARM_LEVERAGE:
                        counts[slot, c, CN_LEVERAGE, t] += 1
                    if a & CL.ALARM_AVALANCHE:
                        counts[slot, c, CN_AVALANCHE, t] += 1
        q0 = voff + p0  # the paths' band values: q0 .. q0 + nl - 1
        for v in range(nm):
            for t in range(n_steps):
                for l in range(nl):
                    vals[v, t, q0 + l] = buf[l, t, v]
        for c in range(n_comp):
            for k in range(N_COMPANY_BANDS):
                v = nm + N_COMPANY_BANDS * c + k
                for t in range(n_steps):
                    for l in range(nl):
                        vals[v, t, q0 + l] = fp[1 + k, c, t, l] if fp[0, c, t, l] > 0.5 else math.nan


@jit
def bin_of_bits(b):
    """:func:`bin_index` of the float whose IEEE-754 bits are ``b`` (int64, not a NaN), by integer
    operations only: the biased exponent and the top ``SUB_BITS`` mantissa bits are the bin.

    Branch-free (values of both signs, or around the zero bin, come in no
    predictable order): the position ``j`` within a sign is clamped to ``-1``
    (the zero bin) and ``NB`` (the end bin), then mirrored for a negative value.
    """
    a = b & 0x7FFFFFFFFFFFFFFF
    j = ((((a >> 52) - 1023 - E_MIN) << SUB_BITS) + ((a >> (52 - SUB_BITS)) & ((1 << SUB_BITS) - 1)))
    j = min(max(j, -1), NB) + 1
    return NB + 1 - j if b < 0 else NB + 1 + j


@jit
def hist_rows(v_begin, v_end, vals, n_paths, hist, v_min, v_max):
    """Add ``vals[v, t, :n_paths]`` into ``hist[v, t, bin]`` for rows ``v_begin .. v_end - 1`` (NaN
    skipped), and fold the row's minimum and maximum into ``v_min[v, t]`` / ``v_max[v, t]`` (NaN
    until a row has a value).

    One pass over each contiguous row; the histogram row of a step stays in
    cache while it is read; bins from the float's bits.
    """
    n_steps = vals.shape[1]
    bits = vals.view(np.int64)
    for v in range(v_begin, v_end):
        for t in range(n_steps):
            h = hist[v, t]
            x_row = vals[v, t]
            b_row = bits[v, t]
            lo = math.inf
            hi = -math.inf
            n = 0
            for p in range(n_paths):
                x = x_row[p]
                if x == x:
                    h[bin_of_bits(b_row[p])] += 1
                    lo = min(lo, x)
                    hi = max(hi, x)
                    n += 1
            if n > 0:
                if not lo >= v_min[v, t]:  # also when v_min is still NaN
                    v_min[v, t] = lo
                if not hi <= v_max[v, t]:
                    v_max[v, t] = hi
