"""The lane-loop primitives of simulator._kernels.select: same values as Python's conditional
expression, and ``update`` keeps LLVM from making a masked store of a value stored back."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from simulator._kernels._jit import _NoAliasCompiler
from simulator._kernels.select import select, trailing1, update


def _store_back(pick):
    """A lane loop storing ``pick(c, v, a[1, l])`` back into ``a[1, l]`` (no cache: its assembly is read)."""

    def kernel(a, c, lanes, v):
        a = trailing1(a, 16)
        for l in range(lanes):
            a[1, l] = pick(c[l] > 0.0, v, a[1, l])

    return numba.njit(cache=False, nogil=True, error_model="numpy", pipeline_class=_NoAliasCompiler)(kernel)


@pytest.mark.parametrize("pick", [select, update])
def test_same_values_as_the_conditional_expression(pick):
    rng = np.random.default_rng(5)
    a = rng.normal(size=(3, 16))
    a[1, :4] = (-0.0, 0.0, np.nan, np.inf)
    c = rng.normal(size=16)
    want = a.copy()
    want[1] = [2.5 if ci > 0.0 else ai for ci, ai in zip(c, a[1])]
    _store_back(pick)(a, c, 16, 2.5)
    assert np.array_equal(a.view(np.int64), want.view(np.int64))


def test_update_stores_every_lane():
    """Where LLVM makes a masked store (``vmaskmovpd``) of ``a[i] = select(c, v, a[i])``, ``update``
    gives a plain, vectorised store instead (``docs/performance.md`` section 14)."""
    kernels = {}
    for pick in (select, update):
        k = _store_back(pick)
        k(np.zeros((3, 16)), np.ones(16), 16, 1.0)
        kernels[pick] = k.inspect_asm(k.signatures[0])
    if "vmaskmovpd" not in kernels[select]:
        pytest.skip("this CPU's code has no masked stores to avoid (no AVX)")
    assert "vmaskmovpd" not in kernels[update]
    assert "ymm" in kernels[update]  # still vectorised
