"""Short rate: Vasicek (exact), CIR (Andersen QE, non-negative), replay."""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers.columns import pack_row

MODELS = {"vasicek": L.RATE_VASICEK, "cir": L.RATE_CIR, "replay": L.RATE_REPLAY}


#: kernel parameter column -> spec field
COLUMNS = {
    L.RATE_R0: "r0",
    L.RATE_KAPPA: "kappa",
    L.RATE_THETA: "theta",
    L.RATE_SIGMA: "sigma",
}


def pack(spec) -> np.ndarray:
    return pack_row(spec, COLUMNS)


def vasicek_moments(spec, t: float) -> tuple[float, float]:
    """Mean ``theta + (r0 - theta) e^{-kappa t}``, variance ``sigma^2 (1 - e^{-2 kappa t}) / (2 kappa)``."""
    e = math.exp(-spec.kappa * t)
    return spec.theta + (spec.r0 - spec.theta) * e, spec.sigma**2 * (1 - e * e) / (2 * spec.kappa)


def cir_moments(spec, t: float) -> tuple[float, float]:
    """CIR mean (as Vasicek) and variance
    ``r0 s^2 e (1-e)/kappa + theta s^2 (1-e)^2 / (2 kappa)`` with ``e = e^{-kappa t}``."""
    e = math.exp(-spec.kappa * t)
    mean = spec.theta + (spec.r0 - spec.theta) * e
    var = spec.r0 * spec.sigma**2 * e * (1 - e) / spec.kappa + spec.theta * spec.sigma**2 * (1 - e) ** 2 / (2 * spec.kappa)
    return mean, var
