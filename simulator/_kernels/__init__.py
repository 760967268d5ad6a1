"""Private numba kernels on plain arrays.

Nothing outside :mod:`simulator.engine` (and tests) should import from here.
Kernels take only arrays and scalars, fill caller-owned outputs and never read
module-level configuration at run time.
"""
