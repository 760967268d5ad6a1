"""The one place that fixes numba options for every kernel.

- ``cache=True``: compiled code is reused across processes (``NUMBA_CACHE_DIR``).
- ``fastmath=False``: NaN and infinity must propagate in finance code.
- ``error_model='numpy'``: division by zero gives inf/NaN instead of raising,
  which keeps the hot loop free of exception checks.
- Numba-level inlining (``inline='always'``) only for a few small helpers
  that take arrays (``jit_ir_inline``): it re-runs type inference on every
  inlined copy and made the cold compile of the market kernel about 40 %
  slower, while LLVM inlines the small helpers anyway when it links them
  (measured: same or better speed, see ``docs/performance.md``).
"""

import numba

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
