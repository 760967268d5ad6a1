"""Market drivers: scenario specs -> packed kernel parameters, and closed forms.

One module per driver. Each exposes ``pack(spec, ...) -> float64 row`` in the
column order of :mod:`simulator._kernels.layout`, its model codes where it has
alternatives, and closed-form moments used by the tests and the docs.
The per-step simulation itself lives in :mod:`simulator._kernels.market`.
"""

from simulator.drivers.registry import MarketInputs, pack_market

__all__ = ["MarketInputs", "pack_market"]
