"""Company balance-sheet kernels: every company of a scenario, month by month,
on ``NL = 32`` market paths at once, one per lane (MODEL.md sections 4-7).

Plain arrays only; layouts in :mod:`simulator._kernels.company_layout` (``CL``).

Lanes
-----
Every per-path value of the company step is an array over the lanes (the
last axis of the state arrays), and each section of the step is a loop over
the lanes, written without branches where it runs every step: values are
loaded first, conditions are combined with ``&``/``|`` (never ``and``/``or``,
whose short circuit is control flow), and ``a if c else b`` is
:func:`~simulator._kernels.select.select`, an LLVM ``select``; a value
stored back where it was loaded from unless ``c`` holds is
:func:`~simulator._kernels.select.update` (``a[i] = update(c, v, a[i])``),
which keeps LLVM from turning the store into a slow masked one. LLVM turns
those loops into AVX2 code, four paths per instruction, with plain loads
and stores only (no ``vmaskmovpd``). A lane goes through
exactly the operations, in the same order, of a path stepped alone, so the
results are the same bits as a path-by-path kernel, whatever paths share a
call (tested against the numpy reference, and across thread counts,
chunkings and path prefixes). The lane loops run to a count LLVM cannot see
at compile time (``lanes``): a loop of a known 16 iterations with a small
body is unrolled into scalar code before the vectoriser sees it.

What calls out (the random draws), what is rare (maturities, defaults) and
what is branchy by nature (the lines asked for) stays a plain loop over the
lanes. A lane whose company has defaulted keeps being computed while any
lane of that company is alive; nothing of it is read after its default.

The step is three separately compiled functions, :func:`_operations`,
:func:`_financing` and :func:`_outcome`, called by the driver
:func:`companies_lanes` once per step and 32 paths, each stepping every
company in turn. The driver gets them as function values
(:func:`simulator.precompile.part_kernels`), so it does not compile their
code again, and a cold run compiles them on two cores
(:mod:`simulator.precompile`). A call passes some 200 machine words (an array
argument is 7 to 11 of them): calling the parts once per company as well
made a whole summary-mode run 10-20 % slower (``docs/performance.md``). They are compiled with
:data:`~simulator._kernels._jit.jit_noalias`: every array they get is one the driver allocates
for itself (or an output its caller allocated apart), so no two overlap, and LLVM, told so, does
not check it at run time before each lane loop.

Inputs of :func:`companies_lanes`
---------------------------------
- ``buf``: float64[n_steps, N_MARKET_BUF, NL], the market paths (end-of-step values, and ln D_t in
  row ``V_LN_DEMAND``), lane last.
- ``mparams``: float64[N_DRIVERS, N_DRIVER_PARAMS], market parameters (c0 of
  the inference cost and the generation drop of GPU prices are read).
- ``dle``: float64[n_steps], ln E[D_t] (demand surprise = ln D_t - dle[t], ln D_t from ``buf``).
- ``net_hr``, ``subsidy``: float64[n_steps], network hashrate (EH/s) and block
  subsidy (BTC) per step.
- ``cpar``: float64[n_comp, N_CPAR]; ``kpar``/``kptr`` contracts; ``tpar``/``tptr``
  tranches; ``fpar``/``fptr`` fleet vintages (planned purchases included).
  Months are already step indices; money per month already scaled per step.
- ``shocks``: float64[n_paths, n_steps, n_streams] injected variates, or
  ``shape[0] == 0``; company stream ``COMPANY_STREAM0 + c * STREAMS_PER_COMPANY + k``.
- Outputs: ``pint[l, c, :]`` (int64), ``pflt[l, c, :]`` (float64) per-path results;
  ``alarms[c, t, l]`` (int8); ``full[i, c, t, l]`` (float64) per-step line
  ``lines[i]`` (an ``O_*`` index) of each ``i`` of ``lines`` (int64; empty: no
  per-step lines).

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
from simulator._kernels._jit import jit, jit_inline, jit_ir_inline, jit_noalias
from simulator._kernels.select import borrow, select, trailing1, trailing2, update
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
# impaired and so follows the same straight line. Only the rows of the steps where some vintage of
# the company starts or ends a schedule (``srow[c, t]``) are set and read; the others would be zeros
TX_RATE, TX_COUNT, TX_LAST, NG_RATE, NG_COUNT, NG_LAST = range(6)
N_SCHED = 6
# company state columns, per lane: st[c, S_*, l]
(S_CASH, S_BTC, S_REV, S_NOL, S_UDEV, S_LNCORE, S_DM, S_CAUSE, S_IN_STRESS, S_STRESS_MONTH,
 S_REC_MONTH, S_TROUGH, S_TROUGH_MONTH, S_TTM_REV, S_TTM_EBITDA, S_TTM_INT, S_TTM_FCF,
 S_FIRST_AV, S_TX_RATE, S_TX_COUNT, S_NG_RATE, S_NG_COUNT, S_NEXT_MAT) = range(23)
N_S = 23
# S_NEXT_MAT: the first step at which a tranche of the company matures (maturities are only looked at then).
# S_TX_RATE, S_NG_RATE: the running per-step charge of a depreciation schedule; the count of vintages
# charging it follows in the next column.
# trailing-window columns
R_REV, R_EBITDA, R_INT, R_FCF = range(4)

#: Generation counts whose price factor :func:`companies_lanes` keeps once computed.
GEN_POWERS = 64

#: Paths stepped together by :func:`companies_lanes`, one per lane. Every per-path value of the
#: company step is an array over the lanes (the last axis), and the sections that run every step
#: are branch-free loops over them, which LLVM turns into SIMD code (AVX2: four float64 per
#: instruction). 16 is the smallest count at which it did so here; 32 spreads each loop's fixed cost
#: (its set-up, the per-vintage and per-tranche scalars) over twice the paths: summary runs took
#: 0.86 of the time on one thread, 0.90-0.93 on two, against 16; 64 lanes 0.88-0.91 (the lane
#: group's buffers outgrow the L2 cache; docs/performance.md, section 15).
NL = 32
# per-lane values of a company step: rows of the scratch x[X_*, l]
(X_Z, X_U, X_CONTRACT_REV, X_NONCASH, X_RPO, X_SPOT_PX, X_SPOT_CAP, X_FLEET_MW,
 X_DEP, X_IMP, X_POWER_PX, X_MINING_MW, X_REVENUE, X_POWER, X_EBITDA, X_INTEREST, X_COMMITTED, X_UNCOMMITTED,
 X_TAX, X_AMORT, X_CAPEX, X_FCF, X_NET_FIN, X_TO_FUND, X_DEBT_TRANCHES, X_CASH, X_MATURED, X_ARG, X_EXP,
 X_CAUSE, X_DEBT_END, X_LEV_END, X_UNDRAWN_REV, X_ONE, X_BTC) = range(35)
N_X = 35
# X_ONE: 1.0 in every lane (the O_ALIVE line); X_BTC: the bitcoin held at the end of the step (O_BTC).
#: The ``x`` row of each output line, indexed by its ``O_*`` number.
LINE_ROWS = (X_REVENUE, X_EBITDA, X_INTEREST, X_TAX, X_CAPEX, X_FCF, X_NET_FIN, X_CASH, X_DEBT_END, X_RPO, X_U,
             X_ONE, X_DEP, X_IMP, X_BTC, X_LEV_END)


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




@jit_noalias
def buy_vintage(c, j, basis, rel0, fpar, fs, sched, bought, lanes):
    """Put vintage ``j`` on company ``c``'s books at cost (or opening book) ``basis`` USD in the lanes
    where it is still to buy (``FS_STATUS`` 0); ``bought`` (bool[lanes]) gets those lanes.
    ``rel0[l]`` is its generation factor at purchase ((1 - drop)^-(generations)).

    Its straight-line depreciation (the ``F_DEP_*`` columns) joins the tax schedule (``TX_*``:
    every vintage's tax basis) and, for a vintage without GPUs, the book schedule ``NG_*`` (never
    impaired); charges at or after the horizon are dropped. A GPU vintage keeps a book (it can be
    impaired), its charge per step and its spot capacity ``FS_CAP`` instead.

    ``rel0``, ``fs``, ``sched`` and ``bought`` must not overlap (compiled with ``jit_noalias``).
    """
    # constant row strides: LLVM then vectorises the lane loops (select.trailing1); no reference counts
    fs = trailing2(fs, N_FS, NL)
    sched = trailing2(sched, N_SCHED, NL)
    rel0, fpar, bought = borrow(rel0), borrow(fpar), borrow(bought)
    n = sched.shape[1]
    for l in range(lanes):
        bought[l] = fs[j, FS_STATUS, l] == 0.0
        fs[j, FS_STATUS, l] = update(bought[l], 1.0, fs[j, FS_STATUS, l])
    first = int(fpar[j, CL.F_DEP_FIRST])
    end = int(fpar[j, CL.F_DEP_END])
    rate = fpar[j, CL.F_DEP_RATE]
    last = fpar[j, CL.F_DEP_LAST]
    g = fpar[j, CL.F_GPUS]
    for k in range(1 if g > 0.0 else 2):
        col = TX_RATE if k == 0 else NG_RATE  # the column's _COUNT and _LAST columns follow it
        if rate > 0.0:
            if first < n:
                for l in range(lanes):
                    old = sched[c, first, col, l]
                    sched[c, first, col, l] = old + (select(bought[l], rate, 0.0))
                    old = sched[c, first, col + 1, l]
                    sched[c, first, col + 1, l] = old + (select(bought[l], 1.0, 0.0))
            if end < n:
                for l in range(lanes):
                    old = sched[c, end, col, l]
                    sched[c, end, col, l] = old - (select(bought[l], rate, 0.0))
                    old = sched[c, end, col + 1, l]
                    sched[c, end, col + 1, l] = old - (select(bought[l], 1.0, 0.0))
        if end < n:
            for l in range(lanes):
                old = sched[c, end, col + 2, l]
                sched[c, end, col + 2, l] = old + (select(bought[l], last, 0.0))
    if g > 0.0:
        cap = g * (1.0 - fpar[j, CL.F_CONTRACTED]) * fpar[j, CL.F_PRICE_FACTOR]
        for l in range(lanes):
            fs[j, FS_BOOK, l] = update(bought[l], basis, fs[j, FS_BOOK, l])
            fs[j, FS_RATE, l] = update(bought[l], rate, fs[j, FS_RATE, l])
            fs[j, FS_CAP, l] = update(bought[l], cap * rel0[l], fs[j, FS_CAP, l])


@jit
def init_state(cpar, tpar, tptr, fpar, fptr, drop, st, ring, ts, fs, sched, srow, nxt, gfirst, gidx, gptr, covidx,
               covptr, lanes):
    """Opening balance sheet of every company into every lane of the state arrays (``drop``: generation
    price drop); ``nxt[c]`` is the first planned vintage of company ``c`` (the one after its opening fleet).
    The trailing window ``ring`` only of a company with trailing figures (``C_HAS_TTM``): the
    others fill it at step 0 (:func:`_financing`).

    ``srow[c, t]``: whether step ``t`` of company ``c``'s depreciation schedules can change (a
    vintage's first charge or end, as :func:`buy_vintage` writes them); only those rows of ``sched``
    are zeroed here and read by :func:`_financing` (the others would hold zeros: a step without a
    change adds nothing to the running rates). A company without vintages has none.

    Also lists each company's GPU vintages, rows ``gidx[gptr[c]:gptr[c + 1]]`` of ``fpar``, and
    its tranches with a covenant, rows ``covidx[covptr[c]:covptr[c + 1]]`` of ``tpar``, in row order.
    """
    n_comp = cpar.shape[0]
    W = ring.shape[1]
    n = sched.shape[1]
    srow[:, :] = False
    for c in range(n_comp):
        for j in range(fptr[c], fptr[c + 1]):
            first = int(fpar[j, CL.F_DEP_FIRST])
            end = int(fpar[j, CL.F_DEP_END])
            if fpar[j, CL.F_DEP_RATE] > 0.0 and first < n:
                srow[c, first] = True
            if end < n:
                srow[c, end] = True
        for t in range(n):
            if srow[c, t]:
                sched[c, t, :, :] = 0.0
    st[:, :, :] = 0.0
    for c in range(n_comp):
        has_ttm = cpar[c, CL.C_HAS_TTM] > 0.5
        vals = (cpar[c, CL.C_TTM_REV], cpar[c, CL.C_TTM_EBITDA], cpar[c, CL.C_TTM_INTEREST], cpar[c, CL.C_TTM_FCF])
        per_slot = (vals[0] / W, vals[1] / W, vals[2] / W, vals[3] / W)  # each month of the trailing window
        for l in range(lanes):
            st[c, S_CASH, l] = cpar[c, CL.C_CASH0]
            st[c, S_BTC, l] = cpar[c, CL.C_BTC0]
            st[c, S_REV, l] = cpar[c, CL.C_REV_DRAWN0]
            st[c, S_NOL, l] = cpar[c, CL.C_NOL0]
            st[c, S_DM, l] = -1.0
            st[c, S_STRESS_MONTH, l] = -1.0
            st[c, S_REC_MONTH, l] = -1.0
            st[c, S_TROUGH_MONTH, l] = -1.0
            st[c, S_FIRST_AV, l] = -1.0
            if has_ttm:
                for k in range(W):
                    ring[c, k, R_REV, l] = per_slot[0]
                    ring[c, k, R_EBITDA, l] = per_slot[1]
                    ring[c, k, R_INT, l] = per_slot[2]
                    ring[c, k, R_FCF, l] = per_slot[3]
                st[c, S_TTM_REV, l] = vals[0]
                st[c, S_TTM_EBITDA, l] = vals[1]
                st[c, S_TTM_INT, l] = vals[2]
                st[c, S_TTM_FCF, l] = vals[3]
            for j in range(tptr[c], tptr[c + 1]):
                ts[j, TS_BAL, l] = tpar[j, CL.T_PRINCIPAL]
                ts[j, TS_FLOATING, l] = tpar[j, CL.T_FLOATING]
                ts[j, TS_RATE, l] = tpar[j, CL.T_RATE]
                ts[j, TS_MAT, l] = tpar[j, CL.T_MATURITY]
                ts[j, TS_LINEAR, l] = tpar[j, CL.T_LINEAR]
                ts[j, TS_UNDRAWN, l] = tpar[j, CL.T_UNDRAWN]
                ts[j, TS_BREACH, l] = 0.0
            st[c, S_NEXT_MAT, l] = next_maturity(ts, tptr[c], tptr[c + 1], -1.0, l)
    fs[:, :, :] = 0.0
    bought = np.empty(NL, dtype=np.bool_)
    rel = np.empty(NL)
    for c in range(n_comp):
        nxt[c] = fptr[c]
        for j in range(fptr[c], fptr[c + 1]):
            if fpar[j, CL.F_CAPEX] == 0.0:  # opening fleet
                nxt[c] = j + 1
                r = (1.0 - drop) ** fpar[j, CL.F_GEN_BEHIND]  # the same in every lane
                for l in range(lanes):
                    rel[l] = r
                buy_vintage(c, j, fpar[j, CL.F_BOOK0], rel, fpar, fs, sched, bought, lanes)
    q = 0
    for c in range(n_comp):
        gptr[c] = q
        for j in range(fptr[c], fptr[c + 1]):
            if fpar[j, CL.F_GPUS] > 0.0:
                gidx[q] = j
                q += 1
    gptr[n_comp] = q
    for c in range(n_comp):
        gfirst[c] = gptr[c]
    q = 0
    for c in range(n_comp):
        covptr[c] = q
        for j in range(tptr[c], tptr[c + 1]):
            if tpar[j, CL.T_COV_ICR] >= 0.0 or tpar[j, CL.T_COV_LEV] >= 0.0 or tpar[j, CL.T_COV_LIQ] >= 0.0:
                covidx[q] = j
                q += 1
    covptr[n_comp] = q


@jit_inline
def next_maturity(ts, j0, j1, t, l):
    """First maturity step after step ``t`` among tranches ``j0 .. j1 - 1`` of lane ``l`` (1e18 if none)."""
    m = 1e18
    for j in range(j0, j1):
        if ts[j, TS_MAT, l] > t:
            m = min(m, ts[j, TS_MAT, l])
    return m


@jit_ir_inline
def _net_leverage(debt, cash, ttm_ebitda):
    """(debt - cash) / trailing EBITDA; +inf when EBITDA <= 0 and net debt > 0 (-inf when <= 0).
    Branch-free and inlined at numba level: it runs inside lane loops."""
    net = debt - cash
    return select(ttm_ebitda > 0.0, net / ttm_ebitda, select(net > 0.0, math.inf, -math.inf))


@jit_noalias
def _operations(t, lanes, dt, hours, skey, lines, shocks, pl, cbase, mk, ucon, gen_factor, surprise, net_hr,
                subsidy, cpar, kpar, kptr, fpar, gidx, gptr, kcancel, ext_step, gfirst, n_alive, nxt, xs, st, fs):
    """Every company ``c`` alive in some lane (``n_alive[c] > 0``) in step ``t``, every lane:
    utilisation, revenue (contracts, GPU vintages with depreciation and impairment, mining, core and
    AI revenue) and operating cost, into ``xs[c]`` (the ``X_*`` rows) and the state. Arguments as in
    :func:`companies_lanes`; ``surprise[l]``: lane ``l``'s demand surprise ``ln D_t - ln E[D_t]``
    (the market's, the same for every company); ``nxt[c]``: the company's first planned vintage not
    yet bought (those before it are on the books or cancelled)."""
    # constant row strides: LLVM then vectorises the lane loops (select.trailing1)
    mk = trailing1(mk, NL)
    kcancel = trailing1(kcancel, NL)
    ext_step = trailing1(ext_step, NL)
    xs = trailing2(xs, N_X, NL)
    st = trailing2(st, N_S, NL)
    fs = trailing2(fs, N_FS, NL)
    # the other arrays as views that count no references (select.borrow: atomic operations otherwise)
    lines, shocks, pl, cbase, ucon = borrow(lines), borrow(shocks), borrow(pl), borrow(cbase), borrow(ucon)
    gen_factor, surprise, net_hr = borrow(gen_factor), borrow(surprise), borrow(net_hr)
    subsidy, cpar = borrow(subsidy), borrow(cpar)
    kpar, kptr, fpar, gidx, gptr = borrow(kpar), borrow(kptr), borrow(fpar), borrow(gidx), borrow(gptr)
    n_alive, nxt, gfirst = borrow(n_alive), borrow(nxt), borrow(gfirst)
    want_util = False  # is the utilisation line asked for?
    for i in range(lines.shape[0]):
        want_util |= lines[i] == CL.O_UTIL
    for c in range(cpar.shape[0]):
        if n_alive[c] == 0:  # defaulted in every lane: nothing to step
            continue
        nx = nxt[c]  # the first planned vintage not yet bought
        x = xs[c]
        s0 = L.COMPANY_STREAM0 + c * L.STREAMS_PER_COMPANY
        # ---- utilisation: logit-OU around logit(mean) + beta * demand surprise
        # (decay, sd, sqrt(1 - w^2), logit(mean)) from ucon, computed before the step loop.
        # It only moves the spot revenue and impairment of GPU vintages, and the O_UTIL line: a
        # company without GPU vintages skips it unless the line is asked for (its draws are pure
        # functions of (path, stream, step), so skipping them changes nothing else)
        if want_util or gptr[c + 1] > gptr[c]:
            if cpar[c, CL.C_U_SIGMA] > 0.0:
                for l in range(lanes):
                    x[X_Z, l] = _cdraw(shocks, pl[l], t, skey, s0 + CL.K_UTIL, cbase[l, c, CL.K_UTIL], NORMAL)
                w = cpar[c, CL.C_U_COMMON]
                for l in range(lanes):
                    z = w * mk[L.V_UTIL_FACTOR, l] + ucon[c, 2] * x[X_Z, l]
                    st[c, S_UDEV, l] = st[c, S_UDEV, l] * ucon[c, 0] + ucon[c, 1] * z
            for l in range(lanes):  # u = sigmoid(logit(mean) + beta * surprise + deviation)
                x[X_ARG, l] = -(ucon[c, 3] + cpar[c, CL.C_U_BETA] * surprise[l] + st[c, S_UDEV, l])
            fexp.exp_array(x[X_ARG, :lanes], x[X_EXP, :lanes])
            for l in range(lanes):
                x[X_U, l] = 1.0 / (1.0 + x[X_EXP, l])
        else:
            for l in range(lanes):
                x[X_U, l] = 0.0

        # ---- 1. revenue
        for l in range(lanes):
            x[X_CONTRACT_REV, l] = 0.0
            x[X_NONCASH, l] = 0.0
            x[X_RPO, l] = 0.0
        for j in range(kptr[c], kptr[c + 1]):
            cpty = int(kpar[j, CL.K_CPTY])
            start = kpar[j, CL.K_START]
            end = kpar[j, CL.K_END]
            amt = kpar[j, CL.K_AMOUNT]
            active = start <= t and t <= end
            cash_amt = amt * kpar[j, CL.K_PREPAID]
            remaining_amt = amt * max(0.0, end - max(float(t), start - 1.0))
            for l in range(lanes):
                if cpty >= 0:
                    dmc = st[cpty, S_DM, l]
                    gone = (dmc >= 0.0) & (dmc < t)
                else:
                    gone = ext_step[j, l] < t
                cancel = update(gone, True, kcancel[j, l])  # once cancelled, for good
                kcancel[j, l] = cancel
                on = active & (not cancel)
                old = x[X_CONTRACT_REV, l]
                x[X_CONTRACT_REV, l] = old + (select(on, amt, 0.0))
                old = x[X_NONCASH, l]
                x[X_NONCASH, l] = old + (select(on, cash_amt, 0.0))
                old = x[X_RPO, l]
                x[X_RPO, l] = old + (select(not cancel, remaining_amt, 0.0))

        # GPU vintages on the books before this step (rows fptr[c] .. nx - 1): spot capacity and
        # power within their economic life; book depreciation, then impairment of the spot
        # share of the book against its economic value (section 6). The loop starts at gfirst[c]:
        # the vintages before it are cancelled or have neither book nor life left in every lane
        # (in a lane where a vintage is so, it adds exactly nothing and its state stays as it is)
        for l in range(lanes):
            x[X_SPOT_PX, l] = x[X_U, l] * mk[L.V_GPU, l] * gen_factor[l] * hours  # per unit of FS_CAP
            x[X_SPOT_CAP, l] = 0.0
            x[X_FLEET_MW, l] = 0.0
            x[X_DEP, l] = 0.0
            x[X_IMP, l] = 0.0
        leading = True  # vintages from gfirst[c] to q - 1 are needed in no lane any more
        for q in range(gfirst[c], gptr[c + 1]):
            j = gidx[q]
            if j >= nx:
                break
            age = t - fpar[j, CL.F_MONTH]
            econ = fpar[j, CL.F_ECON_LIFE]
            in_life = age < econ
            mw = fpar[j, CL.F_MW]
            remaining = fpar[j, CL.F_LIFE] - age
            last = remaining <= 1.0
            life_left = max(econ - age - 1.0, 0.0)
            spot_share = 1.0 - fpar[j, CL.F_CONTRACTED]
            if spot_share == 0.0:
                # fully contracted: no spot capacity (FS_CAP is 0) and no spot book to impair, so the
                # loop below would add +0.0 to the spot capacity and impairment (never -0.0) and
                # leave the rate as it is: the power and depreciation alone, the same bits
                for l in range(lanes):
                    status = fs[j, FS_STATUS, l]
                    book = fs[j, FS_BOOK, l]
                    old_rate = fs[j, FS_RATE, l]
                    held = status == 1.0
                    old = x[X_FLEET_MW, l]
                    x[X_FLEET_MW, l] = old + (select(held & in_life, mw, 0.0))
                    charged = held & (book > 0.0)
                    d = select(last, book, old_rate)
                    old = x[X_DEP, l]
                    x[X_DEP, l] = old + (select(charged, d, 0.0))
                    fs[j, FS_BOOK, l] = update(charged, book - d, book)
            else:
                for l in range(lanes):  # loads first, then branch-free arithmetic (no load is conditional)
                    status = fs[j, FS_STATUS, l]
                    cap = fs[j, FS_CAP, l]
                    book = fs[j, FS_BOOK, l]
                    old_rate = fs[j, FS_RATE, l]
                    spot_px = x[X_SPOT_PX, l]
                    held = status == 1.0
                    earns = held & in_life
                    old = x[X_SPOT_CAP, l]
                    x[X_SPOT_CAP, l] = old + (select(earns, cap, 0.0))
                    old = x[X_FLEET_MW, l]
                    x[X_FLEET_MW, l] = old + (select(earns, mw, 0.0))
                    charged = held & (book > 0.0)
                    d = select(last, book, old_rate)  # = book / remaining
                    b1 = book - d
                    value = spot_px * cap * life_left
                    spot_book = b1 * spot_share
                    impaired = charged & (value < spot_book)
                    b2 = b1 - (spot_book - value)
                    rate = b2 / (remaining - 1.0)  # the impaired book over the life left
                    old = x[X_DEP, l]
                    x[X_DEP, l] = old + (select(charged, d, 0.0))
                    old = x[X_IMP, l]
                    x[X_IMP, l] = old + (select(impaired, spot_book - value, 0.0))
                    fs[j, FS_RATE, l] = update(impaired, rate, old_rate)
                    book = update(charged, select(impaired, b2, b1), book)
                    fs[j, FS_BOOK, l] = book
            if leading:  # cancelled, or nothing left to charge or earn, in every lane: skip it from now on
                keep = False
                for l in range(lanes):
                    keep |= (fs[j, FS_STATUS, l] == 1.0) & ((fs[j, FS_BOOK, l] > 0.0) | (age + 1.0 < econ))
                leading = not keep
                if leading:
                    gfirst[c] = q + 1

        # mining, curtailed in a step whose hashprice does not cover the mining fleet's power;
        # core revenue (GBM); AI revenue
        mined = 0.0
        has_hash = cpar[c, CL.C_HASHRATE] > 0.0
        if has_hash:
            mined = cpar[c, CL.C_HASHRATE] / net_hr[t] * subsidy[t] * cpar[c, CL.C_FEE_MULT] * BLOCKS_PER_YEAR * dt
        kept = mined * cpar[c, CL.C_HODL]
        if cpar[c, CL.C_CORE_REV0] > 0.0 and cpar[c, CL.C_CORE_SIGMA] > 0.0:
            for l in range(lanes):  # (a plain loop: the draws call out)
                x[X_Z, l] = _cdraw(shocks, pl[l], t, skey, s0 + CL.K_CORE, cbase[l, c, CL.K_CORE], NORMAL)
        else:
            for l in range(lanes):
                x[X_Z, l] = 0.0
        has_core = cpar[c, CL.C_CORE_REV0] > 0.0
        if has_core:
            cs = cpar[c, CL.C_CORE_SIGMA]
            core_drift = (cpar[c, CL.C_CORE_MU] - 0.5 * cs * cs) * dt
            core_vol = cs * math.sqrt(dt)
            for l in range(lanes):
                st[c, S_LNCORE, l] += core_drift + core_vol * x[X_Z, l]
            fexp.exp_array(st[c, S_LNCORE, :lanes], x[X_EXP, :lanes])
        is_app = int(cpar[c, CL.C_ARCH]) == CL.A_AI_APP
        for l in range(lanes):
            btc_price = mk[L.V_BTC, l]
            power_px = cpar[c, CL.C_PUE] * cpar[c, CL.C_POWER_FACTOR] * mk[L.V_POWER, l] * hours  # USD/MW of IT load
            x[X_POWER_PX, l] = power_px
            mining = has_hash & (mined * btc_price > cpar[c, CL.C_MINING_MW] * power_px)
            mining_rev = select(mining, mined * btc_price, 0.0)
            x[X_MINING_MW, l] = select(mining, cpar[c, CL.C_MINING_MW], 0.0)
            old = st[c, S_BTC, l]
            st[c, S_BTC, l] = old + (select(mining, kept, 0.0))
            old = x[X_NONCASH, l]
            x[X_NONCASH, l] = old + (select(mining, kept * btc_price, 0.0))
            core_rev = select(has_core, cpar[c, CL.C_CORE_REV0] * dt * x[X_EXP, l], 0.0)
            ai_rev = cpar[c, CL.C_AI_REV0] * dt * mk[L.V_DEMAND, l]
            cost_of_rev = select(is_app, ai_rev * (1.0 - mk[L.V_GM, l]), 0.0)
            spot_rev = x[X_SPOT_PX, l] * x[X_SPOT_CAP, l]
            revenue = x[X_CONTRACT_REV, l] + spot_rev + mining_rev + core_rev + ai_rev
            x[X_REVENUE, l] = revenue
            # ---- 2. operating cost and EBITDA
            power = (cpar[c, CL.C_SITE_MW] + x[X_MINING_MW, l] + x[X_FLEET_MW, l]) * power_px
            x[X_POWER, l] = power
            opex = power + cpar[c, CL.C_OPEX_FIXED] + cpar[c, CL.C_OPEX_VAR] * revenue + cost_of_rev
            x[X_EBITDA, l] = revenue - opex


@jit_ir_inline
def _tax(x, st, c, l, tax_dep, tax_rate):
    """Lane ``l``'s tax of the step into ``x[X_TAX, l]`` (``tax_dep``: its tax depreciation, USD;
    ``tax_rate``: the company's), with the loss carried forward in ``st[c, S_NOL, l]``."""
    taxable = x[X_EBITDA, l] - tax_dep - x[X_INTEREST, l]
    nol = st[c, S_NOL, l]
    used = select(taxable < nol, taxable, nol)
    x[X_TAX, l] = select(taxable > 0.0, (taxable - used) * tax_rate, 0.0)
    st[c, S_NOL, l] = select(taxable > 0.0, nol - used, nol - taxable)


@jit_noalias
def _financing(t, lanes, dt, W, n_alive, nxt, nend, alive_all, mk, inv_gen, cpar, tpar, tptr, fpar, covidx, covptr,
               bought, xs, st, ts, fs, sched, srow, ring):
    """Every company ``c`` alive in some lane in step ``t``, every lane, after :func:`_operations`:
    interest, the capex plan with the discipline rule (planned vintages ``nxt[c] .. nend[c] - 1``),
    depreciation and tax, free cash flow and the trailing window, financing and maturities, the
    shortfall, and the default tests (``xs[c, X_CAUSE]``). ``alive_all[c, l]``: company ``c`` alive
    in lane ``l`` at the start of the step; ``srow``: the schedule rows in use (:func:`init_state`)."""
    # constant row strides: LLVM then vectorises the lane loops (select.trailing1)
    mk = trailing1(mk, NL)
    xs = trailing2(xs, N_X, NL)
    alive_all = trailing1(alive_all, NL)
    st = trailing2(st, N_S, NL)
    ts = trailing2(ts, N_TS, NL)
    fs = trailing2(fs, N_FS, NL)
    sched = trailing2(sched, N_SCHED, NL)
    ring = trailing2(ring, 4, NL)
    # the other arrays as views that count no references (select.borrow: atomic operations otherwise)
    n_alive, nxt, nend, inv_gen, cpar = borrow(n_alive), borrow(nxt), borrow(nend), borrow(inv_gen), borrow(cpar)
    tpar, tptr, fpar, covidx, covptr = borrow(tpar), borrow(tptr), borrow(fpar), borrow(covidx), borrow(covptr)
    bought, srow = borrow(bought), borrow(srow)
    for c in range(cpar.shape[0]):
        if n_alive[c] == 0:  # defaulted in every lane: nothing to step
            continue
        nx = nxt[c]  # planned vintages nx .. ne - 1 are bought (or cancelled) in this step
        ne = nend[c]
        x = xs[c]
        alive = alive_all[c]
        # ---- 3. interest on balances at the start of the step (floating: r + margin, floored at 0)
        j0 = tptr[c]
        j1 = tptr[c + 1]
        for l in range(lanes):
            rate = mk[L.V_RATE, l] + cpar[c, CL.C_REV_MARGIN]
            x[X_INTEREST, l] = st[c, S_REV, l] * (select(0.0 > rate, 0.0, rate)) * dt
        for j in range(j0, j1):
            for l in range(lanes):
                rate = ts[j, TS_RATE, l] + (select(ts[j, TS_FLOATING, l] > 0.5, mk[L.V_RATE, l], 0.0))
                x[X_INTEREST, l] += ts[j, TS_BAL, l] * (select(0.0 > rate, 0.0, rate)) * dt

        # ---- 5. capex plan with the discipline rule (before depreciation: bought this step, depreciated from the next)
        for l in range(lanes):
            x[X_COMMITTED, l] = cpar[c, CL.C_MAINT_CAPEX] + cpar[c, CL.C_MAINT_SHARE] * x[X_REVENUE, l]
            x[X_UNCOMMITTED, l] = 0.0
        for j in range(nx, ne):  # the planned vintages still to buy (not cancelled)
            row = X_COMMITTED if fpar[j, CL.F_COMMITTED] > 0.5 else X_UNCOMMITTED
            capex = fpar[j, CL.F_CAPEX]
            for l in range(lanes):
                old = x[row, l]
                x[row, l] = update(fs[j, FS_STATUS, l] == 0.0, old + capex, old)
        # ---- 6. depreciation: GPU vintages' book (above, with impairment), the book of the other
        # vintages and the tax basis of all (impairment is not deductible) by their schedules;
        # ---- 4. tax with loss carry-forward (impairment is a book charge, not deductible)
        # (a schedule's running rate and count live in st[c, S_*_RATE] and the column after it; the
        # rate is reset to exactly zero when no vintage charges it). A step without a schedule change
        # (srow) leaves rates and counts as they are and has no one-off charge: its loop adds the
        # running rates alone, the same values (a running rate is never -0.0, so adding the +0.0 of
        # an unused row would change no bit)
        tax_rate = cpar[c, CL.C_TAX_RATE]
        if srow[c, t]:
            for l in range(lanes):
                st[c, S_NG_RATE, l] += sched[c, t, NG_RATE, l]
                st[c, S_NG_COUNT, l] += sched[c, t, NG_COUNT, l]
                st[c, S_NG_RATE, l] = select(st[c, S_NG_COUNT, l] == 0.0, 0.0, st[c, S_NG_RATE, l])
                x[X_DEP, l] += st[c, S_NG_RATE, l] + sched[c, t, NG_LAST, l]
                st[c, S_TX_RATE, l] += sched[c, t, TX_RATE, l]
                st[c, S_TX_COUNT, l] += sched[c, t, TX_COUNT, l]
                st[c, S_TX_RATE, l] = select(st[c, S_TX_COUNT, l] == 0.0, 0.0, st[c, S_TX_RATE, l])
                _tax(x, st, c, l, st[c, S_TX_RATE, l] + sched[c, t, TX_LAST, l], tax_rate)
        else:
            for l in range(lanes):
                x[X_DEP, l] += st[c, S_NG_RATE, l]
                _tax(x, st, c, l, st[c, S_TX_RATE, l], tax_rate)

        # discipline rule: cancel this step's uncommitted capex if runway would fall short
        if cpar[c, CL.C_RUNWAY] > 0.0 and ne > nx:
            for l in range(lanes):
                x[X_AMORT, l] = 0.0  # this step's scheduled amortisation, on balances before any draw
            for j in range(j0, j1):
                if tpar[j, CL.T_LINEAR] < 0.5:  # never amortises (refinancing only makes a tranche bullet)
                    continue
                for l in range(lanes):
                    due = (ts[j, TS_LINEAR, l] > 0.5) & (t < ts[j, TS_MAT, l])
                    a = ts[j, TS_BAL, l] / (ts[j, TS_MAT, l] - t + 1.0)
                    old = x[X_AMORT, l]
                    x[X_AMORT, l] = old + (select(due, a, 0.0))
            for l in range(lanes):
                if x[X_UNCOMMITTED, l] > 0.0:
                    amort = x[X_AMORT, l]
                    interest = x[X_INTEREST, l]
                    fixed = cpar[c, CL.C_OPEX_FIXED] + x[X_POWER, l] + interest + amort
                    liq = st[c, S_CASH, l] + x[X_EBITDA, l] - x[X_NONCASH, l] - interest - x[X_TAX, l] - \
                        x[X_COMMITTED, l] - amort + (cpar[c, CL.C_REV_LIMIT] - st[c, S_REV, l]) - x[X_UNCOMMITTED, l]
                    if fixed > 0.0 and liq < cpar[c, CL.C_RUNWAY] * fixed:
                        x[X_UNCOMMITTED, l] = 0.0
                        for j in range(nx, ne):
                            if fpar[j, CL.F_COMMITTED] < 0.5:
                                fs[j, FS_STATUS, l] = -1.0
        for j in range(nx, ne):  # bought this step unless cancelled, depreciated from the next
            buy_vintage(c, j, fpar[j, CL.F_CAPEX], inv_gen, fpar, fs, sched, bought, lanes)

        # free cash flow; trailing window
        k = t % W
        fill = t == 0 and cpar[c, CL.C_HAS_TTM] < 0.5
        for l in range(lanes):
            capex = x[X_COMMITTED, l] + x[X_UNCOMMITTED, l]
            x[X_CAPEX, l] = capex
            fcf = x[X_EBITDA, l] - x[X_NONCASH, l] - x[X_INTEREST, l] - x[X_TAX, l] - capex
            x[X_FCF, l] = fcf
        for v in range(4):
            xv = (X_REVENUE, X_EBITDA, X_INTEREST, X_FCF)[v]
            if fill:
                for l in range(lanes):
                    for kk in range(W):
                        ring[c, kk, v, l] = x[xv, l]
                    st[c, S_TTM_REV + v, l] = W * x[xv, l]
            else:
                for l in range(lanes):
                    st[c, S_TTM_REV + v, l] += x[xv, l] - ring[c, k, v, l]
                    ring[c, k, v, l] = x[xv, l]

        # ---- 7. financing: delayed draws, then amortisation (on the balance after the draw), then maturities
        for l in range(lanes):
            x[X_NET_FIN, l] = 0.0
            x[X_TO_FUND, l] = x[X_CAPEX, l]
            x[X_DEBT_TRANCHES, l] = 0.0  # sum of tranche balances (the revolver apart)
        # (a tranche draws only while it has an undrawn amount, which never grows, and amortises only
        # if it is linear, which refinancing never makes it: the other loops are skipped, a division
        # per lane among them; their operations would leave every value as it is)
        for j in range(j0, j1):
            if tpar[j, CL.T_UNDRAWN] > 0.0:
                draw_share = tpar[j, CL.T_DRAW_SHARE]
                for l in range(lanes):
                    open_ = t < ts[j, TS_MAT, l]
                    undrawn = ts[j, TS_UNDRAWN, l]
                    to_fund = x[X_TO_FUND, l]
                    draw = open_ & (undrawn > 0.0) & (to_fund > 0.0)
                    want = draw_share * to_fund
                    d = select(want < undrawn, want, undrawn)
                    ts[j, TS_BAL, l] = update(draw, ts[j, TS_BAL, l] + d, ts[j, TS_BAL, l])
                    ts[j, TS_UNDRAWN, l] = update(draw, undrawn - d, undrawn)
                    x[X_TO_FUND, l] = update(draw, to_fund - d, to_fund)
                    x[X_NET_FIN, l] = update(draw, x[X_NET_FIN, l] + d, x[X_NET_FIN, l])
            if tpar[j, CL.T_LINEAR] > 0.5:
                for l in range(lanes):
                    bal = ts[j, TS_BAL, l]
                    net_fin = x[X_NET_FIN, l]
                    amortises = (t < ts[j, TS_MAT, l]) & (ts[j, TS_LINEAR, l] > 0.5)
                    a = bal / (ts[j, TS_MAT, l] - t + 1.0)
                    ts[j, TS_BAL, l] = update(amortises, bal - a, bal)
                    x[X_NET_FIN, l] = update(amortises, net_fin - a, net_fin)
            for l in range(lanes):
                x[X_DEBT_TRANCHES, l] += ts[j, TS_BAL, l]
        for l in range(lanes):
            x[X_CASH, l] = st[c, S_CASH, l] + x[X_FCF, l] + x[X_NET_FIN, l]
            x[X_MATURED, l] = 0.0

        # ---- maturities (rare: a plain loop over the lanes where a tranche matures)
        due = False
        for l in range(lanes):
            due |= alive[l] & (t >= st[c, S_NEXT_MAT, l])
        for l in range(select(due, lanes, 0)):
            if not alive[l] or t < st[c, S_NEXT_MAT, l]:
                continue
            # a tranche matures: refinance it if the market is open, else repay it
            r = mk[L.V_RATE, l]
            cash = x[X_CASH, l]
            lev = _net_leverage(st[c, S_REV, l] + x[X_DEBT_TRANCHES, l], cash, st[c, S_TTM_EBITDA, l])
            company_spread = cpar[c, CL.C_SPREAD_MULT] * mk[L.V_SPREAD, l]
            market_open = company_spread <= cpar[c, CL.C_REFI_MAX_SPREAD] and lev < cpar[c, CL.C_REFI_MAX_LEV]
            debt_tranches = 0.0
            matured = 0.0
            net_fin = x[X_NET_FIN, l]
            for j in range(j0, j1):
                if ts[j, TS_MAT, l] == t and ts[j, TS_BAL, l] > 0.0:
                    if market_open and tpar[j, CL.T_REFI] > 0.5:
                        ts[j, TS_FLOATING, l] = 0.0
                        ts[j, TS_RATE, l] = max(r, 0.0) + company_spread
                        ts[j, TS_MAT, l] = t + cpar[c, CL.C_REFI_TERM]
                        ts[j, TS_LINEAR, l] = 0.0
                    else:
                        matured += ts[j, TS_BAL, l]
                        cash -= ts[j, TS_BAL, l]
                        net_fin -= ts[j, TS_BAL, l]
                        ts[j, TS_BAL, l] = 0.0
                        ts[j, TS_UNDRAWN, l] = 0.0
                debt_tranches += ts[j, TS_BAL, l]
            st[c, S_NEXT_MAT, l] = next_maturity(ts, j0, j1, t, l)
            x[X_CASH, l] = cash
            x[X_NET_FIN, l] = net_fin
            x[X_DEBT_TRANCHES, l] = debt_tranches
            x[X_MATURED, l] = matured

        # ---- 8. cover a shortfall: revolver, bitcoin sales with haircut, ATM equity; then the
        # default tests (section 5) on the end-of-step position
        atm_on = cpar[c, CL.C_ATM_CAP] > 0.0
        rev_limit = cpar[c, CL.C_REV_LIMIT]
        haircut = cpar[c, CL.C_HAIRCUT]
        atm_cap = cpar[c, CL.C_ATM_CAP]
        atm_target = cpar[c, CL.C_ATM_TARGET]
        atm_min_btc = cpar[c, CL.C_ATM_MIN_BTC]
        atm_max_spread = cpar[c, CL.C_ATM_MAX_SPREAD]
        atm_min_growth = cpar[c, CL.C_ATM_MIN_GROWTH]
        min_cash = cpar[c, CL.C_MIN_CASH]
        for l in range(lanes):  # the revolver (loads first, then branch-free arithmetic)
            cash = x[X_CASH, l]
            net_fin = x[X_NET_FIN, l]
            rev = st[c, S_REV, l]
            short = cash < 0.0
            room = rev_limit - rev
            d = select(-cash < room, -cash, room)
            st[c, S_REV, l] = update(short, rev + d, rev)  # (update: the values loaded are stored back)
            x[X_CASH, l] = update(short, cash + d, cash)
            x[X_NET_FIN, l] = update(short, net_fin + d, net_fin)
        # bitcoin sales, by a company that can hold bitcoin (a treasury, or mining with a share kept);
        # the others never hold any, so their sales would change nothing (a division per lane skipped)
        if cpar[c, CL.C_BTC0] > 0.0 or (cpar[c, CL.C_HASHRATE] > 0.0 and cpar[c, CL.C_HODL] > 0.0):
            for l in range(lanes):
                cash = x[X_CASH, l]
                net_fin = x[X_NET_FIN, l]
                btc = st[c, S_BTC, l]
                net_px = mk[L.V_BTC, l] * (1.0 - haircut)
                sell = (cash < 0.0) & (btc > 0.0) & (net_px > 0.0)
                need = -cash / net_px
                qb = select(need < btc, need, btc)
                st[c, S_BTC, l] = update(sell, btc - qb, btc)
                x[X_CASH, l] = update(sell, cash + qb * net_px, cash)
                x[X_NET_FIN, l] = update(sell, net_fin + qb * net_px, net_fin)
        for l in range(lanes):  # ATM equity, revolver repayment, the default tests' inputs
            btc_price = mk[L.V_BTC, l]
            spread = mk[L.V_SPREAD, l]
            growth = mk[L.V_GROWTH, l]
            cash = x[X_CASH, l]
            net_fin = x[X_NET_FIN, l]
            matured = x[X_MATURED, l]
            debt_tranches = x[X_DEBT_TRANCHES, l]
            rev = st[c, S_REV, l]
            ttm_ebitda = st[c, S_TTM_EBITDA, l]
            atm = atm_on & (cash < atm_target) & (btc_price >= atm_min_btc) & (spread <= atm_max_spread) & \
                (growth >= atm_min_growth)
            gap = atm_target - cash
            raise_ = select(gap < atm_cap, gap, atm_cap)
            cash = update(atm, cash + raise_, cash)  # (update: these three are stored back where loaded)
            net_fin = update(atm, net_fin + raise_, net_fin)
            repay = (cash > min_cash) & (rev > 0.0)
            spare = cash - min_cash
            rp = select(spare < rev, spare, rev)
            rev = update(repay, rev - rp, rev)
            cash = select(repay, cash - rp, cash)
            net_fin = select(repay, net_fin - rp, net_fin)
            st[c, S_REV, l] = rev
            st[c, S_CASH, l] = cash
            x[X_CASH, l] = cash
            x[X_NET_FIN, l] = net_fin
            undrawn_rev = rev_limit - rev
            x[X_UNDRAWN_REV, l] = undrawn_rev
            refinancing = (cash + matured >= 0.0) & (matured > 0.0)
            cause = select(refinancing, CL.CAUSE_REFINANCING, CL.CAUSE_LIQUIDITY)
            x[X_CAUSE, l] = select(cash < -CASH_EPS, cause, CL.CAUSE_NONE)
            debt_end = rev + debt_tranches
            x[X_DEBT_END, l] = debt_end
            x[X_LEV_END, l] = _net_leverage(debt_end, cash, ttm_ebitda)
        for qc in range(covptr[c], covptr[c + 1]):  # tranches with a covenant
            j = covidx[qc]
            icr_min = tpar[j, CL.T_COV_ICR]
            lev_max = tpar[j, CL.T_COV_LEV]
            liq_min = tpar[j, CL.T_COV_LIQ]
            cure = tpar[j, CL.T_CURE]
            for l in range(lanes):  # loads first, then branch-free arithmetic
                ttm_int = st[c, S_TTM_INT, l]
                ttm_ebitda = st[c, S_TTM_EBITDA, l]
                lev_end = x[X_LEV_END, l]
                liq = x[X_CASH, l] + x[X_UNDRAWN_REV, l]
                bal = ts[j, TS_BAL, l]
                prior = ts[j, TS_BREACH, l]
                cause = x[X_CAUSE, l]
                breach = ((icr_min >= 0.0) & (ttm_int > 0.0) & (ttm_ebitda < icr_min * ttm_int)) | \
                    ((lev_max >= 0.0) & (lev_end > lev_max)) | ((liq_min >= 0.0) & (liq < liq_min))
                count = select(breach, prior + 1.0, 0.0)
                count = select(bal > 0.0, count, 0.0)  # a repaid tranche tests nothing
                ts[j, TS_BREACH, l] = count
                x[X_CAUSE, l] = update((cause == CL.CAUSE_NONE) & (count >= cure) & (bal > 0.0), CL.CAUSE_COVENANT,
                                       cause)


@jit_noalias
def _outcome(t, lanes, lines, alive_all, market_alarm, cpar, tpar, tptr, xs, st, ts, full, pflt, alarms):
    """Every company in step ``t``, every lane, after :func:`_financing`: the output lines, the
    defaults of the step (with exposure and loss), the FCF recovery rule and the alarm lights (a
    company alive in no lane: its lines only). ``market_alarm[l]``: 1.0 where lane ``l``'s market
    demand alarm (L1 and L2) is lit."""
    # constant row strides: LLVM then vectorises the lane loops (select.trailing1)
    full = trailing1(full, NL)
    alarms = trailing1(alarms, NL)
    xs = trailing2(xs, N_X, NL)
    alive_all = trailing1(alive_all, NL)
    st = trailing2(st, N_S, NL)
    ts = trailing2(ts, N_TS, NL)
    # the other arrays as views that count no references (select.borrow: atomic operations otherwise)
    lines, market_alarm, cpar = borrow(lines), borrow(market_alarm), borrow(cpar)
    tpar, tptr, pflt = borrow(tpar), borrow(tptr), borrow(pflt)
    for c in range(cpar.shape[0]):
        x = xs[c]
        alive = alive_all[c]
        j0 = tptr[c]
        j1 = tptr[c + 1]
        # ---- the lines (RPO after this step's service), then defaults, recovery and alarms
        for i in range(lines.shape[0]):
            v = lines[i]
            if v == CL.O_BTC:
                for l in range(lanes):
                    x[X_BTC, l] = st[c, S_BTC, l]
            xv = LINE_ROWS[v]
            # a company defaulted before: cash and debt stay at their last values, the others are 0
            frozen = (v == CL.O_CASH or v == CL.O_DEBT) and t > 0
            tp = max(t - 1, 0)
            for l in range(lanes):  # loads first, then branch-free
                val = x[xv, l]
                prev = full[i, c, tp, l]
                full[i, c, t, l] = select(alive[l], val, select(frozen, prev, 0.0))
        n_default = 0
        for l in range(lanes):
            n_default += alive[l] & (x[X_CAUSE, l] != CL.CAUSE_NONE)
        for l in range(select(n_default > 0, lanes, 0)):  # defaults of this step (rare)
            if alive[l] and x[X_CAUSE, l] != CL.CAUSE_NONE:
                st[c, S_DM, l] = t
                st[c, S_CAUSE, l] = x[X_CAUSE, l]
                # exposure and loss at default (the lane's later state is not read)
                ead = st[c, S_REV, l]
                loss = st[c, S_REV, l] * (1.0 - cpar[c, CL.C_REV_RECOVERY])
                for j in range(j0, j1):
                    ead += ts[j, TS_BAL, l]
                    loss += ts[j, TS_BAL, l] * (1.0 - tpar[j, CL.T_RECOVERY])
                pflt[l, c, CL.PF_EAD] = ead
                pflt[l, c, CL.PF_LOSS] = loss
        # the FCF recovery rule (MODEL.md 6) and the alarm lights, where the company is still alive
        margin_metric = cpar[c, CL.C_REC_MARGIN] > 0.5
        threshold = cpar[c, CL.C_REC_THRESHOLD]
        target = cpar[c, CL.C_REC_TARGET]
        for l in range(lanes):
            on = alive[l] & (x[X_CAUSE, l] == CL.CAUSE_NONE)
            rec_month = st[c, S_REC_MONTH, l]
            in_stress = st[c, S_IN_STRESS, l]
            stress_month = st[c, S_STRESS_MONTH, l]
            trough = st[c, S_TROUGH, l]
            trough_month = st[c, S_TROUGH_MONTH, l]
            ttm_rev = st[c, S_TTM_REV, l]
            ttm_fcf = st[c, S_TTM_FCF, l]
            ttm_int = st[c, S_TTM_INT, l]
            first_av = st[c, S_FIRST_AV, l]
            open_ = on & (rec_month < 0.0)
            ratio = ttm_fcf / ttm_rev
            metric = select(margin_metric, select(ttm_rev > 0.0, ratio, -math.inf), ttm_fcf)
            stressed = in_stress >= 0.5
            enter = open_ & (not stressed) & (stress_month < 0.0) & (metric < threshold)
            lower = open_ & stressed & (metric < trough)
            recover = open_ & stressed & (metric >= target)
            st[c, S_IN_STRESS, l] = select(enter, 1.0, update(recover, 0.0, in_stress))
            st[c, S_STRESS_MONTH, l] = update(enter, t, stress_month)
            st[c, S_TROUGH, l] = update(enter | lower, metric, trough)
            st[c, S_TROUGH_MONTH, l] = update(enter | lower, t, trough_month)
            st[c, S_REC_MONTH, l] = update(recover, t, rec_month)
            # company alarm lights L3 (interest / revenue >= 25 %) and L4 (RPO / debt < 0.5)
            demand_alarm = market_alarm[l] > 0.5
            debt_end = x[X_DEBT_END, l]
            l3 = (ttm_int >= 0.25 * ttm_rev) & (ttm_int > 0.0)
            l4 = (debt_end > 0.0) & (x[X_RPO, l] < 0.5 * debt_end)
            lev_alarm = l3 & l4
            both = demand_alarm & lev_alarm
            alarms[c, t, l] = select(on, CL.ALARM_ALIVE + (select(demand_alarm, CL.ALARM_DEMAND, 0)) +
                               (select(lev_alarm, CL.ALARM_LEVERAGE, 0)) + (select(both, CL.ALARM_AVALANCHE, 0)), 0)
            st[c, S_FIRST_AV, l] = update(on & both & (first_av < 0.0), t, first_av)


@jit
def companies_lanes(k0, k1, gpath0, p_local0, n_steps, dt, mps, buf, mparams, dle, net_hr, subsidy,
                    cpar, kpar, kptr, tpar, tptr, fpar, fptr, shocks, lines, pint, pflt, alarms, full,
                    operations, financing, outcome):
    """Run every company over every step of ``NL`` market paths at once, one per lane.

    Lane ``l`` is global path ``gpath0 + l`` (local ``p_local0 + l`` in ``shocks``; a lane past the
    last injected path reads the last one). ``buf[:, :, l]`` is its market path. Each lane is computed
    with exactly the operations, in the same order, of a path stepped alone: lanes never mix, so
    results do not depend on which paths share a call, and a lane the caller does not need (past
    the end of a block) only costs time.

    Each part of the step runs the companies in a fixed order, the operations of all, then
    their financing, then their outcome; contagion reads counterparties' defaults from earlier
    steps only, so the order does not change results. A defaulted company has no later flows: its full-mode lines
    after the default step are zero except cash and debt, frozen at default.
    (A lane whose company has defaulted keeps being computed along with the
    others while any lane of that company is alive; nothing of it is read:
    its outputs were taken at default.)

    Outputs, lane first or last as written: ``pint[l, c, :]`` (int64), ``pflt[l, c, :]`` (float64),
    ``alarms[c, t, l]`` (int8: the ALARM_* bits of each step the company is alive at the end of,
    0 otherwise), ``full[i, c, t, l]`` (float64: line ``lines[i]``, an ``O_*`` index; ``lines``
    empty: none). All are written in full here, and must not overlap one another (the step's parts
    are compiled on that assumption: :data:`~simulator._kernels._jit.jit_noalias`).

    ``operations``, ``financing``, ``outcome``: :func:`_operations`, :func:`_financing` and
    :func:`_outcome` as function values (:func:`simulator.precompile.part_kernels`), so that this
    kernel does not compile their code again.
    """
    n_comp = cpar.shape[0]
    W = 12 // mps
    buf = borrow(buf)  # its rows below, views that count no references
    # the lane loops run to a count LLVM does not know at compile time: a loop of a known 16
    # iterations with a small body is unrolled into scalar code before the loop vectoriser sees it
    lanes = min(buf.shape[2], NL)
    # ---- per-lane random streams and opening state
    cbase = np.empty((NL, n_comp, L.STREAMS_PER_COMPANY), dtype=np.uint64)
    pl = np.empty(NL, dtype=np.int64)  # the row of each lane in injected shocks
    for l in range(lanes):
        pl[l] = min(p_local0 + l, max(shocks.shape[0] - 1, 0))
    if shocks.shape[0] == 0:
        for l in range(lanes):
            for c in range(n_comp):
                for k in range(CL.N_COMPANY_STREAMS_USED):  # the bases of the streams a company draws from
                    cbase[l, c, k] = stream_base(k0, k1, np.uint64(gpath0 + l),
                                                 np.uint64(L.COMPANY_STREAM0 + c * L.STREAMS_PER_COMPANY + k))
    # state arrays, written in full before they are read (no zeroing here: some 190 KB a lane group):
    # st, ts and fs by init_state; ring by init_state for a company with trailing figures, and at
    # step 0 by the financing part for the others
    st = np.empty((n_comp, N_S, NL))
    ring = np.empty((n_comp, W, 4, NL))
    ts = np.empty((tpar.shape[0], N_TS, NL))
    fs = np.empty((fpar.shape[0], N_FS, NL))
    sched = np.empty((n_comp, n_steps, N_SCHED, NL))  # the rows of srow only (init_state)
    srow = np.empty((n_comp, n_steps), dtype=np.bool_)
    nxt = np.empty(n_comp, dtype=np.int64)
    gfirst = np.empty(n_comp, dtype=np.int64)  # each company's first GPU vintage (in gidx) still needed
    gidx = np.empty(fpar.shape[0], dtype=np.int64)
    gptr = np.empty(n_comp + 1, dtype=np.int64)
    covidx = np.empty(tpar.shape[0], dtype=np.int64)
    covptr = np.empty(n_comp + 1, dtype=np.int64)
    kcancel = np.zeros((kpar.shape[0], NL), dtype=np.bool_)
    ext_step = np.empty((kpar.shape[0], NL))
    ext1 = np.empty(kpar.shape[0])
    x = np.zeros((n_comp, N_X, NL))  # per-lane values of each company's step
    x[:, X_ONE, :] = 1.0
    drop = mparams[L.D_GPU, L.GPU_GEN_DROP]
    init_state(cpar, tpar, tptr, fpar, fptr, drop, st, ring, ts, fs, sched, srow, nxt, gfirst, gidx, gptr, covidx,
               covptr, lanes)
    for l in range(lanes):
        external_default_steps(cpar, kpar, kptr, cbase[l], shocks, pl[l], dt, ext1)
        for j in range(kpar.shape[0]):
            ext_step[j, l] = ext1[j]
    pflt[:, :, :] = 0.0  # exposure and loss are written at default only (every pint column is written below)
    alarms[:, :, :] = 0
    # L1 looks back over the fewest whole steps spanning six months; with steps longer than
    # that (annual, 4-monthly) the 30 % six-month threshold is rescaled to the span compared
    lag = (6 + mps - 1) // mps
    l1_factor = 0.7 ** (lag * mps / 6.0)
    c0 = mparams[L.D_INFERENCE, L.INF_C0]
    hours = HOURS_PER_MONTH * mps
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

    gen = np.full(NL, math.nan)
    # (1 - drop)^n by generation count n < GEN_POWERS, once per count: launches are random, so lanes
    # reach the same counts at different steps (a pow per lane and launch otherwise)
    gen_pow = np.full(GEN_POWERS, math.nan)
    demand_alarm = np.empty(NL)  # per lane: the market's demand alarm (1.0 lit) and demand surprise
    surprise = np.empty(NL)
    gen_factor = np.ones(NL)
    inv_gen = np.ones(NL)
    alive = np.zeros((n_comp, NL), dtype=np.bool_)  # company c alive at the start of the step, by lane
    n_alive = np.empty(n_comp, dtype=np.int64)  # the lanes where it is
    nend = np.empty(n_comp, dtype=np.int64)  # planned vintages nxt[c] .. nend[c] - 1 are bought in the step
    bought = np.empty(NL, dtype=np.bool_)
    for t in range(n_steps):
        skey = step_key(t, 0)  # the generator's counter hash of this step, shared by every company stream
        mk = buf[t]  # this step's market values, [variable, lane]
        # market alarm lights L1 (inference cost fell < 30 % in six months) and L2 (app margin < 50 %)
        # (branch-free lane loops, vectorised; before step lag - 1, L1 is off)
        l1_on = t >= lag - 1
        from_c0 = t - lag < 0
        tp = max(t - lag, 0)
        for l in range(lanes):
            prev = select(from_c0, c0, buf[tp, L.V_INFERENCE, l])
            l1 = l1_on & (mk[L.V_INFERENCE, l] > l1_factor * prev)
            demand_alarm[l] = select(l1 & (mk[L.V_GM, l] < 0.5), 1.0, 0.0)
        changed = False  # generation launches are rare: pow only where the count changed
        for l in range(lanes):
            changed |= mk[L.V_GEN, l] != gen[l]
        if changed:
            for l in range(lanes):
                if mk[L.V_GEN, l] != gen[l]:
                    g = mk[L.V_GEN, l]
                    gen[l] = g
                    k = int(g) if 0.0 <= g < GEN_POWERS else -1
                    if k >= 0 and k == g:  # a count met before in this call: its power as computed then
                        if gen_pow[k] != gen_pow[k]:
                            gen_pow[k] = (1.0 - drop) ** g
                        gen_factor[l] = gen_pow[k]  # FS_CAP x gen_factor is a vintage's relative price
                    else:
                        gen_factor[l] = (1.0 - drop) ** g
                    inv_gen[l] = 1.0 / gen_factor[l]  # the generation factor of a vintage bought now
        for l in range(lanes):
            surprise[l] = mk[L.V_LN_DEMAND, l] - dle[t]
        for c in range(n_comp):
            n = 0
            for l in range(lanes):
                alive[c, l] = st[c, S_DM, l] < 0.0
                n += alive[c, l]
            n_alive[c] = n
            ne = nxt[c]
            while ne < fptr[c + 1] and fpar[ne, CL.F_MONTH] == t:
                ne += 1
            nend[c] = ne
        # ---- the company step of every lane: each part steps every company in turn, company c where
        # it is alive at the start of step t (alive[c]; a company defaulted in every lane only gets its
        # lines). Counterparty defaults are read from st[:, S_DM] (end of the previous step: < t), so
        # the order of the companies does not matter.
        operations(t, lanes, dt, hours, skey, lines, shocks, pl, cbase, mk, ucon, gen_factor, surprise, net_hr,
                   subsidy, cpar, kpar, kptr, fpar, gidx, gptr, kcancel, ext_step, gfirst, n_alive, nxt, x, st, fs)
        financing(t, lanes, dt, W, n_alive, nxt, nend, alive, mk, inv_gen, cpar, tpar, tptr, fpar, covidx, covptr,
                  bought, x, st, ts, fs, sched, srow, ring)
        for c in range(n_comp):
            if n_alive[c] > 0:
                nxt[c] = nend[c]
        outcome(t, lanes, lines, alive, demand_alarm, cpar, tpar, tptr, x, st, ts, full, pflt, alarms)

    # per-path results
    for l in range(lanes):
        for c in range(n_comp):
            dm = int(st[c, S_DM, l])
            pint[l, c, CL.P_DEFAULT_MONTH] = dm
            pint[l, c, CL.P_CAUSE] = int(st[c, S_CAUSE, l])
            pint[l, c, CL.P_REC_MONTH] = int(st[c, S_REC_MONTH, l])
            pint[l, c, CL.P_STRESS_MONTH] = int(st[c, S_STRESS_MONTH, l])
            pint[l, c, CL.P_TROUGH_MONTH] = int(st[c, S_TROUGH_MONTH, l])
            pint[l, c, CL.P_FIRST_AVALANCHE] = int(st[c, S_FIRST_AV, l])
            if st[c, S_REC_MONTH, l] >= 0.0:
                pint[l, c, CL.P_REC_STATUS] = CL.REC_RECOVERED
            elif dm >= 0:
                pint[l, c, CL.P_REC_STATUS] = CL.REC_DEFAULTED
            elif st[c, S_STRESS_MONTH, l] < 0.0:
                pint[l, c, CL.P_REC_STATUS] = CL.REC_NEVER_STRESSED
            else:
                pint[l, c, CL.P_REC_STATUS] = CL.REC_CENSORED
            pflt[l, c, CL.PF_TROUGH] = select(st[c, S_STRESS_MONTH, l] >= 0.0, st[c, S_TROUGH, l], math.nan)
    # the months with each light lit, and P(default within 12 months | avalanche on) against all
    # months: the 12-month windows after each step t that fit in the horizon (t < n_steps - W), where
    # the company is alive at the end of t (never defaulted, or t < its default step dm): t < lim, the
    # lane's `open` bound; the window holds the default (dm <= t + W) for t >= dm - W, its `hit`
    # bound. Integer counts: over the steps for those that need the lights, lane by lane, 16-bit
    # (steps <= 600) and branch-free (a loop LLVM vectorises, 16 lanes a vector); from the bounds
    # for the others
    acc = np.empty((6, NL), dtype=np.int16)
    lim = np.empty(NL, dtype=np.int16)
    hit_from = np.empty(NL, dtype=np.int16)
    end = n_steps - W
    for c in range(n_comp):
        for l in range(lanes):
            dm = int(st[c, S_DM, l])
            lim[l] = end if dm < 0 else min(end, dm)
            hit_from[l] = n_steps if dm < 0 else dm - W
            n_open = max(int(lim[l]), 0)
            pint[l, c, CL.P_ALL_N] = n_open
            pint[l, c, CL.P_ALL_DEF12] = max(n_open - max(int(hit_from[l]), 0), 0)
            for k in range(6):
                acc[k, l] = 0
        for t in range(n_steps):
            t16 = np.int16(t)
            for l in range(lanes):
                a = alarms[c, t, l]
                av = (a & CL.ALARM_AVALANCHE) != 0
                open_av = av & (t16 < lim[l])  # (lit only where the company is alive)
                acc[0, l] += (a & CL.ALARM_ALIVE) != 0
                acc[1, l] += (a & CL.ALARM_DEMAND) != 0
                acc[2, l] += (a & CL.ALARM_LEVERAGE) != 0
                acc[3, l] += av
                acc[4, l] += open_av
                acc[5, l] += open_av & (t16 >= hit_from[l])
        for l in range(lanes):
            pint[l, c, CL.P_ALIVE_MONTHS] = acc[0, l]
            pint[l, c, CL.P_DEMAND_MONTHS] = acc[1, l]
            pint[l, c, CL.P_LEVERAGE_MONTHS] = acc[2, l]
            pint[l, c, CL.P_AVALANCHE_MONTHS] = acc[3, l]
            pint[l, c, CL.P_AV_N] = acc[4, l]
            pint[l, c, CL.P_AV_DEF12] = acc[5, l]
