"""Inference cost (falling GBM), token price, and the application gross margin."""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L


def pack(spec) -> np.ndarray:
    row = np.zeros(L.N_DRIVER_PARAMS)
    row[L.INF_C0] = spec.c0
    row[L.INF_DECLINE] = spec.decline
    row[L.INF_SIGMA] = spec.sigma
    return row


def pack_tokens(spec) -> np.ndarray:
    row = np.zeros(L.N_DRIVER_PARAMS)
    row[L.TOK_DECLINE] = spec.decline
    row[L.TOK_SIGMA] = spec.sigma
    row[L.TOK_GM0] = spec.gm0
    return row


def log_moments(c0: float, decline: float, sigma: float, t: float) -> tuple[float, float]:
    """Falling GBM with ``E[C_t] = c0 (1 - decline)^t``:
    ``E[ln C_t] = ln c0 + (ln(1 - decline) - sigma^2/2) t``, ``Var = sigma^2 t``."""
    return math.log(c0) + (math.log(1 - decline) - 0.5 * sigma**2) * t, sigma**2 * t


def gross_margin(gm0, cost_ratio, token_ratio):
    """``gm_t = 1 - (1 - gm0) (C_t / C_0) / (p_t / p_0)``, clipped to [-1, 1]."""
    return np.clip(1 - (1 - gm0) * cost_ratio / token_ratio, -1.0, 1.0)
