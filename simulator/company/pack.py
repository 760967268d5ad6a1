"""Companies of a scenario -> the plain arrays of the company kernels.

Months become step indices (``months // months_per_step`` from the simulation
start); money per month becomes money per step; each month of a capex plan
item becomes one vintage. Layouts: :mod:`simulator._kernels.company_layout`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator._kernels import company_layout as CL
from simulator.drivers.hashrate import month_index
from simulator.errors import ScenarioError
from simulator.scenario.company import DEFAULT_LIFE_YEARS

#: Recovery rate by seniority (calibration.md section 8): S&P LossStats term
#: loans / revolvers 74 % (discounted); ultimate recovery 1987-2020: senior
#: secured bonds 61 %, senior unsecured 47 %, subordinated 28 % (converts are
#: ranked with subordinated debt).
RECOVERY_BY_SENIORITY = {
    "secured_loan": 0.74,
    "secured_bond": 0.61,
    "senior_unsecured": 0.47,
    "subordinated": 0.28,
    "convertible": 0.28,
}
#: Recovery of revolver draws (bank loans, S&P LossStats 74 %).
REVOLVER_RECOVERY = 0.74


@dataclass(frozen=True)
class CompanyInputs:
    """Everything the company kernels need (layouts in ``company_layout``).

    ``names`` are in kernel order (the scenario's order); ``opening_debt`` is
    drawn principal plus revolver at the start, USD, per company.
    """

    names: tuple[str, ...]
    cpar: np.ndarray
    kpar: np.ndarray
    kptr: np.ndarray
    tpar: np.ndarray
    tptr: np.ndarray
    fpar: np.ndarray
    fptr: np.ndarray
    opening_debt: np.ndarray

    @property
    def n(self) -> int:
        return len(self.names)

    def counterparties(self) -> dict:
        """``{company: [names of the scenario companies its contracts depend on]}``."""
        out = {}
        for c, name in enumerate(self.names):
            idx = self.kpar[self.kptr[c]:self.kptr[c + 1], CL.K_CPTY].astype(int)
            out[name] = [self.names[i] for i in sorted(set(idx[idx >= 0]))]
        return out

    def max_contracts(self) -> int:
        return int(np.diff(self.kptr).max()) if self.n else 0


def month_to_step(value, simulation, keypath: str) -> int:
    """A month field (int months from the start, or ``YYYY-MM``) -> step index (floor)."""
    months = value if isinstance(value, int) else month_index(value) - month_index(simulation.start)
    return months // simulation.months_per_step


def _life_steps(years, archetype, mps) -> float:
    return (years if years is not None else DEFAULT_LIFE_YEARS[archetype]) * 12.0 / mps


def straight_line(basis: float, first: int, remaining: float) -> tuple[float, int, float]:
    """Straight-line depreciation of ``basis`` (USD) from step ``first``, with ``remaining`` steps of life left then.

    Returns ``(rate, end, last)``: ``rate`` per step over steps ``first .. end - 1``, then ``last`` at
    step ``end`` - the charges of ``book / remaining`` on the declining book, step by step, with the
    whole book charged in the step where at most one step of life is left (MODEL.md 4). ``rate`` is 0
    when ``remaining <= 1`` (all of ``basis`` at ``first``).
    """
    if basis <= 0.0:
        return 0.0, first, 0.0
    if remaining <= 1.0:
        return 0.0, first, basis
    full = math.ceil(remaining - 1.0)  # steps with more than one step of life left
    return basis / remaining, first + full, basis * (remaining - full) / remaining


def _dep_columns(basis: float, first: int, remaining: float) -> list:
    """The F_DEP_FIRST, F_DEP_RATE, F_DEP_END, F_DEP_LAST columns of a vintage."""
    rate, end, last = straight_line(basis, first, remaining)
    return [first, rate, end, last]


def pack_companies(scenario) -> CompanyInputs:
    """Pack ``scenario.companies`` (in order) into kernel arrays.

    Raises
    ------
    ScenarioError
        A month that falls outside its allowed range, with its key path.
    """
    sim = scenario.simulation
    mps = sim.months_per_step
    n_steps = sim.n_steps
    names = tuple(scenario.companies)
    index = {name: i for i, name in enumerate(names)}
    fee_mult = 1.0 + scenario.drivers.hashrate.fee_share
    s0 = scenario.drivers.bitcoin.s0
    cpar = np.zeros((len(names), CL.N_CPAR))
    krows, trows, frows = [], [], []
    kptr, tptr, fptr = [0], [0], [0]
    opening_debt = np.zeros(len(names))
    for c, (name, co) in enumerate(scenario.companies.items()):
        key = f"companies.{name}"
        row = cpar[c]
        row[CL.C_ARCH] = CL.ARCHETYPES.index(co.archetype)
        row[CL.C_CASH0] = co.cash
        row[CL.C_MIN_CASH] = co.min_cash
        row[CL.C_OPEX_FIXED] = co.opex_fixed * mps
        row[CL.C_OPEX_VAR] = co.opex_variable
        row[CL.C_SITE_MW] = co.site_mw
        row[CL.C_POWER_FACTOR] = co.power_price_factor
        row[CL.C_PUE] = co.pue
        row[CL.C_TAX_RATE] = co.tax_rate
        row[CL.C_NOL0] = co.tax_loss_carryforward
        u = co.utilization
        row[CL.C_U_MEAN], row[CL.C_U_BETA], row[CL.C_U_KAPPA] = u.mean, u.beta_demand, u.kappa
        row[CL.C_U_SIGMA], row[CL.C_U_COMMON] = u.sigma, u.common
        if co.core is not None:
            row[CL.C_CORE_REV0], row[CL.C_CORE_MU], row[CL.C_CORE_SIGMA] = co.core.revenue0, co.core.growth, co.core.sigma
        if co.ai is not None:
            row[CL.C_AI_REV0] = co.ai.revenue0
        if co.mining is not None:
            row[CL.C_HASHRATE], row[CL.C_MINING_MW], row[CL.C_HODL] = (
                co.mining.hashrate_eh, co.mining.power_mw, co.mining.hodl_share)
        row[CL.C_BTC0], row[CL.C_HAIRCUT], row[CL.C_FEE_MULT] = co.treasury.btc, co.treasury.haircut, fee_mult
        if co.revolver is not None:
            rv = co.revolver
            row[CL.C_REV_LIMIT], row[CL.C_REV_DRAWN0], row[CL.C_REV_MARGIN] = rv.limit, rv.drawn, rv.margin
            row[CL.C_REV_RECOVERY] = rv.recovery if rv.recovery is not None else REVOLVER_RECOVERY
            opening_debt[c] += rv.drawn
        else:
            row[CL.C_REV_RECOVERY] = REVOLVER_RECOVERY
        rf = co.refinancing
        row[CL.C_REFI_MAX_SPREAD], row[CL.C_REFI_MAX_LEV] = rf.max_spread, rf.max_leverage
        row[CL.C_SPREAD_MULT], row[CL.C_REFI_TERM] = rf.spread_multiplier, max(1, rf.term_months // mps)
        if co.atm is not None:
            a = co.atm
            row[CL.C_ATM_CAP], row[CL.C_ATM_TARGET] = a.max_per_month * mps, a.target_cash
            row[CL.C_ATM_MIN_BTC], row[CL.C_ATM_MAX_SPREAD], row[CL.C_ATM_MIN_GROWTH] = (
                a.min_btc_ratio * s0, a.max_spread, a.min_demand_growth)
        row[CL.C_MAINT_CAPEX], row[CL.C_MAINT_SHARE] = co.maintenance_capex * mps, co.maintenance_capex_share
        row[CL.C_RUNWAY] = co.min_runway_months / mps
        rec = co.recovery
        row[CL.C_REC_MARGIN] = 1.0 if rec.metric == "fcf_margin" else 0.0
        row[CL.C_REC_THRESHOLD] = rec.threshold
        row[CL.C_REC_TARGET] = rec.target if rec.target is not None else rec.threshold
        if co.ttm is not None:
            row[CL.C_HAS_TTM] = 1.0
            row[CL.C_TTM_REV], row[CL.C_TTM_EBITDA] = co.ttm.revenue, co.ttm.ebitda
            row[CL.C_TTM_INTEREST], row[CL.C_TTM_FCF] = co.ttm.interest, co.ttm.fcf

        for i, k in enumerate(co.contracts):
            start = month_to_step(k.start, sim, f"{key}.contracts.{i}.start")
            end = month_to_step(k.end, sim, f"{key}.contracts.{i}.end")
            if end < start:
                raise ScenarioError(f"contract ends ({k.end}) before it starts ({k.start})",
                                    keypath=f"{key}.contracts.{i}.end")
            krows.append([CL.EXTERNAL if k.counterparty == "external" else index[k.counterparty],
                          k.monthly_amount * mps, start, end, k.prepaid_share, k.hazard,
                          1.0 if k.kind == "hosting" else 0.0])
        kptr.append(len(krows))

        for i, d in enumerate(co.debt):
            mat = month_to_step(d.maturity, sim, f"{key}.debt.{i}.maturity")
            if mat < 0:
                raise ScenarioError(f"maturity {d.maturity} is before the start {sim.start}",
                                    keypath=f"{key}.debt.{i}.maturity")
            cov = d.covenant
            trows.append([
                d.principal, 1.0 if d.rate == "floating" else 0.0, d.coupon, mat,
                1.0 if d.amortization == "linear" else 0.0,
                d.recovery if d.recovery is not None else RECOVERY_BY_SENIORITY[d.seniority],
                d.undrawn, d.draw_share,
                CL.NO_COVENANT if cov is None or cov.min_interest_coverage is None else cov.min_interest_coverage,
                CL.NO_COVENANT if cov is None or cov.max_net_leverage is None else cov.max_net_leverage,
                CL.NO_COVENANT if cov is None or cov.min_liquidity is None else cov.min_liquidity,
                1.0 if cov is None else float(-(-cov.cure_months // sim.months_per_step)),  # months -> steps, rounded up
                1.0 if d.refinanceable else 0.0,
            ])
            opening_debt[c] += d.principal
        tptr.append(len(trows))

        for i, f in enumerate(co.fleets):
            month = month_to_step(f.purchased, sim, f"{key}.fleets.{i}.purchased")
            if month > 0:
                raise ScenarioError("an opening fleet must be bought at or before the start; "
                                    "use capex_plan for later purchases", keypath=f"{key}.fleets.{i}.purchased")
            life = _life_steps(f.life_years, co.archetype, mps)
            econ = _life_steps(f.economic_life_years, co.archetype, mps) if f.economic_life_years else life
            book = f.book_value if f.book_value is not None else \
                f.gpus * f.unit_cost * max(0.0, 1.0 - (-month) / life)
            # depreciated from step 0, aged since its purchase
            frows.append([f.gpus, month, book, 0.0, life, econ, f.kw_per_gpu, f.price_factor,
                          f.contracted_share, f.generations_behind, 1.0, *_dep_columns(book, 0, life + month)])
        planned = []
        for i, item in enumerate(co.capex_plan):
            a = month_to_step(item.start, sim, f"{key}.capex_plan.{i}.start")
            b = month_to_step(item.end, sim, f"{key}.capex_plan.{i}.end")
            if a < 0 or b < a:
                raise ScenarioError(f"capex plan months must satisfy 0 <= start <= end (got {item.start}..{item.end})",
                                    keypath=f"{key}.capex_plan.{i}")
            life = _life_steps(item.life_years, co.archetype, mps)
            econ = _life_steps(item.economic_life_years, co.archetype, mps) if item.economic_life_years else life
            gpus = item.gpus_per_month * mps
            cost = gpus * item.unit_cost + item.usd_per_month * mps
            if cost <= 0.0:
                raise ScenarioError("a capex plan item must spend something (usd_per_month or gpus x unit_cost)",
                                    keypath=f"{key}.capex_plan.{i}")
            for s in range(a, min(b, n_steps - 1) + 1):
                # bought in step s, depreciated from the next: one step of age then
                planned.append([gpus, s, 0.0, cost, life, econ, item.kw_per_gpu, item.price_factor,
                                item.contracted_share, 0.0, 1.0 if item.committed else 0.0,
                                *_dep_columns(cost, s + 1, life - 1.0)])
        # the kernel needs the opening fleet first, then planned vintages in month order
        frows.extend(sorted(planned, key=lambda row: row[CL.F_MONTH]))
        fptr.append(len(frows))

    def table(rows, width):
        return np.ascontiguousarray(np.asarray(rows, dtype=float).reshape(len(rows), width))

    given = table(frows, CL.F_MW)  # the columns given per vintage, then the ones derived from them (a new C array)
    fpar = np.column_stack([given, given[:, CL.F_GPUS] * given[:, CL.F_KW] / 1000.0])
    return CompanyInputs(
        names=names, cpar=cpar,
        kpar=table(krows, CL.N_KPAR), kptr=np.asarray(kptr, dtype=np.int64),
        tpar=table(trows, CL.N_TPAR), tptr=np.asarray(tptr, dtype=np.int64),
        fpar=fpar, fptr=np.asarray(fptr, dtype=np.int64),
        opening_debt=opening_debt,
    )
