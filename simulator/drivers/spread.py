"""High-yield spread: exact log-OU with upward jumps applied at step end."""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers.columns import pack_row


#: kernel parameter column -> spec field
COLUMNS = {
    L.SPREAD_H0: "h0",
    L.SPREAD_KAPPA: "kappa",
    L.SPREAD_LONG_RUN: "long_run",
    L.SPREAD_SIGMA: "sigma",
    L.SPREAD_JUMP_RATE: "jump_rate",
    L.SPREAD_JUMP_MEAN: "jump_mean",
    L.SPREAD_JUMP_STD: "jump_std",
}


def pack(spec) -> np.ndarray:
    return pack_row(spec, COLUMNS)


def log_moments(spec, n_steps: int, dt: float) -> tuple[float, float]:
    """Mean and variance of ``ln h`` after ``n_steps`` steps of the scheme.

    Diffusion part exact: mean ``m + (x0 - m) e^{-kappa t}``, variance
    ``sigma^2 (1 - e^{-2 kappa t}) / (2 kappa)``. A jump landing at the end of
    step ``j`` decays for the remaining ``n - 1 - j`` steps, so jumps add
    ``lambda dt m_J sum_k e^{-kappa k dt}`` to the mean and
    ``lambda dt (m_J^2 + s_J^2) sum_k e^{-2 kappa k dt}`` to the variance.
    The median of ``h_t`` without jumps is ``exp(mean)``.
    """
    m = math.log(spec.long_run)
    x0 = math.log(spec.h0)
    t = n_steps * dt
    e = math.exp(-spec.kappa * t)
    mean = m + (x0 - m) * e
    var = spec.sigma**2 * (1 - e * e) / (2 * spec.kappa)
    lam = spec.jump_rate * dt
    if lam > 0:
        decays = np.exp(-spec.kappa * dt * np.arange(n_steps))
        mean += lam * spec.jump_mean * decays.sum()
        var += lam * (spec.jump_mean**2 + spec.jump_std**2) * (decays**2).sum()
    return mean, var
