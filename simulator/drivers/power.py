"""Power price (USD/MWh): exact log-OU."""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers.columns import pack_row


#: kernel parameter column -> spec field
COLUMNS = {
    L.POWER_P0: "p0",
    L.POWER_KAPPA: "kappa",
    L.POWER_LONG_RUN: "long_run",
    L.POWER_SIGMA: "sigma",
}


def pack(spec) -> np.ndarray:
    return pack_row(spec, COLUMNS)


def log_moments(p0: float, kappa: float, long_run: float, sigma: float, t: float) -> tuple[float, float]:
    """Log-OU from ``ln p0`` towards ``ln long_run``: mean
    ``m + (ln p0 - m) e^{-kappa t}``, variance ``sigma^2 (1 - e^{-2 kappa t}) / (2 kappa)``;
    the median of the price is ``exp(mean)``. Shared by the spread without jumps."""
    m = math.log(long_run)
    e = math.exp(-kappa * t)
    return m + (math.log(p0) - m) * e, sigma**2 * (1 - e * e) / (2 * kappa)
