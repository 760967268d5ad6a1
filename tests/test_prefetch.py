"""The kernels' cache hints (simulator._kernels.prefetch)."""

import numba
import numpy as np

from simulator._kernels.prefetch import prefetch_all


@numba.njit
def _prefetch_sum(a, n):
    s = 0.0
    for r in range(n):
        prefetch_all(a)  # a hint between reads: must change nothing
        s += a[r % a.shape[0]]
    return s


def test_prefetch_is_only_a_hint():
    """:func:`prefetch_all` compiles for float and integer tables of any length (a partial last
    line, an empty array) and leaves values and results as they are."""
    for a in (np.arange(13, dtype=float), np.arange(256, dtype=np.uint64), np.zeros(0)):
        before = a.copy()
        n = 40 if a.size else 0
        assert _prefetch_sum(a, n) == sum(float(a[r % a.size]) for r in range(n))
        assert np.array_equal(a, before)
