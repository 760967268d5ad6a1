"""Run a serial, GIL-free block kernel over blocks of paths on a thread pool.

Why not ``prange``
------------------
A ``prange`` kernel that calls the per-path kernel makes numba's parfor pass
link the whole per-path body into a generated gufunc and optimise it again:
measured on the market kernel, a cold first run spent about 40 % more CPU
compiling with ``prange`` than with a serial block kernel driven from here,
at the same run time (``docs/performance.md``). Paths are independent and
their random numbers depend only on (seed, global path, stream, step), so the
split into blocks and threads cannot change a single bit of the results.

The thread count is numba's (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``),
so every caller that sets threads through numba keeps working.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

#: Paths per block handed to a thread: large enough that the call overhead
#: (microseconds) vanishes, small enough to balance two to dozens of threads.
BLOCK_PATHS = 512


def num_threads() -> int:
    """numba's thread count, without starting numba's threading layer when nothing has
    changed the count.

    ``numba.get_num_threads()`` launches the threading layer (OpenMP/TBB/workqueue,
    about 20 ms) on first use, which nothing here needs: the blocks run on a
    Python thread pool. ``numba.set_num_threads`` launches it before setting a
    count, so while it is not launched the count is numba's default,
    ``NUMBA_NUM_THREADS`` (numba's documented default).
    """
    import numba
    from numba.np.ufunc import parallel

    if not getattr(parallel, "_is_initialized", True):
        return numba.config.NUMBA_NUM_THREADS
    return numba.get_num_threads()


def run_blocks(block_kernel, n_paths: int, args: tuple, threads: int | None = None,
               block: int = BLOCK_PATHS) -> None:
    """Call ``block_kernel(p_begin, p_end, *args)`` over ``[0, n_paths)`` in blocks.

    ``block_kernel`` must be a ``nogil`` numba function writing only the rows
    ``p_begin .. p_end - 1`` of its outputs. With one thread, or a single
    block, it runs in the calling thread.
    """
    run_block_sets([(block_kernel, n_paths, args, block)], threads)


def run_block_sets(sets, threads: int | None = None) -> None:
    """Several :func:`run_blocks` calls at once, on one pool.

    ``sets``: ``(block_kernel, n, args, block)`` tuples. Every block of every set
    is one task, submitted in order (so put the longest first); the call returns
    when all are done. The sets must write disjoint outputs. With one thread,
    each set is one call over its whole range, in order, in the calling thread.
    """
    if threads is None:
        threads = num_threads()
    sets = [s for s in sets if s[1] > 0]
    tasks = [(kernel, a, min(a + block, n), args) for kernel, n, args, block in sets for a in range(0, n, block)]
    if threads <= 1 or len(tasks) <= 1:
        for kernel, n, args, _ in sets:
            kernel(0, n, *args)
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(tasks))) as pool:
        # list() re-raises the first exception of any task
        list(pool.map(lambda task: task[0](task[1], task[2], *task[3]), tasks))
