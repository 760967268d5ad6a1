"""The one place that fixes numba options for every kernel.

- ``cache=True``: compiled code is reused across processes (``NUMBA_CACHE_DIR``).
- ``fastmath=False``: NaN and infinity must propagate in finance code.
- ``error_model='numpy'``: division by zero gives inf/NaN instead of raising,
  which keeps the hot loop free of exception checks.
- No numba-level inlining (``inline='always'``): it re-runs type inference on
  every inlined copy and made the cold compile of the market kernel about
  40 % slower, while LLVM inlines the small helpers anyway when it links them
  (measured: same or better speed, see ``docs/performance.md``).

:func:`without_optional_scipy` keeps numba from importing scipy when it first
loads its CPU target (command-line runs).
"""

import contextlib
import sys

import numba

_OPTIONS = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)

#: Serial kernel and inlined helper decorator.
jit = numba.njit(**_OPTIONS)
#: Small per-step helper. Kept as a separate name so that a helper can be
#: forced inline again in one place if a measurement ever says so.
jit_inline = numba.njit(**_OPTIONS)
#: Parallel kernel (``prange`` over independent paths). The project's kernels
#: run serial block kernels on a thread pool instead (:mod:`simulator._kernels.blocks`):
#: the parfor pass roughly doubles the compile work of a large per-path body.
pjit = numba.njit(parallel=True, **_OPTIONS)


#: What numba imports, only to learn whether BLAS is there, when it first loads its CPU target.
_NUMBA_OPTIONAL_SCIPY = "scipy.linalg.cython_blas"


@contextlib.contextmanager
def without_optional_scipy():
    """Within the block, numba's optional ``import scipy.linalg.cython_blas`` fails at once.

    The first kernel call of a process makes numba load its CPU target, whose
    ``numba.np.arraymath`` imports ``scipy.linalg`` (about 0.3 s, the whole of
    ``scipy.linalg``) to decide whether inner products (``np.dot`` & co.) may use
    BLAS, and falls back to a loop when the import fails. No kernel here uses
    them, and scipy is not a dependency of a run (only of the tests), so a run
    does what an install without scipy does. The block only fails that one
    import while it lasts, and changes nothing if scipy's BLAS module is
    already imported. Used by the command line around a run, not by the library.
    """
    if _NUMBA_OPTIONAL_SCIPY in sys.modules:
        yield
        return
    sys.modules[_NUMBA_OPTIONAL_SCIPY] = None  # import of a None entry raises ImportError without importing parents
    try:
        yield
    finally:
        if sys.modules.get(_NUMBA_OPTIONAL_SCIPY, 0) is None:
            del sys.modules[_NUMBA_OPTIONAL_SCIPY]
