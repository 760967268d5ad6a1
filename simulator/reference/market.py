"""Market drivers in plain numpy, vectorised over paths: the oracle.

Written from ``shared/MODEL.md`` section 3 and the discretisations documented
there, reading the scenario's driver specs directly (not the packed kernel
arrays) and taking every random input from ``shocks``. The numba kernel
(:mod:`simulator._kernels.market`) must agree with it to 1e-12 relative on
the same shocks (``tests/test_reference_market.py``).

Shapes
------
- ``shocks``: float64[n_paths, n_steps, >= N_MARKET_STREAMS], variate of
  stream ``s`` at step ``t`` on path ``p`` in ``shocks[p, t, s]``; stream
  numbers and kinds (normal or uniform) as in :mod:`simulator._kernels.layout`.
- result: float64[N_MARKET_VARS, n_paths, n_steps]; ``[v, p, t]`` is variable
  ``MARKET_VARS[v]`` at the end of step ``t`` (time ``(t + 1) dt`` years).
"""

from __future__ import annotations

import math

import numpy as np

from simulator._kernels import layout as L


def _poisson(lam: float, u: np.ndarray) -> np.ndarray:
    """Poisson(lam) counts by inversion: the least ``k`` with ``u <= F(k)``.

    ``F`` is accumulated as ``F(k) = F(k-1) + p_k``, ``p_k = p_{k-1} lam / k``,
    ``p_0 = exp(-lam)``, so that the comparisons see the same partial sums as
    any implementation that accumulates the same way.
    """
    count = np.zeros(u.shape, dtype=np.int64)
    if lam <= 0.0:
        return count
    p = math.exp(-lam)
    cdf = p
    k = 0
    above = u > cdf
    while above.any() and k < 10000:
        k += 1
        count[above] = k
        p *= lam / k
        cdf += p
        above = u > cdf
    return count


def _ou_constants(kappa: float, sigma: float, dt: float) -> tuple[float, float]:
    """Exact OU step over ``dt``: decay ``exp(-kappa dt)`` and conditional sd
    ``sigma sqrt((1 - exp(-2 kappa dt)) / (2 kappa))`` (``sigma sqrt(dt)`` if kappa <= 0)."""
    if kappa <= 0.0:
        return 1.0, sigma * math.sqrt(dt)
    return math.exp(-kappa * dt), sigma * math.sqrt((1.0 - math.exp(-2.0 * kappa * dt)) / (2.0 * kappa))


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    erfc = np.frompyfunc(math.erfc, 1, 1)
    return 0.5 * erfc(-z / math.sqrt(2.0)).astype(float)


def _cir_step(r: np.ndarray, kappa: float, theta: float, sigma: float, dt: float, z: np.ndarray) -> np.ndarray:
    """Andersen (2008) quadratic-exponential step of the CIR rate, switch at psi = 1.5.

    Conditional mean ``m`` and variance ``s2`` are exact. Quadratic branch:
    ``a (sqrt(b2) + z)^2``; exponential branch: zero with probability ``p``,
    else ``ln((1 - p) / (1 - u)) / beta`` with ``u = Phi(z)`` (one normal per
    step keeps the factor correlation).
    """
    e = math.exp(-kappa * dt)
    m = theta + (r - theta) * e
    s2 = r * sigma * sigma * e * (1.0 - e) / kappa + theta * sigma * sigma * (1.0 - e) ** 2 / (2.0 * kappa)
    out = np.zeros_like(r)
    pos = m > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        psi = s2 / (m * m)
    quad = pos & (psi <= 1.5)
    if quad.any():
        inv = 2.0 / psi[quad]
        b2 = inv - 1.0 + np.sqrt(inv) * np.sqrt(inv - 1.0)
        a = m[quad] / (1.0 + b2)
        x = np.sqrt(b2) + z[quad]
        out[quad] = a * x * x
    expo = pos & (psi > 1.5)
    if expo.any():
        ps = psi[expo]
        p = (ps - 1.0) / (ps + 1.0)
        beta = (1.0 - p) / m[expo]
        u = _normal_cdf(z[expo])
        val = np.zeros_like(u)
        hit = u > p
        val[hit] = np.log((1.0 - p[hit]) / (1.0 - u[hit])) / beta[hit]
        out[expo] = val
    return out


def simulate_market(scenario, shocks: np.ndarray, btc_series=None, rate_series=None) -> np.ndarray:
    """Every market driver on every path, from given variates.

    Parameters
    ----------
    scenario : Scenario
        Loaded scenario; its ``drivers``, ``correlation`` and ``simulation``.
    shocks : float64[n_paths, n_steps, >= N_MARKET_STREAMS]
        Variates by stream (see the module docstring).
    btc_series, rate_series : float64[:], optional
        Replay values at each step end, or (bitcoin bootstrap) historical
        monthly log returns; read from the scenario's CSV files when omitted.

    Returns
    -------
    float64[N_MARKET_VARS, n_paths, n_steps]
    """
    from simulator.scenario.correlation import correlation_matrix
    from simulator.series import monthly_log_returns, replay_path

    sim = scenario.simulation
    d = scenario.drivers
    n_paths, n_steps = shocks.shape[0], shocks.shape[1]
    if n_steps != sim.n_steps or shocks.shape[2] < L.N_MARKET_STREAMS:
        raise ValueError(f"shocks must be [paths, {sim.n_steps}, >={L.N_MARKET_STREAMS}], got {shocks.shape}")
    dt = sim.dt
    mps = sim.months_per_step
    sq = math.sqrt(dt)
    out = np.empty((L.N_MARKET_VARS, n_paths, n_steps))

    # Correlated factors: eps[p, t, :] = L z[p, t, :].
    chol = correlation_matrix(scenario.correlation).chol
    eps = shocks[:, :, : L.N_FACTORS] @ chol.T
    # the common utilisation factor is passed through for the companies
    out[L.V_UTIL_FACTOR] = eps[:, :, L.Z_UTIL]

    # ---- bitcoin
    b = d.bitcoin
    if b.model == "replay" and btc_series is None:
        btc_series = replay_path(b.data, n_steps, mps, "drivers.bitcoin.data", positive=True)
    if b.model == "bootstrap" and btc_series is None:
        btc_series = monthly_log_returns(b.data, "drivers.bitcoin.data")
    ln_s = np.full(n_paths, math.log(b.s0))
    bear = np.full(n_paths, b.start_regime == "bear")
    lam = b.jump_rate * dt if b.model == "jump_diffusion" else 0.0
    if lam > 0.0:
        kbar = math.exp(b.jump_mean + 0.5 * b.jump_std**2) - 1.0
        drift_bull = (b.mu - b.jump_rate * kbar - 0.5 * b.sigma**2) * dt
    else:
        drift_bull = (b.mu - 0.5 * b.sigma**2) * dt
    drift_bear = (b.bear_mu - 0.5 * b.bear_sigma**2) * dt
    q = b.bear_rate + b.bull_rate
    leave = 1.0 - math.exp(-q * dt) if q > 0.0 else 0.0
    p_bear = b.bear_rate / q * leave if q > 0.0 else 0.0  # P(bull -> bear within dt)
    p_bull = b.bull_rate / q * leave if q > 0.0 else 0.0  # P(bear -> bull within dt)
    boot_start = np.zeros(n_paths, dtype=np.int64)
    for t in range(n_steps):
        e_b = eps[:, t, L.Z_BITCOIN]
        if b.model in ("gbm", "jump_diffusion"):
            ln_s = ln_s + (drift_bull + b.sigma * sq * e_b)
            if lam > 0.0:
                n_j = _poisson(lam, shocks[:, t, L.S_BTC_JUMP_N])
                jumped = n_j > 0
                ln_s[jumped] += n_j[jumped] * b.jump_mean + \
                    b.jump_std * np.sqrt(n_j[jumped]) * shocks[jumped, t, L.S_BTC_JUMP_Z]
            out[L.V_BTC, :, t] = np.exp(ln_s)
        elif b.model == "regime":
            ln_s = ln_s + np.where(bear, drift_bear + b.bear_sigma * sq * e_b, drift_bull + b.sigma * sq * e_b)
            u = shocks[:, t, L.S_REGIME]
            bear = np.where(bear, ~(u < p_bull), u < p_bear)
            out[L.V_BTC, :, t] = np.exp(ln_s)
        elif b.model == "replay":
            out[L.V_BTC, :, t] = btc_series[t]
        else:  # bootstrap: moving blocks of block_months contiguous historical monthly returns
            n_starts = btc_series.shape[0] - b.block_months + 1  # a block never runs past the end
            k = t % b.block_months
            if k == 0:
                boot_start = np.minimum((shocks[:, t, L.S_BOOT] * n_starts).astype(np.int64), n_starts - 1)
            ln_s = ln_s + btc_series[boot_start + k]
            out[L.V_BTC, :, t] = np.exp(ln_s)
        out[L.V_REGIME, :, t] = bear.astype(float)

    # ---- short rate
    rt = d.rates
    if rt.model == "replay":
        if rate_series is None:
            rate_series = replay_path(rt.data, n_steps, mps, "drivers.rates.data", positive=False)
        out[L.V_RATE] = np.broadcast_to(rate_series[:n_steps], (n_paths, n_steps))
    else:
        r = np.full(n_paths, rt.r0)
        decay, sd = _ou_constants(rt.kappa, rt.sigma, dt)
        for t in range(n_steps):
            e_r = eps[:, t, L.Z_RATES]
            if rt.model == "vasicek":
                r = rt.theta + (r - rt.theta) * decay + sd * e_r
            else:
                r = _cir_step(r, rt.kappa, rt.theta, rt.sigma, dt, e_r)
            out[L.V_RATE, :, t] = r

    # ---- high-yield spread: log-OU, jumps at the step's end
    s = d.spread
    decay, sd = _ou_constants(s.kappa, s.sigma, dt)
    m = math.log(s.long_run)
    x = np.full(n_paths, math.log(s.h0))
    lam_h = s.jump_rate * dt
    for t in range(n_steps):
        x = m + (x - m) * decay + sd * eps[:, t, L.Z_SPREAD]
        if lam_h > 0.0:
            n_j = _poisson(lam_h, shocks[:, t, L.S_SPREAD_JUMP_N])
            jumped = n_j > 0
            x[jumped] += n_j[jumped] * s.jump_mean + s.jump_std * np.sqrt(n_j[jumped]) * shocks[jumped, t, L.S_SPREAD_JUMP_Z]
        out[L.V_SPREAD, :, t] = np.exp(x)

    # ---- GPU rental price: log trend + OU deviation; generation launches
    g = d.gpu
    decay, sd = _ou_constants(g.kappa, g.sigma, dt)
    trend = -math.log(1.0 - g.decline)
    x = np.zeros(n_paths)
    gens = np.zeros(n_paths)
    for t in range(n_steps):
        x = x * decay + sd * eps[:, t, L.Z_GPU]
        out[L.V_GPU, :, t] = np.exp(math.log(g.p0) - trend * (t + 1) * dt + x)
        if g.generation_months > 0.0:
            gens = np.full(n_paths, float(math.floor((t + 1) * mps / g.generation_months + 1e-9)))
        elif g.generation_rate > 0.0:
            gens = gens + _poisson(g.generation_rate * dt, shocks[:, t, L.S_GPU_GEN])
        out[L.V_GEN, :, t] = gens

    # ---- AI demand: OU growth g and the exact integral of g over each step,
    # drawn jointly: Var(g step), Var(integral), Cov, from the OU transition.
    dm = d.demand
    a = math.log(2.0) / dm.half_life
    ea = math.exp(-a * dt)
    s2 = dm.sigma_g**2
    var_g = s2 * (1.0 - ea * ea) / (2.0 * a)
    var_int = s2 / (a * a) * (dt - 2.0 * (1.0 - ea) / a + (1.0 - ea * ea) / (2.0 * a))
    cov = s2 / (2.0 * a * a) * (1.0 - ea) ** 2
    sd_g = math.sqrt(var_g)
    load = cov / sd_g if sd_g > 0.0 else 0.0
    resid = math.sqrt(max(var_int - load * load, 0.0))
    growth = np.full(n_paths, dm.g0)
    ln_d = np.zeros(n_paths)
    for t in range(n_steps):
        e_d = eps[:, t, L.Z_DEMAND]
        integral = dm.g_long * dt + (growth - dm.g_long) * ((1.0 - ea) / a) + load * e_d + \
            resid * shocks[:, t, L.S_DEMAND_AUX]
        growth = dm.g_long + (growth - dm.g_long) * ea + sd_g * e_d
        ln_d = ln_d + integral
        out[L.V_DEMAND, :, t] = np.exp(ln_d)
        out[L.V_GROWTH, :, t] = growth

    # ---- inference cost, token price, application gross margin
    inf, tok = d.inference, d.tokens
    ln_c = np.cumsum((math.log(1.0 - inf.decline) - 0.5 * inf.sigma**2) * dt
                     + inf.sigma * sq * eps[:, :, L.Z_INFERENCE], axis=1)
    ln_tok = np.cumsum((math.log(1.0 - tok.decline) - 0.5 * tok.sigma**2) * dt
                       + tok.sigma * sq * eps[:, :, L.Z_TOKENS], axis=1)
    out[L.V_INFERENCE] = inf.c0 * np.exp(ln_c)
    out[L.V_TOKEN] = np.exp(ln_tok)
    out[L.V_GM] = np.clip(1.0 - (1.0 - tok.gm0) * np.exp(ln_c - ln_tok), -1.0, 1.0)

    # ---- power price: log-OU
    w = d.power
    decay, sd = _ou_constants(w.kappa, w.sigma, dt)
    m = math.log(w.long_run)
    x = np.full(n_paths, math.log(w.p0))
    for t in range(n_steps):
        x = m + (x - m) * decay + sd * eps[:, t, L.Z_POWER]
        out[L.V_POWER, :, t] = np.exp(x)
    return out
