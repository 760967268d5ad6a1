"""The one place that fixes numba options for every kernel.

- ``cache=True``: compiled code is reused across processes (``NUMBA_CACHE_DIR``).
- ``fastmath=False``: NaN and infinity must propagate in finance code.
- ``error_model='numpy'``: division by zero gives inf/NaN instead of raising,
  which keeps the hot loop free of exception checks.
"""

import numba

_OPTIONS = dict(cache=True, fastmath=False, error_model="numpy", nogil=True)

#: Serial kernel and inlined helper decorator.
jit = numba.njit(**_OPTIONS)
#: Helper forced inline into its caller (small per-step functions).
jit_inline = numba.njit(inline="always", **_OPTIONS)
#: Parallel kernel (``prange`` over independent paths).
pjit = numba.njit(parallel=True, **_OPTIONS)
