"""Kernels called as function values (simulator._kernels.fnvalue): same results, errors not lost."""

from __future__ import annotations

import sys

import numba
import numpy as np
import pytest
from numba import types

from simulator._kernels.fnvalue import CompiledKernel, raising_kernel_errors

ARR = types.Array(types.float64, 1, "C")


@numba.njit(cache=False)
def _fill(n, out):
    scratch = np.empty(n)  # n < 0: numba raises ValueError (negative dimensions)
    for i in range(out.shape[0]):
        out[i] = i + scratch.shape[0]


@numba.njit(cache=False)
def _caller(f, n, out):
    f(n, out)
    return out.sum()


def _fill_value():
    return CompiledKernel(_fill, (types.int64, ARR))


def test_call_through_the_value_equals_the_direct_call():
    out = np.zeros(4)
    assert _caller(_fill_value(), 3, out) == 0 + 1 + 2 + 3 + 4 * 3
    direct = np.zeros(4)
    _fill(3, direct)
    np.testing.assert_array_equal(out, direct)


def test_an_error_inside_the_kernel_is_raised_not_lost(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    out = np.zeros(4)
    # numba's C wrapper can only report it: the call itself returns
    _caller(_fill_value(), -1, out)
    assert len(reported) == 1 and isinstance(reported[0].exc_value, ValueError)
    with pytest.raises(ValueError, match="negative dimensions"):
        with raising_kernel_errors():
            _caller(_fill_value(), -1, out)
    assert sys.unraisablehook == reported.append  # the hook that was there is back
    assert len(reported) == 1


def test_other_unraisable_exceptions_go_to_the_previous_hook(monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    class Noisy:
        def __del__(self):
            raise RuntimeError("not from a kernel")

    with raising_kernel_errors():
        Noisy()
    assert len(reported) == 1 and isinstance(reported[0].exc_value, RuntimeError)


def test_type_and_address_are_found_once_and_are_numbas():
    """A kernel taking the value is called once per block of paths: its type is built and its address
    found once (numba's own rules redo both at every call, about 0.4 ms per block kernel call), and
    they are what numba's rules give."""
    value = _fill_value()
    assert numba.typeof(value) is numba.typeof(value)
    assert numba.typeof(value) == types.FunctionType(types.none(types.int64, ARR))
    calls = []
    real = _fill.compile

    def counting(sig):
        calls.append(sig)
        return real(sig)

    _fill.compile = counting
    try:
        first = value.__wrapper_address__()
        assert value.__wrapper_address__() == first
        assert _caller(value, 2, np.zeros(3)) == 0 + 1 + 2 + 3 * 2
    finally:
        del _fill.compile
    assert len(calls) == 1
    cres = _fill.get_compile_result(types.none(types.int64, ARR))
    assert first == cres.library.get_pointer_to_function(cres.fndesc.llvm_cfunc_wrapper_name)
