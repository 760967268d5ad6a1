"""Packing a driver spec into its row of the kernel's parameter matrix."""

from __future__ import annotations

from typing import Callable, Mapping, Union

import numpy as np

from simulator._kernels import layout as L

#: column index -> spec field name, or a function of the spec (derived values)
Columns = Mapping[int, Union[str, Callable]]


def pack_row(spec, columns: Columns) -> np.ndarray:
    """float64[N_DRIVER_PARAMS]: ``row[col]`` = the spec's field (or derived value) for that column."""
    row = np.zeros(L.N_DRIVER_PARAMS)
    for col, field in columns.items():
        row[col] = field(spec) if callable(field) else getattr(spec, field)
    return row
