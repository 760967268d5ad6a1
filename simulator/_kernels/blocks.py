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

import threading
from concurrent.futures import ThreadPoolExecutor, wait

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
    run_jobs([(block_kernel, n_paths, args, block)], threads)


def run_jobs(jobs, threads: int | None = None) -> None:
    """Run several :func:`run_blocks` calls ``(block_kernel, n_paths, args, block)`` as one: every
    block of every job is queued, in the order given, and all have ended when this returns.

    The jobs must not write what another reads or writes. A thread done with its share of one
    job goes on with the next instead of waiting for the others at the end of it: a job of small
    blocks after one of large blocks fills the threads' idle tail (the summary stream's
    histogram of one chunk after the simulation of the next).
    """
    if threads is None:
        threads = num_threads()
    jobs = [job for job in jobs if job[1] > 0]
    if not jobs:
        return
    if threads <= 1 or (len(jobs) == 1 and jobs[0][1] <= jobs[0][3]):
        for block_kernel, n_paths, args, _ in jobs:
            block_kernel(0, n_paths, *args)
        return
    tasks = [(k, a, min(a + block, n), args) for k, n, args, block in jobs for a in range(0, n, block)]
    pool = _pool(min(threads, len(tasks)))
    futures = [pool.submit(k, a, b, *args) for k, a, b, args in tasks]
    wait(futures)  # every block has ended before the caller reads the outputs or an error is raised
    for f in futures:
        f.result()  # re-raises the first exception of any block


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """A pool of ``workers`` threads kept for the life of the process: a run calls
    :func:`run_blocks` twice per chunk, and starting fresh threads every time cost about 1 s of a
    10^6-path run (982 thread starts). Idle workers wait on a queue; Python joins them at exit."""
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = _POOLS[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="simulator-block")
        return pool
