"""The generator: NumPy's fastest (the floor) against the counter-based one.

Both draw ``paths x months x 10`` standard normals; the numba kernel sums them
instead of storing them, so neither pays for memory traffic the other avoids.
"""

from simulator.bench import NORMALS_PER_MONTH, _numba_rng, _numpy_floor


def test_rng_floor_numpy_sfc64(benchmark, work):
    n = work.paths * work.months * NORMALS_PER_MONTH
    _numpy_floor(n)
    benchmark(_numpy_floor, n)


def test_numba_rng(benchmark, work, threads):
    expected = _numba_rng(work)  # compiles outside the timing
    total = benchmark(_numba_rng, work)
    assert total == expected  # same sum, whatever the thread count
