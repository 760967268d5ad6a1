"""Kernels that exist only to be timed: the generator's cost without memory traffic."""

import numpy as np

from simulator._kernels._jit import jit
from simulator._kernels.blocks import run_blocks
from simulator._kernels.rng import normal_at, step_key, stream_base


@jit
def normal_sum_block(p_begin, p_end, k0, k1, path0, n_steps, n_streams, partial):
    """``partial[p]`` = sum of the normals of path ``path0 + p`` (serial, releases the GIL)."""
    bases = np.empty(n_streams, dtype=np.uint64)
    for p in range(p_begin, p_end):
        gp = np.uint64(path0 + p)
        for j in range(n_streams):
            bases[j] = stream_base(k0, k1, gp, np.uint64(j))
        acc = 0.0
        for t in range(n_steps):
            skey = step_key(t, 0)
            for j in range(n_streams):
                acc += normal_at(bases[j], t, skey)
        partial[p] = acc


def normal_sum(k0, k1, path0, n_paths, n_steps, n_streams):
    """Sum of ``n_streams`` standard normals per step on each of ``n_paths`` paths.

    Draws exactly what a kernel reading streams ``0 .. n_streams - 1`` draws
    (one stream base per path and stream, one counter hash per step), but adds
    them up instead of storing them, so the timing is the generator's alone.
    Runs on numba's thread count like the engine (:mod:`simulator._kernels.blocks`);
    per-path partial sums keep the total thread-count independent.
    """
    partial = np.zeros(n_paths)
    run_blocks(normal_sum_block, n_paths, (k0, k1, path0, n_steps, n_streams, partial))
    return partial.sum()
