"""Market drivers against their closed forms, and the data-driven models.

Statistical checks: a Monte Carlo estimate must lie within ``K_SE = 4``
standard errors of the exact value, with a fixed seed (so the outcome is
deterministic). The standard errors are stated in
:mod:`simulator.drivers.checks`: ``sd / sqrt(n)`` for a mean,
``sqrt((m4 - s^4) / n)`` for a variance, ``sd sqrt(pi/2) / sqrt(n)`` for the
median of a normal log price. Exact checks (deterministic quantities, replay,
formula identities) compare to 1e-12.
"""

import csv
import math

import numpy as np
import pytest

from simulator._kernels import layout as L
from simulator.drivers import checks, inference, pack_market
from simulator.engine import run_market
from simulator.errors import ScenarioError
from simulator.scenario import load_scenario
from tests.conftest import SCENARIOS

K_SE = 4.0
N_PATHS = 40_000
SEED = 20261121
MARKET = SCENARIOS / "common" / "market.yaml"
BTC_CSV = SCENARIOS / "data" / "btc_usd_monthly.csv"
FEDFUNDS_CSV = SCENARIOS / "data" / "fedfunds_monthly.csv"


@pytest.fixture(scope="module")
def runs():
    """Every configuration of ``checks.CONFIGS``, 40k paths, 60 monthly steps."""
    return checks.simulate(MARKET, N_PATHS, SEED, max(checks.HORIZONS))


@pytest.fixture(scope="module")
def results(runs):
    return {(c.driver, c.quantity, c.months): c for h in checks.HORIZONS for c in checks.checks_at(runs, h)}


@pytest.mark.parametrize("months", checks.HORIZONS, ids=lambda m: f"{m}m")
@pytest.mark.parametrize("driver,quantity", checks.CASES, ids=[f"{d}: {q}" for d, q in checks.CASES])
def test_closed_form(results, driver, quantity, months):
    c = results[(driver, quantity, months)]
    assert c.se > 0 and math.isfinite(c.estimate)
    assert abs(c.estimate - c.exact) <= K_SE * c.se, (
        f"{driver} {quantity} at {months} months: estimate {c.estimate:.6g}, exact {c.exact:.6g}, "
        f"SE {c.se:.3g}, z = {c.z:.2f}")


def _market(overrides=(), paths=200, seed=SEED, horizon=1.0, **kw):
    sc = load_scenario(MARKET, list(overrides), paths=paths, seed=seed, horizon_years=horizon)
    return sc, run_market(sc, **kw)


def test_equal_regimes_reproduce_gbm_path_by_path():
    """With bear parameters equal to bull ones the regime model is gbm, draw for draw."""
    _, gbm = _market(["drivers.bitcoin.model=gbm"], horizon=2)
    sc = load_scenario(MARKET)
    _, reg = _market(["drivers.bitcoin.model=regime", f"drivers.bitcoin.bear_mu={sc.drivers.bitcoin.mu}",
                      f"drivers.bitcoin.bear_sigma={sc.drivers.bitcoin.sigma}"], horizon=2)
    assert reg[L.V_REGIME].max() == 1.0  # the chain did switch
    np.testing.assert_array_equal(reg[L.V_BTC], gbm[L.V_BTC])


def test_regimes_differ_when_bear_is_bearish():
    """Control for the test above: distinct bear parameters change the paths."""
    _, gbm = _market(["drivers.bitcoin.model=gbm"], horizon=2)
    _, reg = _market(["drivers.bitcoin.model=regime"], horizon=2)
    assert not np.array_equal(reg[L.V_BTC], gbm[L.V_BTC])


def test_cir_stays_non_negative(runs):
    """CIR (Andersen QE) with the Feller condition violated: never negative, and
    the exponential branch (mass at zero) is reached."""
    sc, alt = runs["alt"]
    r = sc.drivers.rates
    assert 2 * r.kappa * r.theta < r.sigma**2  # Feller violated: zero is reachable
    assert (alt[L.V_RATE] >= 0.0).all()
    assert (alt[L.V_RATE] == 0.0).any()


def test_gpu_deterministic_generations(runs):
    """generation_months: 18 -> a launch at months 18, 36, 54 on every path."""
    _, alt = runs["alt"]
    expected = np.array([0] * 17 + [1] * 18 + [2] * 18 + [3] * 7, dtype=float)
    assert (alt[L.V_GEN] == expected).all()


@pytest.mark.parametrize("tok_decline", [0.45, 0.95])
def test_gross_margin_formula(tok_decline):
    """gm = 1 - (1 - gm0) (C/C0) / (p/p0), clipped; 0.95 drives it to the -1 clip."""
    sc, m = _market([f"drivers.tokens.decline={tok_decline}"], paths=500, horizon=5)
    d = sc.drivers
    expected = inference.gross_margin(d.tokens.gm0, m[L.V_INFERENCE] / d.inference.c0, m[L.V_TOKEN])
    np.testing.assert_allclose(m[L.V_GM], expected, rtol=0, atol=1e-12)
    if tok_decline > 0.9:
        assert (m[L.V_GM] == -1.0).any()


def test_hashrate_and_halving_monthly():
    sc = load_scenario(MARKET, ["drivers.hashrate.h0=1000", "drivers.hashrate.growth=0.4",
                                "drivers.hashrate.subsidy=3.125", "drivers.hashrate.halvings=[2028-04]",
                                "simulation.start=2026-09"], horizon_years=3)
    mi = pack_market(sc)
    # 2026-09 + 19 months = 2028-04: step 19 is the first month at the halved subsidy
    np.testing.assert_array_equal(mi.block_subsidy, [3.125] * 19 + [1.5625] * 17)
    np.testing.assert_allclose(mi.network_hashrate[[11, 23, 35]], [1400.0, 1960.0, 2744.0], rtol=1e-12)
    np.testing.assert_allclose(mi.network_hashrate[0], 1000 * 1.4 ** (1 / 12), rtol=1e-12)


def test_hashrate_and_halvings_quarterly():
    sc = load_scenario(MARKET, ["drivers.hashrate.halvings=[2028-04, 2032-04]", "drivers.hashrate.subsidy=3.125",
                                "simulation.start=2026-09", "simulation.steps_per_year=4"], horizon_years=7)
    mi = pack_market(sc)
    # quarter k covers months 3k .. 3k+2 after 2026-09; 2028-04 is month 19 (quarter 6), 2032-04 month 67 (quarter 22)
    np.testing.assert_array_equal(mi.block_subsidy, [3.125] * 6 + [1.5625] * 16 + [0.78125] * 6)


def _csv_rows(path):
    with open(path, newline="") as fh:
        rows = [r for r in csv.reader(line for line in fh if not line.startswith("#"))][1:]
    return [r[0] for r in rows], np.array([float(r[1]) for r in rows])


def test_bitcoin_replay_reproduces_csv():
    months, prices = _csv_rows(BTC_CSV)
    sc, m = _market(["drivers.bitcoin.model=replay", "drivers.bitcoin.data.start=2020-01"], paths=3, horizon=4)
    k = months.index("2020-01")
    for p in range(3):
        np.testing.assert_array_equal(m[L.V_BTC, p], prices[k:k + 48])


def test_bitcoin_replay_quarterly_takes_quarter_ends():
    months, prices = _csv_rows(BTC_CSV)
    _, m = _market(["drivers.bitcoin.model=replay", "drivers.bitcoin.data.start=2020-01",
                    "simulation.steps_per_year=4"], paths=2, horizon=2)
    k = months.index("2020-01")
    np.testing.assert_array_equal(m[L.V_BTC, 0], prices[k + 2:k + 24:3])  # Mar, Jun, Sep, Dec


def test_rates_replay_reproduces_fedfunds_in_decimals():
    months, pct = _csv_rows(FEDFUNDS_CSV)
    _, m = _market(["drivers.rates.model=replay",
                    f"drivers.rates.data={{csv: {FEDFUNDS_CSV}, start: '2008-01', scale: 0.01}}"],
                   paths=2, horizon=3)
    k = months.index("2008-01")
    np.testing.assert_allclose(m[L.V_RATE, 1], pct[k:k + 36] / 100, rtol=1e-15, atol=0)
    assert m[L.V_RATE, 1, 0] == pytest.approx(0.0394)  # FEDFUNDS January 2008: 3.94 %


def test_shipped_rates_replay_setting():
    """market.yaml's rates data: FEDFUNDS from 2020-09, percent -> decimal."""
    months, pct = _csv_rows(FEDFUNDS_CSV)
    _, m = _market(["drivers.rates.model=replay"], paths=2, horizon=5)
    k = months.index("2020-09")
    np.testing.assert_allclose(m[L.V_RATE, 0], pct[k:k + 60] / 100, rtol=1e-15, atol=0)


def test_replay_too_short_is_an_error():
    # the series is checked when the scenario is loaded, before anything runs
    with pytest.raises(ScenarioError, match="replay needs 60 months"):
        load_scenario(MARKET, ["drivers.bitcoin.model=replay", "drivers.bitcoin.data.start=2025-01"])


@pytest.fixture(scope="module")
def bootstrap():
    _, prices = _csv_rows(BTC_CSV)
    hist = np.diff(np.log(prices))
    sc, m = _market(["drivers.bitcoin.model=bootstrap", "drivers.bitcoin.block_months=12"], paths=2000, horizon=5)
    s = m[L.V_BTC]
    ln = np.log(np.concatenate([np.full((s.shape[0], 1), sc.drivers.bitcoin.s0), s], axis=1))
    return hist, np.diff(ln, axis=1)


def test_bootstrap_draws_only_historical_returns(bootstrap):
    hist, r = bootstrap
    nearest = np.abs(r.reshape(-1, 1) - hist.reshape(1, -1)).min(axis=1)
    assert nearest.max() < 1e-9


def test_bootstrap_blocks_are_contiguous_history(bootstrap):
    """Each 12-month block equals 12 consecutive historical returns (no wrap-around)."""
    hist, r = bootstrap
    windows = np.lib.stride_tricks.sliding_window_view(hist, 12)  # [start, 12]
    starts = []
    for b in range(r.shape[1] // 12):
        seg = r[:, 12 * b:12 * (b + 1)]  # [path, 12]
        dist = np.abs(seg[:, None, :] - windows[None, :, :]).max(axis=2)  # [path, start]
        assert dist.min(axis=1).max() < 1e-9, f"block {b} is not a run of history on some path"
        starts.append(dist.argmin(axis=1))
    starts = np.concatenate(starts)
    # blocks start anywhere a full block fits: both ends of history are reached
    assert starts.min() == 0 and starts.max() == windows.shape[0] - 1


def test_bootstrap_block_longer_than_history_is_an_error():
    sc = load_scenario(MARKET, ["drivers.bitcoin.model=bootstrap", "drivers.bitcoin.block_months=600"])
    with pytest.raises(ScenarioError, match="block_months"):
        pack_market(sc)
