"""The numba market kernel against the plain-numpy oracle, on the same shocks.

Agreement is to 1e-12 relative: ``|numba - numpy| <= 1e-12 * max(|numpy|, scale_v)``
where ``scale_v`` is the largest magnitude of variable ``v`` in the run, so that
variables that cross zero (demand growth, gross margin) are compared on their
own scale. Discrete events (jump counts, regime switches, generation launches)
must agree exactly.
"""

import numpy as np
import pytest

from simulator._kernels import layout as L
from simulator.engine import run_market
from simulator.errors import ScenarioWarning
from simulator.reference import simulate_market as reference_market
from simulator.rng import draw
from simulator.scenario import load_scenario
from tests.conftest import SCENARIOS, SHIPPED

N_PATHS = 256
RTOL = 1e-12
BASE = SCENARIOS / "niche-growth.yaml"
DISCRETE = (L.V_GEN, L.V_REGIME)


def market_shocks(sc, n_paths, path0=0):
    return draw(sc.simulation.seed, path0, n_paths, sc.simulation.n_steps,
                np.arange(L.N_MARKET_STREAMS), L.MARKET_STREAM_KINDS)


def assert_agree(numba_out, numpy_out):
    assert numba_out.shape == numpy_out.shape
    for v, name in enumerate(L.MARKET_VARS):
        a, b = numba_out[v], numpy_out[v]
        assert np.isfinite(a).all() and np.isfinite(b).all(), name
        if v in DISCRETE:
            np.testing.assert_array_equal(a, b, err_msg=name)
            continue
        scale = np.abs(b).max()
        err = np.abs(a - b) / np.maximum(np.abs(b), scale)
        assert err.max() <= RTOL, f"{name}: max relative difference {err.max():.3g}"


@pytest.fixture(scope="module")
def rates_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "rates.csv"
    months = [f"{2026 + (8 + i) // 12}-{(8 + i) % 12 + 1:02d}" for i in range(72)]
    rates = 0.03 + 0.01 * np.sin(np.arange(72) / 7.0)
    path.write_text("month,rate\n" + "".join(f"{m},{r:.6f}\n" for m, r in zip(months, rates)))
    return path


#: name -> (scenario file, overrides); ``{rates_csv}`` is filled in by the fixture.
CASES = {p.stem: (p, ()) for p in SHIPPED}
CASES.update({f"bitcoin-{m}": (BASE, (f"drivers.bitcoin.model={m}",))
              for m in ("gbm", "jump_diffusion", "regime", "replay", "bootstrap")})
CASES.update({f"rates-{m}": (BASE, (f"drivers.rates.model={m}",)) for m in ("vasicek", "cir")})
CASES["rates-replay"] = (BASE, ("drivers.rates.model=replay", "drivers.rates.data.csv={rates_csv}",
                                  "drivers.rates.data.start=2026-09"))
# deterministic GPU generations (the shipped files use a Poisson rate)
CASES["gpu-generation-months"] = (BASE, ("drivers.gpu.generation_months=18",))


@pytest.fixture(params=sorted(CASES))
def scenario(request, rates_csv):
    path, overrides = CASES[request.param]
    return load_scenario(path, [o.format(rates_csv=rates_csv) for o in overrides], paths=N_PATHS)


def test_numba_matches_numpy_reference(scenario):
    shocks = market_shocks(scenario, N_PATHS)
    fast = run_market(scenario, n_paths=N_PATHS, shocks=shocks)
    slow = reference_market(scenario, shocks)
    assert_agree(fast, slow)


def test_generated_equals_injected(scenario):
    """The kernel's own draws are exactly ``simulator.rng.draw``'s: injection and generation agree."""
    shocks = market_shocks(scenario, N_PATHS)
    injected = run_market(scenario, n_paths=N_PATHS, shocks=shocks)
    generated = run_market(scenario, n_paths=N_PATHS)
    np.testing.assert_array_equal(generated.view(np.uint64), injected.view(np.uint64))


def test_cir_exercises_both_branches():
    """Both QE branches of the CIR scheme are reached and agree (high vol makes psi > 1.5)."""
    with pytest.warns(ScenarioWarning, match="Feller condition"):  # high vol breaks Feller on purpose
        sc = load_scenario(BASE, ("drivers.rates.model=cir", "drivers.rates.sigma=0.2", "drivers.rates.r0=0.01"),
                           paths=N_PATHS)
    shocks = market_shocks(sc, N_PATHS)
    fast = run_market(sc, n_paths=N_PATHS, shocks=shocks)
    assert (fast[L.V_RATE] == 0.0).any() and (fast[L.V_RATE] > 0.0).any()
    assert_agree(fast, reference_market(sc, shocks))


def test_events_happen_in_the_compared_runs(rates_csv):
    """The comparison above is not vacuous: jumps, switches and launches occur."""
    sc = load_scenario(SCENARIOS / "avalanche.yaml", paths=N_PATHS)
    out = run_market(sc, n_paths=N_PATHS)
    assert 0 < out[L.V_REGIME].mean() < 1
    assert out[L.V_GEN, :, -1].max() > 0
    jd = load_scenario(BASE, ("drivers.bitcoin.model=jump_diffusion",), paths=N_PATHS)
    shocks = market_shocks(jd, N_PATHS)
    lam = jd.drivers.bitcoin.jump_rate * jd.simulation.dt
    assert (shocks[:, :, L.S_BTC_JUMP_N] > np.exp(-lam)).any()


def test_a_changed_shock_is_seen(scenario):
    """Sensitivity: perturbing one factor's shock at one step changes the result."""
    shocks = market_shocks(scenario, 8)
    base = reference_market(scenario, shocks)
    shocks[:, 3, L.Z_POWER] += 0.5
    moved = reference_market(scenario, shocks)
    assert not np.allclose(base[L.V_POWER, :, 3:], moved[L.V_POWER, :, 3:])
    with pytest.raises(AssertionError):
        assert_agree(run_market(scenario, n_paths=8, shocks=market_shocks(scenario, 8)), moved)
