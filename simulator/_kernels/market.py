"""Market-driver kernels: one path of every driver, step by step.

Shapes and units
----------------
- ``params``: float64[N_DRIVERS, N_DRIVER_PARAMS]; columns per driver in
  :mod:`simulator._kernels.layout` (rates and spreads as decimals per year,
  volatilities per sqrt(year), prices in USD).
- ``models``: int64[N_DRIVERS]; model code per driver (only bitcoin and rates
  have alternatives).
- ``chol``: float64[N_FACTORS, N_FACTORS], lower Cholesky factor of the
  factor correlation matrix.
- ``btc_series``: replay prices (USD) aligned so that ``[t]`` is the value at the
  end of step ``t``; or, for bootstrap, historical monthly log returns.
- ``rate_series``: replay short rate (decimal) at the end of step ``t``.
- ``shocks``: float64[n_paths, n_steps, >= N_MARKET_STREAMS] injected variates,
  or an array with ``shape[0] == 0`` to draw from the counter-based generator.
- ``buf``: float64[n_steps, N_MARKET_BUF] output for one path; row ``t`` is the
  state at the end of step ``t``, i.e. at time ``(t + 1) * dt`` years: the reported
  variables ``V_*``, then ``V_LN_DEMAND`` (ln D_t, read by the company step).

Discretisations (exact over any step unless stated)
---------------------------------------------------
- bitcoin gbm/jump_diffusion: log-Euler is exact for GBM; Merton jumps add
  ``N * m_J + s_J * sqrt(N) * Z`` with ``N ~ Poisson(lambda dt)`` and the drift
  compensated so that ``E[S_t] = s0 math.exp(mu t)``.
- bootstrap: moving-block bootstrap of historical monthly log returns; each
  block of ``block`` months starts at a uniformly drawn month with a full block
  of history after it, so every block is a contiguous run of history.
- regime: two-state continuous-time Markov chain, exact transition
  probabilities per step; the regime at the start of a step sets that step's
  drift and volatility (piecewise-constant approximation).
- Vasicek: exact Gaussian transition. CIR: Andersen (2008) quadratic-exponential
  scheme, non-negative, first moment exact.
- log-OU (spread, power) and the OU deviation of the GPU price: exact Gaussian
  transition; spread jumps of a step are applied at the step's end.
- demand: growth ``g`` is an exact OU; ``ln D`` adds the exact integral of ``g``
  over the step, drawn jointly with ``g``'s increment (two normals).
"""

import math
from collections import namedtuple

import numpy as np

from simulator._kernels import layout as L
from simulator._kernels._jit import jit, jit_inline
from simulator._kernels.blocks import run_blocks
from simulator._kernels.fexp import exp_array, prefetch_table
from simulator._kernels.rng import normal_at, prefetch_ziggurat, step_key, stream_base, uniform_at


#: Slots of the per-path log buffer: the levels reported as ``exp`` of a log.
X_BTC, X_SPREAD, X_GPU, X_DEMAND, X_INFERENCE, X_TOKEN, X_GM, X_POWER = range(8)
N_EXP = 8


@jit_inline
def poisson_count(lam, p0, u):
    """Poisson(lam) count by inversion of the uniform ``u``; ``p0 = math.exp(-lam)``
    is computed once per path by the caller (it is the same every step)."""
    if lam <= 0.0:
        return 0
    k = 0
    p = p0
    c = p
    while u > c and k < 10000:
        k += 1
        p *= lam / k
        c += p
    return k


@jit_inline
def std_normal_cdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@jit_inline
def ou_decay_sd(kappa, sigma, dt):
    """Exact OU step constants: ``math.exp(-kappa dt)`` and the conditional sd."""
    if kappa > 0.0:
        decay = math.exp(-kappa * dt)
        sd = sigma * math.sqrt((1.0 - math.exp(-2.0 * kappa * dt)) / (2.0 * kappa))
    else:
        decay = 1.0
        sd = sigma * math.sqrt(dt)
    return decay, sd


@jit_inline
def cir_qe_step(r, kappa, theta, sigma, e, z):
    """Andersen (2008) QE step of the CIR short rate, switching at psi_c = 1.5.

    ``e = math.exp(-kappa dt)``, the same every step (the caller computes it once).
    Uses the single normal ``z``; the exponential branch maps it to a uniform
    through the normal CDF so that the factor correlation is preserved.
    """
    m = theta + (r - theta) * e
    s2 = r * sigma * sigma * e * (1.0 - e) / kappa + theta * sigma * sigma * (1.0 - e) ** 2 / (2.0 * kappa)
    if m <= 0.0:
        return 0.0
    psi = s2 / (m * m)
    if psi <= 1.5:
        inv = 2.0 / psi
        b2 = inv - 1.0 + math.sqrt(inv) * math.sqrt(inv - 1.0)
        a = m / (1.0 + b2)
        x = math.sqrt(b2) + z
        return a * x * x
    p = (psi - 1.0) / (psi + 1.0)
    beta = (1.0 - p) / m
    u = std_normal_cdf(z)
    if u <= p:
        return 0.0
    return math.log((1.0 - p) / (1.0 - u)) / beta


@jit_inline
def aux_normal(bases, s, t, skey, shocks, p_local, injected):
    """Normal variate of stream ``s`` at step ``t``: injected, or drawn from its base."""
    if injected:
        return shocks[p_local, t, s]
    return normal_at(bases[s], t, skey)


@jit_inline
def aux_uniform(bases, s, t, skey, shocks, p_local, injected):
    """Uniform variate of stream ``s`` at step ``t``: injected, or drawn from its base."""
    if injected:
        return shocks[p_local, t, s]
    return uniform_at(bases[s], skey)


#: Per-run constants of the market drivers (:func:`market_constants`), read by :func:`market_path`:
#: model codes, step drifts, volatilities, decays, jump probabilities, and the opening state
#: (``*0``) of the drivers carried as logs or levels.
MarketConstants = namedtuple("MarketConstants", (
    "btc_model", "rate_model", "lam_b", "p0_b", "mj", "sj", "drift_b", "vol_b", "drift_bear", "vol_bear",
    "p_to_bear", "p_to_bull", "block", "n_starts", "r_kappa", "r_theta", "r_sigma", "r_decay", "r_sd", "r_e",
    "h_decay", "h_sd", "h_m", "lam_h", "p0_h", "h_jm", "h_js", "x_decay", "x_sd", "d_gpu", "gen_months",
    "lam_gen", "p0_gen", "ea", "sd_g", "i_load", "i_resid", "i_mean_k", "g_long", "g_long_dt", "drift_c", "vol_c",
    "c0", "drift_t", "vol_t", "gm_k", "w_decay", "w_sd", "w_m", "use_bjump", "use_hjump", "use_gen", "ln_s0",
    "bear0", "r0", "x_h0", "ln_p0", "g0", "x_w0"))


@jit
def market_constants(dt, params, models, btc_series):
    """The :class:`MarketConstants` of every path of a run (``dt``, ``params``, ``models``,
    ``btc_series`` as for :func:`market_path`): computed once per call of the caller, not once per
    path (some 25 ``exp`` and ``log`` of the parameters), with the same expressions."""
    pb = params[L.D_BITCOIN]
    pr = params[L.D_RATES]
    ps = params[L.D_SPREAD]
    pg = params[L.D_GPU]
    pd = params[L.D_DEMAND]
    pi = params[L.D_INFERENCE]
    pt = params[L.D_TOKENS]
    pw = params[L.D_POWER]
    btc_model = models[L.D_BITCOIN]
    rate_model = models[L.D_RATES]
    sq = math.sqrt(dt)

    # --- bitcoin constants
    lam_b = pb[L.BTC_JUMP_RATE] * dt if btc_model == L.BTC_JUMP_DIFFUSION else 0.0
    p0_b = math.exp(-lam_b)
    mj = pb[L.BTC_JUMP_MEAN]
    sj = pb[L.BTC_JUMP_STD]
    kbar = math.exp(mj + 0.5 * sj * sj) - 1.0
    sig_b = pb[L.BTC_SIGMA]
    drift_b = (pb[L.BTC_MU] - lam_b / dt * kbar - 0.5 * sig_b * sig_b) * dt if lam_b > 0 else \
        (pb[L.BTC_MU] - 0.5 * sig_b * sig_b) * dt
    vol_b = sig_b * sq
    sig_bear = pb[L.BTC_BEAR_SIGMA]
    drift_bear = (pb[L.BTC_BEAR_MU] - 0.5 * sig_bear * sig_bear) * dt
    vol_bear = sig_bear * sq
    q_out = pb[L.BTC_BEAR_RATE] + pb[L.BTC_BULL_RATE]
    if q_out > 0.0:
        hold = 1.0 - math.exp(-q_out * dt)
        p_to_bear = pb[L.BTC_BEAR_RATE] / q_out * hold
        p_to_bull = pb[L.BTC_BULL_RATE] / q_out * hold
    else:
        p_to_bear = 0.0
        p_to_bull = 0.0
    block = int(pb[L.BTC_BLOCK])
    n_hist = btc_series.shape[0]
    n_starts = max(n_hist - block + 1, 1)

    # --- rates, spread, gpu, demand, inference, tokens, power constants
    r_kappa = pr[L.RATE_KAPPA]
    r_theta = pr[L.RATE_THETA]
    r_sigma = pr[L.RATE_SIGMA]
    r_decay, r_sd = ou_decay_sd(r_kappa, r_sigma, dt)
    r_e = math.exp(-r_kappa * dt)  # CIR's e^{-kappa dt}
    h_decay, h_sd = ou_decay_sd(ps[L.SPREAD_KAPPA], ps[L.SPREAD_SIGMA], dt)
    h_m = math.log(ps[L.SPREAD_LONG_RUN])
    lam_h = ps[L.SPREAD_JUMP_RATE] * dt
    p0_h = math.exp(-lam_h)
    h_jm = ps[L.SPREAD_JUMP_MEAN]
    h_js = ps[L.SPREAD_JUMP_STD]
    x_decay, x_sd = ou_decay_sd(pg[L.GPU_KAPPA], pg[L.GPU_SIGMA], dt)
    d_gpu = -math.log(1.0 - pg[L.GPU_DECLINE])
    gen_months = pg[L.GPU_GEN_MONTHS]
    lam_gen = pg[L.GPU_GEN_RATE] * dt
    p0_gen = math.exp(-lam_gen)
    a_d = math.log(2.0) / pd[L.DEMAND_HALF_LIFE]
    sig_g = pd[L.DEMAND_SIGMA]
    ea = math.exp(-a_d * dt)
    var_g = sig_g * sig_g * (1.0 - ea * ea) / (2.0 * a_d)
    var_i = sig_g * sig_g / (a_d * a_d) * (dt - 2.0 * (1.0 - ea) / a_d + (1.0 - ea * ea) / (2.0 * a_d))
    cov_ig = sig_g * sig_g / (2.0 * a_d * a_d) * (1.0 - ea) ** 2
    sd_g = math.sqrt(var_g)
    i_load = cov_ig / sd_g if sd_g > 0.0 else 0.0
    i_resid = math.sqrt(max(var_i - i_load * i_load, 0.0))
    i_mean_k = (1.0 - ea) / a_d
    g_long = pd[L.DEMAND_G_LONG]
    g_long_dt = g_long * dt
    sig_c = pi[L.INF_SIGMA]
    drift_c = (math.log(1.0 - pi[L.INF_DECLINE]) - 0.5 * sig_c * sig_c) * dt
    vol_c = sig_c * sq
    c0 = pi[L.INF_C0]
    sig_t = pt[L.TOK_SIGMA]
    drift_t = (math.log(1.0 - pt[L.TOK_DECLINE]) - 0.5 * sig_t * sig_t) * dt
    vol_t = sig_t * sq
    gm_k = 1.0 - pt[L.TOK_GM0]
    w_decay, w_sd = ou_decay_sd(pw[L.POWER_KAPPA], pw[L.POWER_SIGMA], dt)
    w_m = math.log(pw[L.POWER_LONG_RUN])

    # --- which auxiliary streams the models read (S_DEMAND_AUX: always)
    use_bjump = btc_model == L.BTC_JUMP_DIFFUSION and lam_b > 0.0
    use_hjump = lam_h > 0.0
    use_gen = gen_months <= 0.0 and lam_gen > 0.0

    # --- opening state
    ln_s0 = math.log(pb[L.BTC_S0])
    bear0 = pb[L.BTC_START_BEAR] > 0.5
    r0 = pr[L.RATE_R0]
    x_h0 = math.log(ps[L.SPREAD_H0])
    ln_p0 = math.log(pg[L.GPU_P0])
    g0 = pd[L.DEMAND_G0]
    x_w0 = math.log(pw[L.POWER_P0])

    return MarketConstants(btc_model, rate_model, lam_b, p0_b, mj, sj, drift_b, vol_b, drift_bear, vol_bear,
                           p_to_bear, p_to_bull, block, n_starts, r_kappa, r_theta, r_sigma, r_decay, r_sd, r_e,
                           h_decay, h_sd, h_m, lam_h, p0_h, h_jm, h_js, x_decay, x_sd, d_gpu, gen_months, lam_gen,
                           p0_gen, ea, sd_g, i_load, i_resid, i_mean_k, g_long, g_long_dt, drift_c, vol_c, c0,
                           drift_t, vol_t, gm_k, w_decay, w_sd, w_m, use_bjump, use_hjump, use_gen, ln_s0, bear0, r0,
                           x_h0, ln_p0, g0, x_w0)


@jit_inline
def market_work_size(n_steps):
    """Floats of :func:`market_path`'s scratch ``work`` for ``n_steps`` steps."""
    return 2 * L.N_FACTORS + 2 * N_EXP * n_steps


@jit
def market_path(k0, k1, gpath, p_local, n_steps, dt, months_per_step, chol, btc_series, rate_series, shocks,
                mc, work, bases, buf):
    """Simulate every market driver on one path; fill ``buf[t, v]``.

    ``gpath`` is the global path index (keys the random streams), ``p_local``
    its row in ``shocks`` when shocks are injected. ``mc``: the run's
    :func:`market_constants`. ``work`` (float64[>= market_work_size(n_steps)]) and
    ``bases`` (uint64[N_MARKET_STREAMS]): scratch, which the caller allocates once for
    all its paths.

    A variate is a pure function of (key, path, stream, step), so a stream is
    drawn only where a step reads it (a jump size only in a step with a jump,
    nothing of a model not in use): a draw that is not made cannot change
    one that is. Levels are carried as logs; their exponentials are taken
    after the step loop, all at once (:func:`simulator._kernels.fexp.exp_array`,
    glibc's ``exp`` inlined and vectorised: the same bits as ``math.exp``).
    """
    nf = L.N_FACTORS
    ns = L.N_MARKET_STREAMS
    injected = shocks.shape[0] > 0
    ne = N_EXP
    # Scratch (nothing is allocated per path or step): the step's factor normals z and
    # eps = chol z; the logs of the levels, lg[t * ne + X_*], and their exponentials.
    z = work[:nf]
    eps = work[nf:2 * nf]
    lg = work[2 * nf:2 * nf + ne * n_steps]
    ex = work[2 * nf + ne * n_steps:2 * nf + 2 * ne * n_steps]
    if not injected:
        prefetch_ziggurat()
        for s in range(ns):
            bases[s] = stream_base(k0, k1, np.uint64(gpath), np.uint64(s))

    # --- state
    ln_s = mc.ln_s0
    bear = mc.bear0
    boot_pos = 0
    r = mc.r0
    x_h = mc.x_h0
    x_gpu = 0.0
    n_gen = 0.0
    g = mc.g0
    ln_d = 0.0
    ln_c = 0.0
    ln_tok = 0.0
    x_w = mc.x_w0

    skey = np.uint64(0)
    for t in range(n_steps):
        # correlated factors: z = streams 0-8 (independent normals), eps = chol z
        if injected:
            for s in range(nf):
                z[s] = shocks[p_local, t, s]
        else:
            skey = step_key(t, 0)
            for s in range(nf):
                z[s] = normal_at(bases[s], t, skey)
        for i in range(nf):
            acc = 0.0
            for j in range(i + 1):
                acc += chol[i, j] * z[j]
            eps[i] = acc

        # bitcoin
        if mc.btc_model == L.BTC_GBM:
            ln_s += mc.drift_b + mc.vol_b * eps[L.Z_BITCOIN]
            x_btc = ln_s
        elif mc.btc_model == L.BTC_JUMP_DIFFUSION:
            ln_s += mc.drift_b + mc.vol_b * eps[L.Z_BITCOIN]
            if mc.use_bjump:
                u = aux_uniform(bases, L.S_BTC_JUMP_N, t, skey, shocks, p_local, injected)
                nj = poisson_count(mc.lam_b, mc.p0_b, u)
                if nj > 0:
                    zj = aux_normal(bases, L.S_BTC_JUMP_Z, t, skey, shocks, p_local, injected)
                    ln_s += nj * mc.mj + mc.sj * math.sqrt(nj) * zj
            x_btc = ln_s
        elif mc.btc_model == L.BTC_REGIME:
            if bear:
                ln_s += mc.drift_bear + mc.vol_bear * eps[L.Z_BITCOIN]
            else:
                ln_s += mc.drift_b + mc.vol_b * eps[L.Z_BITCOIN]
            u = aux_uniform(bases, L.S_REGIME, t, skey, shocks, p_local, injected)
            if bear:
                if u < mc.p_to_bull:
                    bear = False
            elif u < mc.p_to_bear:
                bear = True
            x_btc = ln_s
        elif mc.btc_model == L.BTC_REPLAY:
            x_btc = 0.0  # replay: the level is btc_series[t], written below
        else:  # bootstrap
            if t % mc.block == 0:
                # moving-block bootstrap: a block is a contiguous run of history
                # (no wrap from the last month to the first); block <= n_hist is
                # checked when packing
                u = aux_uniform(bases, L.S_BOOT, t, skey, shocks, p_local, injected)
                boot_pos = int(u * mc.n_starts)
                if boot_pos >= mc.n_starts:
                    boot_pos = mc.n_starts - 1
            ln_s += btc_series[boot_pos + t % mc.block]
            x_btc = ln_s
        lg[t * ne + X_BTC] = x_btc

        # short rate
        if mc.rate_model == L.RATE_VASICEK:
            r = mc.r_theta + (r - mc.r_theta) * mc.r_decay + mc.r_sd * eps[L.Z_RATES]
        elif mc.rate_model == L.RATE_CIR:
            r = cir_qe_step(r, mc.r_kappa, mc.r_theta, mc.r_sigma, mc.r_e, eps[L.Z_RATES])
        else:
            r = rate_series[t]
        buf[t, L.V_RATE] = r

        # high-yield spread: log-OU plus upward jumps
        x_h = mc.h_m + (x_h - mc.h_m) * mc.h_decay + mc.h_sd * eps[L.Z_SPREAD]
        if mc.use_hjump:
            u = aux_uniform(bases, L.S_SPREAD_JUMP_N, t, skey, shocks, p_local, injected)
            nh = poisson_count(mc.lam_h, mc.p0_h, u)
            if nh > 0:
                zh = aux_normal(bases, L.S_SPREAD_JUMP_Z, t, skey, shocks, p_local, injected)
                x_h += nh * mc.h_jm + mc.h_js * math.sqrt(nh) * zh
        lg[t * ne + X_SPREAD] = x_h

        # GPU rental price (newest generation) and generation launches
        x_gpu = x_gpu * mc.x_decay + mc.x_sd * eps[L.Z_GPU]
        lg[t * ne + X_GPU] = mc.ln_p0 - mc.d_gpu * (t + 1) * dt + x_gpu
        if mc.gen_months > 0.0:
            n_gen = math.floor((t + 1) * months_per_step / mc.gen_months + 1e-9)
        elif mc.use_gen:
            u = aux_uniform(bases, L.S_GPU_GEN, t, skey, shocks, p_local, injected)
            n_gen += poisson_count(mc.lam_gen, mc.p0_gen, u)
        buf[t, L.V_GEN] = n_gen

        # AI demand: OU growth and its exact integral
        e_g = eps[L.Z_DEMAND]
        e_i = aux_normal(bases, L.S_DEMAND_AUX, t, skey, shocks, p_local, injected)
        integral = mc.g_long_dt + (g - mc.g_long) * mc.i_mean_k + mc.i_load * e_g + mc.i_resid * e_i
        g = mc.g_long + (g - mc.g_long) * mc.ea + mc.sd_g * e_g
        ln_d += integral
        lg[t * ne + X_DEMAND] = ln_d
        buf[t, L.V_LN_DEMAND] = ln_d
        buf[t, L.V_GROWTH] = g

        # inference cost (relative to c0 inside, in USD per 1k tokens outside) and token price
        ln_c += mc.drift_c + mc.vol_c * eps[L.Z_INFERENCE]
        ln_tok += mc.drift_t + mc.vol_t * eps[L.Z_TOKENS]
        lg[t * ne + X_INFERENCE] = ln_c
        lg[t * ne + X_TOKEN] = ln_tok
        lg[t * ne + X_GM] = ln_c - ln_tok

        # power price: log-OU
        x_w = mc.w_m + (x_w - mc.w_m) * mc.w_decay + mc.w_sd * eps[L.Z_POWER]
        lg[t * ne + X_POWER] = x_w
        buf[t, L.V_REGIME] = 1.0 if bear else 0.0

        # common utilisation factor, read by the company engine
        buf[t, L.V_UTIL_FACTOR] = eps[L.Z_UTIL]
    # Every exponential of the path in one loop, which LLVM vectorises
    # (the same bits as math.exp, see fexp); then the levels into buf.
    prefetch_table()  # (the path's buffer writes have evicted it since the last path)
    exp_array(lg, ex)
    for t in range(n_steps):
        e = ex[t * ne:(t + 1) * ne]
        buf[t, L.V_BTC] = btc_series[t] if mc.btc_model == L.BTC_REPLAY else e[X_BTC]
        buf[t, L.V_SPREAD] = e[X_SPREAD]
        buf[t, L.V_GPU] = e[X_GPU]
        buf[t, L.V_DEMAND] = e[X_DEMAND]
        buf[t, L.V_INFERENCE] = mc.c0 * e[X_INFERENCE]
        buf[t, L.V_TOKEN] = e[X_TOKEN]
        gm = 1.0 - mc.gm_k * e[X_GM]
        buf[t, L.V_GM] = min(1.0, max(-1.0, gm))
        buf[t, L.V_POWER] = e[X_POWER]


@jit
def simulate_market_block(p_begin, p_end, k0, k1, path0, n_steps, dt, months_per_step, chol, params, models,
                          btc_series, rate_series, shocks, out):
    """Paths ``p_begin .. p_end - 1`` of :func:`simulate_market` (serial, releases the GIL)."""
    buf = np.empty((n_steps, L.N_MARKET_BUF))
    mc = market_constants(dt, params, models, btc_series)
    work = np.empty(market_work_size(n_steps))
    bases = np.empty(L.N_MARKET_STREAMS, dtype=np.uint64)
    for p in range(p_begin, p_end):
        market_path(k0, k1, path0 + p, p, n_steps, dt, months_per_step, chol, btc_series, rate_series, shocks, mc,
                    work, bases, buf)
        for v in range(L.N_MARKET_VARS):
            for t in range(n_steps):
                out[v, p, t] = buf[t, v]


def simulate_market(k0, k1, path0, n_steps, dt, months_per_step, chol, params, models,
                    btc_series, rate_series, shocks, out):
    """All market drivers for ``out.shape[1]`` paths starting at global ``path0``.

    ``out``: float64[N_MARKET_VARS, n_paths, n_steps], filled in place.
    Blocks of paths run on numba's thread count (:mod:`simulator._kernels.blocks`);
    paths are independent, so the result does not depend on threads or blocks.
    """
    run_blocks(simulate_market_block, out.shape[1],
               (k0, k1, path0, n_steps, dt, months_per_step, chol, params, models,
                btc_series, rate_series, shocks, out))
