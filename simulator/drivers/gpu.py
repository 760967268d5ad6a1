"""GPU rental price: log trend + exact OU deviation; generation launches."""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers.columns import pack_row


#: kernel parameter column -> spec field
COLUMNS = {
    L.GPU_P0: "p0",
    L.GPU_DECLINE: "decline",
    L.GPU_KAPPA: "kappa",
    L.GPU_SIGMA: "sigma",
    L.GPU_GEN_RATE: "generation_rate",
    L.GPU_GEN_MONTHS: "generation_months",
    L.GPU_GEN_DROP: "generation_drop",
}


def pack(spec) -> np.ndarray:
    return pack_row(spec, COLUMNS)


def log_moments(spec, t: float) -> tuple[float, float]:
    """``ln P_t = ln p0 + ln(1 - decline) t + X_t``, ``X`` an OU from 0:
    mean ``ln p0 + ln(1 - decline) t``, variance ``sigma^2 (1 - e^{-2 kappa t}) / (2 kappa)``."""
    mean = math.log(spec.p0) + math.log(1 - spec.decline) * t
    var = spec.sigma**2 * (1 - math.exp(-2 * spec.kappa * t)) / (2 * spec.kappa)
    return mean, var


def expected_generations(spec, t: float) -> float:
    """Expected launches by ``t`` years: ``floor(12 t / months)`` or ``rate t``."""
    if spec.generation_months > 0:
        return math.floor(12 * t / spec.generation_months + 1e-9)
    return spec.generation_rate * t
