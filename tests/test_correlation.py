"""Factor correlation: the shocks have the scenario's correlation; bad matrices
are rejected naming the factors, or repaired (Higham) and reported.

Tolerance: 4 standard errors of a sample correlation, ``(1 - rho^2) / sqrt(n)``;
fixed seed.
"""

import math

import numpy as np
import pytest
from click.testing import CliRunner

from simulator._kernels import layout as L
from simulator.cli import main
from simulator.engine import run_market
from simulator.errors import ScenarioError
from simulator.rng import draw
from simulator.scenario import load_scenario
from simulator.scenario.correlation import correlation_matrix, nearest_correlation
from tests.conftest import SCENARIOS

K_SE = 4.0
SEED = 31415
MARKET = SCENARIOS / "common" / "market.yaml"
BAD_PAIRS = "correlation.pairs={bitcoin: {spread: 0.9, demand: 0.9}, spread: {demand: -0.9}}"


def test_correlated_shocks_match_matrix():
    sc = load_scenario(MARKET)
    corr = correlation_matrix(sc.correlation)
    assert np.count_nonzero(np.triu(corr.matrix, 1)) >= 6  # the shipped pairs are in force
    z = draw(SEED, 0, 20_000, 10, np.arange(L.N_FACTORS), [L.NORMAL] * L.N_FACTORS).reshape(-1, L.N_FACTORS)
    eps = z @ corr.chol.T
    n = eps.shape[0]
    sample = np.corrcoef(eps, rowvar=False)
    rho = corr.matrix
    se = (1 - rho**2) / math.sqrt(n)
    iu = np.triu_indices(L.N_FACTORS, 1)
    assert (np.abs(sample - rho)[iu] <= K_SE * se[iu]).all(), np.abs(sample - rho)[iu] / se[iu]


@pytest.mark.parametrize("step", [0, 11])
def test_btc_spread_increments_follow_pair_correlation(step):
    """run_market end to end: corr(d ln S, d ln h) over one month.

    d ln S = drift + sigma sqrt(dt) eps_b (gbm, exact); d ln h = (1 - e^{-kappa dt}) (m - x_t) + sd eps_s
    with x_t independent of this month's shocks, so the correlation is
    ``rho sd / sqrt(sd^2 + (1 - e^{-kappa dt})^2 Var[x_t])``, exactly rho in the first month.
    """
    rho = -0.6
    sc = load_scenario(MARKET, ["drivers.bitcoin.model=gbm", "drivers.spread.jump_rate=0",
                                f"correlation.pairs.bitcoin.spread={rho}"], paths=50_000, seed=SEED, horizon_years=1)
    m = run_market(sc)
    s = sc.drivers.spread
    ln_s = np.log(np.concatenate([np.full((m.shape[1], 1), sc.drivers.bitcoin.s0), m[L.V_BTC]], axis=1))
    ln_h = np.log(np.concatenate([np.full((m.shape[1], 1), s.h0), m[L.V_SPREAD]], axis=1))
    a, b = np.diff(ln_s, axis=1)[:, step], np.diff(ln_h, axis=1)[:, step]
    dt = sc.simulation.dt
    sd = s.sigma * math.sqrt((1 - math.exp(-2 * s.kappa * dt)) / (2 * s.kappa))
    var_x = s.sigma**2 * (1 - math.exp(-2 * s.kappa * step * dt)) / (2 * s.kappa)
    expected = rho * sd / math.sqrt(sd**2 + (1 - math.exp(-s.kappa * dt)) ** 2 * var_x)
    n = a.size
    assert abs(np.corrcoef(a, b)[0, 1] - expected) <= K_SE * (1 - expected**2) / math.sqrt(n)


def test_non_psd_matrix_rejected_naming_factors():
    with pytest.raises(ScenarioError) as info:
        load_scenario(MARKET, [BAD_PAIRS])
    msg = str(info.value)
    assert "positive semi-definite" in msg
    for f in ("bitcoin", "spread", "demand"):
        assert f in msg
    for f in ("gpu", "power", "inference"):
        assert f not in msg
    assert "repair" in msg


def test_higham_example():
    """Higham (2002), section 4: the nearest correlation matrix to [[1,1,0],[1,1,1],[0,1,1]]."""
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    expected = np.array([[1.0, 0.7607, 0.1573], [0.7607, 1.0, 0.7607], [0.1573, 0.7607, 1.0]])
    np.testing.assert_allclose(nearest_correlation(a), expected, atol=1e-4)


def test_repair_gives_psd_unit_diagonal_nearest():
    sc = load_scenario(MARKET, [BAD_PAIRS, "correlation.repair=true"])
    corr = correlation_matrix(sc.correlation)
    c = corr.matrix
    assert corr.repaired and corr.max_change > 0.01
    assert np.linalg.eigvalsh(c).min() >= -1e-10
    np.testing.assert_allclose(np.diag(c), 1.0, atol=1e-12)
    np.testing.assert_allclose(c, c.T, atol=0)
    np.testing.assert_allclose(corr.chol @ corr.chol.T, c, atol=1e-10)
    # nearer (Frobenius) than shrinking the bad matrix towards the identity until it is PSD
    from simulator.scenario.correlation import build_matrix

    bad = build_matrix(sc.correlation)
    w = next(w for w in np.linspace(0, 1, 1001) if np.linalg.eigvalsh((1 - w) * bad + w * np.eye(len(bad))).min() >= 0)
    shrunk = (1 - w) * bad + w * np.eye(len(bad))
    assert np.linalg.norm(c - bad) < np.linalg.norm(shrunk - bad)
    # a correlation matrix is its own nearest correlation matrix
    np.testing.assert_allclose(nearest_correlation(c), c, atol=1e-8)


def test_repair_is_reported_by_validate_and_run(tmp_path):
    ok = CliRunner().invoke(main, ["validate", str(MARKET)])
    assert ok.exit_code == 0 and "note:" not in ok.output
    res = CliRunner().invoke(main, ["validate", str(MARKET), "--set", BAD_PAIRS, "--set", "correlation.repair=true"])
    assert res.exit_code == 0, res.output
    notes = [line for line in res.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "repaired" in notes[0] and "largest entry change" in notes[0]
    res = CliRunner().invoke(main, [str(MARKET), "--set", BAD_PAIRS, "--set", "correlation.repair=true",
                                    "--paths", "20", "--horizon", "1", "-o", str(tmp_path / "r.nc")])
    assert res.exit_code == 0, res.output
    notes = [line for line in res.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "repaired" in notes[0] and "largest entry change" in notes[0]  # one line


def test_repair_in_api_report(tmp_path):
    from simulator.api import run_files

    rep = run_files([str(MARKET)], [BAD_PAIRS, "correlation.repair=true"], paths=20, horizon_years=1,
                    out_path=tmp_path / "r.nc")
    (notes,) = rep.summary().values()
    assert len(notes["notices"]) == 1 and "repaired" in notes["notices"][0]
    rep = run_files([str(MARKET)], paths=20, horizon_years=1, out_path=tmp_path / "s.nc")
    assert list(rep.summary().values())[0]["notices"] == []
