"""Array layouts of the company engine: parameter columns, state slots, outputs.

Pure integer constants (compile-time constants for numba), shared by the
kernels (:mod:`simulator._kernels.company`, :mod:`simulator._kernels.engine`)
and the Python packing code (:mod:`simulator.company.pack`). Changing the
stream numbers changes every result for a given seed.

Ragged lists (contracts, tranches, fleets) are stored CSR-style: the rows of
company ``c`` are ``ptr[c] .. ptr[c + 1] - 1`` of the table.
"""

# ---------------------------------------------------------------- company streams
#: Stream ``k`` of company ``c`` is ``COMPANY_STREAM0 + c * STREAMS_PER_COMPANY + k``.
K_UTIL = 0  # normal, per step: idiosyncratic utilisation shock
K_CORE = 1  # normal, per step: core-revenue GBM shock
K_EXT = 2  # uniform, indexed by CONTRACT (not step): default time of an external counterparty
N_COMPANY_STREAMS_USED = 3
#: Kind of each company stream (0 normal, 1 uniform), indexed by ``k``; unused streams are normal.
COMPANY_STREAM_KINDS = (0, 0, 1, 0, 0, 0, 0, 0)

# ---------------------------------------------------------------- archetypes
A_HYPERSCALER, A_NEOCLOUD, A_MINER, A_AI_APP = range(4)
ARCHETYPES = ("hyperscaler", "neocloud", "miner", "ai_app")

# ---------------------------------------------------------------- company parameters: cpar[c, :]
(C_ARCH, C_CASH0, C_MIN_CASH, C_OPEX_FIXED, C_OPEX_VAR, C_SITE_MW, C_PUE, C_TAX_RATE, C_NOL0,
 C_U_MEAN, C_U_BETA, C_U_KAPPA, C_U_SIGMA, C_U_COMMON,
 C_CORE_REV0, C_CORE_MU, C_CORE_SIGMA, C_AI_REV0,
 C_HASHRATE, C_MINING_MW, C_HODL, C_BTC0, C_HAIRCUT, C_FEE_MULT,
 C_REV_LIMIT, C_REV_DRAWN0, C_REV_MARGIN, C_REV_RECOVERY,
 C_REFI_MAX_SPREAD, C_REFI_MAX_LEV, C_SPREAD_MULT, C_REFI_TERM,
 C_ATM_CAP, C_ATM_TARGET, C_ATM_MIN_BTC, C_ATM_MAX_SPREAD, C_ATM_MIN_GROWTH,
 C_MAINT_CAPEX, C_MAINT_SHARE, C_RUNWAY,
 C_REC_MARGIN, C_REC_THRESHOLD, C_REC_TARGET,
 C_HAS_TTM, C_TTM_REV, C_TTM_EBITDA, C_TTM_INTEREST, C_TTM_FCF, C_POWER_FACTOR) = range(49)
N_CPAR = 49

# ---------------------------------------------------------------- contracts: kpar[j, :]
K_CPTY, K_AMOUNT, K_START, K_END, K_PREPAID, K_HAZARD, K_HOSTING = range(7)
N_KPAR = 7
#: Counterparty code of an `external` counterparty (named ones are company indices >= 0).
EXTERNAL = -1

# ---------------------------------------------------------------- tranches: tpar[j, :]
(T_PRINCIPAL, T_FLOATING, T_RATE, T_MATURITY, T_LINEAR, T_RECOVERY, T_UNDRAWN, T_DRAW_SHARE,
 T_COV_ICR, T_COV_LEV, T_COV_LIQ, T_CURE, T_REFI) = range(13)
N_TPAR = 13
#: A covenant threshold that is absent (ICR, leverage, liquidity tests are skipped).
NO_COVENANT = -1.0

# ---------------------------------------------------------------- fleets (vintages): fpar[j, :]
(F_GPUS, F_MONTH, F_BOOK0, F_CAPEX, F_LIFE, F_ECON_LIFE, F_KW, F_PRICE_FACTOR, F_CONTRACTED,
 F_GEN_BEHIND, F_COMMITTED, F_DEP_FIRST, F_DEP_RATE, F_DEP_END, F_DEP_LAST, F_MW) = range(16)
N_FPAR = 16
# F_MW: the vintage's IT load, MW (F_GPUS x F_KW / 1000), set by simulator.company.pack.
# F_DEP_*: the vintage's straight-line depreciation if it is bought (simulator.company.pack.straight_line):
# F_DEP_RATE per step from step F_DEP_FIRST up to F_DEP_END - 1, then F_DEP_LAST at step F_DEP_END.

# ---------------------------------------------------------------- default causes and recovery statuses
CAUSE_NONE, CAUSE_LIQUIDITY, CAUSE_COVENANT, CAUSE_REFINANCING = range(4)
REC_NEVER_STRESSED, REC_RECOVERED, REC_CENSORED, REC_DEFAULTED = range(4)

# ---------------------------------------------------------------- per-path integer outputs: pint[p, c, :]
(P_DEFAULT_MONTH, P_CAUSE, P_REC_MONTH, P_REC_STATUS, P_STRESS_MONTH, P_TROUGH_MONTH,
 P_ALIVE_MONTHS, P_DEMAND_MONTHS, P_LEVERAGE_MONTHS, P_AVALANCHE_MONTHS, P_FIRST_AVALANCHE,
 P_AV_N, P_AV_DEF12, P_ALL_N, P_ALL_DEF12) = range(15)
N_PINT = 15
#: dtype of a run's ``pint``: every column is a step index, a count of steps or a code, and a run
#: has at most 600 steps (50 years of months), so int16 holds them (the kernel's own per-lane
#: scratch is int64). At 10^6 paths int16 is 450 MB less to allocate, touch, write and read than
#: int64: int32 took a 10^6-path run from 22.5-25.3 s to 19.8-20.3 s (docs/performance.md section
#: 14), int16 from 24.0-24.6 s to 22.0-22.4 s (section 15).
PINT_DTYPE = "int16"
PINT_NAMES = ("default_month", "default_cause", "recovery_month", "recovery_status", "stress_month",
              "trough_month", "alive_months", "demand_alarm_months", "leverage_alarm_months",
              "avalanche_months", "first_avalanche_month", "avalanche_months_observed",
              "avalanche_months_default12", "months_observed", "months_default12")

# ---------------------------------------------------------------- per-path float outputs: pflt[p, c, :]
PF_TROUGH, PF_EAD, PF_LOSS = range(3)
N_PFLT = 3
PFLT_NAMES = ("trough_metric", "exposure_at_default", "loss_given_default_usd")

# ---------------------------------------------------------------- alarm flags per (path, company, step): bits
ALARM_DEMAND, ALARM_LEVERAGE, ALARM_AVALANCHE, ALARM_ALIVE = 1, 2, 4, 8

# ---------------------------------------------------------------- full-mode outputs: full[v, c, p, t]
(O_REVENUE, O_EBITDA, O_INTEREST, O_TAX, O_CAPEX, O_FCF, O_NET_FINANCING, O_CASH, O_DEBT, O_RPO,
 O_UTIL, O_ALIVE, O_DEPRECIATION, O_IMPAIRMENT, O_BTC, O_NET_LEVERAGE) = range(16)
N_OUT = 16
OUT_NAMES = ("revenue", "ebitda", "interest", "tax", "capex", "fcf", "net_financing", "cash", "debt",
             "rpo", "utilization", "alive", "depreciation", "impairment", "btc_holdings", "net_leverage")
