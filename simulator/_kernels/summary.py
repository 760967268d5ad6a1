"""Summary-mode kernels: simulate a chunk of paths and reduce it on the fly.

Nothing here holds a ``[path, step]`` array of the whole run. The engine
(:mod:`simulator.stream`) walks the run in chunks of paths; for each chunk
:func:`summary_block` simulates ``BLOCK``-path blocks (run on the thread pool
by :func:`~simulator._kernels.blocks.run_blocks`) and writes

- the per-path scalars ``pint``/``pflt`` of the chunk's paths;
- per block slot: integer counts per company and step (``counts``) and the
  sums of the market variables over the block's paths in path order (``sums``);
- the band values (market variables, then company cash, FCF and net
  leverage, NaN where the company is not alive), a ``[var, step]`` row of a
  lane group's paths at a time (the company kernel steps ``NL = 32`` paths
  at once, its lanes, and leaves their market values and lines lane last):

  - exact quantiles: written straight into the store of the whole run,
    ``vals[var, step, voff + path]`` (``voff`` the chunk's first path);
  - the sketch: binned (:func:`bin_of_bits`, in the loop over the row's
    lanes that also takes its range; LLVM vectorises it) into
    ``bins[var, step, path]``, a chunk buffer of 2-byte
    bins reused chunk after chunk (53 MB for avalanche's 16,384-path chunk,
    a quarter of the float64 values), which :func:`hist_rows` folds
    into the histograms; and the exact range of each row per slot, in the
    order of :func:`lower` (``-0.0 < 0.0``), so that it does not depend on
    the order of the paths (over a lane group's lanes as integer order keys,
    :func:`order_key`).

  Each ``[var, step]`` row is contiguous over the paths, so the readers
  (:func:`hist_rows`, :mod:`simulator._kernels.quantiles`) stream whole
  rows, and a lane group writes each row's 32 values together.

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
from simulator._kernels._jit import jit, jit_ir_inline
from simulator._kernels.company import NL
from simulator._kernels.engine import group_scalars
from simulator._kernels.select import select

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
#: The bin code of a value the histogram skips (NaN: a company not alive); int16 holds every code.
BIN_SKIP = N_BINS
assert BIN_SKIP < 2 ** 15
#: Order keys (:func:`order_key`) of a row's extremes before it has a value (no float has them:
#: they are the keys of NaN bit patterns).
KEY_NONE_LO = 2 ** 63 - 1
KEY_NONE_HI = -(2 ** 63)


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
                  pint, pflt, counts, sums, vals, voff, bins, vmin, vmax, market_step, company_step, operations,
                  financing, outcome):
    """Simulate chunk-local paths ``p_begin .. p_end - 1`` (global ``path0 + p``) and reduce them.

    Parameters
    ----------
    block : int
        Paths per block slot; ``p_begin`` is a multiple of it, and it is a multiple of ``NL``.
    pint : PINT_DTYPE[chunk, n_comp, N_PINT]; pflt : float64[chunk, n_comp, N_PFLT]
        Per-path scalars (rows of the chunk), any layout (the run keeps them with the paths last).
    counts : int64[n_slots, n_comp, N_COUNTS, n_steps]
        Zeroed by the caller; slot ``p // block`` gets path ``p``.
    sums : float64[n_slots, N_MARKET_VARS, n_steps]
        Zeroed by the caller; market variables summed over the slot's paths in path order.
    vals : float64[N_MARKET_VARS + 3 n_comp, n_steps, >= voff + chunk]
        Exact bands: band values of path ``p`` at ``vals[:, :, voff + p]`` (NaN for a company not
        alive in the step). Sketch: an empty array.
    bins : int16[N_MARKET_VARS + 3 n_comp, n_steps, >= chunk]
        Sketch: the band values' histogram bins (:func:`bin_of_bits`; ``BIN_SKIP`` for NaN) at
        ``bins[:, :, p]``. Exact bands: an empty array.
    vmin, vmax : float64[n_slots, N_MARKET_VARS + 3 n_comp, n_steps]
        Sketch: the least and greatest band value of the slot's paths (NaN skipped; ``-0.0 < 0.0``,
        :func:`lower`), folded into what is there (the caller fills them with +inf and -inf).
        Exact bands: empty arrays.
    market_step, company_step : :class:`~simulator._kernels.fnvalue.CompiledKernel`
        :func:`~simulator._kernels.engine.market_lanes` and
        :func:`~simulator._kernels.company.companies_lanes`, compiled for the arguments they get
        here (:func:`simulator.precompile.lane_kernels`).
    operations, financing, outcome : :class:`~simulator._kernels.fnvalue.CompiledKernel`
        The company step's three parts, passed on to ``company_step``.
    """
    n_comp = cpar.shape[0]
    nm = L.N_MARKET_VARS
    sketch = bins.shape[0] > 0
    no_shocks = np.zeros((0, 0, 0))
    # the market and company buffers of NL paths (the lanes of the company kernel): their band values
    # go out a [var, step] row of lanes at a time
    buf = np.empty((n_steps, L.N_MARKET_BUF, NL))  # buf[t, v, l]: lane last
    lines = np.array(SUMMARY_LINES, dtype=np.int64)
    fp = np.zeros((len(SUMMARY_LINES), n_comp, n_steps, NL))
    pi = np.empty((NL, n_comp, CL.N_PINT), dtype=np.int64)
    pf = np.empty((NL, n_comp, CL.N_PFLT))
    al = np.empty((n_comp, n_steps, NL), dtype=np.int8)
    nv = nm + N_COMPANY_BANDS * n_comp
    # NL (block is a multiple of it), as a count LLVM does not know: a loop of a known 16 iterations is
    # unrolled into scalar code, not vectorised (LLVM sees through buf.shape[2], which is NL here)
    lanes = min(NL, block)
    row = np.empty(NL)  # a band row's values over the lanes
    row_bits = row.view(np.int64)  # their bits: bins and order keys (:func:`order_key`)
    # the slot's counts and band ranges as they build up, folded into counts, vmin and vmax when its
    # last lane group is done (:func:`fold_slot`): the lights lit per company, count column, step
    # and lane (8-bit: a lane counts one path per lane group; column CN_STEPPED is not used, see
    # fold_slot), and each band row's extremes as order keys
    lit = np.zeros((n_comp, N_COUNTS, n_steps, NL), dtype=np.uint8)
    slot_lo = np.full((nv, n_steps), KEY_NONE_LO, dtype=np.int64)
    slot_hi = np.full((nv, n_steps), KEY_NONE_HI, dtype=np.int64)
    groups = 0  # lane groups of the slot not yet folded
    n_slot = 0  # and their paths
    for p0 in range(p_begin, p_end, NL):
        nl = min(NL, p_end - p0)  # lanes past p_end repeat the last path; their results are dropped
        slot = p0 // block  # the same for every lane: blocks are whole lane groups
        market_step(p0, nl, k0, k1, path0, n_steps, dt, mps, chol, params, models, btc_series, rate_series,
                     no_shocks, buf)
        # market sums, each in path order: four sums at a time in local variables, whose additions
        # are independent of one another (a sum added in place waited on its own store and load at
        # each lane); the same additions in the same order, so the same bits
        for t in range(n_steps):
            v = 0
            while v + 4 <= nm:
                s0, s1, s2, s3 = sums[slot, v, t], sums[slot, v + 1, t], sums[slot, v + 2, t], sums[slot, v + 3, t]
                for l in range(nl):
                    s0 += buf[t, v, l]
                    s1 += buf[t, v + 1, l]
                    s2 += buf[t, v + 2, l]
                    s3 += buf[t, v + 3, l]
                sums[slot, v, t], sums[slot, v + 1, t], sums[slot, v + 2, t], sums[slot, v + 3, t] = s0, s1, s2, s3
                v += 4
            for v in range(v, nm):
                s0 = sums[slot, v, t]
                for l in range(nl):
                    s0 += buf[t, v, l]
                sums[slot, v, t] = s0
        company_step(k0, k1, path0 + p0, p0, n_steps, dt, mps, buf, params, dle, net_hr, subsidy,
                     cpar, kpar, kptr, tpar, tptr, fpar, fptr, no_shocks, lines, pi, pf, al, fp, operations, financing,
                     outcome)
        group_scalars(p0, nl, pi, pf, pint, pflt)
        for c in range(n_comp):  # the lights lit, lane by lane (a loop LLVM vectorises, 32 lanes a vector)
            for t in range(n_steps):
                for l in range(nl):
                    a = al[c, t, l]
                    lit[c, CN_ALIVE, t, l] += (a & CL.ALARM_ALIVE) != 0
                    lit[c, CN_DEMAND, t, l] += (a & CL.ALARM_DEMAND) != 0
                    lit[c, CN_LEVERAGE, t, l] += (a & CL.ALARM_LEVERAGE) != 0
                    lit[c, CN_AVALANCHE, t, l] += (a & CL.ALARM_AVALANCHE) != 0
        # the band values, a [var, step] row of lanes at a time: into `row` (NaN: a company not alive,
        # or a lane past the last path), then binned, with the row's range, or stored as they are
        q0 = voff + p0
        for v in range(nv):
            c = (v - nm) // N_COMPANY_BANDS  # company rows: company c's line 1 + k
            k = (v - nm) % N_COMPANY_BANDS
            for t in range(n_steps):
                if v < nm:
                    for l in range(lanes):
                        row[l] = buf[t, v, l]
                else:
                    for l in range(lanes):
                        row[l] = select(fp[0, c, t, l] > 0.5, fp[1 + k, c, t, l], math.nan)
                for l in range(nl, NL):
                    row[l] = math.nan
                if not sketch:  # the band values of the paths: q0 .. q0 + nl - 1 of the whole run
                    for l in range(nl):
                        vals[v, t, q0 + l] = row[l]
                    continue
                # the bins (lanes past the last path go to the row's tail, which no reader reads; an
                # unsigned index: no wraparound for LLVM to keep it from vectorising), and the row's
                # extremes over the lanes as integer order keys (NaN skipped): one loop LLVM vectorises
                k_lo = KEY_NONE_LO
                k_hi = KEY_NONE_HI
                for l in range(lanes):
                    x = row[l]
                    b = row_bits[l]
                    bins[v, t, np.uint64(p0 + l)] = select(x == x, bin_of_bits(b), BIN_SKIP)
                    key = order_key(b)
                    k_min = select(x == x, key, KEY_NONE_LO)
                    k_max = select(x == x, key, KEY_NONE_HI)
                    k_lo = select(k_min < k_lo, k_min, k_lo)
                    k_hi = select(k_max > k_hi, k_max, k_hi)
                slot_lo[v, t] = min(slot_lo[v, t], k_lo)  # (a row without values leaves them as they are)
                slot_hi[v, t] = max(slot_hi[v, t], k_hi)
        groups += 1
        n_slot += nl
        # the slot's last lane group in this call, or its 8-bit counters could overflow at the next
        if p0 + NL >= p_end or (p0 + NL) % block == 0 or groups == 255:
            fold_slot(slot, n_slot, lit, slot_lo, slot_hi, counts, vmin, vmax, sketch)
            groups = 0
            n_slot = 0


@jit
def fold_slot(slot, n_paths, lit, key_lo, key_hi, counts, vmin, vmax, sketch):
    """Add the counts of ``n_paths`` paths of block slot ``slot`` (``lit``, :func:`summary_block`) into
    ``counts[slot]`` and their band ranges (``key_lo``, ``key_hi``: order keys) into ``vmin[slot]`` and
    ``vmax[slot]`` (``sketch``: else there are none); then reset ``lit``, ``key_lo`` and ``key_hi``.

    Column ``CN_STEPPED`` (alive at the start of the step) is the paths alive at the end of the
    step before (``CN_ALIVE``), and every path at step 0: alive at the start of a step is not
    defaulted in an earlier step, which is alive at the end of the step before.
    """
    n_comp, n_steps = lit.shape[0], lit.shape[2]
    for c in range(n_comp):
        counts[slot, c, CN_STEPPED, 0] += n_paths
        for k in (CN_ALIVE, CN_DEMAND, CN_LEVERAGE, CN_AVALANCHE):
            for t in range(n_steps):
                n = 0
                for l in range(lit.shape[3]):
                    n += lit[c, k, t, l]
                    lit[c, k, t, l] = 0
                counts[slot, c, k, t] += n
                if k == CN_ALIVE and t + 1 < n_steps:
                    counts[slot, c, CN_STEPPED, t + 1] += n
    if not sketch:
        return
    key_float = np.empty(2)  # a key's value back as a float
    key_bits = key_float.view(np.int64)
    for v in range(key_lo.shape[0]):
        for t in range(n_steps):
            if key_lo[v, t] <= key_hi[v, t]:  # a value in the row
                key_bits[0] = order_key(key_lo[v, t])
                key_bits[1] = order_key(key_hi[v, t])
                vmin[slot, v, t] = select(lower(key_float[0], vmin[slot, v, t]), key_float[0], vmin[slot, v, t])
                vmax[slot, v, t] = select(lower(vmax[slot, v, t], key_float[1]), key_float[1], vmax[slot, v, t])
            key_lo[v, t] = KEY_NONE_LO
            key_hi[v, t] = KEY_NONE_HI


@jit_ir_inline
def lower(x, m):
    """``x < m`` in the total order of floats where ``-0.0 < 0.0`` (False if either is NaN): with it
    the least and greatest value of a set do not depend on the order the values come in."""
    return (x < m) | ((x == m) & (math.copysign(1.0, x) < math.copysign(1.0, m)))


@jit_ir_inline
def order_key(b):
    """The int64 order key of the float whose bits are ``b`` (not a NaN): keys compare as the floats
    do in the order of :func:`lower` (``-0.0 < 0.0``); the map is its own inverse (a key's float
    bits are ``order_key(key)``)."""
    return b ^ ((b >> 63) & 0x7FFFFFFFFFFFFFFF)


@jit_ir_inline
def bin_of_bits(b):
    """:func:`bin_index` of the float whose IEEE-754 bits are ``b`` (int64, not a NaN), by integer
    operations only: the biased exponent and the top ``SUB_BITS`` mantissa bits are the bin.

    Branch-free (values of both signs, or around the zero bin, come in no
    predictable order; and :func:`summary_block` bins many values in one loop,
    which LLVM vectorises only with this function inlined into it): the
    position ``j`` within a sign is clamped to ``-1`` (the zero bin) and ``NB``
    (the end bin), then mirrored for a negative value.
    """
    a = b & 0x7FFFFFFFFFFFFFFF
    j = ((((a >> 52) - 1023 - E_MIN) << SUB_BITS) + ((a >> (52 - SUB_BITS)) & ((1 << SUB_BITS) - 1)))
    j = select(j < -1, -1, j)
    j = select(j > NB, NB, j) + 1
    return select(b < 0, NB + 1 - j, NB + 1 + j)


@jit
def hist_rows(v_begin, v_end, bins, n_paths, hist):
    """Add the binned band values ``bins[v, t, :n_paths]`` into ``hist[v, t, bin]`` for rows
    ``v_begin .. v_end - 1`` (``hist[v, t, N_BINS]`` counts the values skipped, NaN).

    One pass over each contiguous row of 2-byte bins, four steps' rows at a time: their
    histogram rows stay in cache while they are read, and the four increments of a path are
    independent. One row at a time, the increments of a row whose values share a bin wait for one
    another (a row took 1.3-1.4 ns a value on one thread, four 0.95-1.07 ns;
    ``docs/performance.md``, section 15).
    """
    n_steps = bins.shape[1]
    for v in range(v_begin, v_end):
        t = 0
        while t + 4 <= n_steps:
            ha, hb, hc, hd = hist[v, t], hist[v, t + 1], hist[v, t + 2], hist[v, t + 3]
            ra, rb, rc, rd = bins[v, t], bins[v, t + 1], bins[v, t + 2], bins[v, t + 3]
            for p in range(n_paths):
                ha[ra[p]] += 1
                hb[rb[p]] += 1
                hc[rc[p]] += 1
                hd[rd[p]] += 1
            t += 4
        for t in range(t, n_steps):
            h = hist[v, t]
            row = bins[v, t]
            for p in range(n_paths):
                h[row[p]] += 1
