"""Per-path results with the paths last: ``a[path, company, column]`` into ``out[company, column, path]``.

The summaries and the results file read the per-path results (``pint``,
``pflt``) a company's column at a time over every path. A summary-mode run
keeps them that way (:func:`simulator.stream.run_summary`); the fused
engine's ``--output full`` results, and blends, hold them path by path, and
are copied with this kernel (:func:`simulator.company.summary.paths_last`). numpy's copy of
the strided column (``numpy.ascontiguousarray(pint[:, c, :].T)``) moves one
2-byte element at a time: 0.53 s for the five companies of a 10^6-path run. This
kernel copies tiles of paths, so both sides stay in cache: 0.09 s on one thread.
Run on the thread pool by :func:`~simulator._kernels.blocks.run_blocks`.
"""

from simulator._kernels._jit import jit

#: Paths per tile: a tile's rows (columns x companies x TILE values) stay in the L1 and L2 caches.
TILE = 256


@jit
def paths_last_block(p_begin, p_end, a, out):
    """``out[c, k, p] = a[p, c, k]`` for paths ``p_begin .. p_end - 1``, a tile of paths at a time."""
    n_comp, n_col = a.shape[1], a.shape[2]
    for p0 in range(p_begin, p_end, TILE):
        p1 = min(p0 + TILE, p_end)
        for c in range(n_comp):
            for k in range(n_col):
                for p in range(p0, p1):
                    out[c, k, p] = a[p, c, k]
