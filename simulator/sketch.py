"""Quantiles from the fixed-bin histogram sketch of summary mode.

The bins are those of :func:`simulator._kernels.summary.bin_index`: per sign,
``2**SUB_BITS`` bins per octave of magnitude between ``2**E_MIN`` and
``2**E_MAX``, a zero bin ``(-2**E_MIN, 2**E_MIN)`` and two end bins (larger
magnitudes and infinities). Counts are integers, so merging chunks is exact
and independent of the order; the sketch is therefore bit-identical for any
chunking and thread count.

A quantile is read like :func:`numpy.quantile` (linear interpolation between
the order statistics at ranks ``floor(q (n - 1))`` and the next), with each
order statistic placed inside its bin by linear interpolation on its rank
within the bin. Each estimate lies in the bin holding the true order
statistic, so the error is at most the bin width: ``|error| <= 2**-SUB_BITS
|x|`` (1.5625 % for ``SUB_BITS = 6``) for ``2**E_MIN <= |x| < 2**E_MAX``,
at most ``2**E_MIN`` absolute inside the zero bin. An order statistic in an
end bin is reported as ``-inf``/``+inf`` (magnitudes of ``2**100`` or more,
infinities included). :mod:`simulator.stream` also keeps each row's exact
minimum and maximum and clamps the estimates to them, so a band never leaves
the range of the values (a margin clipped at -1 is reported as -1, not -1.003).
"""

from __future__ import annotations

import numpy as np

from simulator._kernels.summary import E_MAX, E_MIN, N_BINS, NB, SUB_BITS

#: Stated bound of the relative error of a sketch quantile (bin width over its lower edge).
RELATIVE_ERROR = 2.0 ** -SUB_BITS
#: Stated bound of the absolute error inside the zero bin.
ABSOLUTE_ERROR = 2.0 ** E_MIN


def bin_edges() -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` float64[N_BINS]: the value range of each bin (end bins: +-inf)."""
    j = np.arange(NB)
    octave = E_MIN + (j >> SUB_BITS)
    sub = j & ((1 << SUB_BITS) - 1)
    pos_lo = np.ldexp(1.0 + sub / 2.0 ** SUB_BITS, octave)
    pos_hi = np.ldexp(1.0 + (sub + 1) / 2.0 ** SUB_BITS, octave)
    lo = np.empty(N_BINS)
    hi = np.empty(N_BINS)
    lo[0], hi[0] = -np.inf, -np.inf
    lo[1:NB + 1], hi[1:NB + 1] = -pos_hi[::-1], -pos_lo[::-1]
    lo[NB + 1], hi[NB + 1] = -(2.0 ** E_MIN), 2.0 ** E_MIN
    lo[NB + 2:2 * NB + 2], hi[NB + 2:2 * NB + 2] = pos_lo, pos_hi
    lo[-1], hi[-1] = np.inf, np.inf
    assert hi[-2] == 2.0 ** E_MAX
    return lo, hi


def quantiles(hist: np.ndarray, qs) -> np.ndarray:
    """Quantiles of histogram rows.

    Parameters
    ----------
    hist : int[..., >= N_BINS]
        Columns past ``N_BINS`` (a count of values skipped) are not read.
    qs : sequence of float in [0, 1]

    Returns
    -------
    float64[len(qs), ...]
        NaN where a row is empty.

    The rows are read by :func:`simulator._kernels.quantiles.sketch_rows`
    (spread over numba's threads).
    """
    from simulator._kernels.blocks import run_blocks
    from simulator._kernels.quantiles import sketch_rows

    lo, hi = bin_edges()
    shape = hist.shape[:-1]
    h = np.ascontiguousarray(hist.reshape(-1, hist.shape[-1]))
    out = np.empty((len(qs), h.shape[0]))
    run_blocks(sketch_rows, h.shape[0], (h, np.asarray(qs, dtype=float), lo, hi, out), block=64)
    return out.reshape((len(qs),) + shape)
