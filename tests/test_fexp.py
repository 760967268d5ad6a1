"""The kernels' inlined ``exp`` (simulator._kernels.fexp) against libm's."""

import math

import numba
import numpy as np

from simulator._kernels.fexp import exp, exp_array


@numba.njit
def _exp_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


@numba.njit
def _libm_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = math.exp(x[i])


@numba.njit
def _array(x, out):
    exp_array(x, out)


def _ulps(a, b):
    ia, ib = a.view(np.int64), b.view(np.int64)
    return np.abs(ia - ib)


def test_matches_libm_within_one_ulp():
    """glibc's algorithm: equal to libm's ``exp`` (bit for bit on an x86-64 glibc with FMA; never more than 1 ulp)."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-30, 30, 200_000), rng.uniform(-700, 700, 100_000),
                        np.exp(rng.uniform(-40, 6, 100_000)) * rng.choice([-1.0, 1.0], 100_000)])
    a, b, c = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    _exp_loop(x, a)
    _libm_loop(x, b)
    _array(x, c)
    assert _ulps(a, b).max() <= 1
    assert np.array_equal(a.view(np.int64), c.view(np.int64))


def test_special_arguments_as_libm():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -5e-324, 2.0**-54, -(2.0**-54), 2.0**-55,
                  512.0, -512.0, 709.78, 709.79, 1e4, -708.4, -740.0, -745.2, -1e4])
    a, b, c = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    _exp_loop(x, a)
    _libm_loop(x, b)
    _array(x, c)
    assert np.isnan(a[0]) and np.isnan(c[0])
    np.testing.assert_array_equal(a[1:], b[1:])
    np.testing.assert_array_equal(c[1:], b[1:])
