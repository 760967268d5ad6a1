"""The one place that fixes numba options for every kernel.

- ``cache=True``: compiled code is reused across processes (``NUMBA_CACHE_DIR``), and
  recompiled when any kernel module changes (:mod:`simulator._kernels.cache`).
- ``fastmath=False``: NaN and infinity must propagate in finance code.
- ``error_model='numpy'``: division by zero gives inf/NaN instead of raising,
  which keeps the hot loop free of exception checks.
- ``jit_noalias``: the company step's parts tell LLVM that their array arguments do not overlap
  (numba's ``noalias`` flag), which spares the run-time overlap checks before their lane loops.
- Numba-level inlining (``inline='always'``) only for a few small helpers
  that take arrays (``jit_ir_inline``): it re-runs type inference on every
  inlined copy and made the cold compile of the market kernel about 40 %
  slower, while LLVM inlines the small helpers anyway when it links them
  (measured: same or better speed, see ``docs/performance.md``).

:func:`without_optional_imports` keeps numba from importing scipy and cffi when
it first loads its CPU target (command-line runs).
"""

import contextlib
import sys

import numba

from simulator._kernels import cache

cache.install()  # before any kernel is decorated

_OPTIONS = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)

#: Serial kernel and inlined helper decorator.
jit = numba.njit(**_OPTIONS)
#: Small per-step helper. Kept as a separate name so that a helper can be
#: forced inline again in one place if a measurement ever says so.
jit_inline = numba.njit(**_OPTIONS)
#: Small helper that takes arrays and runs every company-step: inlined at numba level, because
#: a call would increment and decrement the reference count of each array argument (atomic
#: operations numba does not prune across the call). Only for helpers of a few lines: each
#: inlined copy is typed again, which costs compile time.
jit_ir_inline = numba.njit(inline="always", **_OPTIONS)
#: Parallel kernel (``prange`` over independent paths). The project's kernels
#: run serial block kernels on a thread pool instead (:mod:`simulator._kernels.blocks`):
#: the parfor pass roughly doubles the compile work of a large per-path body.
pjit = numba.njit(parallel=True, **_OPTIONS)



class _NoAliasCompiler(numba.core.compiler.Compiler):
    """numba's compiler with its ``noalias`` flag on: every pointer argument of the compiled
    function (an array's data among them) is declared ``noalias`` to LLVM, as numba does for the
    kernels of its own parallel loops when it has found no aliasing."""

    def define_pipelines(self):
        self.state.flags.noalias = True
        return super().define_pipelines()


#: Kernel whose array arguments never share memory that one of them writes, in any call (each is
#: an array of its own, allocated apart): LLVM may then assume so. Without it, LLVM checks at run
#: time, before each loop that writes one array and reads another, that the two do not overlap.
#: A call with overlapping arrays, one of them written, would give wrong results: use it only on
#: kernels whose callers allocate every such argument themselves.
jit_noalias = numba.njit(pipeline_class=_NoAliasCompiler, **_OPTIONS)


#: Modules numba imports when it first loads its CPU target, only to learn whether
#: optional features are there: BLAS for inner products (``np.dot`` & co.;
#: ``numba.np.arraymath`` imports the whole of ``scipy.linalg`` for it, about
#: 0.3 s) and cffi functions as kernel arguments (about 0.04 s).
NUMBA_OPTIONAL_IMPORTS = ("scipy.linalg.cython_blas", "cffi")


@contextlib.contextmanager
def without_optional_imports():
    """Within the block, numba's optional imports (:data:`NUMBA_OPTIONAL_IMPORTS`) fail at once.

    numba catches the ImportError and does without the feature, as on an
    install without scipy or cffi. No kernel here uses inner products or cffi,
    and neither package is a dependency of a run (scipy only of the tests),
    so the kernels, cached or compiled, and their results are the same. Only
    modules not yet imported are blocked, and only while the block lasts;
    numba keeps its answer (no BLAS, no cffi) for the rest of the process.
    Used by the command line around a run, not by the library.
    """
    blocked = [m for m in NUMBA_OPTIONAL_IMPORTS if m not in sys.modules]
    for m in blocked:
        sys.modules[m] = None  # importing a None entry raises ImportError without importing its parents
    try:
        yield
    finally:
        for m in blocked:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]
