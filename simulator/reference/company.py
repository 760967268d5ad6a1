"""Company balance sheets in plain numpy, vectorised over paths: the oracle.

Written from ``shared/MODEL.md`` sections 4-7 and the choices recorded in
``docs/company-model.md``. Every company of a scenario is stepped month by
month on market paths produced by :func:`simulator.reference.simulate_market`;
the loops run over steps, companies and a company's contracts, tranches and
vintages, and every quantity is an array over paths. Nothing here calls the
numba kernels or their helpers: the tests compare this module with the numba
engine (``tests/test_reference_company.py``) to 1e-12 relative, with identical
default months, causes, recovery months and statuses and alarm bits.

The packed parameter tables of :func:`simulator.company.pack_companies` are
the input (months as step indices, money per step); their layouts are in
:mod:`simulator._kernels.company_layout` (``CL``), which this module reads
for column numbers and codes only.

Shapes (``P`` paths, ``T`` steps, ``C`` companies)
-------------------------------------------------
- ``market``: float64[N_MARKET_VARS, P, T], market variables at step ends.
- ``util_z``, ``core_z``: float64[P, T, C], the companies' idiosyncratic
  standard normals (utilisation, core revenue).
- ``ext_u``: float64[P, K, C], uniforms of the external-counterparty
  defaults, indexed by the contract's position ``k`` in its company.
- results: ``pint`` int32[P, C, N_PINT], ``pflt`` float64[P, C, N_PFLT],
  ``alarms`` int8[P, C, T], ``full`` float64[N_OUT, C, P, T] (USD per step for
  flows, USD for stocks, BTC for ``btc_holdings``).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from simulator._kernels import company_layout as CL
from simulator._kernels import layout as L

#: Hours in a month (8766 / 12).
HOURS_PER_MONTH = 730.5
#: Blocks per year at the 10-minute target.
BLOCKS_PER_YEAR = 6.0 * 24.0 * 365.25
#: "Cash below zero" tolerance of the default test, USD.
CASH_EPS = 1e-6


class _Book:
    """Per-path state of one company: every attribute is an array over paths
    (or rows x paths for tranches, vintages and contracts)."""

    def snapshot(self) -> dict:
        return {k: v.copy() for k, v in vars(self).items()}

    def restore(self, snap: dict, dead: np.ndarray) -> None:
        """Put back the pre-step values on paths where the company was not alive."""
        for k, old in snap.items():
            getattr(self, k)[..., dead] = old[..., dead]


def _open(c, ci, n_paths, window, gen_drop):
    """Opening balance sheet of company ``c`` (docs/company-model.md)."""
    cp = ci.cpar[c]
    P = n_paths
    b = _Book()
    b.cash = np.full(P, cp[CL.C_CASH0])
    b.btc = np.full(P, cp[CL.C_BTC0])
    b.rev = np.full(P, cp[CL.C_REV_DRAWN0])  # revolver drawn
    b.nol = np.full(P, cp[CL.C_NOL0])
    b.udev = np.zeros(P)
    b.lncore = np.zeros(P)
    b.in_stress = np.zeros(P, dtype=bool)
    b.stress_month = np.full(P, -1, dtype=np.int64)
    b.rec_month = np.full(P, -1, dtype=np.int64)
    b.trough = np.zeros(P)
    b.trough_month = np.full(P, -1, dtype=np.int64)
    b.first_av = np.full(P, -1, dtype=np.int64)
    b.ring = np.zeros((window, 4, P))  # [slot, (revenue, ebitda, interest, fcf), path]
    b.ttm = np.zeros((4, P))
    if cp[CL.C_HAS_TTM] > 0.5:
        vals = (cp[CL.C_TTM_REV], cp[CL.C_TTM_EBITDA], cp[CL.C_TTM_INTEREST], cp[CL.C_TTM_FCF])
        for v in range(4):
            b.ring[:, v, :] = vals[v] / window
            b.ttm[v] = vals[v]
    tp = ci.tpar[ci.tptr[c]:ci.tptr[c + 1]]
    n_t = tp.shape[0]
    b.bal = np.repeat(tp[:, CL.T_PRINCIPAL, None], P, axis=1) if n_t else np.zeros((0, P))
    b.floating = np.repeat(tp[:, CL.T_FLOATING, None] > 0.5, P, axis=1) if n_t else np.zeros((0, P), bool)
    b.rate = np.repeat(tp[:, CL.T_RATE, None], P, axis=1) if n_t else np.zeros((0, P))
    b.mat = np.repeat(tp[:, CL.T_MATURITY, None], P, axis=1) if n_t else np.zeros((0, P))
    b.linear = np.repeat(tp[:, CL.T_LINEAR, None] > 0.5, P, axis=1) if n_t else np.zeros((0, P), bool)
    b.undrawn = np.repeat(tp[:, CL.T_UNDRAWN, None], P, axis=1) if n_t else np.zeros((0, P))
    b.breach = np.zeros((n_t, P), dtype=np.int64)
    fp = ci.fpar[ci.fptr[c]:ci.fptr[c + 1]]
    n_f = fp.shape[0]
    opening = fp[:, CL.F_CAPEX] == 0.0
    # status: 0 planned, 1 on the books, -1 cancelled by the discipline rule
    b.status = np.repeat(np.where(opening, 1, 0)[:, None], P, axis=1).astype(np.int8) if n_f else \
        np.zeros((0, P), np.int8)
    b.book = np.repeat(np.where(opening, fp[:, CL.F_BOOK0], 0.0)[:, None], P, axis=1) if n_f else np.zeros((0, P))
    b.taxbook = b.book.copy()
    # generation discount at purchase, relative: (1 - drop)^-(generations at purchase)
    b.rel0 = np.repeat(((1.0 - gen_drop) ** fp[:, CL.F_GEN_BEHIND])[:, None], P, axis=1) if n_f else \
        np.zeros((0, P))
    n_k = ci.kptr[c + 1] - ci.kptr[c]
    b.cancelled = np.zeros((n_k, P), dtype=bool)
    return b


def _net_leverage(debt, cash, ttm_ebitda):
    """(debt - cash) / trailing EBITDA; +inf (-inf) when EBITDA <= 0 and net debt > 0 (<= 0)."""
    net = debt - cash
    pos = ttm_ebitda > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = net / np.where(pos, ttm_ebitda, 1.0)
    return np.where(pos, ratio, np.where(net > 0.0, math.inf, -math.inf))


def _count(events, name, mask):
    if events is not None:
        events[name] += int(np.count_nonzero(mask))


def _step(c, t, ci, b, mk, dle_t, net_hr_t, subsidy_t, dt, mps, gen_drop, dm, util_z, core_z, ext_step,
          alive, events):
    """Advance company ``c`` by step ``t`` on every path (MODEL.md 4-5, in the order of
    docs/company-model.md).

    Returns the step's lines float64[N_OUT, P] (indexed by ``CL.O_*``) and the default
    cause int64[P] (``CL.CAUSE_*``). Computed on every path; the caller restores the state
    on paths where the company is not ``alive`` and keeps only their lines.
    """
    cp = ci.cpar[c]
    P = b.cash.shape[0]
    hours = HOURS_PER_MONTH * mps
    gpu_price = mk[L.V_GPU]
    btc_price = mk[L.V_BTC]
    r = mk[L.V_RATE]
    h = mk[L.V_SPREAD]
    demand = mk[L.V_DEMAND]
    gen_factor = (1.0 - gen_drop) ** mk[L.V_GEN]

    # utilisation: exact OU of the logit deviation, loading on the market's utilisation factor
    kap, sig, w = cp[CL.C_U_KAPPA], cp[CL.C_U_SIGMA], cp[CL.C_U_COMMON]
    if sig > 0.0:
        decay = math.exp(-kap * dt)
        sd = sig * math.sqrt((1.0 - decay * decay) / (2.0 * kap))
        z = w * mk[L.V_UTIL_FACTOR] + math.sqrt(1.0 - w * w) * util_z
        b.udev = b.udev * decay + sd * z
    mean = cp[CL.C_U_MEAN]
    # demand surprise ln D_t - ln E[D_t], from the level (the numba engine reads the market's ln D_t
    # itself: the two agree to an ulp)
    x = math.log(mean / (1.0 - mean)) + cp[CL.C_U_BETA] * (np.log(demand) - dle_t) + b.udev
    u = 1.0 / (1.0 + np.exp(-x))

    # 1. revenue: contracts (contagion from counterparties' defaults before this step), spot, mining, core, AI
    contract_rev = np.zeros(P)
    noncash = np.zeros(P)
    rpo = np.zeros(P)
    k0 = ci.kptr[c]
    for i in range(ci.kptr[c + 1] - k0):
        kp = ci.kpar[k0 + i]
        cpty = int(kp[CL.K_CPTY])
        if cpty >= 0:
            stop = (dm[cpty] >= 0) & (dm[cpty] < t)
        else:
            stop = ext_step[i] < t
        newly = stop & ~b.cancelled[i]
        _count(events, "contract_cancelled_named" if cpty >= 0 else "contract_cancelled_external", newly & alive)
        b.cancelled[i] |= stop
        live = ~b.cancelled[i]
        start, end, amt = kp[CL.K_START], kp[CL.K_END], kp[CL.K_AMOUNT]
        if start <= t <= end:
            contract_rev = contract_rev + np.where(live, amt, 0.0)
            noncash = noncash + np.where(live, amt * kp[CL.K_PREPAID], 0.0)
        rpo = rpo + np.where(live, amt * max(0.0, end - max(float(t), start - 1.0)), 0.0)

    f0 = ci.fptr[c]
    fp = ci.fpar[f0:ci.fptr[c + 1]]
    n_f = fp.shape[0]
    opening = fp[:, CL.F_CAPEX] == 0.0
    held = [j for j in range(n_f) if opening[j] or fp[j, CL.F_MONTH] < t]  # bought before this step
    buying = [j for j in range(n_f) if not opening[j] and fp[j, CL.F_MONTH] == t]
    spot_rev = np.zeros(P)
    fleet_mw = np.zeros(P)
    for j in held:
        on = b.status[j] == 1
        age = t - fp[j, CL.F_MONTH]
        g = fp[j, CL.F_GPUS]
        if age >= fp[j, CL.F_ECON_LIFE] or g <= 0.0:
            continue
        rel = fp[j, CL.F_PRICE_FACTOR] * gen_factor * b.rel0[j]
        spot_rev = spot_rev + np.where(on, g * (1.0 - fp[j, CL.F_CONTRACTED]) * u * gpu_price * rel * hours, 0.0)
        fleet_mw = fleet_mw + np.where(on, fp[j, CL.F_MW], 0.0)

    power_px = cp[CL.C_PUE] * cp[CL.C_POWER_FACTOR] * mk[L.V_POWER] * hours  # USD per MW of load per step
    mining_rev = np.zeros(P)
    mining_mw = np.zeros(P)
    if cp[CL.C_HASHRATE] > 0.0:
        mined = cp[CL.C_HASHRATE] / net_hr_t * subsidy_t * cp[CL.C_FEE_MULT] * BLOCKS_PER_YEAR * dt
        mine = mined * btc_price > cp[CL.C_MINING_MW] * power_px  # otherwise curtailed
        _count(events, "curtailed", ~mine & alive)
        mining_rev = np.where(mine, mined * btc_price, 0.0)
        mining_mw = np.where(mine, cp[CL.C_MINING_MW], 0.0)
        kept = np.where(mine, mined * cp[CL.C_HODL], 0.0)
        b.btc = b.btc + kept
        noncash = noncash + kept * btc_price

    core_rev = np.zeros(P)
    if cp[CL.C_CORE_REV0] > 0.0:
        cs = cp[CL.C_CORE_SIGMA]
        zc = core_z if cs > 0.0 else 0.0
        b.lncore = b.lncore + ((cp[CL.C_CORE_MU] - 0.5 * cs * cs) * dt + cs * math.sqrt(dt) * zc)
        core_rev = cp[CL.C_CORE_REV0] * dt * np.exp(b.lncore)
    ai_rev = cp[CL.C_AI_REV0] * dt * demand
    cost_of_rev = ai_rev * (1.0 - mk[L.V_GM]) if int(cp[CL.C_ARCH]) == CL.A_AI_APP else np.zeros(P)
    revenue = contract_rev + spot_rev + mining_rev + core_rev + ai_rev

    # 2. operating cost (idle GPUs still draw power) and EBITDA
    power = (cp[CL.C_SITE_MW] + mining_mw + fleet_mw) * power_px
    opex = power + cp[CL.C_OPEX_FIXED] + cp[CL.C_OPEX_VAR] * revenue + cost_of_rev
    ebitda = revenue - opex

    # 3. interest on start-of-step balances; floating (revolver included) = r + margin, floored at zero
    interest = b.rev * np.maximum(r + cp[CL.C_REV_MARGIN], 0.0) * dt
    for j in range(b.bal.shape[0]):
        rate = b.rate[j] + np.where(b.floating[j], r, 0.0)
        interest = interest + b.bal[j] * np.maximum(rate, 0.0) * dt

    # 5. capex due this step: maintenance and committed plan items; uncommitted items may be cut
    committed = cp[CL.C_MAINT_CAPEX] + cp[CL.C_MAINT_SHARE] * revenue
    uncommitted = np.zeros(P)
    for j in buying:
        if fp[j, CL.F_COMMITTED] > 0.5:
            committed = committed + fp[j, CL.F_CAPEX]
        else:
            uncommitted = uncommitted + fp[j, CL.F_CAPEX]
    tp = ci.tpar[ci.tptr[c]:ci.tptr[c + 1]]
    amort = np.zeros(P)
    for j in range(b.bal.shape[0]):
        due = b.linear[j] & (t < b.mat[j])
        with np.errstate(divide="ignore", invalid="ignore"):
            amort = amort + np.where(due, b.bal[j] / (b.mat[j] - t + 1.0), 0.0)

    # 6. straight-line depreciation of remaining book over remaining life, then impairment to
    # economic value (spot income at today's price x remaining economic life); tax basis not impaired
    dep = np.zeros(P)
    imp = np.zeros(P)
    tax_dep = np.zeros(P)
    for j in held:
        on = b.status[j] == 1
        age = t - fp[j, CL.F_MONTH]
        remaining = fp[j, CL.F_LIFE] - age
        tb = b.taxbook[j]
        td = np.where(on & (tb > 0.0), tb if remaining <= 1.0 else tb / remaining, 0.0)
        b.taxbook[j] = tb - td
        tax_dep = tax_dep + td
        book = b.book[j]
        dep_on = on & (book > 0.0)
        d = np.where(dep_on, book if remaining <= 1.0 else book / remaining, 0.0)
        book = book - d
        dep = dep + d
        g = fp[j, CL.F_GPUS]
        if g > 0.0:
            cshare = fp[j, CL.F_CONTRACTED]
            econ_left = max(fp[j, CL.F_ECON_LIFE] - age - 1.0, 0.0)
            rel = fp[j, CL.F_PRICE_FACTOR] * gen_factor * b.rel0[j]
            value = g * (1.0 - cshare) * u * gpu_price * rel * hours * econ_left
            spot_book = book * (1.0 - cshare)
            hit = dep_on & (value < spot_book)
            _count(events, "impairment", hit & alive)
            loss = np.where(hit, spot_book - value, 0.0)
            imp = imp + loss
            book = book - loss
        b.book[j] = book

    # 4. tax on positive taxable income after loss carry-forward
    taxable = ebitda - tax_dep - interest
    pos = taxable > 0.0
    used = np.where(pos, np.minimum(b.nol, taxable), 0.0)
    tax = np.where(pos, (taxable - used) * cp[CL.C_TAX_RATE], 0.0)
    b.nol = np.where(pos, b.nol - used, b.nol - taxable)

    # discipline rule: cancel the step's uncommitted capex when the runway would fall short
    if cp[CL.C_RUNWAY] > 0.0 and buying:
        fixed = cp[CL.C_OPEX_FIXED] + power + interest + amort
        liq = b.cash + ebitda - noncash - interest - tax - committed - amort + \
            (cp[CL.C_REV_LIMIT] - b.rev) - uncommitted
        cut = (uncommitted > 0.0) & (fixed > 0.0) & (liq < cp[CL.C_RUNWAY] * fixed)
        _count(events, "capex_cut", cut & alive)
        uncommitted = np.where(cut, 0.0, uncommitted)
        for j in buying:
            if fp[j, CL.F_COMMITTED] < 0.5:
                b.status[j] = np.where(cut, -1, b.status[j])
    capex = committed + uncommitted
    for j in buying:
        bought = b.status[j] == 0
        b.status[j] = np.where(bought, 1, b.status[j])
        b.book[j] = np.where(bought, fp[j, CL.F_CAPEX], b.book[j])
        b.taxbook[j] = np.where(bought, fp[j, CL.F_CAPEX], b.taxbook[j])
        b.rel0[j] = np.where(bought, 1.0 / gen_factor, b.rel0[j])

    fcf = ebitda - noncash - interest - tax - capex

    # trailing twelve months: a ring of the last W steps (seeded from the ttm figures or month 0)
    W = b.ring.shape[0]
    k = t % W
    vals = (revenue, ebitda, interest, fcf)
    if t == 0 and cp[CL.C_HAS_TTM] < 0.5:
        for v in range(4):
            b.ring[:, v, :] = vals[v]
            b.ttm[v] = W * vals[v]
    else:
        for v in range(4):
            b.ttm[v] = b.ttm[v] + (vals[v] - b.ring[k, v])
            b.ring[k, v] = vals[v]

    # 7. financing: delayed draws fund capex, linear amortisation, maturities (refinance or repay)
    cash = b.cash + fcf
    net_fin = np.zeros(P)
    to_fund = capex
    for j in range(b.bal.shape[0]):
        can = (b.undrawn[j] > 0.0) & (t < b.mat[j]) & (to_fund > 0.0)
        d = np.where(can, np.minimum(b.undrawn[j], tp[j, CL.T_DRAW_SHARE] * to_fund), 0.0)
        b.undrawn[j] = b.undrawn[j] - d
        b.bal[j] = b.bal[j] + d
        to_fund = to_fund - d
        net_fin = net_fin + d
    for j in range(b.bal.shape[0]):
        due = b.linear[j] & (t < b.mat[j])
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(due, b.bal[j] / (b.mat[j] - t + 1.0), 0.0)
        b.bal[j] = b.bal[j] - a
        net_fin = net_fin - a
    cash = cash + net_fin
    debt_now = b.rev.copy()
    for j in range(b.bal.shape[0]):
        debt_now = debt_now + b.bal[j]
    lev = _net_leverage(debt_now, cash, b.ttm[1])
    company_spread = cp[CL.C_SPREAD_MULT] * h
    market_open = (company_spread <= cp[CL.C_REFI_MAX_SPREAD]) & (lev < cp[CL.C_REFI_MAX_LEV])
    matured = np.zeros(P)
    for j in range(b.bal.shape[0]):
        due = (b.mat[j] == t) & (b.bal[j] > 0.0)
        refi = due & market_open & (tp[j, CL.T_REFI] > 0.5)
        repay = due & ~refi
        _count(events, "refinanced", refi & alive)
        _count(events, "repaid_at_maturity", repay & alive)
        b.floating[j] &= ~refi
        b.rate[j] = np.where(refi, np.maximum(r, 0.0) + company_spread, b.rate[j])
        b.mat[j] = np.where(refi, t + cp[CL.C_REFI_TERM], b.mat[j])
        b.linear[j] &= ~refi
        out = np.where(repay, b.bal[j], 0.0)
        matured = matured + out
        cash = cash - out
        net_fin = net_fin - out
        b.bal[j] = np.where(repay, 0.0, b.bal[j])
        b.undrawn[j] = np.where(repay, 0.0, b.undrawn[j])

    # 8. shortfall cover: revolver, bitcoin sales at S (1 - haircut), at-the-market equity
    short = cash < 0.0
    d = np.where(short, np.minimum(cp[CL.C_REV_LIMIT] - b.rev, -cash), 0.0)
    _count(events, "revolver_draw", short & (d > 0.0) & alive)
    b.rev = b.rev + d
    cash = cash + d
    net_fin = net_fin + d
    net_px = btc_price * (1.0 - cp[CL.C_HAIRCUT])
    sell = (cash < 0.0) & (b.btc > 0.0) & (net_px > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(sell, np.minimum(b.btc, -cash / np.where(net_px > 0.0, net_px, 1.0)), 0.0)
    _count(events, "btc_sale", sell & alive)
    b.btc = b.btc - q
    proceeds = q * net_px
    cash = cash + proceeds
    net_fin = net_fin + proceeds
    if cp[CL.C_ATM_CAP] > 0.0:
        atm = (cash < cp[CL.C_ATM_TARGET]) & (btc_price >= cp[CL.C_ATM_MIN_BTC]) & \
            (h <= cp[CL.C_ATM_MAX_SPREAD]) & (mk[L.V_GROWTH] >= cp[CL.C_ATM_MIN_GROWTH])
        _count(events, "atm_raise", atm & alive)
        raised = np.where(atm, np.minimum(cp[CL.C_ATM_CAP], cp[CL.C_ATM_TARGET] - cash), 0.0)
        cash = cash + raised
        net_fin = net_fin + raised
    repay = (cash > cp[CL.C_MIN_CASH]) & (b.rev > 0.0)
    rp = np.where(repay, np.minimum(b.rev, cash - cp[CL.C_MIN_CASH]), 0.0)
    b.rev = b.rev - rp
    cash = cash - rp
    net_fin = net_fin - rp
    b.cash = cash

    # default tests (MODEL.md 5): liquidity / refinancing first, then covenants with cure periods
    undrawn_rev = cp[CL.C_REV_LIMIT] - b.rev
    neg = cash < -CASH_EPS
    cause = np.where(neg, np.where((cash + matured >= 0.0) & (matured > 0.0), CL.CAUSE_REFINANCING,
                                   CL.CAUSE_LIQUIDITY), CL.CAUSE_NONE).astype(np.int64)
    debt_end = b.rev.copy()
    for j in range(b.bal.shape[0]):
        debt_end = debt_end + b.bal[j]
    lev_end = _net_leverage(debt_end, cash, b.ttm[1])
    for j in range(b.bal.shape[0]):
        icr_min, lev_max, liq_min = tp[j, CL.T_COV_ICR], tp[j, CL.T_COV_LEV], tp[j, CL.T_COV_LIQ]
        outstanding = b.bal[j] > 0.0
        if icr_min < 0.0 and lev_max < 0.0 and liq_min < 0.0:
            b.breach[j] = np.where(outstanding, b.breach[j], 0)
            continue
        breach = np.zeros(P, dtype=bool)
        if icr_min >= 0.0:
            breach |= (b.ttm[2] > 0.0) & (b.ttm[1] < icr_min * b.ttm[2])
        if lev_max >= 0.0:
            breach |= lev_end > lev_max
        if liq_min >= 0.0:
            breach |= cash + undrawn_rev < liq_min
        breach &= outstanding
        _count(events, "covenant_breach", breach & alive)
        b.breach[j] = np.where(breach, b.breach[j] + 1, 0)
        cause = np.where((cause == CL.CAUSE_NONE) & (b.breach[j] >= tp[j, CL.T_CURE]), CL.CAUSE_COVENANT, cause)

    flows = np.empty((CL.N_OUT, P))
    flows[CL.O_REVENUE] = revenue
    flows[CL.O_EBITDA] = ebitda
    flows[CL.O_INTEREST] = interest
    flows[CL.O_TAX] = tax
    flows[CL.O_CAPEX] = capex
    flows[CL.O_FCF] = fcf
    flows[CL.O_NET_FINANCING] = net_fin
    flows[CL.O_CASH] = cash
    flows[CL.O_DEBT] = debt_end
    flows[CL.O_RPO] = rpo
    flows[CL.O_UTIL] = u
    flows[CL.O_ALIVE] = 1.0
    flows[CL.O_DEPRECIATION] = dep
    flows[CL.O_IMPAIRMENT] = imp
    flows[CL.O_BTC] = b.btc
    flows[CL.O_NET_LEVERAGE] = lev_end
    return flows, cause


def _recovery(c, t, ci, b, alive):
    """FCF recovery rule (MODEL.md 6) after step ``t`` on the paths where the company is ``alive``."""
    cp = ci.cpar[c]
    ttm_rev, ttm_fcf = b.ttm[0], b.ttm[3]
    if cp[CL.C_REC_MARGIN] > 0.5:
        with np.errstate(divide="ignore", invalid="ignore"):
            metric = np.where(ttm_rev > 0.0, ttm_fcf / np.where(ttm_rev > 0.0, ttm_rev, 1.0), -math.inf)
    else:
        metric = ttm_fcf
    open_ = alive & (b.rec_month < 0)
    start = open_ & ~b.in_stress & (b.stress_month < 0) & (metric < cp[CL.C_REC_THRESHOLD])
    going = open_ & b.in_stress
    lower = going & (metric < b.trough)
    b.trough = np.where(start | lower, metric, b.trough)
    b.trough_month = np.where(start | lower, t, b.trough_month)
    b.stress_month = np.where(start, t, b.stress_month)
    done = going & (metric >= cp[CL.C_REC_TARGET])
    b.rec_month = np.where(done, t, b.rec_month)
    b.in_stress = (b.in_stress | start) & ~done


def simulate_companies(scenario, market: np.ndarray, util_z: np.ndarray, core_z: np.ndarray,
                       ext_u: np.ndarray, companies=None, inputs=None, events: Counter | None = None) -> dict:
    """Every company of ``scenario`` on every market path, from given variates.

    Parameters
    ----------
    scenario : Scenario
        Loaded scenario (its ``simulation``, ``drivers.inference.c0`` and
        ``drivers.gpu.generation_drop`` are read).
    market : float64[N_MARKET_VARS, P, T]
        Market paths (:func:`simulator.reference.simulate_market`), step-end values.
    util_z, core_z : float64[P, T, C]
        Standard normals of each company's utilisation and core-revenue streams.
    ext_u : float64[P, K, C]
        Uniforms of each company's external-counterparty stream by contract
        position (``K`` at least the largest number of contracts of a company).
    companies : CompanyInputs, optional
        Packed companies (default: :func:`simulator.company.pack_companies`).
    inputs : MarketInputs, optional
        For the deterministic series ln E[D_t], network hashrate (EH/s) and
        block subsidy (BTC) (default: :func:`simulator.drivers.pack_market`).
    events : collections.Counter, optional
        Incremented with counts of the modelled events, over paths where the
        company is alive at the start of the step (to show that a comparison
        is not vacuous): per company-step ``curtailed``, ``capex_cut``,
        ``revolver_draw``, ``btc_sale``, ``atm_raise`` and
        ``default_liquidity`` / ``default_covenant`` / ``default_refinancing``;
        per contract ``contract_cancelled_named`` /
        ``contract_cancelled_external`` (the step it stops); per vintage-step
        ``impairment``; per tranche-step ``covenant_breach``, ``refinanced``,
        ``repaid_at_maturity``.

    Returns
    -------
    dict
        ``pint`` int32[P, C, N_PINT], ``pflt`` float64[P, C, N_PFLT],
        ``alarms`` int8[P, C, T] (ALARM_* bits, 0 once defaulted),
        ``full`` float64[N_OUT, C, P, T] (see :data:`CL.OUT_NAMES`).
    """
    from simulator.company import pack_companies
    from simulator.drivers import pack_market

    ci = companies if companies is not None else pack_companies(scenario)
    mi = inputs if inputs is not None else pack_market(scenario)
    sim = scenario.simulation
    dt, mps = sim.dt, sim.months_per_step
    _, P, T = market.shape
    C = ci.n
    W = 12 // mps
    # L1 compares with the cost the fewest whole steps spanning six months ago (ceil(6 / mps));
    # over a longer span than six months the threshold is 0.7 ** (span / 6 months)
    lag = -(-6 // mps)
    l1_factor = 0.7 ** (lag * mps / 6.0)
    gen_drop = scenario.drivers.gpu.generation_drop
    c0 = scenario.drivers.inference.c0
    dle = np.asarray(mi.demand_log_expected, dtype=float)
    net_hr = np.asarray(mi.network_hashrate, dtype=float)
    subsidy = np.asarray(mi.block_subsidy, dtype=float)

    books = [_open(c, ci, P, W, gen_drop) for c in range(C)]
    # default step of each external counterparty (effectively never when no hazard)
    ext_steps = []
    for c in range(C):
        rows = []
        for i in range(ci.kptr[c + 1] - ci.kptr[c]):
            kp = ci.kpar[ci.kptr[c] + i]
            steps = np.full(P, 1e18)
            if kp[CL.K_CPTY] == CL.EXTERNAL and kp[CL.K_HAZARD] > 0.0:
                uu = ext_u[:, i, c]
                with np.errstate(divide="ignore"):
                    tau = -np.log(np.where(uu > 0.0, uu, 1.0)) / kp[CL.K_HAZARD] / dt
                steps = np.where(uu > 0.0, np.floor(tau), 1e18)
            rows.append(steps)
        ext_steps.append(rows)

    dm = np.full((C, P), -1, dtype=np.int64)
    cause = np.zeros((C, P), dtype=np.int64)
    pint = np.zeros((P, C, CL.N_PINT), dtype=CL.PINT_DTYPE)
    pflt = np.zeros((P, C, CL.N_PFLT))
    alarms = np.zeros((P, C, T), dtype=np.int8)
    full = np.zeros((CL.N_OUT, C, P, T))
    av = np.zeros((C, P, T), dtype=bool)

    for t in range(T):
        mk = market[:, :, t]
        # market lights: L1 inference cost fell less than 30 % in six months, L2 app gross margin < 50 %
        if t >= lag - 1:
            prev = market[L.V_INFERENCE, :, t - lag] if t - lag >= 0 else c0
            l1 = market[L.V_INFERENCE, :, t] > l1_factor * prev
        else:
            l1 = np.zeros(P, dtype=bool)
        demand_alarm = l1 & (market[L.V_GM, :, t] < 0.5)
        for c in range(C):
            b = books[c]
            alive = dm[c] < 0
            dead = ~alive
            if t > 0:  # after default: no flows, cash and debt frozen
                full[CL.O_CASH, c, dead, t] = full[CL.O_CASH, c, dead, t - 1]
                full[CL.O_DEBT, c, dead, t] = full[CL.O_DEBT, c, dead, t - 1]
            if not alive.any():
                continue
            snap = b.snapshot()
            with np.errstate(all="ignore"):
                flows, why = _step(c, t, ci, b, mk, dle[t], net_hr[t], subsidy[t], dt, mps, gen_drop, dm,
                                   util_z[:, t, c], core_z[:, t, c], ext_steps[c], alive, events)
            b.restore(snap, dead)
            full[:, c, alive, t] = flows[:, alive]
            falls = alive & (why != CL.CAUSE_NONE)
            dm[c] = np.where(falls, t, dm[c])
            cause[c] = np.where(falls, why, cause[c])
            if events is not None:
                for code, name in ((CL.CAUSE_LIQUIDITY, "liquidity"), (CL.CAUSE_COVENANT, "covenant"),
                                   (CL.CAUSE_REFINANCING, "refinancing")):
                    events["default_" + name] += int(np.count_nonzero(falls & (why == code)))
            ok = alive & ~falls
            _recovery(c, t, ci, b, ok)
            # company lights: L3 trailing interest >= 25 % of trailing revenue, L4 RPO < half the debt
            l3 = (b.ttm[2] >= 0.25 * b.ttm[0]) & (b.ttm[2] > 0.0)
            debt = flows[CL.O_DEBT]
            l4 = (debt > 0.0) & (flows[CL.O_RPO] < 0.5 * debt)
            lev_alarm = l3 & l4
            both = demand_alarm & lev_alarm
            bits = CL.ALARM_ALIVE + np.where(demand_alarm, CL.ALARM_DEMAND, 0) + \
                np.where(lev_alarm, CL.ALARM_LEVERAGE, 0) + np.where(both, CL.ALARM_AVALANCHE, 0)
            alarms[ok, c, t] = bits[ok]
            pint[ok, c, CL.P_ALIVE_MONTHS] += 1
            pint[ok & demand_alarm, c, CL.P_DEMAND_MONTHS] += 1
            pint[ok & lev_alarm, c, CL.P_LEVERAGE_MONTHS] += 1
            pint[ok & both, c, CL.P_AVALANCHE_MONTHS] += 1
            av[c, :, t] = ok & both
            b.first_av = np.where(ok & both & (b.first_av < 0), t, b.first_av)

    for c in range(C):
        b = books[c]
        d = dm[c]
        pint[:, c, CL.P_DEFAULT_MONTH] = d
        pint[:, c, CL.P_CAUSE] = cause[c]
        pint[:, c, CL.P_REC_MONTH] = b.rec_month
        pint[:, c, CL.P_STRESS_MONTH] = b.stress_month
        pint[:, c, CL.P_TROUGH_MONTH] = b.trough_month
        pint[:, c, CL.P_FIRST_AVALANCHE] = b.first_av
        pint[:, c, CL.P_REC_STATUS] = np.where(
            b.rec_month >= 0, CL.REC_RECOVERED,
            np.where(d >= 0, CL.REC_DEFAULTED,
                     np.where(b.stress_month < 0, CL.REC_NEVER_STRESSED, CL.REC_CENSORED)))
        pflt[:, c, CL.PF_TROUGH] = np.where(b.stress_month >= 0, b.trough, math.nan)
        tp = ci.tpar[ci.tptr[c]:ci.tptr[c + 1]]
        ead = b.rev.copy()
        loss = b.rev * (1.0 - ci.cpar[c, CL.C_REV_RECOVERY])
        for j in range(b.bal.shape[0]):
            ead = ead + b.bal[j]
            loss = loss + b.bal[j] * (1.0 - tp[j, CL.T_RECOVERY])
        pflt[:, c, CL.PF_EAD] = np.where(d >= 0, ead, 0.0)
        pflt[:, c, CL.PF_LOSS] = np.where(d >= 0, loss, 0.0)
        # P(default within 12 months | avalanche on): months whose 12-month window ends in the horizon
        for t in range(T - W):
            alive_end = (d < 0) | (d > t)
            hit = alive_end & (d > t) & (d <= t + W)
            pint[alive_end, c, CL.P_ALL_N] += 1
            pint[hit, c, CL.P_ALL_DEF12] += 1
            pint[alive_end & av[c, :, t], c, CL.P_AV_N] += 1
            pint[hit & av[c, :, t], c, CL.P_AV_DEF12] += 1
    return {"pint": pint, "pflt": pflt, "alarms": alarms, "full": full}
