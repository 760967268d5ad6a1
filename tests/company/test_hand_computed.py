"""Hand-computed cases with every variate zero (MODEL.md section 5).

Each expected month is worked out in the test from the inputs, not read from
the engine.
"""

import math

import numpy as np
import pytest

from simulator.company import DefaultCause
from tests.company.helpers import cash_burner, line, per_path, run_zero, scenario


def _default(res, company=0):
    return int(per_path(res, "default_month")[0, company]), DefaultCause(int(per_path(res, "default_cause")[0, company]))


def test_cash_runs_out_in_the_month_computed_by_hand():
    cash, burn = 100e6, 30e6
    # cash after month t (0-based) is cash - burn * (t + 1): first negative when burn * (t + 1) > cash
    expected = math.floor(cash / burn)  # 100 / 30 -> t + 1 = 4 -> t = 3
    assert expected == 3
    res = run_zero(scenario({"neo": cash_burner(cash, burn)}))
    assert _default(res) == (expected, DefaultCause.liquidity)
    assert line(res, "cash")[expected - 1] == pytest.approx(cash - burn * expected)


def test_revolver_buys_the_months_it_can_pay_for():
    # a revolver with no interest cost (margin cancels a zero short rate is not possible), so use a
    # limit that covers exactly one more month: the default moves from month 3 to month 4 at the latest
    cash, burn = 100e6, 30e6
    res = run_zero(scenario({"neo": cash_burner(cash, burn, revolver={"limit": 25e6, "margin": 0.0})}))
    # month 3: cash -20 -> draw 20 (5 left); month 4: -30 -> draw 5 -> -25 < 0: default in month 4
    assert _default(res) == (4, DefaultCause.liquidity)


def _covenant_company(cure: int) -> dict:
    # contract revenue 100/month in months 0..4, fixed opex 80: EBITDA +20, then -80 from month 5.
    # Interest 12 %/yr on 1000 = 10/month. No trailing history: month 0 fills the window, so
    # TTM EBITDA / TTM interest = 240 / 120 = 2.0 until month 4; at month 5: (11*20 - 80) / 120 = 1.17 < 1.5.
    return {
        "archetype": "neocloud", "cash": 1e6, "opex_fixed": 80.0, "tax_rate": 0.0,
        "contracts": [{"counterparty": "external", "monthly_amount": 100.0, "start": 0, "end": 4}],
        "debt": [{"name": "loan", "principal": 1000.0, "coupon": 0.12, "maturity": 120,
                  "covenant": {"min_interest_coverage": 1.5, "cure_months": cure}}],
    }


def test_covenant_with_three_cure_months_defaults_on_the_third_breached_month():
    first_breach = 5
    assert (11 * 20 - 80) / 120 < 1.5 < (12 * 20) / 120
    res = run_zero(scenario({"neo": _covenant_company(3)}))
    assert _default(res) == (first_breach + 2, DefaultCause.covenant)


def test_covenant_without_cure_defaults_at_the_first_breach():
    res = run_zero(scenario({"neo": _covenant_company(1)}))
    assert _default(res) == (5, DefaultCause.covenant)


def test_cure_months_are_months_whatever_the_step():
    """Quarterly steps: `cure_months: 3` is one step (defaults where `1` does), `4`..`6` two steps."""

    def default_step(cure):
        data = _covenant_company(cure)
        sc = scenario({"neo": data})
        sc = sc.model_copy(update={"simulation": sc.simulation.model_copy(update={"steps_per_year": 4})})
        return _default(run_zero(sc))

    first = default_step(1)
    assert first[1] == DefaultCause.covenant
    assert default_step(3) == first
    assert default_step(4) == default_step(6) == (first[0] + 1, DefaultCause.covenant)


def _maturity_company(cash: float, revenue: float = 0.0, max_spread: float = 0.0) -> dict:
    # 500 bullet, zero coupon, due in month 6; opex 10/month. With max_spread 0 the market is closed
    # (company spread = HY spread > 0), so the 500 must come from cash.
    return {
        "archetype": "neocloud", "cash": cash, "opex_fixed": 10.0, "tax_rate": 0.0,
        "contracts": [{"counterparty": "external", "monthly_amount": revenue, "end": 60}] if revenue else [],
        "debt": [{"name": "bullet", "principal": 500.0, "coupon": 0.0, "maturity": 6}],
        "refinancing": {"max_spread": max_spread, "max_leverage": 6.0},
    }


def test_failed_refinancing_with_short_cash_defaults_for_refinancing():
    # cash before repayment at month 6: 300 - 7 * 10 = 230 < 500
    res = run_zero(scenario({"neo": _maturity_company(300.0)}))
    assert _default(res) == (6, DefaultCause.refinancing)


def test_failed_refinancing_with_enough_cash_repays():
    # 1000 - 70 - 500 = 430 left after repaying
    res = run_zero(scenario({"neo": _maturity_company(1000.0)}))
    assert _default(res) == (-1, DefaultCause.none)
    assert line(res, "cash")[6] == pytest.approx(430.0)
    assert line(res, "debt")[6] == 0.0
    assert line(res, "net_financing")[6] == pytest.approx(-500.0)


def test_open_market_refinances_a_maturity_the_cash_cannot_meet():
    # revenue 20 - opex 10: EBITDA 10/month, TTM 120; net debt at month 6 = 500 - (300 + 70) = 130,
    # leverage 1.1 < 6 and HY spread (~2.6-3 %) < 50 %: refinanced, no default
    res = run_zero(scenario({"neo": _maturity_company(300.0, revenue=20.0, max_spread=0.5)}))
    assert _default(res) == (-1, DefaultCause.none)
    assert line(res, "debt")[6] == pytest.approx(500.0)
    assert line(res, "interest")[7] > 0.0  # the new bond pays r + spread


@pytest.mark.parametrize("order", [("lab", "neo"), ("neo", "lab")])
def test_counterparty_default_stops_revenue_the_month_after(order):
    # the lab burns 30/month from 100: defaults in month 3 (as in the first test)
    lab = {"archetype": "ai_app", "cash": 100e6, "opex_fixed": 30e6, "tax_rate": 0.0, "ai": {"revenue0": 0.0}}
    neo = {"archetype": "neocloud", "cash": 1e9, "tax_rate": 0.0,
           "contracts": [{"counterparty": "lab", "monthly_amount": 50e6, "end": 23}]}
    companies = {name: {"lab": lab, "neo": neo}[name] for name in order}
    res = run_zero(scenario(companies))
    i_lab, i_neo = order.index("lab"), order.index("neo")
    assert _default(res, i_lab) == (3, DefaultCause.liquidity)
    rev = line(res, "revenue", i_neo)
    assert list(rev[:4]) == [50e6] * 4  # paid through the counterparty's default month
    assert (rev[4:] == 0.0).all()  # stops the month after
    rpo = line(res, "rpo", i_neo)
    assert rpo[3] == pytest.approx(50e6 * (23 - 3))  # remaining months 4..23 after month 3
    assert (rpo[4:] == 0.0).all()
    assert _default(res, i_neo)[0] == -1


def _miner(power_mw: float) -> dict:
    return {"archetype": "miner", "cash": 1e9, "opex_fixed": 1e6, "tax_rate": 0.0, "pue": 1.0,
            "mining": {"hashrate_eh": 40.0, "power_mw": power_mw, "hodl_share": 0.25}}


def test_mining_revenue_is_the_share_of_network_rewards():
    from simulator._kernels.layout import V_BTC, V_POWER
    from simulator.drivers.hashrate import BLOCKS_PER_YEAR

    sc = scenario({"m": _miner(100.0)})
    res = run_zero(sc)
    mi = res["inputs"]
    btc, power = res["market"][V_BTC, 0], res["market"][V_POWER, 0]
    fee = sc.drivers.hashrate.fee_share
    mined = 40.0 / mi.network_hashrate * mi.block_subsidy * (1 + fee) * BLOCKS_PER_YEAR / 12
    np.testing.assert_allclose(line(res, "revenue"), mined * btc, rtol=1e-12)
    np.testing.assert_allclose(line(res, "ebitda"), mined * btc - 100.0 * power * 730.5 - 1e6, rtol=1e-12)
    np.testing.assert_allclose(line(res, "btc_holdings"), np.cumsum(0.25 * mined), rtol=1e-12)
    # the kept quarter is revenue but not cash
    np.testing.assert_allclose(line(res, "fcf"), line(res, "ebitda") - 0.25 * mined * btc, rtol=1e-9)


def test_mining_is_curtailed_when_power_costs_more_than_it_earns():
    from simulator._kernels.layout import V_BTC, V_POWER

    res = run_zero(scenario({"m": _miner(5000.0)}))
    btc, power = res["market"][V_BTC, 0], res["market"][V_POWER, 0]
    assert (5000.0 * power * 730.5 > 1000.0 * btc).all()  # 40 EH/s mine ~500 BTC a month (< 1000): never pays
    assert (line(res, "revenue") == 0.0).all()
    np.testing.assert_allclose(line(res, "ebitda"), -1e6, rtol=1e-12)


def test_impairment_starts_when_rent_falls_below_straight_line_depreciation():
    """Book after straight-line depreciation at step t is cost (59 - t) / 60 and the economic value is
    rent_t x (59 - t) months, so the first write-down comes in the first step whose monthly rent is below
    cost / 60, and it is (cost / 60 - rent_t) x (59 - t). Generation launches (every 6 months, -50 %)
    make it bite."""
    from simulator._kernels.layout import V_GEN, V_GPU

    gpus, cost = 1000.0, 30000.0
    co = {"archetype": "neocloud", "cash": 1e12, "tax_rate": 0.0,
          "utilization": {"mean": 0.7, "beta_demand": 0.0, "sigma": 0.0},
          "fleets": [{"gpus": gpus, "unit_cost": cost, "purchased": 0, "life_years": 5}]}
    sc = scenario({"neo": co}, months=36, drivers={"gpu": {"generation_months": 6, "generation_drop": 0.5}})
    res = run_zero(sc)
    price, gen = res["market"][V_GPU, 0], res["market"][V_GEN, 0]
    rent = gpus * 0.7 * price * 0.5**gen * 730.5
    monthly_dep = gpus * cost / 60
    first = int(np.argmax(rent < monthly_dep))
    assert rent[first] < monthly_dep and first > 0 and gen[first] >= 1
    imp = line(res, "impairment")
    assert (imp[:first] == 0.0).all()
    assert imp[first] == pytest.approx((monthly_dep - rent[first]) * (59 - first), rel=1e-9)
    np.testing.assert_allclose(line(res, "depreciation")[:first + 1], monthly_dep, rtol=1e-12)
