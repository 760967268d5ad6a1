"""Monte Carlo estimates of every driver's moments against their closed forms.

One list of checks serves both ``tests/test_drivers.py`` (each check is a test,
tolerance 4 standard errors) and ``scripts/closed_form_table.py`` (the table in
``docs/drivers.md``), so the documented numbers are exactly what is tested.

Standard errors (``n`` paths, one value per path)
------------------------------------------------
- mean: ``sd / sqrt(n)``;
- variance: ``sqrt((m4 - s^4) / n)`` with ``m4`` the sample fourth central
  moment and ``s^2`` the sample variance (delta method, no normality assumed);
- median of a normal variable (``ln`` of a log-normal price): the asymptotic
  ``1 / (2 f(median) sqrt(n))`` with ``f`` the normal density at its median,
  ``f = 1 / (sqrt(2 pi) sd)``, i.e. ``sd sqrt(pi / 2) / sqrt(n)``; ``sd`` is the
  sample standard deviation, so the error bar does not lean on the formula
  under test;
- a weighted sum of independent estimates: the square root of the weighted
  sum of their squared standard errors.

The closed forms come from the driver modules (:mod:`simulator.drivers`); the
simulated values from :func:`simulator.engine.run_market` on a base scenario
with the overrides in :data:`CONFIGS`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from simulator._kernels import layout as L
from simulator.drivers import bitcoin, demand, gpu, inference, power, rates, spread

#: Scenario overrides (``--set`` syntax) of each simulated configuration.
CONFIGS = {
    # bitcoin jump-diffusion, Vasicek, spread with jumps, Poisson GPU launches
    "base": ["drivers.bitcoin.model=jump_diffusion", "drivers.rates.model=vasicek",
             "drivers.gpu.generation_months=0"],
    # gbm, CIR with the Feller condition violated (exercises both QE branches),
    # spread without jumps, deterministic GPU launches
    "alt": ["drivers.bitcoin.model=gbm", "drivers.rates.model=cir", "drivers.rates.sigma=0.2",
            "drivers.spread.jump_rate=0", "drivers.gpu.generation_months=18"],
    "regime_bull": ["drivers.bitcoin.model=regime", "drivers.bitcoin.start_regime=bull"],
    # simulated on the next block of global paths, so independent of regime_bull
    "regime_bear": ["drivers.bitcoin.model=regime", "drivers.bitcoin.start_regime=bear"],
    # equal regimes: bear_mu and bear_sigma set to mu and sigma below
    "regime_equal": ["drivers.bitcoin.model=regime"],
}

#: (driver, quantity) of every check; each is evaluated at every horizon.
CASES = (
    ("bitcoin gbm", "E[ln S]"),
    ("bitcoin gbm", "Var[ln S]"),
    ("bitcoin gbm", "E[S]"),
    ("bitcoin jump_diffusion", "E[ln S]"),
    ("bitcoin jump_diffusion", "Var[ln S]"),
    ("bitcoin jump_diffusion", "E[S]"),
    ("bitcoin regime", "P(bear at t | bull at 0)"),
    ("bitcoin regime", "bear time share, stationary start"),
    ("bitcoin regime, equal regimes", "E[ln S]"),
    ("bitcoin regime, equal regimes", "Var[ln S]"),
    ("rates vasicek", "E[r]"),
    ("rates vasicek", "Var[r]"),
    ("rates cir", "E[r]"),
    ("rates cir", "Var[r]"),
    ("spread log-OU", "median ln h"),
    ("spread log-OU + jumps", "E[ln h]"),
    ("spread log-OU + jumps", "Var[ln h]"),
    ("power log-OU", "median ln P"),
    ("power log-OU", "E[ln P]"),
    ("power log-OU", "Var[ln P]"),
    ("gpu", "E[ln P]"),
    ("gpu", "Var[ln P]"),
    ("gpu launches, Poisson", "E[N]"),
    ("gpu launches, Poisson", "Var[N]"),
    ("demand", "E[ln D]"),
    ("demand", "Var[ln D]"),
    ("demand", "E[g]"),
    ("demand", "Var[g]"),
    ("inference", "E[ln C]"),
    ("inference", "Var[ln C]"),
    ("inference", "E[C]"),
    ("tokens", "E[ln p]"),
    ("tokens", "Var[ln p]"),
)

#: Horizons (months) checked by the tests.
HORIZONS = (1, 12, 60)


@dataclass(frozen=True)
class Check:
    """One Monte Carlo estimate against its exact value."""

    driver: str
    quantity: str
    months: int
    estimate: float
    exact: float
    se: float

    @property
    def z(self) -> float:
        """``(estimate - exact) / se``."""
        return (self.estimate - self.exact) / self.se


def se_mean(x: np.ndarray) -> tuple[float, float]:
    """Sample mean and its standard error ``sd / sqrt(n)``."""
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def se_var(x: np.ndarray) -> tuple[float, float]:
    """Sample variance and its standard error ``sqrt((m4 - s^4) / n)``."""
    d = x - x.mean()
    s2 = float((d * d).mean())
    m4 = float((d**4).mean())
    return float(x.var(ddof=1)), math.sqrt(max(m4 - s2 * s2, 0.0) / x.size)


def se_median_normal(x: np.ndarray) -> tuple[float, float]:
    """Sample median of a normal variable and its SE ``sd sqrt(pi/2) / sqrt(n)``."""
    return float(np.median(x)), float(x.std(ddof=1) * math.sqrt(math.pi / 2) / math.sqrt(x.size))


def simulate(base_path, n_paths: int, seed: int, months: int) -> dict:
    """Run every configuration of :data:`CONFIGS` on monthly steps.

    Parameters
    ----------
    base_path : str or Path
        Scenario file the overrides apply to (the shipped ``scenarios/common/market.yaml``).
    n_paths : int
        Paths per configuration.
    seed : int
        Seed of the random streams (fixed, so every check is deterministic).
    months : int
        Horizon in months (the longest horizon to be checked).

    Returns
    -------
    dict
        Configuration name -> ``(scenario, market)``, ``market`` float64
        ``[N_MARKET_VARS, n_paths, months]`` from :func:`simulator.engine.run_market`
        (units as in :data:`simulator.results.MARKET_UNITS`). ``regime_bear``
        uses global paths ``n_paths .. 2 n_paths - 1``, independent of ``regime_bull``.
    """
    from simulator.engine import run_market
    from simulator.scenario import load_scenario

    horizon = months / 12.0
    out = {}
    for name, sets in CONFIGS.items():
        sets = list(sets)
        if name == "regime_equal":
            b = load_scenario(base_path).drivers.bitcoin
            sets += [f"drivers.bitcoin.bear_mu={b.mu!r}", f"drivers.bitcoin.bear_sigma={b.sigma!r}"]
        with warnings.catch_warnings():
            # the CIR configuration breaks the Feller condition on purpose, so that both
            # branches of the QE scheme run; the loader's warning about it is expected
            warnings.filterwarnings("ignore", message=".*CIR parameters break the Feller condition")
            sc = load_scenario(base_path, sets, paths=n_paths, seed=seed, horizon_years=horizon)
        path0 = n_paths if name == "regime_bear" else 0
        out[name] = (sc, run_market(sc, path0=path0, n_paths=n_paths))
    return out


def checks_at(runs: dict, months: int) -> list[Check]:
    """Every case of :data:`CASES` at one horizon.

    Parameters
    ----------
    runs : dict
        Output of :func:`simulate` (monthly steps).
    months : int
        Horizon in months, ``1 <= months <=`` the simulated horizon; ``t = months / 12`` years.

    Returns
    -------
    list of Check
        In the order of :data:`CASES`; estimates and exact values in the units
        of the quantity (log USD for ``ln S``, decimal per year for rates, counts
        for launches, shares for regimes).
    """
    t = months / 12.0
    k = months - 1  # step index whose end is at ``months``
    res: list[Check] = []

    def add(driver, quantity, est_se, exact):
        res.append(Check(driver, quantity, months, est_se[0], float(exact), est_se[1]))

    base_sc, base = runs["base"]
    alt_sc, alt = runs["alt"]
    d_base, d_alt = base_sc.drivers, alt_sc.drivers

    # bitcoin gbm and jump-diffusion
    for label, sc, m in (("bitcoin gbm", alt_sc, alt), ("bitcoin jump_diffusion", base_sc, base)):
        spec = sc.drivers.bitcoin
        s = m[L.V_BTC, :, k]
        mean, var = bitcoin.log_moments(spec, t)
        add(label, "E[ln S]", se_mean(np.log(s)), mean)
        add(label, "Var[ln S]", se_var(np.log(s)), var)
        add(label, "E[S]", se_mean(s), bitcoin.expected_price(spec, t))

    # regime switching
    bull_sc, bull = runs["regime_bull"]
    _, bear = runs["regime_bear"]
    spec = bull_sc.drivers.bitcoin
    pi = bitcoin.stationary_bear_share(spec)
    q = spec.bear_rate + spec.bull_rate
    add("bitcoin regime", "P(bear at t | bull at 0)", se_mean(bull[L.V_REGIME, :, k]), pi * (1 - math.exp(-q * t)))
    m_u, s_u = se_mean(bull[L.V_REGIME, :, :months].mean(axis=1))
    m_b, s_b = se_mean(bear[L.V_REGIME, :, :months].mean(axis=1))
    add("bitcoin regime", "bear time share, stationary start",
        (pi * m_b + (1 - pi) * m_u, math.sqrt((pi * s_b) ** 2 + ((1 - pi) * s_u) ** 2)), pi)
    eq_sc, eq = runs["regime_equal"]
    gbm_spec = eq_sc.drivers.bitcoin.model_copy(update={"model": "gbm"})
    mean, var = bitcoin.log_moments(gbm_spec, t)
    add("bitcoin regime, equal regimes", "E[ln S]", se_mean(np.log(eq[L.V_BTC, :, k])), mean)
    add("bitcoin regime, equal regimes", "Var[ln S]", se_var(np.log(eq[L.V_BTC, :, k])), var)

    # short rate
    mean, var = rates.vasicek_moments(d_base.rates, t)
    add("rates vasicek", "E[r]", se_mean(base[L.V_RATE, :, k]), mean)
    add("rates vasicek", "Var[r]", se_var(base[L.V_RATE, :, k]), var)
    mean, var = rates.cir_moments(d_alt.rates, t)
    add("rates cir", "E[r]", se_mean(alt[L.V_RATE, :, k]), mean)
    add("rates cir", "Var[r]", se_var(alt[L.V_RATE, :, k]), var)

    # spread: without jumps (alt), with jumps (base)
    mean, _ = spread.log_moments(d_alt.spread, months, 1 / 12)
    add("spread log-OU", "median ln h", se_median_normal(np.log(alt[L.V_SPREAD, :, k])), mean)
    mean, var = spread.log_moments(d_base.spread, months, 1 / 12)
    add("spread log-OU + jumps", "E[ln h]", se_mean(np.log(base[L.V_SPREAD, :, k])), mean)
    add("spread log-OU + jumps", "Var[ln h]", se_var(np.log(base[L.V_SPREAD, :, k])), var)

    # power
    pw = d_base.power
    mean, var = power.log_moments(pw.p0, pw.kappa, pw.long_run, pw.sigma, t)
    lp = np.log(base[L.V_POWER, :, k])
    add("power log-OU", "median ln P", se_median_normal(lp), mean)
    add("power log-OU", "E[ln P]", se_mean(lp), mean)
    add("power log-OU", "Var[ln P]", se_var(lp), var)

    # gpu rental price and Poisson launches
    mean, var = gpu.log_moments(d_base.gpu, t)
    add("gpu", "E[ln P]", se_mean(np.log(base[L.V_GPU, :, k])), mean)
    add("gpu", "Var[ln P]", se_var(np.log(base[L.V_GPU, :, k])), var)
    add("gpu launches, Poisson", "E[N]", se_mean(base[L.V_GEN, :, k]), gpu.expected_generations(d_base.gpu, t))
    # a Poisson count's variance equals its mean
    add("gpu launches, Poisson", "Var[N]", se_var(base[L.V_GEN, :, k]), d_base.gpu.generation_rate * t)

    # demand
    mean, var = demand.log_moments(d_base.demand, t)
    add("demand", "E[ln D]", se_mean(np.log(base[L.V_DEMAND, :, k])), mean)
    add("demand", "Var[ln D]", se_var(np.log(base[L.V_DEMAND, :, k])), var)
    mean, var = demand.growth_moments(d_base.demand, t)
    add("demand", "E[g]", se_mean(base[L.V_GROWTH, :, k]), mean)
    add("demand", "Var[g]", se_var(base[L.V_GROWTH, :, k]), var)

    # inference cost and token price
    inf = d_base.inference
    mean, var = inference.log_moments(inf.c0, inf.decline, inf.sigma, t)
    c = base[L.V_INFERENCE, :, k]
    add("inference", "E[ln C]", se_mean(np.log(c)), mean)
    add("inference", "Var[ln C]", se_var(np.log(c)), var)
    add("inference", "E[C]", se_mean(c), inf.c0 * (1 - inf.decline) ** t)
    tok = d_base.tokens
    mean, var = inference.log_moments(1.0, tok.decline, tok.sigma, t)
    add("tokens", "E[ln p]", se_mean(np.log(base[L.V_TOKEN, :, k])), mean)
    add("tokens", "Var[ln p]", se_var(np.log(base[L.V_TOKEN, :, k])), var)
    return res


def markdown_table(checks: list[Check]) -> str:
    """Checks as a markdown table: driver, quantity, months, estimate, exact, SE, |z|."""
    lines = ["| driver | quantity | months | estimate | exact | standard error | \\|z\\| |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for c in checks:
        quantity = c.quantity.replace("|", "\\|")
        lines.append(f"| {c.driver} | {quantity} | {c.months} | {c.estimate:.6g} | {c.exact:.6g} | "
                     f"{c.se:.3g} | {abs(c.z):.2f} |")
    return "\n".join(lines)
