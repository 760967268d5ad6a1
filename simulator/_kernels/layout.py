"""Array layouts shared by the kernels and the Python code that packs them.

Pure integer constants (compile-time constants for numba). Changing the stream
numbers changes every result for a given seed.
"""

# ---------------------------------------------------------------- streams
NORMAL = 0
UNIFORM = 1

#: Correlated market factors, in the order of the correlation matrix.
FACTORS = (
    "bitcoin",
    "rates",
    "spread",
    "gpu",
    "demand",
    "inference",
    "tokens",
    "power",
    "utilization",
)
N_FACTORS = 9
Z_BITCOIN, Z_RATES, Z_SPREAD, Z_GPU, Z_DEMAND, Z_INFERENCE, Z_TOKENS, Z_POWER, Z_UTIL = range(9)

# Independent auxiliary market streams (after the correlated normals).
S_BTC_JUMP_N = 9  # uniform: Poisson jump count of bitcoin
S_BTC_JUMP_Z = 10  # normal: bitcoin jump sizes
S_SPREAD_JUMP_N = 11  # uniform: Poisson jump count of the HY spread
S_SPREAD_JUMP_Z = 12  # normal: spread jump sizes
S_GPU_GEN = 13  # uniform: Poisson generation launches
S_DEMAND_AUX = 14  # normal: integral of demand growth given its end value
S_REGIME = 15  # uniform: bitcoin regime switches
S_BOOT = 16  # uniform: bootstrap block starts
N_MARKET_STREAMS = 17

MARKET_STREAM_KINDS = (NORMAL,) * N_FACTORS + (
    UNIFORM,
    NORMAL,
    UNIFORM,
    NORMAL,
    UNIFORM,
    NORMAL,
    UNIFORM,
    UNIFORM,
)

#: Company streams start here; company ``c`` owns streams
#: ``COMPANY_STREAM0 + c * STREAMS_PER_COMPANY + k`` for ``k < STREAMS_PER_COMPANY``.
COMPANY_STREAM0 = 32
STREAMS_PER_COMPANY = 8

# ---------------------------------------------------------------- drivers
D_BITCOIN, D_RATES, D_SPREAD, D_GPU, D_DEMAND, D_INFERENCE, D_TOKENS, D_POWER = range(8)
N_DRIVERS = 8
N_DRIVER_PARAMS = 12

# Bitcoin parameter columns.
BTC_S0, BTC_MU, BTC_SIGMA, BTC_JUMP_RATE, BTC_JUMP_MEAN, BTC_JUMP_STD = range(6)
BTC_BEAR_MU, BTC_BEAR_SIGMA, BTC_BEAR_RATE, BTC_BULL_RATE, BTC_START_BEAR, BTC_BLOCK = range(6, 12)
# Bitcoin model codes.
BTC_GBM, BTC_JUMP_DIFFUSION, BTC_REGIME, BTC_REPLAY, BTC_BOOTSTRAP = range(5)

RATE_R0, RATE_KAPPA, RATE_THETA, RATE_SIGMA = range(4)
RATE_VASICEK, RATE_CIR, RATE_REPLAY = range(3)

SPREAD_H0, SPREAD_KAPPA, SPREAD_LONG_RUN, SPREAD_SIGMA, SPREAD_JUMP_RATE, SPREAD_JUMP_MEAN, SPREAD_JUMP_STD = range(7)

GPU_P0, GPU_DECLINE, GPU_KAPPA, GPU_SIGMA, GPU_GEN_RATE, GPU_GEN_MONTHS, GPU_GEN_DROP = range(7)

DEMAND_G0, DEMAND_G_LONG, DEMAND_HALF_LIFE, DEMAND_SIGMA = range(4)

INF_C0, INF_DECLINE, INF_SIGMA = range(3)

TOK_DECLINE, TOK_SIGMA, TOK_GM0 = range(3)

POWER_P0, POWER_KAPPA, POWER_LONG_RUN, POWER_SIGMA = range(4)

# ---------------------------------------------------------------- market output variables
V_BTC, V_RATE, V_SPREAD, V_GPU, V_GEN, V_DEMAND, V_GROWTH = range(7)
V_INFERENCE, V_TOKEN, V_GM, V_POWER, V_REGIME = range(7, 12)
#: The correlated `utilization` factor eps[Z_UTIL] of the step (standard normal),
#: exposed so that companies' spot utilisation can load on it.
V_UTIL_FACTOR = 12
N_MARKET_VARS = 13
#: ln D_t, the log of ``ai_demand`` as the market carries it: a row of the kernels' per-path market
#: buffer after the reported variables, not a reported variable. The company step's demand surprise
#: ln D_t - ln E[D_t] reads it (the log of the level cost a ``log`` per path and step, and rounds
#: once more).
V_LN_DEMAND = 13
#: Rows of the kernels' per-path market buffer: the reported variables, then ``V_LN_DEMAND``.
N_MARKET_BUF = 14

#: Name of each market variable in results, indexed by V_*.
MARKET_VARS = (
    "btc_price",
    "short_rate",
    "hy_spread",
    "gpu_price",
    "gpu_generation",
    "ai_demand",
    "demand_growth",
    "inference_cost",
    "token_price",
    "app_gross_margin",
    "power_price",
    "btc_regime",
    "utilization_factor",
)
