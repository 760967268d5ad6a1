"""The kernel decorators of :mod:`simulator._kernels._jit`."""

import numba
import numpy as np

from simulator._kernels._jit import _NoAliasCompiler


def _copy(a, b):
    for i in range(a.shape[0]):
        b[i] = 2.0 * a[i]


def _pointer_args(dispatcher, sig) -> list[str]:
    """The pointer parameters of the compiled function's arguments (its ``%arg.*``), from its LLVM IR."""
    line = next(ln for ln in dispatcher.inspect_llvm(sig).splitlines()
                if ln.startswith("define") and "_copy" in ln and "cpython" not in ln)
    return [p.strip() for p in line[line.index("(") + 1:].split(",") if p.strip().startswith("ptr") and "%arg." in p]


def test_noalias_compiler_declares_array_arguments_noalias():
    """``jit_noalias``'s compiler declares every array argument's data ``noalias`` to LLVM (numba's
    own flag, as for its parallel loops): without it, a numba upgrade could drop the declaration
    unseen, and the company step's lane loops would be checked for overlap at run time again."""
    sig = (numba.float64[::1], numba.float64[::1])
    plain = numba.njit(sig, cache=False)(_copy)
    marked = numba.njit(sig, cache=False, pipeline_class=_NoAliasCompiler)(_copy)
    data = [p for p in _pointer_args(marked, sig) if p.endswith(".4")]  # the data member of each array
    assert len(data) == 2 and all("noalias" in p for p in data), data
    assert [p for p in _pointer_args(plain, sig) if p.endswith(".4")] and \
        not any("noalias" in p for p in _pointer_args(plain, sig))
    a, b, c = np.arange(5.0), np.empty(5), np.empty(5)
    plain(a, b)
    marked(a, c)
    np.testing.assert_array_equal(b, c)
