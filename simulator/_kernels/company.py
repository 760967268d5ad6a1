"""Company balance-sheet kernels: every company of a scenario, month by month,
on one market path (MODEL.md sections 4-7).

Plain arrays only; layouts in :mod:`simulator._kernels.company_layout` (``CL``).

Inputs of :func:`companies_path`
--------------------------------
- ``buf``: float64[n_steps, N_MARKET_VARS], the market path (end-of-step values).
- ``mparams``: float64[N_DRIVERS, N_DRIVER_PARAMS], market parameters (c0 of
  the inference cost and the generation drop of GPU prices are read).
- ``dle``: float64[n_steps], ln E[D_t] (demand surprise = ln D_t - dle[t]).
- ``net_hr``, ``subsidy``: float64[n_steps], network hashrate (EH/s) and block
  subsidy (BTC) per step.
- ``cpar``: float64[n_comp, N_CPAR]; ``kpar``/``kptr`` contracts; ``tpar``/``tptr``
  tranches; ``fpar``/``fptr`` fleet vintages (planned purchases included).
  Months are already step indices; money per month already scaled per step.
- ``cbase``: uint64[n_comp, STREAMS_PER_COMPANY] stream bases of this path
  (unused when shocks are injected).
- ``shocks``: float64[n_paths, n_steps, n_streams] injected variates, or
  ``shape[0] == 0``; company stream ``COMPANY_STREAM0 + c * STREAMS_PER_COMPANY + k``.
- Outputs: ``pint[c, :]`` (int64), ``pflt[c, :]`` (float64) per-path results;
  ``full[i, c, t]`` (float64) per-step line ``lines[i]`` (an ``O_*`` index) of
  each ``i`` of ``lines`` (int64; empty: no per-step lines).

Timing within a step (docs/company-model.md): market values are those at the
end of the step; interest accrues on balances at the start of the step;
contracts and counterparties use the counterparty's state at the end of the
previous step; capex, draws, amortisation and maturities are settled within the
step; the shortfall is then covered (revolver, bitcoin sales, ATM equity) and
the default tests run on the end-of-step position.
"""

import math

import numpy as np

from simulator._kernels import company_layout as CL
from simulator._kernels import fexp
from simulator._kernels import layout as L
from simulator._kernels._jit import jit, jit_inline, jit_ir_inline
from simulator._kernels.rng import NORMAL, UNIFORM, step_key, stream_base, variate_at

#: Hours in a month (8766 / 12).
HOURS_PER_MONTH = 730.5
#: Blocks per year at the 10-minute target.
BLOCKS_PER_YEAR = 6.0 * 24.0 * 365.25
#: A tolerance for "cash below zero", USD (rounding of sums of billions).
CASH_EPS = 1e-6

# tranche state columns
TS_BAL, TS_FLOATING, TS_RATE, TS_MAT, TS_LINEAR, TS_UNDRAWN, TS_BREACH = range(7)
N_TS = 7
# fleet state columns
# status: 0 not yet bought, 1 on the books, -1 cancelled. Only GPU vintages use the others:
# FS_BOOK the book value; FS_RATE its straight-line charge per step (reset after an impairment);
# FS_CAP = gpus x (1 - contracted share) x price factor x (1 - drop)^-(generation count at purchase),
# so that a vintage's spot revenue in a step is FS_CAP x u x gpu_price x (1 - drop)^generation x hours.
FS_STATUS, FS_BOOK, FS_RATE, FS_CAP = range(4)
N_FS = 4
# straight-line depreciation schedules (``sched[c, t, :]``, per path): changes of the per-step rate
# and of the count of vintages charging it, and one-off (last, partial) charges, by step; for the
# tax basis of every vintage (TX_) and for the book of vintages without GPUs (NG_), which is never
# impaired and so follows the same straight line
TX_RATE, TX_COUNT, TX_LAST, NG_RATE, NG_COUNT, NG_LAST = range(6)
N_SCHED = 6
# company state columns
(S_CASH, S_BTC, S_REV, S_NOL, S_UDEV, S_LNCORE, S_DM, S_CAUSE, S_IN_STRESS, S_STRESS_MONTH,
 S_REC_MONTH, S_TROUGH, S_TROUGH_MONTH, S_TTM_REV, S_TTM_EBITDA, S_TTM_INT, S_TTM_FCF,
 S_MINLIQ, S_FIRST_AV, S_NEXT_FLEET, S_TX_RATE, S_TX_COUNT, S_NG_RATE, S_NG_COUNT, S_NEXT_MAT,
 S_GPU_FIRST) = range(26)
N_S = 26
# S_GPU_FIRST: the first of the company's GPU vintages (in gidx) still to look at: those before it are
# cancelled or have neither book nor economic life left.
# S_NEXT_MAT: the first step at which a tranche of the company matures (maturities are only looked at then).
# S_NEXT_FLEET: index of the first planned vintage not yet bought or cancelled. Fleet rows of a company
# are the opening fleet, then planned vintages in month order (simulator.company.pack), so the
# vintages on the books are rows fptr[c] .. S_NEXT_FLEET - 1 and this step's purchases follow it.
# trailing-window columns
R_REV, R_EBITDA, R_INT, R_FCF = range(4)


@jit
def _cdraw(shocks, p_local, t, skey, stream, base, kind):
    """Company variate: injected ``shocks[p, t, stream]`` or the generator (``skey = step_key(t, 0)``).

    Not inlined: the ziggurat inside :func:`~simulator._kernels.rng.variate_at` is compiled once here.
    """
    if shocks.shape[0] > 0:
        return shocks[p_local, t, stream]
    return variate_at(base, t, skey, kind)


@jit_inline
def logit(u):
    return math.log(u / (1.0 - u))


@jit_inline
def sigmoid(x):
    return 1.0 / (1.0 + fexp.exp(-x))


@jit
def external_default_steps(cpar, kpar, kptr, cbase, shocks, p_local, dt, out):
    """Step in which each `external` counterparty defaults (n_steps+ if never).

    Default time ``tau = -ln(U) / hazard`` years with ``U`` the contract's
    uniform on the company's K_EXT stream (indexed by the contract's position in
    the company, not by step); it defaults in step ``floor(tau / dt)``.
    """
    n_comp = cpar.shape[0]
    for c in range(n_comp):
        s = L.COMPANY_STREAM0 + c * L.STREAMS_PER_COMPANY + CL.K_EXT
        for j in range(kptr[c], kptr[c + 1]):
            out[j] = 1e18
            if kpar[j, CL.K_CPTY] == CL.EXTERNAL and kpar[j, CL.K_HAZARD] > 0.0:
                u = _cdraw(shocks, p_local, j - kptr[c], step_key(j - kptr[c], 0), s, cbase[c, CL.K_EXT], UNIFORM)
                if u > 0.0:
                    out[j] = math.floor(-math.log(u) / kpar[j, CL.K_HAZARD] / dt)


@jit_ir_inline
def schedule_vintage(sched, c, col, fpar, j):
    """Add vintage ``j``'s straight-line depreciation (its ``F_DEP_*`` columns) to company ``c``'s
    schedule ``col`` (``TX_RATE`` or ``NG_RATE``; its ``_COUNT`` and ``_LAST`` columns follow it).
    Charges at or after the horizon are dropped."""
    n = sched.shape[1]
    first = int(fpar[j, CL.F_DEP_FIRST])
    end = int(fpar[j, CL.F_DEP_END])
    rate = fpar[j, CL.F_DEP_RATE]
    if rate > 0.0:
        if first < n:
            sched[c, first, col] += rate
            sched[c, first, col + 1] += 1.0
        if end < n:
            sched[c, end, col] -= rate
            sched[c, end, col + 1] -= 1.0
    if end < n:
        sched[c, end, col + 2] += fpar[j, CL.F_DEP_LAST]


@jit_ir_inline
def scheduled_charge(st, sched, c, t, col, s_rate):
    """This step's charge of schedule ``col``; the running rate and count live in ``st[c, s_rate]``
    and ``st[c, s_rate + 1]``. The rate is reset to exactly zero when no vintage charges it."""
    st[c, s_rate] += sched[c, t, col]
    st[c, s_rate + 1] += sched[c, t, col + 1]
    if st[c, s_rate + 1] == 0.0:
        st[c, s_rate] = 0.0
    return st[c, s_rate] + sched[c, t, col + 2]


@jit_ir_inline
def buy_vintage(c, j, basis, rel0, fpar, fs, sched):
    """Put vintage ``j`` on company ``c``'s books at cost (or opening book) ``basis`` USD;
    ``rel0`` is its generation factor at purchase ((1 - drop)^-(generations)). The tax basis
    joins the tax schedule; a GPU vintage keeps a book (it can be impaired), its charge
    per step and its spot capacity ``FS_CAP``; the book of any other vintage joins the
    non-GPU schedule."""
    fs[j, FS_STATUS] = 1.0
    schedule_vintage(sched, c, TX_RATE, fpar, j)
    g = fpar[j, CL.F_GPUS]
    if g > 0.0:
        fs[j, FS_BOOK] = basis
        fs[j, FS_RATE] = fpar[j, CL.F_DEP_RATE]
        fs[j, FS_CAP] = g * (1.0 - fpar[j, CL.F_CONTRACTED]) * fpar[j, CL.F_PRICE_FACTOR] * rel0
    else:
        schedule_vintage(sched, c, NG_RATE, fpar, j)


@jit
def init_state(cpar, tpar, tptr, fpar, fptr, drop, st, ring, ts, fs, sched, gidx, gptr, covidx, covptr):
    """Opening balance sheet of every company into the state arrays (``drop``: generation price drop).

    Also lists each company's GPU vintages, rows ``gidx[gptr[c]:gptr[c + 1]]`` of ``fpar``, and
    its tranches with a covenant, rows ``covidx[covptr[c]:covptr[c + 1]]`` of ``tpar``, in row order.
    """
    n_comp = cpar.shape[0]
    W = ring.shape[1]
    sched[:, :, :] = 0.0
    for c in range(n_comp):
        st[c, :] = 0.0
        st[c, S_CASH] = cpar[c, CL.C_CASH0]
        st[c, S_BTC] = cpar[c, CL.C_BTC0]
        st[c, S_REV] = cpar[c, CL.C_REV_DRAWN0]
        st[c, S_NOL] = cpar[c, CL.C_NOL0]
        st[c, S_DM] = -1.0
        st[c, S_STRESS_MONTH] = -1.0
        st[c, S_REC_MONTH] = -1.0
        st[c, S_TROUGH_MONTH] = -1.0
        st[c, S_FIRST_AV] = -1.0
        st[c, S_MINLIQ] = 1e300
        if cpar[c, CL.C_HAS_TTM] > 0.5:
            vals = (cpar[c, CL.C_TTM_REV], cpar[c, CL.C_TTM_EBITDA], cpar[c, CL.C_TTM_INTEREST], cpar[c, CL.C_TTM_FCF])
            for k in range(W):
                ring[c, k, R_REV] = vals[0] / W
                ring[c, k, R_EBITDA] = vals[1] / W
                ring[c, k, R_INT] = vals[2] / W
                ring[c, k, R_FCF] = vals[3] / W
            st[c, S_TTM_REV] = vals[0]
            st[c, S_TTM_EBITDA] = vals[1]
            st[c, S_TTM_INT] = vals[2]
            st[c, S_TTM_FCF] = vals[3]
        for j in range(tptr[c], tptr[c + 1]):
            ts[j, TS_BAL] = tpar[j, CL.T_PRINCIPAL]
            ts[j, TS_FLOATING] = tpar[j, CL.T_FLOATING]
            ts[j, TS_RATE] = tpar[j, CL.T_RATE]
            ts[j, TS_MAT] = tpar[j, CL.T_MATURITY]
            ts[j, TS_LINEAR] = tpar[j, CL.T_LINEAR]
            ts[j, TS_UNDRAWN] = tpar[j, CL.T_UNDRAWN]
            ts[j, TS_BREACH] = 0.0
        st[c, S_NEXT_MAT] = next_maturity(ts, tptr[c], tptr[c + 1], -1.0)
        st[c, S_NEXT_FLEET] = fptr[c]
        for j in range(fptr[c], fptr[c + 1]):
            fs[j, :] = 0.0
            if fpar[j, CL.F_CAPEX] == 0.0:  # opening fleet
                st[c, S_NEXT_FLEET] = j + 1
                buy_vintage(c, j, fpar[j, CL.F_BOOK0], (1.0 - drop) ** fpar[j, CL.F_GEN_BEHIND], fpar, fs, sched)
    q = 0
    for c in range(n_comp):
        gptr[c] = q
        for j in range(fptr[c], fptr[c + 1]):
            if fpar[j, CL.F_GPUS] > 0.0:
                gidx[q] = j
                q += 1
    gptr[n_comp] = q
    for c in range(n_comp):
        st[c, S_GPU_FIRST] = gptr[c]
    q = 0
    for c in range(n_comp):
        covptr[c] = q
        for j in range(tptr[c], tptr[c + 1]):
            if tpar[j, CL.T_COV_ICR] >= 0.0 or tpar[j, CL.T_COV_LEV] >= 0.0 or tpar[j, CL.T_COV_LIQ] >= 0.0:
                covidx[q] = j
                q += 1
    covptr[n_comp] = q


@jit_inline
def next_maturity(ts, j0, j1, t):
    """First maturity step after step ``t`` among tranches ``j0 .. j1 - 1`` (1e18 if none)."""
    m = 1e18
    for j in range(j0, j1):
        if ts[j, TS_MAT] > t:
            m = min(m, ts[j, TS_MAT])
    return m


@jit_inline
def _net_leverage(debt, cash, ttm_ebitda):
    """(debt - cash) / trailing EBITDA; +inf when EBITDA <= 0 and net debt > 0."""
    net = debt - cash
    if ttm_ebitda > 0.0:
        return net / ttm_ebitda
    if net > 0.0:
        return math.inf
    return -math.inf


@jit_ir_inline
def recovery_update(c, t, cpar, st):
    """FCF recovery rule (MODEL.md 6) after step ``t`` of a company still alive."""
    if st[c, S_REC_MONTH] >= 0.0:
        return
    if cpar[c, CL.C_REC_MARGIN] > 0.5:
        rev = st[c, S_TTM_REV]
        metric = st[c, S_TTM_FCF] / rev if rev > 0.0 else -math.inf
    else:
        metric = st[c, S_TTM_FCF]
    if st[c, S_IN_STRESS] < 0.5:
        if st[c, S_STRESS_MONTH] < 0.0 and metric < cpar[c, CL.C_REC_THRESHOLD]:
            st[c, S_IN_STRESS] = 1.0
            st[c, S_STRESS_MONTH] = t
            st[c, S_TROUGH] = metric
            st[c, S_TROUGH_MONTH] = t
        return
    if metric < st[c, S_TROUGH]:
        st[c, S_TROUGH] = metric
        st[c, S_TROUGH_MONTH] = t
    if metric >= cpar[c, CL.C_REC_TARGET]:
        st[c, S_REC_MONTH] = t
        st[c, S_IN_STRESS] = 0.0


@jit
def companies_path(k0, k1, gpath, p_local, n_steps, dt, mps, buf, mparams, dle, net_hr, subsidy,
                   cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, lines, pint, pflt, alarms, full):
    """Run every company over every step of one market path.

    Companies are stepped in a fixed order inside each step; contagion reads
    counterparties' defaults from earlier steps only, so the order does not
    change results. A defaulted company has no later flows: its full-mode lines
    after the default step are zero except cash and debt, frozen at default.
    ``alarms[c, t]`` (int8) gets the ALARM_* bits of each step the company is
    alive at the end of (0 otherwise).
    """
    n_comp = cpar.shape[0]
    W = 12 // mps
    cbase = np.empty((n_comp, L.STREAMS_PER_COMPANY), dtype=np.uint64)
    if shocks.shape[0] == 0:
        for c in range(n_comp):
            for k in range(CL.N_COMPANY_STREAMS_USED):  # the bases of the streams a company draws from
                cbase[c, k] = stream_base(k0, k1, np.uint64(gpath),
                                          np.uint64(L.COMPANY_STREAM0 + c * L.STREAMS_PER_COMPANY + k))
    st = np.zeros((n_comp, N_S))
    ring = np.zeros((n_comp, W, 4))
    ts = np.zeros((tpar.shape[0], N_TS))
    fs = np.zeros((fpar.shape[0], N_FS))
    sched = np.empty((n_comp, n_steps, N_SCHED))
    gidx = np.empty(fpar.shape[0], dtype=np.int64)
    gptr = np.empty(n_comp + 1, dtype=np.int64)
    covidx = np.empty(tpar.shape[0], dtype=np.int64)
    covptr = np.empty(n_comp + 1, dtype=np.int64)
    kcancel = np.zeros(kpar.shape[0], dtype=np.bool_)
    ext_step = np.empty(kpar.shape[0])
    av = np.zeros((n_comp, n_steps), dtype=np.bool_)
    flows = np.zeros(CL.N_OUT)
    init_state(cpar, tpar, tptr, fpar, fptr, mparams[L.D_GPU, L.GPU_GEN_DROP], st, ring, ts, fs, sched, gidx, gptr, covidx,
               covptr)
    external_default_steps(cpar, kpar, kptr, cbase, shocks, p_local, dt, ext_step)
    # L1 looks back over the fewest whole steps spanning six months; with steps longer than
    # that (annual, 4-monthly) the 30 % six-month threshold is rescaled to the span compared
    lag = (6 + mps - 1) // mps
    l1_factor = 0.7 ** (lag * mps / 6.0)
    c0 = mparams[L.D_INFERENCE, L.INF_C0]
    drop = mparams[L.D_GPU, L.GPU_GEN_DROP]
    # per-path constants of each company's utilisation process (the same expressions as in the step,
    # evaluated once instead of every company-step: same bits, fewer exp/log calls)
    ucon = np.zeros((n_comp, 4))
    for c in range(n_comp):
        ucon[c, 3] = logit(cpar[c, CL.C_U_MEAN])
        kap = cpar[c, CL.C_U_KAPPA]
        sig = cpar[c, CL.C_U_SIGMA]
        if sig > 0.0:
            decay = math.exp(-kap * dt)
            ucon[c, 0] = decay
            ucon[c, 1] = sig * math.sqrt((1.0 - decay * decay) / (2.0 * kap))
            w = cpar[c, CL.C_U_COMMON]
            ucon[c, 2] = math.sqrt(1.0 - w * w)

    want_util = False  # is the utilisation line asked for?
    for i in range(lines.shape[0]):
        if lines[i] == CL.O_UTIL:
            want_util = True
    gen = math.nan
    gen_factor = 1.0
    for t in range(n_steps):
        # market alarm lights L1 (inference cost fell < 30 % in six months) and L2 (app margin < 50 %)
        l1 = False
        if t >= lag - 1:
            prev = buf[t - lag, L.V_INFERENCE] if t - lag >= 0 else c0
            l1 = buf[t, L.V_INFERENCE] > l1_factor * prev
        demand_alarm = l1 and buf[t, L.V_GM] < 0.5
        # shared by every company of the step
        if buf[t, L.V_GEN] != gen:  # generation launches are rare: pow only when the count changes
            gen = buf[t, L.V_GEN]
            gen_factor = (1.0 - drop) ** gen  # FS_CAP x gen_factor is a vintage's relative price
        skey = step_key(t, 0)  # the generator's counter hash of this step, shared by every company stream
        surprise = math.log(buf[t, L.V_DEMAND]) - dle[t]
        for c in range(n_comp):
            if st[c, S_DM] >= 0.0:
                for i in range(lines.shape[0]):
                    v = lines[i]
                    full[i, c, t] = full[i, c, t - 1] if v == CL.O_CASH or v == CL.O_DEBT else 0.0
                continue
            # ---- the company step (inlined: a call would incref/decref every array argument,
            # one atomic NRT call each, 42 per company-step, which numba does not prune here).
            # Advances company c, alive at the start of step t: fills flows[:] (indexed like
            # the full outputs O_*), updates the state, sets st[c, S_DM]/S_CAUSE on default.
            # Counterparty defaults are read from st[:, S_DM] (end of the previous step: < t).
            W = ring.shape[1]
            hours = HOURS_PER_MONTH * mps
            gpu_price = buf[t, L.V_GPU]
            btc_price = buf[t, L.V_BTC]
            r = buf[t, L.V_RATE]
            h = buf[t, L.V_SPREAD]
            demand = buf[t, L.V_DEMAND]
            s0 = L.COMPANY_STREAM0 + c * L.STREAMS_PER_COMPANY

            # ---- utilisation: logit-OU around logit(mean) + beta * demand surprise
            # (decay, sd, sqrt(1 - w^2), logit(mean)) from ucon, computed before the step loop.
            # It only moves the spot revenue and impairment of GPU vintages, and the O_UTIL line: a
            # company without GPU vintages skips it unless the line is asked for (its draws are pure
            # functions of (path, stream, step), so skipping them changes nothing else)
            u = 0.0
            if want_util or gptr[c + 1] > gptr[c]:
                if cpar[c, CL.C_U_SIGMA] > 0.0:
                    w = cpar[c, CL.C_U_COMMON]
                    z = w * buf[t, L.V_UTIL_FACTOR] + ucon[c, 2] * \
                        _cdraw(shocks, p_local, t, skey, s0 + CL.K_UTIL, cbase[c, CL.K_UTIL], NORMAL)
                    st[c, S_UDEV] = st[c, S_UDEV] * ucon[c, 0] + ucon[c, 1] * z
                u = sigmoid(ucon[c, 3] + cpar[c, CL.C_U_BETA] * surprise + st[c, S_UDEV])

            # ---- 1. revenue
            contract_rev = 0.0
            noncash = 0.0
            rpo = 0.0
            for j in range(kptr[c], kptr[c + 1]):
                if kcancel[j]:
                    continue
                cpty = int(kpar[j, CL.K_CPTY])
                if cpty >= 0:
                    dmc = st[cpty, S_DM]
                    if dmc >= 0.0 and dmc < t:
                        kcancel[j] = True
                        continue
                elif ext_step[j] < t:
                    kcancel[j] = True
                    continue
                start = kpar[j, CL.K_START]
                end = kpar[j, CL.K_END]
                amt = kpar[j, CL.K_AMOUNT]
                if start <= t and t <= end:
                    contract_rev += amt
                    noncash += amt * kpar[j, CL.K_PREPAID]
                rpo += amt * max(0.0, end - max(float(t), start - 1.0))

            nx = int(st[c, S_NEXT_FLEET])
            ne = nx
            while ne < fptr[c + 1] and fpar[ne, CL.F_MONTH] == t:
                ne += 1
            # GPU vintages on the books before this step (rows fptr[c] .. nx - 1): spot capacity and
            # power within their economic life; book depreciation, then impairment of the spot
            # share of the book against its economic value (section 6)
            spot_px = u * gpu_price * gen_factor * hours  # spot revenue per unit of FS_CAP
            spot_cap = 0.0
            fleet_mw = 0.0
            dep = 0.0
            imp = 0.0
            for q in range(int(st[c, S_GPU_FIRST]), gptr[c + 1]):
                j = gidx[q]
                if j >= nx:
                    break
                status = fs[j, FS_STATUS]
                age = t - fpar[j, CL.F_MONTH]
                econ = fpar[j, CL.F_ECON_LIFE]
                if status == 1.0:
                    if age < econ:
                        spot_cap += fs[j, FS_CAP]
                        fleet_mw += fpar[j, CL.F_GPUS] * fpar[j, CL.F_KW] / 1000.0
                    book = fs[j, FS_BOOK]
                    if book > 0.0:
                        remaining = fpar[j, CL.F_LIFE] - age
                        d = book if remaining <= 1.0 else fs[j, FS_RATE]  # = book / remaining
                        book -= d
                        dep += d
                        value = spot_px * fs[j, FS_CAP] * max(econ - age - 1.0, 0.0)
                        spot_book = book * (1.0 - fpar[j, CL.F_CONTRACTED])
                        if value < spot_book:
                            imp += spot_book - value
                            book -= spot_book - value
                            fs[j, FS_RATE] = book / (remaining - 1.0)  # the impaired book over the life left
                        fs[j, FS_BOOK] = book
                    if book > 0.0 or age + 1.0 < econ:
                        continue
                # cancelled, or nothing left to charge or earn: skip it from now on if it leads the list
                if q == st[c, S_GPU_FIRST]:
                    st[c, S_GPU_FIRST] = q + 1
            spot_rev = spot_px * spot_cap

            # mining, curtailed in a step whose hashprice does not cover the mining fleet's power
            power_px = cpar[c, CL.C_PUE] * cpar[c, CL.C_POWER_FACTOR] * buf[t, L.V_POWER] * hours  # USD per MW of IT load in the step
            mining_rev = 0.0
            mining_mw = 0.0
            if cpar[c, CL.C_HASHRATE] > 0.0:
                mined = cpar[c, CL.C_HASHRATE] / net_hr[t] * subsidy[t] * cpar[c, CL.C_FEE_MULT] * BLOCKS_PER_YEAR * dt
                if mined * btc_price > cpar[c, CL.C_MINING_MW] * power_px:
                    mining_rev = mined * btc_price
                    mining_mw = cpar[c, CL.C_MINING_MW]
                    kept = mined * cpar[c, CL.C_HODL]
                    st[c, S_BTC] += kept
                    noncash += kept * btc_price

            core_rev = 0.0
            if cpar[c, CL.C_CORE_REV0] > 0.0:
                cs = cpar[c, CL.C_CORE_SIGMA]
                zc = 0.0
                if cs > 0.0:
                    zc = _cdraw(shocks, p_local, t, skey, s0 + CL.K_CORE, cbase[c, CL.K_CORE], NORMAL)
                st[c, S_LNCORE] += (cpar[c, CL.C_CORE_MU] - 0.5 * cs * cs) * dt + cs * math.sqrt(dt) * zc
                core_rev = cpar[c, CL.C_CORE_REV0] * dt * fexp.exp(st[c, S_LNCORE])
            ai_rev = cpar[c, CL.C_AI_REV0] * dt * demand
            cost_of_rev = 0.0
            if int(cpar[c, CL.C_ARCH]) == CL.A_AI_APP:
                cost_of_rev = ai_rev * (1.0 - buf[t, L.V_GM])
            revenue = contract_rev + spot_rev + mining_rev + core_rev + ai_rev

            # ---- 2. operating cost and EBITDA
            power = (cpar[c, CL.C_SITE_MW] + mining_mw + fleet_mw) * power_px
            opex = power + cpar[c, CL.C_OPEX_FIXED] + cpar[c, CL.C_OPEX_VAR] * revenue + cost_of_rev
            ebitda = revenue - opex

            # ---- 3. interest on balances at the start of the step
            j0 = tptr[c]
            j1 = tptr[c + 1]
            interest = st[c, S_REV] * max(r + cpar[c, CL.C_REV_MARGIN], 0.0) * dt  # floating: r + margin, floored at 0
            for j in range(j0, j1):
                rate = ts[j, TS_RATE] + (r if ts[j, TS_FLOATING] > 0.5 else 0.0)
                interest += ts[j, TS_BAL] * max(rate, 0.0) * dt

            # ---- 5. capex plan with the discipline rule (before depreciation: bought this step, depreciated from the next)
            committed = cpar[c, CL.C_MAINT_CAPEX] + cpar[c, CL.C_MAINT_SHARE] * revenue
            uncommitted = 0.0
            for j in range(nx, ne):
                if fs[j, FS_STATUS] == 0.0:
                    if fpar[j, CL.F_COMMITTED] > 0.5:
                        committed += fpar[j, CL.F_CAPEX]
                    else:
                        uncommitted += fpar[j, CL.F_CAPEX]
            # ---- 6. depreciation: GPU vintages' book (above, with impairment), the book of the other
            # vintages and the tax basis of all (impairment is not deductible) by their schedules
            dep += scheduled_charge(st, sched, c, t, NG_RATE, S_NG_RATE)
            tax_dep = scheduled_charge(st, sched, c, t, TX_RATE, S_TX_RATE)

            # ---- 4. tax with loss carry-forward (impairment is a book charge, not deductible)
            taxable = ebitda - tax_dep - interest
            tax = 0.0
            if taxable > 0.0:
                used = min(st[c, S_NOL], taxable)
                st[c, S_NOL] -= used
                tax = (taxable - used) * cpar[c, CL.C_TAX_RATE]
            else:
                st[c, S_NOL] -= taxable

            # discipline rule: cancel this step's uncommitted capex if runway would fall short
            if uncommitted > 0.0 and cpar[c, CL.C_RUNWAY] > 0.0:
                amort = 0.0  # this step's scheduled amortisation, on balances before any draw
                for j in range(j0, j1):
                    if ts[j, TS_LINEAR] > 0.5 and t < ts[j, TS_MAT]:
                        amort += ts[j, TS_BAL] / (ts[j, TS_MAT] - t + 1.0)
                fixed = cpar[c, CL.C_OPEX_FIXED] + power + interest + amort
                liq = st[c, S_CASH] + ebitda - noncash - interest - tax - committed - amort + \
                    (cpar[c, CL.C_REV_LIMIT] - st[c, S_REV]) - uncommitted
                if fixed > 0.0 and liq < cpar[c, CL.C_RUNWAY] * fixed:
                    uncommitted = 0.0
                    for j in range(nx, ne):
                        if fpar[j, CL.F_COMMITTED] < 0.5:
                            fs[j, FS_STATUS] = -1.0
            capex = committed + uncommitted
            for j in range(nx, ne):
                if fs[j, FS_STATUS] == 0.0:  # bought this step, depreciated from the next
                    buy_vintage(c, j, fpar[j, CL.F_CAPEX], 1.0 / gen_factor, fpar, fs, sched)

            st[c, S_NEXT_FLEET] = ne
            fcf = ebitda - noncash - interest - tax - capex

            # trailing window
            k = t % W
            vals = (revenue, ebitda, interest, fcf)
            if t == 0 and cpar[c, CL.C_HAS_TTM] < 0.5:
                for kk in range(W):
                    for v in range(4):
                        ring[c, kk, v] = vals[v]
                st[c, S_TTM_REV] = W * revenue
                st[c, S_TTM_EBITDA] = W * ebitda
                st[c, S_TTM_INT] = W * interest
                st[c, S_TTM_FCF] = W * fcf
            else:
                st[c, S_TTM_REV] += revenue - ring[c, k, R_REV]
                st[c, S_TTM_EBITDA] += ebitda - ring[c, k, R_EBITDA]
                st[c, S_TTM_INT] += interest - ring[c, k, R_INT]
                st[c, S_TTM_FCF] += fcf - ring[c, k, R_FCF]
                for v in range(4):
                    ring[c, k, v] = vals[v]

            # ---- 7. financing: delayed draws, then amortisation (on the balance after the draw), then maturities
            cash = st[c, S_CASH] + fcf
            net_fin = 0.0
            to_fund = capex
            debt_tranches = 0.0  # sum of tranche balances (the revolver apart)
            for j in range(j0, j1):
                if t < ts[j, TS_MAT]:
                    if ts[j, TS_UNDRAWN] > 0.0 and to_fund > 0.0:
                        d = min(ts[j, TS_UNDRAWN], tpar[j, CL.T_DRAW_SHARE] * to_fund)
                        ts[j, TS_UNDRAWN] -= d
                        ts[j, TS_BAL] += d
                        to_fund -= d
                        net_fin += d
                    if ts[j, TS_LINEAR] > 0.5:
                        a = ts[j, TS_BAL] / (ts[j, TS_MAT] - t + 1.0)
                        ts[j, TS_BAL] -= a
                        net_fin -= a
                debt_tranches += ts[j, TS_BAL]
            cash += net_fin
            matured = 0.0
            if t >= st[c, S_NEXT_MAT]:  # a tranche matures: refinance it if the market is open, else repay it
                lev = _net_leverage(st[c, S_REV] + debt_tranches, cash, st[c, S_TTM_EBITDA])
                company_spread = cpar[c, CL.C_SPREAD_MULT] * h
                market_open = company_spread <= cpar[c, CL.C_REFI_MAX_SPREAD] and lev < cpar[c, CL.C_REFI_MAX_LEV]
                debt_tranches = 0.0
                for j in range(j0, j1):
                    if ts[j, TS_MAT] == t and ts[j, TS_BAL] > 0.0:
                        if market_open and tpar[j, CL.T_REFI] > 0.5:
                            ts[j, TS_FLOATING] = 0.0
                            ts[j, TS_RATE] = max(r, 0.0) + company_spread
                            ts[j, TS_MAT] = t + cpar[c, CL.C_REFI_TERM]
                            ts[j, TS_LINEAR] = 0.0
                        else:
                            matured += ts[j, TS_BAL]
                            cash -= ts[j, TS_BAL]
                            net_fin -= ts[j, TS_BAL]
                            ts[j, TS_BAL] = 0.0
                            ts[j, TS_UNDRAWN] = 0.0
                    debt_tranches += ts[j, TS_BAL]
                st[c, S_NEXT_MAT] = next_maturity(ts, j0, j1, t)

            # ---- 8. cover a shortfall: revolver, bitcoin sales with haircut, ATM equity
            if cash < 0.0:
                d = min(cpar[c, CL.C_REV_LIMIT] - st[c, S_REV], -cash)
                st[c, S_REV] += d
                cash += d
                net_fin += d
            if cash < 0.0 and st[c, S_BTC] > 0.0:
                net_px = btc_price * (1.0 - cpar[c, CL.C_HAIRCUT])
                if net_px > 0.0:
                    q = min(st[c, S_BTC], -cash / net_px)
                    st[c, S_BTC] -= q
                    cash += q * net_px
                    net_fin += q * net_px
            if cpar[c, CL.C_ATM_CAP] > 0.0 and cash < cpar[c, CL.C_ATM_TARGET]:
                if btc_price >= cpar[c, CL.C_ATM_MIN_BTC] and h <= cpar[c, CL.C_ATM_MAX_SPREAD] and \
                        buf[t, L.V_GROWTH] >= cpar[c, CL.C_ATM_MIN_GROWTH]:
                    raise_ = min(cpar[c, CL.C_ATM_CAP], cpar[c, CL.C_ATM_TARGET] - cash)
                    cash += raise_
                    net_fin += raise_
            if cash > cpar[c, CL.C_MIN_CASH] and st[c, S_REV] > 0.0:
                rp = min(st[c, S_REV], cash - cpar[c, CL.C_MIN_CASH])
                st[c, S_REV] -= rp
                cash -= rp
                net_fin -= rp
            st[c, S_CASH] = cash

            # ---- default tests (section 5)
            undrawn_rev = cpar[c, CL.C_REV_LIMIT] - st[c, S_REV]
            cause = CL.CAUSE_NONE
            if cash < -CASH_EPS:
                cause = CL.CAUSE_REFINANCING if cash + matured >= 0.0 and matured > 0.0 else CL.CAUSE_LIQUIDITY
            debt_end = st[c, S_REV] + debt_tranches
            lev_end = _net_leverage(debt_end, cash, st[c, S_TTM_EBITDA])
            for q in range(covptr[c], covptr[c + 1]):  # tranches with a covenant
                j = covidx[q]
                if ts[j, TS_BAL] <= 0.0:
                    ts[j, TS_BREACH] = 0.0
                    continue
                icr_min = tpar[j, CL.T_COV_ICR]
                lev_max = tpar[j, CL.T_COV_LEV]
                liq_min = tpar[j, CL.T_COV_LIQ]
                breach = False
                if icr_min >= 0.0 and st[c, S_TTM_INT] > 0.0 and st[c, S_TTM_EBITDA] < icr_min * st[c, S_TTM_INT]:
                    breach = True
                if lev_max >= 0.0 and lev_end > lev_max:
                    breach = True
                if liq_min >= 0.0 and cash + undrawn_rev < liq_min:
                    breach = True
                ts[j, TS_BREACH] = ts[j, TS_BREACH] + 1.0 if breach else 0.0
                if cause == CL.CAUSE_NONE and ts[j, TS_BREACH] >= tpar[j, CL.T_CURE]:
                    cause = CL.CAUSE_COVENANT
            if cause != CL.CAUSE_NONE:
                st[c, S_DM] = t
                st[c, S_CAUSE] = cause

            # ---- RPO after this step's service; alarms and recovery read the end-of-step position
            st[c, S_MINLIQ] = min(st[c, S_MINLIQ], cash + undrawn_rev)
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
            flows[CL.O_BTC] = st[c, S_BTC]
            flows[CL.O_NET_LEVERAGE] = lev_end
            for i in range(lines.shape[0]):
                full[i, c, t] = flows[lines[i]]
            if st[c, S_DM] >= 0.0:
                continue
            recovery_update(c, t, cpar, st)
            # company alarm lights L3 (interest / revenue >= 25 %) and L4 (RPO / debt < 0.5)
            rev = st[c, S_TTM_REV]
            l3 = st[c, S_TTM_INT] >= 0.25 * rev and st[c, S_TTM_INT] > 0.0
            debt = flows[CL.O_DEBT]
            l4 = debt > 0.0 and flows[CL.O_RPO] < 0.5 * debt
            lev_alarm = l3 and l4
            pint[c, CL.P_ALIVE_MONTHS] += 1
            alarms[c, t] = CL.ALARM_ALIVE + (CL.ALARM_DEMAND if demand_alarm else 0) + \
                (CL.ALARM_LEVERAGE if lev_alarm else 0) + (CL.ALARM_AVALANCHE if demand_alarm and lev_alarm else 0)
            if demand_alarm:
                pint[c, CL.P_DEMAND_MONTHS] += 1
            if lev_alarm:
                pint[c, CL.P_LEVERAGE_MONTHS] += 1
            if demand_alarm and lev_alarm:
                pint[c, CL.P_AVALANCHE_MONTHS] += 1
                av[c, t] = True
                if st[c, S_FIRST_AV] < 0.0:
                    st[c, S_FIRST_AV] = t

    # per-path results
    for c in range(n_comp):
        dm = int(st[c, S_DM])
        pint[c, CL.P_DEFAULT_MONTH] = dm
        pint[c, CL.P_CAUSE] = int(st[c, S_CAUSE])
        pint[c, CL.P_REC_MONTH] = int(st[c, S_REC_MONTH])
        pint[c, CL.P_STRESS_MONTH] = int(st[c, S_STRESS_MONTH])
        pint[c, CL.P_TROUGH_MONTH] = int(st[c, S_TROUGH_MONTH])
        pint[c, CL.P_FIRST_AVALANCHE] = int(st[c, S_FIRST_AV])
        if st[c, S_REC_MONTH] >= 0.0:
            pint[c, CL.P_REC_STATUS] = CL.REC_RECOVERED
        elif dm >= 0:
            pint[c, CL.P_REC_STATUS] = CL.REC_DEFAULTED
        elif st[c, S_STRESS_MONTH] < 0.0:
            pint[c, CL.P_REC_STATUS] = CL.REC_NEVER_STRESSED
        else:
            pint[c, CL.P_REC_STATUS] = CL.REC_CENSORED
        pflt[c, CL.PF_TROUGH] = st[c, S_TROUGH] if st[c, S_STRESS_MONTH] >= 0.0 else math.nan
        pflt[c, CL.PF_MIN_LIQUIDITY] = st[c, S_MINLIQ]
        if dm >= 0:
            ead = st[c, S_REV]
            loss = st[c, S_REV] * (1.0 - cpar[c, CL.C_REV_RECOVERY])
            for j in range(tptr[c], tptr[c + 1]):
                ead += ts[j, TS_BAL]
                loss += ts[j, TS_BAL] * (1.0 - tpar[j, CL.T_RECOVERY])
            pflt[c, CL.PF_EAD] = ead
            pflt[c, CL.PF_LOSS] = loss
        # P(default within 12 months | avalanche on) against all months: windows fully inside the horizon
        for t in range(n_steps - W):
            alive_end = dm < 0 or dm > t
            if not alive_end:
                break
            hit = dm > t and dm <= t + W
            pint[c, CL.P_ALL_N] += 1
            if hit:
                pint[c, CL.P_ALL_DEF12] += 1
            if av[c, t]:
                pint[c, CL.P_AV_N] += 1
                if hit:
                    pint[c, CL.P_AV_DEF12] += 1
