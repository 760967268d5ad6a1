"""The numba engine against the plain-numpy reference of the whole model, on the same shocks.

Floats agree to 1e-12 relative: ``|numba - numpy| <= 1e-12 * max(|numpy|, scale)``
where ``scale`` is the largest magnitude of the variable for that company in
the run, so that lines that cross zero (FCF, net financing, cash) are compared
on their own scale. Integer results (default month and cause, recovery month
and status, stress and trough months, alarm counts) and alarm bits are equal.
Every shipped scenario is compared with all its companies, plus stressed
variants; a separate test checks that the compared runs contain every kind of
event, so the agreement is not vacuous.
"""

from collections import Counter

import numpy as np
import pytest

from simulator import engine
from simulator import reference
from simulator._kernels import company_layout as CL
from simulator._kernels import layout as L
from simulator.reference.engine import company_stream
from simulator.scenario import load_scenario
from tests.conftest import SCENARIOS, SHIPPED

N_PATHS = 256
RTOL = 1e-12
TINY = np.finfo(float).tiny

#: name -> (scenario file, overrides)
CASES = {p.stem: (p, ()) for p in SHIPPED}
# never-stressed recovery paths (the shipped rules stress every path at once), the margin metric,
# and quarterly steps (trailing window of 4 steps, six-month lag of 2)
CASES["avalanche-stressed"] = (SCENARIOS / "avalanche.yaml", (
    "companies.iren.recovery.threshold=-1.0e15",
    "companies.openai.recovery.metric=fcf_margin",
    "companies.openai.recovery.threshold=-0.5",
))
CASES["niche-growth-quarterly"] = (SCENARIOS / "niche-growth.yaml", ("simulation.steps_per_year=4",))


def injected(sc, n_comp, n_paths=N_PATHS, path0=0):
    """Market and company variates exactly as the generator draws them."""
    return reference.draw_shocks(sc, n_comp, path0, n_paths)


def assert_close(fast, slow, name):
    """Per-(variable, company) scaled relative agreement; NaNs in the same places."""
    assert fast.shape == slow.shape and fast.dtype == slow.dtype, name
    nan = np.isnan(slow)
    np.testing.assert_array_equal(np.isnan(fast), nan, err_msg=f"{name}: NaN positions")
    inf = np.isinf(slow)  # net leverage is +-inf when trailing EBITDA <= 0: same places, same sign
    np.testing.assert_array_equal(np.where(np.isinf(fast), fast, 0.0), np.where(inf, slow, 0.0),
                                  err_msg=f"{name}: infinities")
    nan = nan | inf
    a, b = np.where(nan, 0.0, fast), np.where(nan, 0.0, slow)
    assert np.isfinite(a).all() and np.isfinite(b).all(), name
    scale = np.abs(b).max() if b.size else 0.0
    err = np.abs(a - b) / np.maximum(np.maximum(np.abs(b), scale), TINY)
    assert err.max(initial=0.0) <= RTOL, f"{name}: max relative difference {err.max():.3g}"


def assert_agree(fast, slow, names):
    """Every output of :func:`simulator.engine.run` (``full=True``) against :func:`simulator.reference.run`."""
    assert set(fast) == set(slow)
    for v, name in enumerate(L.MARKET_VARS):
        assert_close(fast["market"][v], slow["market"][v], f"market {name}")
    for key in ("pint", "alarms"):
        assert fast[key].dtype == slow[key].dtype and fast[key].shape == slow[key].shape, key
    for c, company in enumerate(names):
        for i, name in enumerate(CL.PINT_NAMES):
            np.testing.assert_array_equal(fast["pint"][:, c, i], slow["pint"][:, c, i], err_msg=f"{company} {name}")
        np.testing.assert_array_equal(fast["alarms"][:, c], slow["alarms"][:, c], err_msg=f"{company} alarms")
        for i, name in enumerate(CL.PFLT_NAMES):
            assert_close(fast["pflt"][:, c, i], slow["pflt"][:, c, i], f"{company} {name}")
        for v, name in enumerate(CL.OUT_NAMES):
            assert_close(fast["full"][v, c], slow["full"][v, c], f"{company} {name}")


def _load(name, paths=N_PATHS):
    path, overrides = CASES[name]
    return load_scenario(path, list(overrides), paths=paths)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    """(name, scenario, shocks, numba result, reference result) of one compared run."""
    sc = _load(request.param)
    shocks = injected(sc, len(sc.companies))
    fast = engine.run(sc, n_paths=N_PATHS, shocks=shocks, full=True)
    slow = reference.run(sc, n_paths=N_PATHS, shocks=shocks)
    return request.param, sc, shocks, fast, slow


def test_numba_matches_numpy_reference(case):
    _, sc, _, fast, slow = case
    assert_agree(fast, slow, tuple(sc.companies))


def _events(sc, shocks):
    """The reference's event counts on ``shocks`` (company-steps, vintage-steps for impairments)."""
    n_comp = len(sc.companies)
    market = reference.simulate_market(sc, shocks)
    cols = [[company_stream(c, k) for c in range(n_comp)] for k in (CL.K_UTIL, CL.K_CORE, CL.K_EXT)]
    events = Counter()
    reference.simulate_companies(sc, market, shocks[:, :, cols[0]], shocks[:, :, cols[1]],
                                 shocks[:, :, cols[2]], events=events)
    return events


@pytest.fixture(scope="module")
def all_events():
    """Event counts over every compared run, from the reference and from both engines' outputs."""
    total = Counter()
    for name in sorted(CASES):
        sc = _load(name)
        shocks = injected(sc, len(sc.companies))
        total.update(_events(sc, shocks))
        res = engine.run(sc, n_paths=N_PATHS, shocks=shocks, full=True)
        pint, alarms = res["pint"], res["alarms"]
        for code, cause in ((CL.CAUSE_LIQUIDITY, "liquidity"), (CL.CAUSE_COVENANT, "covenant"),
                            (CL.CAUSE_REFINANCING, "refinancing")):
            total[f"numba_default_{cause}"] += int((pint[:, :, CL.P_CAUSE] == code).sum())
        for code, status in enumerate(("never_stressed", "recovered", "censored", "defaulted")):
            total[f"status_{status}"] += int((pint[:, :, CL.P_REC_STATUS] == code).sum())
        for bit, alarm in ((CL.ALARM_DEMAND, "demand"), (CL.ALARM_LEVERAGE, "leverage"),
                           (CL.ALARM_AVALANCHE, "avalanche")):
            total[f"alarm_{alarm}"] += int(((alarms & bit) > 0).sum())
        total["avalanche_then_default12"] += int(pint[:, :, CL.P_AV_DEF12].sum())
        total["impairment_usd_positive"] += int((res["full"][CL.O_IMPAIRMENT] > 0).sum())
    return total


EVENTS = ("contract_cancelled_named", "contract_cancelled_external", "curtailed", "impairment", "capex_cut",
          "refinanced", "repaid_at_maturity", "revolver_draw", "btc_sale", "atm_raise", "covenant_breach",
          "default_liquidity", "default_covenant", "default_refinancing",
          "numba_default_liquidity", "numba_default_covenant", "numba_default_refinancing",
          "status_never_stressed", "status_recovered", "status_censored", "status_defaulted",
          "alarm_demand", "alarm_leverage", "alarm_avalanche", "avalanche_then_default12",
          "impairment_usd_positive")


@pytest.mark.parametrize("event", EVENTS)
def test_events_happen_in_the_compared_runs(all_events, event):
    """The equivalence is not vacuous: every modelled event occurs in the compared runs."""
    assert all_events[event] > 0, f"no {event} in the compared runs: {dict(all_events)}"


def test_reference_counts_defaults_like_the_engine(all_events):
    """The reference's own default counter equals the causes the numba engine reports."""
    for cause in ("liquidity", "covenant", "refinancing"):
        assert all_events[f"default_{cause}"] == all_events[f"numba_default_{cause}"]


@pytest.mark.parametrize("path0", [0, 1000])
def test_reference_draws_the_generators_numbers(path0):
    """Without shocks the reference draws what the numba engine's generator draws (any path offset)."""
    sc = _load("avalanche", paths=64)
    fast = engine.run(sc, path0=path0, n_paths=64, full=True)
    slow = reference.run(sc, path0=path0, n_paths=64)
    assert_agree(fast, slow, tuple(sc.companies))


def test_default_path_count_is_the_scenarios():
    sc = _load("niche-growth", paths=16)
    out = reference.run(sc)
    assert out["pint"].shape == (16, len(sc.companies), CL.N_PINT)
    assert out["full"].shape == (CL.N_OUT, len(sc.companies), 16, sc.simulation.n_steps)


def test_a_changed_company_shock_is_seen():
    """Sensitivity: one utilisation shock moved at one step changes the reference, and the comparison fails."""
    sc = _load("niche-growth", paths=8)
    names = tuple(sc.companies)
    c = names.index("coreweave")
    shocks = injected(sc, len(names), 8)
    fast = engine.run(sc, n_paths=8, shocks=shocks, full=True)
    moved = shocks.copy()
    moved[:, 3, company_stream(c, CL.K_UTIL)] += 0.5
    slow = reference.run(sc, n_paths=8, shocks=moved)
    assert not np.allclose(slow["full"][CL.O_UTIL, c, :, 3:], fast["full"][CL.O_UTIL, c, :, 3:])
    with pytest.raises(AssertionError):
        assert_agree(fast, slow, names)


def test_bad_shock_shapes_are_refused():
    sc = _load("niche-growth", paths=4)
    with pytest.raises(ValueError, match="shocks must be"):
        reference.run(sc, n_paths=4, shocks=np.zeros((4, sc.simulation.n_steps, L.N_MARKET_STREAMS)))


def test_revolver_interest_is_floored_at_zero():
    """docs/company-model.md: floating interest is ``max(r + margin, 0)``, the revolver's included
    (the kernel once charged a negative revolver rate). Rate held at -5 %, margin 1 %, no shocks."""
    from tests.company.helpers import cash_burner, run_zero, scenario

    co = cash_burner(1.0e9, 1.0e6, revolver={"limit": 1.0e9, "drawn": 5.0e8, "margin": 0.01},
                     debt=[{"name": "term loan", "principal": 2.0e8, "rate": "floating", "coupon": 0.02, "maturity": 60}])
    sc = scenario({"lender": co}, months=12, drivers={"rates": {"r0": -0.05, "theta": -0.05}})
    fast = run_zero(sc)
    n = sc.simulation.n_steps
    slow = reference.run(sc, n_paths=1, shocks=np.zeros((1, n, engine.n_streams(1))))
    assert_agree(fast, slow, ("lender",))
    rate = fast["market"][L.V_RATE, 0]
    assert np.all(rate < -0.01)
    # only the term loan pays: 2e8 x (r + 2 %) / 12 while r + 2 % > 0, the revolver pays nothing
    expected = 2.0e8 * np.maximum(rate + 0.02, 0.0) / 12.0
    np.testing.assert_allclose(fast["full"][CL.O_INTEREST, 0, 0], expected, rtol=1e-14, atol=0.0)


def test_more_contracts_than_steps_with_generated_draws():
    """Without injected shocks the external-default uniforms of a company with more contracts than
    steps come from the generator beyond the step axis, as in the kernel."""
    from tests.company.helpers import scenario

    contracts = [{"counterparty": "external", "monthly_amount": 1.0e6, "start": 0, "end": 11, "hazard": 2.0}
                 for _ in range(9)]
    sc = scenario({"host": {"archetype": "neocloud", "cash": 1.0e8, "contracts": contracts}},
                  paths=32, months=6)
    assert len(contracts) > sc.simulation.n_steps
    fast = engine.run(sc, n_paths=32, full=True)
    slow = reference.run(sc, n_paths=32)
    assert_agree(fast, slow, ("host",))
    revenue = fast["full"][CL.O_REVENUE, 0]
    assert (revenue[:, -1] < 9.0e6).all() and (revenue[:, -1] > 0.0).any()  # counterparties default


def test_l1_is_not_always_lit_with_annual_steps():
    sc = load_scenario(SCENARIOS / "big-get-bigger.yaml", ["simulation.steps_per_year=1"], paths=64)
    res = engine.run(sc, n_paths=64)
    inf = res["market"][L.V_INFERENCE]
    fell = np.concatenate([inf[:, :1] <= 0.7 * sc.drivers.inference.c0, inf[:, 1:] <= 0.7 * inf[:, :-1]], axis=1)
    assert fell.mean() > 0.5  # the cost falls by more than 30 % a year on most steps ...
    low_gm = res["market"][L.V_GM] < 0.5
    alive = (res["alarms"][:, 0] & CL.ALARM_ALIVE) > 0
    demand = (res["alarms"][:, 0] & CL.ALARM_DEMAND) > 0
    # ... so the demand alarm (L1 and L2) must be off somewhere where L2 alone is lit
    assert (alive & low_gm & ~demand).any()
