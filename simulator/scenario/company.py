"""Company definitions (schema): the balance sheet a company starts from and
the rules it runs by (MODEL.md section 4-6).

Units: money in USD; flows per month unless a name says ``per year``; rates,
coupons, margins, spreads and growth as decimals per year; power in MW; GPU
counts in H100-equivalents. A *month* field takes either an integer (months
from the simulation start, 0 = the first simulated month, negative = before
the start) or a calendar month ``YYYY-MM``; it is turned into a step index when
the scenario is packed (:mod:`simulator.company.pack`).

The archetype decides which revenue lines a company may have and a few
defaults (:data:`ARCHETYPE_LINES`, :data:`DEFAULT_LIFE_YEARS`).
"""

from __future__ import annotations

import re
from typing import Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from simulator.scenario.base import Frozen

Month = Union[int, str]

Archetype = Literal["hyperscaler", "neocloud", "miner", "ai_app"]

#: Optional revenue sections each archetype may hold (MODEL.md 4.1).
ARCHETYPE_LINES = {
    "hyperscaler": {"core", "ai"},
    "neocloud": set(),
    "miner": {"mining"},
    "ai_app": {"ai"},
}

#: Default accounting life of GPUs and servers, years (calibration.md section 3:
#: Microsoft, Alphabet and CoreWeave 6 years; miners' ASIC/GPU sites 5; labs 5).
DEFAULT_LIFE_YEARS = {"hyperscaler": 6.0, "neocloud": 6.0, "miner": 5.0, "ai_app": 5.0}

Seniority = Literal["secured_loan", "secured_bond", "senior_unsecured", "subordinated", "convertible"]


def _check_month(v):
    if isinstance(v, str) and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v):
        raise ValueError(f"month {v!r} must be an integer (months from the start) or YYYY-MM")
    return v


class Contract(Frozen):
    """A take-or-pay contract: contracted GPU capacity or a hosting lease."""

    counterparty: str = Field(description="Who pays: the name of another company in the scenario, or `external`.")
    monthly_amount: float = Field(ge=0.0, description="Revenue recognised per month while the contract runs, USD per month.")
    start: Month = Field(0, description="First month of service (months from the start, or YYYY-MM).")
    end: Month = Field(description="Last month of service, inclusive (months from the start, or YYYY-MM).")
    prepaid_share: float = Field(0.0, ge=0.0, le=1.0, description="Share of each month's revenue that was prepaid before the simulation (recognised, not received in cash).")
    hazard: float = Field(0.0, ge=0.0, le=10.0, description="Annual default hazard of an `external` counterparty, per year (ignored for named companies).")
    kind: Literal["gpu", "hosting"] = Field("gpu", description="Revenue line: contracted GPU capacity or a hosting (powered-shell) lease.")

    @field_validator("start", "end")
    @classmethod
    def _months(cls, v):
        return _check_month(v)


class Covenant(Frozen):
    """Maintenance covenants of a tranche, tested at each month end on trailing-12-month figures."""

    min_interest_coverage: Optional[float] = Field(None, gt=0.0, description="Minimum trailing-12-month EBITDA / interest, times.")
    max_net_leverage: Optional[float] = Field(None, gt=0.0, description="Maximum (debt - cash) / trailing-12-month EBITDA, times.")
    min_liquidity: Optional[float] = Field(None, ge=0.0, description="Minimum cash + undrawn revolver, USD.")
    cure_months: int = Field(1, ge=1, le=60, description="Consecutive breached months after which the company defaults (1 = at once).")


class Tranche(Frozen):
    """A debt tranche: term loan, delayed-draw facility, bond or convertible."""

    name: str = Field(description="Label, e.g. `DDTL 2.0`.")
    principal: float = Field(ge=0.0, description="Drawn principal at the start, USD.")
    rate: Literal["fixed", "floating"] = Field("fixed", description="Fixed coupon, or floating at short rate + margin.")
    coupon: float = Field(ge=0.0, le=1.0, description="Fixed coupon per year, or the margin over the short rate if floating.")
    maturity: Month = Field(description="Month in which the remaining principal falls due (months from the start, or YYYY-MM).")
    amortization: Literal["bullet", "linear"] = Field("bullet", description="bullet: all at maturity; linear: equal shares of the balance each month until maturity.")
    seniority: Seniority = Field("senior_unsecured", description="Rank, which sets the recovery rate on default.")
    recovery: Optional[float] = Field(None, ge=0.0, le=1.0, description="Recovery rate on default; default by seniority (docs/company-model.md).")
    undrawn: float = Field(0.0, ge=0.0, description="Delayed-draw commitment still available at the start, USD; drawn to fund capex.")
    draw_share: float = Field(1.0, ge=0.0, le=1.0, description="Share of each month's capex funded by delayed draws while commitment remains.")
    covenant: Optional[Covenant] = Field(None, description="Maintenance covenants of this tranche.")
    refinanceable: bool = Field(True, description="Whether the tranche may be refinanced at maturity (the spread and leverage tests still apply).")

    @field_validator("maturity")
    @classmethod
    def _months(cls, v):
        return _check_month(v)


class Revolver(Frozen):
    """A revolving credit facility: drawn to cover cash shortfalls, repaid from cash above `min_cash`."""

    limit: float = Field(ge=0.0, description="Commitment, USD.")
    drawn: float = Field(0.0, ge=0.0, description="Drawn at the start, USD.")
    margin: float = Field(0.02, ge=0.0, le=1.0, description="Margin over the short rate per year.")
    recovery: Optional[float] = Field(None, ge=0.0, le=1.0, description="Recovery rate on default (default: bank loans).")

    @model_validator(mode="after")
    def _fits(self):
        if self.drawn > self.limit:
            raise ValueError(f"drawn {self.drawn:g} exceeds the limit {self.limit:g}")
        return self


class Fleet(Frozen):
    """A vintage of GPUs (or, with `gpus: 0`, of other property and equipment) on the books at the start."""

    gpus: float = Field(0.0, ge=0.0, description="GPUs, H100-equivalent count (0: PP&E without rental revenue).")
    unit_cost: float = Field(0.0, ge=0.0, description="Purchase cost per GPU, USD.")
    book_value: Optional[float] = Field(None, ge=0.0, description="Book value at the start, USD (default: straight line from cost and age).")
    purchased: Month = Field(0, description="Month of purchase (negative or before the start for the opening fleet).")
    life_years: Optional[float] = Field(None, gt=0.0, le=40.0, description="Accounting life, years (default by archetype).")
    economic_life_years: Optional[float] = Field(None, gt=0.0, le=40.0, description="Economic life for rental and impairment, years (default: the accounting life).")
    kw_per_gpu: float = Field(1.3, ge=0.0, le=20.0, description="All-in IT power per GPU, kW (DGX H100 10.2 kW / 8).")
    price_factor: float = Field(1.0, gt=0.0, le=20.0, description="Rental price relative to the H100-equivalent market price.")
    contracted_share: float = Field(0.0, ge=0.0, le=1.0, description="Share of the fleet serving contracts (earns contract revenue, not spot).")
    generations_behind: int = Field(0, ge=0, le=20, description="Generations the fleet already lags the newest at the start.")

    @field_validator("purchased")
    @classmethod
    def _months(cls, v):
        return _check_month(v)


class CapexItem(Frozen):
    """A line of the planned capex schedule: spend per month from `start` to `end`."""

    start: Month = Field(0, description="First month (months from the start, or YYYY-MM).")
    end: Month = Field(description="Last month, inclusive.")
    usd_per_month: float = Field(0.0, ge=0.0, description="Dollar capex per month without rental GPUs (buildings, servers for the core business), USD per month.")
    gpus_per_month: float = Field(0.0, ge=0.0, description="GPUs bought per month (H100-equivalent); their cost is gpus x unit_cost.")
    unit_cost: float = Field(0.0, ge=0.0, description="Cost per GPU, USD.")
    life_years: Optional[float] = Field(None, gt=0.0, le=40.0, description="Accounting life, years (default by archetype).")
    economic_life_years: Optional[float] = Field(None, gt=0.0, le=40.0, description="Economic life, years (default: accounting life).")
    kw_per_gpu: float = Field(1.3, ge=0.0, le=20.0, description="All-in IT power per GPU, kW.")
    price_factor: float = Field(1.0, gt=0.0, le=20.0, description="Rental price relative to the H100-equivalent market price.")
    contracted_share: float = Field(0.0, ge=0.0, le=1.0, description="Share of the GPUs serving contracts.")
    committed: bool = Field(False, description="Committed spend is never cancelled by the liquidity discipline rule.")

    @field_validator("start", "end")
    @classmethod
    def _months(cls, v):
        return _check_month(v)


class Utilization(Frozen):
    """Spot utilisation: logit-OU around logit(mean) + beta_demand x demand surprise."""

    mean: float = Field(0.7, gt=0.0, lt=1.0, description="Long-run utilisation at zero demand surprise.")
    beta_demand: float = Field(1.0, ge=-20.0, le=20.0, description="Shift of logit utilisation per unit of log demand surprise.")
    kappa: float = Field(2.0, gt=0.0, le=50.0, description="Mean reversion of the logit deviation per year.")
    sigma: float = Field(0.5, ge=0.0, le=10.0, description="Volatility of the logit deviation per sqrt(year).")
    common: float = Field(0.6, ge=0.0, le=1.0, description="Loading on the common `utilization` market factor; the rest is the company's own shock.")


class Core(Frozen):
    """The hyperscaler's cash-cow business: GBM revenue."""

    revenue0: float = Field(ge=0.0, description="Revenue at the start, USD per year.")
    growth: float = Field(0.08, ge=-1.0, le=2.0, description="Expected growth per year (E[R_t] = R_0 exp(growth t)).")
    sigma: float = Field(0.10, ge=0.0, le=2.0, description="Volatility per sqrt(year).")


class AiRevenue(Frozen):
    """AI revenue that scales with the AI demand index D (D0 = 1)."""

    revenue0: float = Field(ge=0.0, description="AI revenue at D = 1, USD per year.")


class Mining(Frozen):
    """Bitcoin mining: own hashrate against the network."""

    hashrate_eh: float = Field(ge=0.0, description="Own hashrate, EH/s.")
    power_mw: float = Field(0.0, ge=0.0, description="Power drawn by the mining fleet, MW.")
    hodl_share: float = Field(0.0, ge=0.0, le=1.0, description="Share of mined bitcoin kept in the treasury.")


class Treasury(Frozen):
    """Bitcoin held, marked at the market price; sold with a haircut to meet shortfalls."""

    btc: float = Field(0.0, ge=0.0, description="Bitcoin held at the start, BTC.")
    haircut: float = Field(0.10, ge=0.0, le=1.0, description="Discount on forced sales (slippage and collateral locks).")


class Refinancing(Frozen):
    """The refinancing test at maturity (MODEL.md 4.7)."""

    max_spread: float = Field(0.10, ge=0.0, le=2.0, description="Largest company spread (multiplier x HY spread) at which the market refinances, decimal per year.")
    max_leverage: float = Field(6.0, ge=0.0, le=1000.0, description="Largest net debt / trailing-12-month EBITDA at which the market refinances, times.")
    spread_multiplier: float = Field(1.0, gt=0.0, le=20.0, description="Company spread = multiplier x HY spread.")
    term_months: int = Field(60, ge=1, le=480, description="Term of the refinancing bond, months (fixed coupon r + multiplier x h, bullet).")


class Atm(Frozen):
    """At-the-market equity (or private funding rounds): raised while the market is open."""

    max_per_month: float = Field(ge=0.0, description="Most equity raised in one month, USD.")
    target_cash: float = Field(0.0, ge=0.0, description="Raise while cash is below this, USD.")
    min_btc_ratio: float = Field(0.0, ge=0.0, description="Open only while the bitcoin price is at least this multiple of its start value.")
    max_spread: float = Field(1.0, gt=0.0, description="Open only while the HY spread is at most this, decimal.")
    min_demand_growth: float = Field(-10.0, description="Open only while AI demand growth is at least this, per year.")


class RecoveryRule(Frozen):
    """FCF recovery rule (MODEL.md section 6), on trailing-12-month figures."""

    metric: Literal["fcf", "fcf_margin"] = Field("fcf", description="fcf: USD; fcf_margin: FCF / revenue.")
    threshold: float = Field(0.0, description="Falling below starts a stress episode (USD or decimal).")
    target: Optional[float] = Field(None, description="Reaching it ends the episode (default: the threshold).")


class Ttm(Frozen):
    """Trailing-12-month figures before the start (fill the trailing window)."""

    revenue: float = Field(ge=0.0, description="Revenue, USD.")
    ebitda: float = Field(description="EBITDA, USD.")
    interest: float = Field(ge=0.0, description="Interest, USD.")
    fcf: float = Field(description="Free cash flow, USD.")


class Company(Frozen):
    """One company simulated on every path (MODEL.md section 4)."""

    archetype: Archetype = Field(description="Which lines are present: hyperscaler, neocloud, miner or ai_app.")
    description: str = Field("", description="Free text (source of the calibration).")
    cash: float = Field(0.0, ge=0.0, description="Cash at the start, USD.")
    min_cash: float = Field(0.0, ge=0.0, description="Operating cash kept before repaying the revolver, USD.")
    opex_fixed: float = Field(0.0, ge=0.0, description="Fixed cash operating cost, USD per month.")
    opex_variable: float = Field(0.0, ge=0.0, le=2.0, description="Variable cash operating cost as a share of revenue.")
    site_mw: float = Field(0.0, ge=0.0, description="IT load outside the GPU fleets (hosting shells, other data centres), MW.")
    pue: float = Field(1.2, ge=1.0, le=3.0, description="Power usage effectiveness: facility power / IT power.")
    power_price_factor: float = Field(1.0, gt=0.0, le=5.0, description="Price paid for power as a multiple of the market power price (hedges, PPAs, cheap sites).")
    tax_rate: float = Field(0.21, ge=0.0, le=1.0, description="Tax rate on positive taxable income.")
    tax_loss_carryforward: float = Field(0.0, ge=0.0, description="Tax losses carried forward at the start, USD.")
    contracts: tuple[Contract, ...] = Field((), description="Take-or-pay contracts (GPU capacity, hosting leases).")
    utilization: Utilization = Field(Utilization(), description="Spot utilisation model.")
    core: Optional[Core] = Field(None, description="Core business revenue (hyperscaler only).")
    ai: Optional[AiRevenue] = Field(None, description="AI revenue x D (hyperscaler; required for ai_app, whose cost of revenue follows the application gross margin).")
    mining: Optional[Mining] = Field(None, description="Bitcoin mining (miner only).")
    treasury: Treasury = Field(Treasury(), description="Bitcoin treasury.")
    fleets: tuple[Fleet, ...] = Field((), description="GPU vintages and PP&E on the books at the start.")
    capex_plan: tuple[CapexItem, ...] = Field((), description="Planned capex schedule; each month's purchase becomes a vintage.")
    maintenance_capex: float = Field(0.0, ge=0.0, description="Maintenance capex, USD per month (committed).")
    maintenance_capex_share: float = Field(0.0, ge=0.0, le=1.0, description="Maintenance capex as a share of revenue (committed).")
    min_runway_months: float = Field(0.0, ge=0.0, le=120.0, description="Discipline rule: uncommitted capex is cancelled in a month where (cash + undrawn revolver - that capex) would cover fewer than this many months of fixed charges (cash opex, power, interest, scheduled amortisation).")
    debt: tuple[Tranche, ...] = Field((), description="Debt tranches.")
    revolver: Optional[Revolver] = Field(None, description="Revolving credit facility.")
    refinancing: Refinancing = Field(Refinancing(), description="Refinancing test at maturity.")
    atm: Optional[Atm] = Field(None, description="At-the-market equity raises.")
    recovery: RecoveryRule = Field(RecoveryRule(), description="FCF recovery rule.")
    ttm: Optional[Ttm] = Field(None, description="Trailing-12-month figures before the start (default: the first month, annualised).")

    @model_validator(mode="after")
    def _lines(self):
        allowed = ARCHETYPE_LINES[self.archetype]
        for line in ("core", "ai", "mining"):
            if getattr(self, line) is not None and line not in allowed:
                ok = ", ".join(sorted(allowed)) or "none"
                raise ValueError(f"archetype {self.archetype} has no `{line}` line (its optional lines: {ok})")
        if self.archetype == "ai_app" and self.ai is None:
            raise ValueError("archetype ai_app needs `ai: {revenue0: ...}`")
        names = [t.name for t in self.debt]
        if len(set(names)) != len(names):
            raise ValueError(f"debt tranche names must be unique, got {names}")
        return self
