"""AI demand index: ``ln D`` integrates an exact OU growth rate ``g``."""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers.columns import pack_row


#: kernel parameter column -> spec field
COLUMNS = {
    L.DEMAND_G0: "g0",
    L.DEMAND_G_LONG: "g_long",
    L.DEMAND_HALF_LIFE: "half_life",
    L.DEMAND_SIGMA: "sigma_g",
}


def pack(spec) -> np.ndarray:
    return pack_row(spec, COLUMNS)


def log_moments(spec, t):
    """Mean and variance of ``ln D_t`` (``D_0 = 1``); ``t`` scalar or array.

    With ``a = ln 2 / half_life``:
    ``E = g_long t + (g0 - g_long)(1 - e^{-a t}) / a`` and
    ``Var = sigma^2 / a^2 [t - 2 (1 - e^{-a t}) / a + (1 - e^{-2 a t}) / (2 a)]``.
    """
    t = np.asarray(t, dtype=float)
    a = math.log(2) / spec.half_life
    mean = spec.g_long * t + (spec.g0 - spec.g_long) * (1 - np.exp(-a * t)) / a
    var = spec.sigma_g**2 / a**2 * (t - 2 * (1 - np.exp(-a * t)) / a + (1 - np.exp(-2 * a * t)) / (2 * a))
    return mean, var


def growth_moments(spec, t: float) -> tuple[float, float]:
    """OU growth: mean ``g_long + (g0 - g_long) e^{-a t}``, variance ``sigma^2 (1 - e^{-2 a t}) / (2 a)``."""
    a = math.log(2) / spec.half_life
    e = math.exp(-a * t)
    return spec.g_long + (spec.g0 - spec.g_long) * e, spec.sigma_g**2 * (1 - e * e) / (2 * a)


def log_expected(spec, t):
    """``ln E[D_t]`` = mean + var/2; the demand surprise is ``ln D_t - ln E[D_t]``."""
    mean, var = log_moments(spec, t)
    return mean + 0.5 * var
