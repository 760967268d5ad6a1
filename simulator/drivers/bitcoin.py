"""Bitcoin price: gbm, Merton jump-diffusion, regime switching, replay, bootstrap."""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L

MODELS = {
    "gbm": L.BTC_GBM,
    "jump_diffusion": L.BTC_JUMP_DIFFUSION,
    "regime": L.BTC_REGIME,
    "replay": L.BTC_REPLAY,
    "bootstrap": L.BTC_BOOTSTRAP,
}


def pack(spec) -> np.ndarray:
    row = np.zeros(L.N_DRIVER_PARAMS)
    row[L.BTC_S0] = spec.s0
    row[L.BTC_MU] = spec.mu
    row[L.BTC_SIGMA] = spec.sigma
    row[L.BTC_JUMP_RATE] = spec.jump_rate
    row[L.BTC_JUMP_MEAN] = spec.jump_mean
    row[L.BTC_JUMP_STD] = spec.jump_std
    row[L.BTC_BEAR_MU] = spec.bear_mu
    row[L.BTC_BEAR_SIGMA] = spec.bear_sigma
    row[L.BTC_BEAR_RATE] = spec.bear_rate
    row[L.BTC_BULL_RATE] = spec.bull_rate
    row[L.BTC_START_BEAR] = 1.0 if spec.start_regime == "bear" else 0.0
    row[L.BTC_BLOCK] = spec.block_months
    return row


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
