"""Bitcoin price: gbm, Merton jump-diffusion, regime switching, replay, bootstrap."""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers.columns import pack_row

MODELS = {
    "gbm": L.BTC_GBM,
    "jump_diffusion": L.BTC_JUMP_DIFFUSION,
    "regime": L.BTC_REGIME,
    "replay": L.BTC_REPLAY,
    "bootstrap": L.BTC_BOOTSTRAP,
}


#: kernel parameter column -> spec field
COLUMNS = {
    L.BTC_S0: "s0",
    L.BTC_MU: "mu",
    L.BTC_SIGMA: "sigma",
    L.BTC_JUMP_RATE: "jump_rate",
    L.BTC_JUMP_MEAN: "jump_mean",
    L.BTC_JUMP_STD: "jump_std",
    L.BTC_BEAR_MU: "bear_mu",
    L.BTC_BEAR_SIGMA: "bear_sigma",
    L.BTC_BEAR_RATE: "bear_rate",
    L.BTC_BULL_RATE: "bull_rate",
    L.BTC_START_BEAR: lambda spec: 1.0 if spec.start_regime == "bear" else 0.0,
    L.BTC_BLOCK: "block_months",
}


def pack(spec) -> np.ndarray:
    return pack_row(spec, COLUMNS)


def log_moments(spec, t: float) -> tuple[float, float]:
    """Mean and variance of ``ln S_t`` for gbm and jump_diffusion.

    With ``kbar = exp(m_J + s_J^2/2) - 1`` and drift compensated for jumps,
    ``E[ln S_t] = ln s0 + (mu - lambda kbar - sigma^2/2) t + lambda t m_J`` and
    ``Var[ln S_t] = sigma^2 t + lambda t (m_J^2 + s_J^2)``.
    """
    lam = spec.jump_rate if spec.model == "jump_diffusion" else 0.0
    kbar = math.exp(spec.jump_mean + 0.5 * spec.jump_std**2) - 1.0
    mean = math.log(spec.s0) + (spec.mu - lam * kbar - 0.5 * spec.sigma**2) * t + lam * t * spec.jump_mean
    var = spec.sigma**2 * t + lam * t * (spec.jump_mean**2 + spec.jump_std**2)
    return mean, var


def expected_price(spec, t: float) -> float:
    """``E[S_t] = s0 exp(mu t)`` (gbm, jump_diffusion)."""
    return spec.s0 * math.exp(spec.mu * t)


def stationary_bear_share(spec) -> float:
    """Long-run share of time in the bear regime: bear_rate / (bear_rate + bull_rate)."""
    return spec.bear_rate / (spec.bear_rate + spec.bull_rate)
