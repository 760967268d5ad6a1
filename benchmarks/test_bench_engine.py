"""The engines: numba at 1 and all threads, and the plain-numpy reference.

``simulator.bench.ENGINES`` says which engine these time: the full engine
(market and every company), the numba one streamed as in summary mode.
"""

import numpy as np

from simulator.bench import ENGINES


def test_numba_engine(benchmark, work, threads):
    first = ENGINES.numba(work)  # compiles outside the timing
    out = benchmark(ENGINES.numba, work)
    for f in ("pint", "pflt", "counts", "market_mean", "bands"):
        assert np.array_equal(getattr(out, f), getattr(first, f), equal_nan=True)


def test_numpy_reference_engine(benchmark, work):
    ENGINES.numpy(work)
    benchmark.pedantic(ENGINES.numpy, args=(work,), rounds=3, iterations=1)
