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
- ``buf``: float64[n_steps, N_MARKET_VARS] output for one path; row ``t`` is the
  state at the end of step ``t``, i.e. at time ``(t + 1) * dt`` years.

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

import numpy as np

from simulator._kernels import layout as L
from simulator._kernels._jit import jit, jit_inline
from simulator._kernels.blocks import run_blocks
from simulator._kernels.fexp import exp_array
from simulator._kernels.rng import normal_at, step_key, stream_base, uniform_at
from simulator._kernels.select import select


#: Paths per call of :func:`market_paths` in :func:`simulate_market_block` (the fused engine's
#: kernels call it with the company kernel's lanes).
LANES = 32
#: Slots of the per-path log buffer: the levels reported as ``exp`` of a log.
X_BTC, X_SPREAD, X_GPU, X_DEMAND, X_INFERENCE, X_TOKEN, X_GM, X_POWER = range(8)
N_EXP = 8
#: Rows of the per-lane state: log bitcoin price, short rate, log spread, GPU price deviation,
#: generation count, demand growth, log demand, log inference cost, log token price, log power price.
M_LN_S, M_R, M_X_H, M_X_GPU, M_N_GEN, M_G, M_LN_D, M_LN_C, M_LN_TOK, M_X_W = range(10)
N_STATE = 10


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


@jit
def market_paths(gpath0, p_local0, lanes, k0, k1, n_steps, dt, months_per_step, chol, params, models,
                 btc_series, rate_series, shocks, buf):
    """Simulate every market driver on ``lanes`` paths at once, one per lane; fill
    ``buf[t, v, l]`` (lane last: a step's value of a variable is a row of lanes).

    Lane ``l`` is global path ``gpath0 + l`` (keys its random streams), row ``p_local0 + l`` of
    ``shocks`` when shocks are injected. ``lanes <= buf.shape[2]``; the lanes after them are not
    written.

    Each lane goes through exactly the operations, in the same order, of a path simulated alone,
    so the lanes never mix. The arithmetic of a step is a loop over the lanes, which LLVM turns
    into SIMD code (the models are the scenario's, the same in every lane); the draws, the Poisson
    counts of jumps and the CIR step (branchy, rare or calling out) stay plain loops.

    A variate is a pure function of (key, path, stream, step), so a stream is
    drawn only where a step reads it (a jump size only in a step with a jump,
    nothing of a model not in use): a draw that is not made cannot change
    one that is. Levels are carried as logs; their exponentials are taken
    after the step loop, all at once (:func:`simulator._kernels.fexp.exp_array`,
    glibc's ``exp`` inlined and vectorised: the same bits as ``math.exp``).
    """
    nf = L.N_FACTORS
    ns = L.N_MARKET_STREAMS
    nl = buf.shape[2]
    injected = shocks.shape[0] > 0
    ne = N_EXP
    # Scratch, allocated per call (nothing is allocated per step): the step's factor normals z and
    # eps = chol z; the stream bases; the logs of the levels, lg[t, X_*, l], and their exponentials.
    z = np.empty((nf, nl))
    eps = np.empty((nf, nl))
    bases = np.empty((nl, ns), dtype=np.uint64)
    pl = np.empty(nl, dtype=np.int64)  # each lane's row of the injected shocks
    lgs = np.empty((2, n_steps, ne, nl))
    lg = lgs[0]
    ex = lgs[1]
    for l in range(lanes):
        pl[l] = p_local0 + l
        if not injected:
            for s in range(ns):
                bases[l, s] = stream_base(k0, k1, np.uint64(gpath0 + l), np.uint64(s))

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

    # --- state, per lane
    st = np.empty((N_STATE, nl))
    bear = np.empty(nl, dtype=np.bool_)
    boot_pos = np.zeros(nl, dtype=np.int64)
    for l in range(lanes):
        st[M_LN_S, l] = math.log(pb[L.BTC_S0])
        bear[l] = pb[L.BTC_START_BEAR] > 0.5
        st[M_R, l] = pr[L.RATE_R0]
        st[M_X_H, l] = math.log(ps[L.SPREAD_H0])
        st[M_X_GPU, l] = 0.0
        st[M_N_GEN, l] = 0.0
        st[M_G, l] = pd[L.DEMAND_G0]
        st[M_LN_D, l] = 0.0
        st[M_LN_C, l] = 0.0
        st[M_LN_TOK, l] = 0.0
        st[M_X_W, l] = math.log(pw[L.POWER_P0])
    ln_p0 = math.log(pg[L.GPU_P0])

    skey = np.uint64(0)
    for t in range(n_steps):
        # correlated factors: z = streams 0-8 (independent normals), eps = chol z (each row's
        # products added in column order from +0.0, as a path alone does)
        if injected:
            for s in range(nf):
                for l in range(lanes):
                    z[s, l] = shocks[pl[l], t, s]
        else:
            skey = step_key(t, 0)
            for s in range(nf):
                for l in range(lanes):
                    z[s, l] = normal_at(bases[l, s], t, skey)
        for i in range(nf):
            for l in range(lanes):
                eps[i, l] = 0.0
            for j in range(i + 1):
                cij = chol[i, j]
                for l in range(lanes):
                    eps[i, l] += cij * z[j, l]
        lgt = lg[t]
        bt = buf[t]

        # bitcoin
        if btc_model == L.BTC_GBM or btc_model == L.BTC_JUMP_DIFFUSION:
            for l in range(lanes):
                st[M_LN_S, l] += drift_b + vol_b * eps[L.Z_BITCOIN, l]
            if use_bjump:
                for l in range(lanes):  # (a plain loop: the draws call out)
                    u = aux_uniform(bases[l], L.S_BTC_JUMP_N, t, skey, shocks, pl[l], injected)
                    nj = poisson_count(lam_b, p0_b, u)
                    if nj > 0:
                        zj = aux_normal(bases[l], L.S_BTC_JUMP_Z, t, skey, shocks, pl[l], injected)
                        st[M_LN_S, l] += nj * mj + sj * math.sqrt(nj) * zj
            for l in range(lanes):
                lgt[X_BTC, l] = st[M_LN_S, l]
        elif btc_model == L.BTC_REGIME:
            for l in range(lanes):
                st[M_LN_S, l] += select(bear[l], drift_bear + vol_bear * eps[L.Z_BITCOIN, l],
                                        drift_b + vol_b * eps[L.Z_BITCOIN, l])
            for l in range(lanes):
                u = aux_uniform(bases[l], L.S_REGIME, t, skey, shocks, pl[l], injected)
                if bear[l]:
                    if u < p_to_bull:
                        bear[l] = False
                elif u < p_to_bear:
                    bear[l] = True
                lgt[X_BTC, l] = st[M_LN_S, l]
        elif btc_model == L.BTC_REPLAY:
            for l in range(lanes):
                lgt[X_BTC, l] = 0.0  # replay: the level is btc_series[t], written below
        else:  # bootstrap
            for l in range(lanes):
                if t % block == 0:
                    # moving-block bootstrap: a block is a contiguous run of history
                    # (no wrap from the last month to the first); block <= n_hist is
                    # checked when packing
                    u = aux_uniform(bases[l], L.S_BOOT, t, skey, shocks, pl[l], injected)
                    boot_pos[l] = int(u * n_starts)
                    if boot_pos[l] >= n_starts:
                        boot_pos[l] = n_starts - 1
                st[M_LN_S, l] += btc_series[boot_pos[l] + t % block]
                lgt[X_BTC, l] = st[M_LN_S, l]

        # short rate
        if rate_model == L.RATE_VASICEK:
            for l in range(lanes):
                st[M_R, l] = r_theta + (st[M_R, l] - r_theta) * r_decay + r_sd * eps[L.Z_RATES, l]
        elif rate_model == L.RATE_CIR:
            for l in range(lanes):  # (a plain loop: branchy)
                st[M_R, l] = cir_qe_step(st[M_R, l], r_kappa, r_theta, r_sigma, r_e, eps[L.Z_RATES, l])
        else:
            for l in range(lanes):
                st[M_R, l] = rate_series[t]
        for l in range(lanes):
            bt[L.V_RATE, l] = st[M_R, l]

        # high-yield spread: log-OU plus upward jumps
        for l in range(lanes):
            st[M_X_H, l] = h_m + (st[M_X_H, l] - h_m) * h_decay + h_sd * eps[L.Z_SPREAD, l]
        if use_hjump:
            for l in range(lanes):  # (a plain loop: the draws call out)
                u = aux_uniform(bases[l], L.S_SPREAD_JUMP_N, t, skey, shocks, pl[l], injected)
                nh = poisson_count(lam_h, p0_h, u)
                if nh > 0:
                    zh = aux_normal(bases[l], L.S_SPREAD_JUMP_Z, t, skey, shocks, pl[l], injected)
                    st[M_X_H, l] += nh * h_jm + h_js * math.sqrt(nh) * zh
        for l in range(lanes):
            lgt[X_SPREAD, l] = st[M_X_H, l]

        # GPU rental price (newest generation) and generation launches
        gpu_trend = ln_p0 - d_gpu * (t + 1) * dt
        for l in range(lanes):
            st[M_X_GPU, l] = st[M_X_GPU, l] * x_decay + x_sd * eps[L.Z_GPU, l]
            lgt[X_GPU, l] = gpu_trend + st[M_X_GPU, l]
        if gen_months > 0.0:
            n_gen = math.floor((t + 1) * months_per_step / gen_months + 1e-9)
            for l in range(lanes):
                st[M_N_GEN, l] = n_gen
        elif use_gen:
            for l in range(lanes):  # (a plain loop: the draws call out)
                u = aux_uniform(bases[l], L.S_GPU_GEN, t, skey, shocks, pl[l], injected)
                st[M_N_GEN, l] += poisson_count(lam_gen, p0_gen, u)
        for l in range(lanes):
            bt[L.V_GEN, l] = st[M_N_GEN, l]

        # AI demand: OU growth and its exact integral (the second normal drawn per lane first)
        for l in range(lanes):
            z[0, l] = aux_normal(bases[l], L.S_DEMAND_AUX, t, skey, shocks, pl[l], injected)
        for l in range(lanes):
            e_g = eps[L.Z_DEMAND, l]
            g = st[M_G, l]
            integral = g_long_dt + (g - g_long) * i_mean_k + i_load * e_g + i_resid * z[0, l]
            g = g_long + (g - g_long) * ea + sd_g * e_g
            st[M_G, l] = g
            st[M_LN_D, l] += integral
            lgt[X_DEMAND, l] = st[M_LN_D, l]
            bt[L.V_GROWTH, l] = g

            # inference cost (relative to c0 inside, in USD per 1k tokens outside) and token price
            st[M_LN_C, l] += drift_c + vol_c * eps[L.Z_INFERENCE, l]
            st[M_LN_TOK, l] += drift_t + vol_t * eps[L.Z_TOKENS, l]
            lgt[X_INFERENCE, l] = st[M_LN_C, l]
            lgt[X_TOKEN, l] = st[M_LN_TOK, l]
            lgt[X_GM, l] = st[M_LN_C, l] - st[M_LN_TOK, l]

            # power price: log-OU
            st[M_X_W, l] = w_m + (st[M_X_W, l] - w_m) * w_decay + w_sd * eps[L.Z_POWER, l]
            lgt[X_POWER, l] = st[M_X_W, l]
            bt[L.V_REGIME, l] = select(bear[l], 1.0, 0.0)

            # common utilisation factor, read by the company engine
            bt[L.V_UTIL_FACTOR, l] = eps[L.Z_UTIL, l]
    # Every exponential of the call in one loop, which LLVM vectorises
    # (the same bits as math.exp, see fexp); then the levels into buf.
    exp_array(lg.reshape(n_steps * ne * nl), ex.reshape(n_steps * ne * nl))
    replay = btc_model == L.BTC_REPLAY
    for t in range(n_steps):
        e = ex[t]
        bt = buf[t]
        b_replay = btc_series[t] if replay else 0.0
        for l in range(lanes):
            bt[L.V_BTC, l] = select(replay, b_replay, e[X_BTC, l])
            bt[L.V_SPREAD, l] = e[X_SPREAD, l]
            bt[L.V_GPU, l] = e[X_GPU, l]
            bt[L.V_DEMAND, l] = e[X_DEMAND, l]
            bt[L.V_INFERENCE, l] = c0 * e[X_INFERENCE, l]
            bt[L.V_TOKEN, l] = e[X_TOKEN, l]
            gm = 1.0 - gm_k * e[X_GM, l]
            gm = select(gm > -1.0, gm, -1.0)  # max(-1.0, gm), min(1.0, .) as numba's builtins
            bt[L.V_GM, l] = select(gm < 1.0, gm, 1.0)
            bt[L.V_POWER, l] = e[X_POWER, l]


@jit
def simulate_market_block(p_begin, p_end, k0, k1, path0, n_steps, dt, months_per_step, chol, params, models,
                          btc_series, rate_series, shocks, out):
    """Paths ``p_begin .. p_end - 1`` of :func:`simulate_market` (serial, releases the GIL),
    ``LANES`` at a time."""
    buf = np.empty((n_steps, L.N_MARKET_VARS, LANES))
    for p0 in range(p_begin, p_end, LANES):
        nl = min(LANES, p_end - p0)
        market_paths(path0 + p0, p0, nl, k0, k1, n_steps, dt, months_per_step, chol, params, models,
                     btc_series, rate_series, shocks, buf)
        for v in range(L.N_MARKET_VARS):
            for l in range(nl):
                for t in range(n_steps):
                    out[v, p0 + l, t] = buf[t, v, l]


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
