"""A compiled kernel passed to another kernel as a function value, so that the caller does not
compile it again.

numba links the code of every kernel a kernel calls into the caller's own
module, optimises that module again as a whole and generates its machine code:
each caller of the company kernel compiled the whole company step once more
(measured: the summary block kernel, whose own code is small, took 8.4 s of
a cold run's compile, almost all of it the linked market and company
kernels; ``docs/performance.md`` section 13). A kernel that receives
:class:`CompiledKernel` as an argument sees a first-class function value
(numba's ``FunctionType``) and calls it through its address: the callee is
compiled once, by its own dispatcher, and cached as usual. The call is one
indirect call; the callee's code is the same machine code either way, so
results are the same bits.

This relies on numba's wrapper-address protocol
(``numba.core.types.WrapperAddressProtocol``), as numba's own
``CompileResultWAP`` does, and on the same two attributes of a compile
result that it reads (the name of the function's C wrapper and the library
that holds it); unlike ``CompileResultWAP``, the kernel is compiled (or
loaded from the cache) only when a kernel is first called with it, so that a
cold run can compile it in its second process meanwhile
(:mod:`simulator.precompile`).

The call goes through numba's C wrapper of the kernel, which cannot return
an exception to its caller: it reports it to ``sys.unraisablehook`` and
returns. The kernels called this way raise nothing in normal operation
(``error_model='numpy'``, no ``raise``), but an allocation inside them can
fail; :func:`raising_kernel_errors` turns such a report into an exception
of the run, so that a run never goes on with half-written results.
"""

from __future__ import annotations

import contextlib
import sys
import threading

import numba.experimental.function_type  # noqa: F401 - registers the typing and unboxing of function values
from numba.core import types
from numba.core.typing.typeof import typeof_impl


class CompiledKernel(types.WrapperAddressProtocol):
    """``dispatcher`` compiled for ``argtypes`` (a tuple of numba types; returns nothing), as a
    value numba types as ``FunctionType``: pass it to a kernel and call it there like the
    dispatcher. Compiled (or loaded from the cache) when a kernel is first called with it."""

    def __init__(self, dispatcher, argtypes: tuple):
        self._dispatcher = dispatcher
        self._argtypes = tuple(argtypes)
        self._signature = types.none(*argtypes)
        self._type = types.FunctionType(self._signature)
        self._address = None

    def signature(self):
        return self._signature

    def __wrapper_address__(self) -> int:
        # numba asks for it every time a kernel is called with this value: found once, then kept (the
        # dispatcher keeps the compiled library, so the address stays valid)
        if self._address is None:
            # compiled (or loaded) by argument types, as a call compiles it: numba's cache keys an
            # entry by the form of the signature it was compiled with, so this finds what the second
            # process of a cold run put there
            self._dispatcher.compile(self._argtypes)
            cres = self._dispatcher.get_compile_result(self._signature)
            self._address = cres.library.get_pointer_to_function(cres.fndesc.llvm_cfunc_wrapper_name)
        return self._address

    def __call__(self, *args):
        """Called from Python (``NUMBA_DISABLE_JIT=1``): the dispatcher itself."""
        return self._dispatcher(*args)


@typeof_impl.register(CompiledKernel)
def _typeof_compiled_kernel(val, c):
    """numba's type of a :class:`CompiledKernel` argument, built once: numba's own rule for a function
    value builds a new ``FunctionType`` at every call of a kernel that takes one (about 12 us each)."""
    return val._type


_HOOK_LOCK = threading.Lock()


def _from_kernel_wrapper(unraisable) -> bool:
    """Whether an unraisable exception was reported by numba's C wrapper of a kernel (its "object"
    is the repr of numba's CPU context)."""
    return isinstance(unraisable.object, str) and unraisable.object.startswith("<numba.core.cpu.CPUContext")


@contextlib.contextmanager
def raising_kernel_errors():
    """Within the block, an exception raised inside a kernel called as a function value (which
    numba's C wrapper can only report as unraisable) is kept and raised again when the block ends;
    other unraisable exceptions go to the hook that was there."""
    caught = []
    with _HOOK_LOCK:
        previous = sys.unraisablehook

        def hook(unraisable):
            if _from_kernel_wrapper(unraisable):
                caught.append(unraisable.exc_value)
            else:
                previous(unraisable)

        sys.unraisablehook = hook
    try:
        yield
    finally:
        with _HOOK_LOCK:
            sys.unraisablehook = previous
    if caught:
        raise caught[0]
