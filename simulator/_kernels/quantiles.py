"""Quantiles of band rows: exact (``numpy.quantile``, method ``linear``) and from the histogram sketch.

Rows are the band values of one variable and step over the paths
(:mod:`simulator._kernels.summary` writes them ``[var, step, path]``, each row
contiguous). Both kernels run rows ``r_begin .. r_end - 1`` and are spread
over the thread pool by :func:`~simulator._kernels.blocks.run_blocks`.

Exact (:func:`exact_rows`): the same numbers as :func:`numpy.quantile`
(virtual index ``(n - 1) q``, its floor and the next order statistic,
numpy's ``_lerp``), without sorting or partitioning the row. One pass bins
the values with the sketch's :func:`~simulator._kernels.summary.bin_of_bits`
(monotone in the value) and counts them; the cumulative counts give the bin
of every needed order statistic; a second pass collects the values of those
few bins, which are sorted. The order statistics are the row's own values, so
the result is exact; the histogram only narrows the search.

Sketch (:func:`sketch_rows`): the estimate described in :mod:`simulator.sketch`.
"""

import math

import numpy as np

from simulator._kernels._jit import jit
from simulator._kernels.summary import N_BINS, bin_of_bits


@jit
def lerp(a, b, t):
    """numpy's ``_lerp`` (quantile interpolation), the same operations: ``inf - inf`` gives NaN as there."""
    d = b - a
    if t >= 0.5:
        return b - d * (1.0 - t)
    return a + d * t


@jit
def exact_rows(r_begin, r_end, vals, n_vals, n_plain, qs, out):
    """``out[i, r] = numpy.quantile(row, qs[i])`` for rows ``r_begin .. r_end - 1``.

    Parameters
    ----------
    vals : float64[n_rows, >= n_vals]
        Rows of band values (first ``n_vals`` entries). Rows ``>= n_plain`` skip
        NaN (a company not alive); rows ``< n_plain`` give NaN if they hold one,
        as :func:`numpy.quantile` does. Not modified.
    qs : float64[n_q]
    out : float64[n_q, n_rows]
        NaN for a row without values.
    """
    nq = qs.shape[0]
    counts = np.zeros(N_BINS, dtype=np.int64)
    cum = np.zeros(N_BINS, dtype=np.int64)
    slot_of = np.full(N_BINS, -1, dtype=np.int64)
    cand = np.empty(n_vals)
    cand_bits = cand.view(np.int64)
    work = np.empty(n_vals, dtype=np.int64)
    ranks = np.empty(2 * nq, dtype=np.int64)
    gam = np.empty(nq)
    bins = np.empty(2 * nq, dtype=np.int64)
    start = np.empty(2 * nq + 1, dtype=np.int64)
    fill = np.empty(2 * nq, dtype=np.int64)
    st = np.empty(2)
    for r in range(r_begin, r_end):
        x = vals[r]
        bits = x.view(np.int64)
        m = 0
        nan = False
        b_lo = N_BINS
        b_hi = -1
        for i in range(n_vals):  # branch-free: NaN come in no predictable order
            ok = x[i] == x[i]
            b = bin_of_bits(bits[i])
            counts[b] += ok
            b_lo = min(b_lo, b) if ok else b_lo
            b_hi = max(b_hi, b) if ok else b_hi
            m += ok
            nan |= not ok
        if m == 0 or (nan and r < n_plain):
            for i in range(nq):
                out[i, r] = math.nan
        else:
            c = 0
            for b in range(b_lo, b_hi + 1):
                c += counts[b]
                cum[b] = c
            # numpy's linear method: virtual index (n - 1) q, its floor and the next index;
            # at or past the last index both are the last, and gamma is taken against index -1
            for i in range(nq):
                virt = (m - 1) * qs[i]
                if virt >= m - 1:
                    ranks[2 * i] = m - 1
                    ranks[2 * i + 1] = m - 1
                    gam[i] = virt - (-1.0)
                else:
                    k = math.floor(virt)
                    ranks[2 * i] = int(k)
                    ranks[2 * i + 1] = int(k) + 1
                    gam[i] = virt - k
            # the bins holding the needed order statistics, and room for their values
            n_sel = 0
            for j in range(2 * nq):
                b = b_lo + np.searchsorted(cum[b_lo:b_hi + 1], ranks[j], side="right")
                if slot_of[b] < 0:
                    slot_of[b] = n_sel
                    bins[n_sel] = b
                    n_sel += 1
            start[0] = 0
            for s in range(n_sel):
                start[s + 1] = start[s] + counts[bins[s]]
                fill[s] = start[s]
            for i in range(n_vals):
                s = slot_of[bin_of_bits(bits[i])]
                if s >= 0 and x[i] == x[i]:  # a NaN's bits fall in an end bin
                    cand[fill[s]] = x[i]
                    fill[s] += 1
            for i in range(nq):
                for h in range(2):
                    k = ranks[2 * i + h]
                    b = b_lo + np.searchsorted(cum[b_lo:b_hi + 1], k, side="right")
                    s = slot_of[b]
                    st[h] = select(cand_bits[start[s]:start[s + 1]], k - (cum[b] - counts[b]), work)
                out[i, r] = lerp(st[0], st[1], gam[i])
            for s in range(n_sel):
                slot_of[bins[s]] = -1
        for b in range(b_lo, b_hi + 1):
            counts[b] = 0


#: Flips the magnitude bits of a negative float's bits (:func:`order_key`, its own inverse).
_MAG = 0x7FFFFFFFFFFFFFFF
#: The sign bit: ``key ^ _SIGN`` orders the keys as unsigned integers (radix digits).
_SIGN = -0x8000000000000000


@jit
def order_key(b):
    """Key of the float with bits ``b`` (int64): keys compare as int64 in the order of the values
    (NaN excluded; -0 before +0). Its own inverse."""
    return b if b >= 0 else b ^ _MAG


@jit
def select(seg, j, work):
    """The ``j``-th smallest (0-based) of the floats whose bits are ``seg`` (int64, not modified),
    by radix selection on :func:`order_key`: count the keys by the 8 bits below the highest bit in
    which they differ, keep the bucket holding rank ``j``, repeat; a few keys left are sorted."""
    c = seg.shape[0]
    w = work[:c]
    for i in range(c):
        w[i] = order_key(seg[i])
    digits = np.zeros(256, dtype=np.int64)
    key = w[0]
    while True:
        if c <= 16:
            w[:c].sort()
            key = w[j]
            break
        diff = 0
        for i in range(1, c):
            diff |= w[i] ^ w[0]
        if diff == 0:  # all the same value
            key = w[0]
            break
        hb = 63
        if diff > 0:
            hb = 0
            while diff >> (hb + 1):
                hb += 1
        shift = max(hb - 7, 0)
        digits[:] = 0
        for i in range(c):
            digits[((w[i] ^ _SIGN) >> shift) & 255] += 1
        d = 0
        while j >= digits[d]:
            j -= digits[d]
            d += 1
        m = 0
        for i in range(c):
            if ((w[i] ^ _SIGN) >> shift) & 255 == d:
                w[m] = w[i]
                m += 1
        c = m
    one = np.empty(1, dtype=np.int64)
    one[0] = order_key(key)
    return one.view(np.float64)[0]


@jit
def sketch_rows(r_begin, r_end, hist, qs, lo, hi, out):
    """Sketch quantiles of histogram rows ``hist[r, :N_BINS]`` (int32[n_rows, >= N_BINS]; columns
    past ``N_BINS`` are not read) into ``out[i, r]`` (NaN for an empty row); bin edges ``lo``/``hi``
    from :func:`simulator.sketch.bin_edges`."""
    nq = qs.shape[0]
    cum = np.empty(N_BINS, dtype=np.int64)
    for r in range(r_begin, r_end):
        h = hist[r, :N_BINS]
        c = 0
        for b in range(N_BINS):
            c += h[b]
            cum[b] = c
        n = c
        for i in range(nq):
            if n == 0:
                out[i, r] = math.nan
                continue
            pos = qs[i] * (n - 1)
            k = int(math.floor(pos))
            a = _order_stat(cum, h, k, lo, hi)
            b = _order_stat(cum, h, min(k + 1, n - 1), lo, hi)
            out[i, r] = lerp(a, b, pos - k)


@jit
def _order_stat(cum, h, k, lo, hi):
    """Estimate of the ``k``-th smallest value (0-based) of one histogram row: placed in its bin
    by its rank within the bin (end bins: their infinite edge)."""
    b = np.searchsorted(cum, k, side="right")
    if not math.isfinite(lo[b]):
        return lo[b]
    before = cum[b] - h[b]
    return lo[b] + (hi[b] - lo[b]) * (k - before + 0.5) / h[b]
