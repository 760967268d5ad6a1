"""The scenario schema: every key a scenario file may hold.

Models are frozen and reject unknown keys. Units: rates, spreads, growth and
volatilities are decimals per year (0.05 = 5 %/yr; volatilities per
sqrt(year)); prices are USD. ``docs/scenario-reference.md`` is generated from
the descriptions here (``python scripts/make_reference.py``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional

from pydantic import BeforeValidator, Field, field_validator, model_validator

from simulator.scenario.base import Frozen, check_scalar
from simulator.scenario.company import Company

#: A correlation coefficient: a number (not text) in [-1, 1].
Rho = Annotated[float, BeforeValidator(lambda v: check_scalar(float, v)), Field(ge=-1.0, le=1.0)]


Pos = dict(gt=0.0)
NonNeg = dict(ge=0.0)


class Simulation(Frozen):
    """Run size and time grid."""

    paths: int = Field(10_000, gt=0, le=100_000_000, description="Number of Monte Carlo paths.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the counter-based random streams (same seed, same numbers).")
    horizon_years: float = Field(5.0, gt=0.0, le=50.0, description="Horizon in years.")
    steps_per_year: Literal[1, 2, 3, 4, 6, 12] = Field(
        12, description="Time steps per year (a divisor of 12, so that every step is a whole number of months)."
    )
    start: str = Field("2026-09", description="Calendar month of the first step, YYYY-MM.")

    @field_validator("start")
    @classmethod
    def _month(cls, v: str) -> str:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v):
            raise ValueError("must be a calendar month written YYYY-MM, e.g. 2026-09")
        return v

    @model_validator(mode="after")
    def _whole_steps(self):
        n = self.horizon_years * self.steps_per_year
        if abs(n - round(n)) > 1e-9:
            raise ValueError(
                f"horizon_years * steps_per_year = {n:g} is not a whole number of steps"
            )
        return self

    @property
    def n_steps(self) -> int:
        return int(round(self.horizon_years * self.steps_per_year))

    @property
    def dt(self) -> float:
        return 1.0 / self.steps_per_year

    @property
    def months_per_step(self) -> int:
        return 12 // self.steps_per_year


class SeriesFile(Frozen):
    """A monthly series read from CSV (``date,value`` rows), for replay or bootstrap."""

    csv: str = Field(description="CSV path, relative to the scenario file that names it.")
    column: Optional[str] = Field(None, description="Value column; default: the second column.")
    start: Optional[str] = Field(
        None, description="First month used (YYYY-MM); default: the first row."
    )
    scale: float = Field(1.0, gt=0.0, description="Multiplier applied to values (0.01 turns percent into decimals).")


class Bitcoin(Frozen):
    """Bitcoin price ``S`` (USD)."""

    model: Literal["gbm", "jump_diffusion", "regime", "replay", "bootstrap"] = Field(
        "jump_diffusion", description="Price model."
    )
    s0: float = Field(gt=0.0, description="Price at the start, USD.")
    mu: float = Field(0.0, ge=-5.0, le=5.0, description="Expected total return per year: E[S_t] = s0 exp(mu t) (bull regime for `regime`).")
    sigma: float = Field(0.5, gt=0.0, le=5.0, description="Diffusion volatility per sqrt(year) (bull regime for `regime`).")
    jump_rate: float = Field(0.0, ge=0.0, le=365.0, description="Poisson jump intensity per year (jump_diffusion).")
    jump_mean: float = Field(0.0, ge=-5.0, le=5.0, description="Mean log jump size (jump_diffusion).")
    jump_std: float = Field(0.0, ge=0.0, le=5.0, description="Standard deviation of log jump size (jump_diffusion).")
    bear_mu: float = Field(-0.6, ge=-5.0, le=5.0, description="Expected return per year in the bear regime (regime).")
    bear_sigma: float = Field(0.7, gt=0.0, le=5.0, description="Volatility in the bear regime (regime).")
    bear_rate: float = Field(0.25, ge=0.0, le=100.0, description="Intensity per year of switching bull -> bear (regime).")
    bull_rate: float = Field(1.0, ge=0.0, le=100.0, description="Intensity per year of switching bear -> bull (regime).")
    start_regime: Literal["bull", "bear"] = Field("bull", description="Regime at the start (regime).")
    data: Optional[SeriesFile] = Field(None, description="Monthly price CSV (replay, bootstrap).")
    block_months: int = Field(12, gt=0, le=600, description="Block length in months (bootstrap).")

    @model_validator(mode="after")
    def _needs_data(self):
        if self.model in ("replay", "bootstrap") and self.data is None:
            raise ValueError(f"model '{self.model}' needs `data: {{csv: ...}}`")
        return self


class Rates(Frozen):
    """Short rate ``r`` (decimal per year). Floating coupons pay ``r + margin``."""

    model: Literal["vasicek", "cir", "replay"] = Field("vasicek", description="Short-rate model.")
    r0: float = Field(ge=-0.05, le=0.5, description="Short rate at the start.")
    kappa: float = Field(0.25, gt=0.0, le=20.0, description="Mean-reversion speed per year.")
    theta: float = Field(0.0325, ge=-0.05, le=0.5, description="Long-run mean.")
    sigma: float = Field(0.009, gt=0.0, le=2.0, description="Volatility (Vasicek: absolute per sqrt(year); CIR: per sqrt(rate * year)).")
    data: Optional[SeriesFile] = Field(None, description="Monthly rate CSV (replay).")

    @model_validator(mode="after")
    def _check(self):
        if self.model == "replay" and self.data is None:
            raise ValueError("model 'replay' needs `data: {csv: ...}`")
        if self.model == "cir":
            if self.r0 < 0:
                raise ValueError(f"CIR needs r0 >= 0 (got r0 = {self.r0:g})")
            if self.theta <= 0:
                raise ValueError(f"CIR needs theta > 0 (got theta = {self.theta:g})")
        return self

    def feller_problem(self) -> str | None:
        """For CIR: why the Feller condition ``2 kappa theta >= sigma^2`` fails, else None.

        Breaking it is allowed (a warning, not an error): the rate can then
        touch zero, and the Andersen QE scheme keeps it non-negative.
        """
        if self.model != "cir" or 2 * self.kappa * self.theta >= self.sigma**2:
            return None
        return (f"CIR parameters break the Feller condition 2*kappa*theta >= sigma^2 "
                f"(2*{self.kappa:g}*{self.theta:g} = {2 * self.kappa * self.theta:.4g} < {self.sigma**2:.4g}); "
                "the rate can touch zero (the QE scheme keeps it non-negative)")


class Spread(Frozen):
    """High-yield credit spread ``h`` (decimal): log-OU with upward jumps."""

    h0: float = Field(gt=0.0, le=1.0, description="Spread at the start.")
    kappa: float = Field(0.42, gt=0.0, le=20.0, description="Mean reversion of log spread per year.")
    long_run: float = Field(0.048, gt=0.0, le=1.0, description="Long-run level, exp of the long-run mean of log spread.")
    sigma: float = Field(0.36, gt=0.0, le=5.0, description="Volatility of log spread per sqrt(year).")
    jump_rate: float = Field(0.0, ge=0.0, le=50.0, description="Jump intensity per year.")
    jump_mean: float = Field(0.0, ge=-3.0, le=3.0, description="Mean jump in log spread.")
    jump_std: float = Field(0.0, ge=0.0, le=3.0, description="Standard deviation of the jump in log spread.")


class Gpu(Frozen):
    """GPU rental price ``P`` (USD per GPU-hour, H100-equivalent, newest generation)."""

    p0: float = Field(gt=0.0, le=1000.0, description="Rental price at the start, USD per GPU-hour.")
    decline: float = Field(0.30, ge=0.0, lt=1.0, description="Trend price decline per year (0.3 = -30 %/yr).")
    kappa: float = Field(1.5, gt=0.0, le=50.0, description="Mean reversion of the log-price deviation per year.")
    sigma: float = Field(0.35, gt=0.0, le=5.0, description="Volatility of the log-price deviation per sqrt(year).")
    generation_rate: float = Field(0.0, ge=0.0, le=12.0, description="Poisson rate of new-generation launches per year (if generation_months is 0).")
    generation_months: float = Field(0.0, ge=0.0, le=600.0, description="Months between deterministic generation launches (0: use generation_rate).")
    generation_drop: float = Field(0.2, ge=0.0, lt=1.0, description="Relative price drop of every older fleet at each launch.")


class Demand(Frozen):
    """AI demand index ``D`` (D0 = 1): log D grows at a mean-reverting rate ``g``."""

    g0: float = Field(ge=-2.0, le=5.0, description="Log growth rate per year at the start.")
    g_long: float = Field(0.2, ge=-2.0, le=5.0, description="Long-run log growth rate per year.")
    half_life: float = Field(2.0, gt=0.0, le=100.0, description="Half-life of growth's mean reversion, years.")
    sigma_g: float = Field(0.4, gt=0.0, le=10.0, description="Volatility of growth per sqrt(year).")


class Inference(Frozen):
    """Inference cost ``C`` (USD per 1k tokens): falling GBM."""

    c0: float = Field(gt=0.0, description="Cost at the start, USD per 1k tokens.")
    decline: float = Field(0.6, ge=0.0, lt=1.0, description="Expected decline per year: E[C_t] = c0 (1 - decline)^t.")
    sigma: float = Field(0.3, gt=0.0, le=5.0, description="Volatility per sqrt(year).")


class Tokens(Frozen):
    """Token price (relative to the start) and the AI-application gross margin."""

    decline: float = Field(0.5, ge=0.0, lt=1.0, description="Expected decline per year of the token price.")
    sigma: float = Field(0.0, ge=0.0, le=5.0, description="Volatility per sqrt(year) (0: deterministic).")
    gm0: float = Field(0.5, ge=-1.0, le=1.0, description="AI-application gross margin at the start.")


class Power(Frozen):
    """Power price (USD per MWh): log-OU."""

    p0: float = Field(gt=0.0, le=10_000.0, description="Price at the start, USD/MWh.")
    kappa: float = Field(1.0, gt=0.0, le=50.0, description="Mean reversion per year.")
    long_run: float = Field(80.0, gt=0.0, le=10_000.0, description="Long-run level, USD/MWh.")
    sigma: float = Field(0.25, gt=0.0, le=5.0, description="Volatility of log price per sqrt(year).")


class Hashrate(Frozen):
    """Bitcoin network hashrate (deterministic) and block subsidy."""

    h0: float = Field(1000.0, gt=0.0, description="Network hashrate at the start, EH/s.")
    growth: float = Field(0.35, gt=-1.0, le=10.0, description="Growth per year (0.35 = +35 %/yr).")
    subsidy: float = Field(3.125, gt=0.0, le=50.0, description="Block subsidy at the start, BTC.")
    halvings: tuple[str, ...] = Field(("2028-04",), description="Calendar months (YYYY-MM) at which the subsidy halves.")
    fee_share: float = Field(0.02, ge=0.0, le=10.0, description="Transaction fees as a share of the subsidy.")

    @field_validator("halvings")
    @classmethod
    def _months(cls, v):
        for m in v:
            if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", m):
                raise ValueError(f"halving month {m!r} must be written YYYY-MM")
        return v


class Drivers(Frozen):
    """Market drivers: one draw per path, shared by every company on it."""

    bitcoin: Bitcoin
    rates: Rates
    spread: Spread
    gpu: Gpu
    demand: Demand
    inference: Inference
    tokens: Tokens = Tokens()
    power: Power
    hashrate: Hashrate = Hashrate()


FactorName = Literal[
    "bitcoin", "rates", "spread", "gpu", "demand", "inference", "tokens", "power", "utilization"
]


class Correlation(Frozen):
    """Correlation of the standard-normal market factors (identity by default).

    Give a full ``matrix`` (rows and columns in the order of ``factors``) and/or
    ``pairs`` (``pairs: {bitcoin: {spread: -0.3}}``); pairs override the matrix.
    """

    factors: Optional[tuple[FactorName, ...]] = Field(
        None, description="Order of the rows of `matrix`; default: all factors in canonical order."
    )
    matrix: Optional[tuple[tuple[Rho, ...], ...]] = Field(None, description="Full correlation matrix.")
    pairs: dict[FactorName, dict[FactorName, Rho]] = Field(
        default_factory=dict, description="Pairwise correlations, e.g. {bitcoin: {spread: -0.3}}."
    )
    repair: bool = Field(
        False, description="Repair a matrix that is not positive semi-definite to the nearest correlation matrix (Higham 2002), and report it."
    )

    @field_validator("pairs")
    @classmethod
    def _range(cls, v):
        for a, row in v.items():
            for b, rho in row.items():
                if a == b and rho != 1.0:
                    raise ValueError(f"correlation of {a} with itself must be 1")
        return v


class Scenario(Frozen):
    """A fully resolved scenario."""

    name: str = Field(description="Scenario name (default: the file name without extension).")
    description: str = Field("", description="Free text.")
    probability: float = Field(1.0, ge=0.0, le=1.0, description="Probability weight in a blend of scenarios.")
    simulation: Simulation = Simulation()
    drivers: Drivers
    correlation: Correlation = Correlation()
    companies: dict[str, Company] = Field(default_factory=dict, description="Companies simulated on every path.")

    @model_validator(mode="after")
    def _counterparties(self):
        """Every contract's counterparty names a company of this scenario or `external`."""
        from simulator.errors import ScenarioError

        valid = sorted(self.companies) + ["external"]
        for name, company in self.companies.items():
            for i, contract in enumerate(company.contracts):
                if contract.counterparty not in valid:
                    raise ScenarioError(
                        f"unknown counterparty {contract.counterparty!r} (valid: {', '.join(valid)})",
                        keypath=f"companies.{name}.contracts.{i}.counterparty")
                if contract.counterparty == name:
                    raise ScenarioError("a company cannot be its own counterparty",
                                        keypath=f"companies.{name}.contracts.{i}.counterparty")
        return self
