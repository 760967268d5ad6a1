"""The engines: numba at 1 and all threads, and the plain-numpy reference.

``simulator.bench.ENGINES`` says which engine these time (market drivers in
phase 1; the full engine once companies exist).
"""

import numpy as np

from simulator.bench import ENGINES


def test_numba_engine(benchmark, work, threads):
    first = ENGINES.numba(work)  # compiles outside the timing
    out = benchmark(ENGINES.numba, work)
    assert np.array_equal(out, first, equal_nan=True)


def test_numpy_reference_engine(benchmark, work):
    ENGINES.numpy(work)
    benchmark.pedantic(ENGINES.numpy, args=(work,), rounds=3, iterations=1)
