"""Inference cost (falling GBM), token price, and the application gross margin."""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers.columns import pack_row


#: kernel parameter column -> spec field
COLUMNS = {
    L.INF_C0: "c0",
    L.INF_DECLINE: "decline",
    L.INF_SIGMA: "sigma",
}


def pack(spec) -> np.ndarray:
    return pack_row(spec, COLUMNS)


#: kernel parameter column -> spec field
TOKEN_COLUMNS = {
    L.TOK_DECLINE: "decline",
    L.TOK_SIGMA: "sigma",
    L.TOK_GM0: "gm0",
}


def pack_tokens(spec) -> np.ndarray:
    return pack_row(spec, TOKEN_COLUMNS)


def log_moments(c0: float, decline: float, sigma: float, t: float) -> tuple[float, float]:
    """Falling GBM with ``E[C_t] = c0 (1 - decline)^t``:
    ``E[ln C_t] = ln c0 + (ln(1 - decline) - sigma^2/2) t``, ``Var = sigma^2 t``."""
    return math.log(c0) + (math.log(1 - decline) - 0.5 * sigma**2) * t, sigma**2 * t


def gross_margin(gm0, cost_ratio, token_ratio):
    """``gm_t = 1 - (1 - gm0) (C_t / C_0) / (p_t / p_0)``, clipped to [-1, 1]."""
    return np.clip(1 - (1 - gm0) * cost_ratio / token_ratio, -1.0, 1.0)
