"""Accounting identities on every path and month of a stochastic run (MODEL.md section 9)."""

import numpy as np
import pytest

from simulator._kernels.company_layout import C_CASH0, OUT_NAMES
from simulator.engine import run
from tests.company.helpers import scenario

FLOWS = ("revenue", "ebitda", "interest", "tax", "capex", "fcf", "net_financing", "depreciation", "impairment")


def _rich_companies():
    """Every line of MODEL.md section 4 on at least one company, sized to default on some paths."""
    return {
        "lab": {"archetype": "ai_app", "cash": 8e9, "opex_fixed": 1.2e9, "ai": {"revenue0": 13e9},
                "atm": {"max_per_month": 2e9, "target_cash": 5e9, "min_demand_growth": 0.5}},
        "neo": {
            "archetype": "neocloud", "cash": 1.0e9, "min_cash": 5e8, "opex_fixed": 4e7, "opex_variable": 0.1,
            "fleets": [{"gpus": 150000, "unit_cost": 30000, "purchased": -18, "contracted_share": 0.6},
                       {"book_value": 2e9, "life_years": 10}],
            "capex_plan": [{"start": 0, "end": 17, "gpus_per_month": 4000, "unit_cost": 35000},
                           {"start": 0, "end": 5, "usd_per_month": 1e8, "committed": True}],
            "min_runway_months": 4,
            "contracts": [{"counterparty": "lab", "monthly_amount": 2.5e8, "end": 40, "prepaid_share": 0.2},
                          {"counterparty": "external", "monthly_amount": 1e8, "start": 3, "end": 30, "hazard": 0.2}],
            "debt": [{"name": "ddtl", "principal": 4e9, "rate": "floating", "coupon": 0.06, "maturity": 20,
                      "amortization": "linear", "undrawn": 2e9, "draw_share": 0.8, "seniority": "secured_loan",
                      "covenant": {"max_net_leverage": 6.0, "min_liquidity": 2e8, "cure_months": 2}},
                     {"name": "notes", "principal": 2e9, "coupon": 0.0925, "maturity": 14}],
            "revolver": {"limit": 1.5e9, "drawn": 4.5e8, "margin": 0.03},
            "refinancing": {"max_spread": 0.09, "max_leverage": 5.0, "spread_multiplier": 2.0},
        },
        "miner": {
            "archetype": "miner", "cash": 3e8, "opex_fixed": 2e7, "site_mw": 50,
            "mining": {"hashrate_eh": 50, "power_mw": 800, "hodl_share": 0.5},
            "treasury": {"btc": 10000, "haircut": 0.1},
            "contracts": [{"counterparty": "neo", "monthly_amount": 3e7, "end": 48, "kind": "hosting"}],
            "debt": [{"name": "converts", "principal": 6.5e8, "coupon": 0.0, "maturity": 10, "seniority": "convertible"}],
            "atm": {"max_per_month": 1e8, "target_cash": 2e8, "min_btc_ratio": 0.8},
        },
    }


@pytest.fixture(scope="module")
def res():
    sc = scenario(_rich_companies(), paths=400, months=36, seed=11)
    return run(sc, full=True)


def _v(res, name):
    return res["full"][OUT_NAMES.index(name)]  # [company, path, time]


def test_the_run_has_defaults_of_every_kind_and_survivors(res):
    dm = res["pint"][:, :, 0]
    assert 0 < (dm >= 0).mean() < 1
    causes = set(np.unique(res["pint"][:, :, 1]))
    assert {0, 1}.issubset(causes)


def test_cash_change_is_fcf_plus_net_financing(res):
    cash = _v(res, "cash")
    opening = res["companies"].cpar[:, C_CASH0][:, None, None]
    prev = np.concatenate([np.broadcast_to(opening, cash[:, :, :1].shape), cash[:, :, :-1]], axis=2)
    lhs = cash - prev
    rhs = _v(res, "fcf") + _v(res, "net_financing")
    scale = np.abs(cash).max() + 1.0
    assert np.abs(lhs - rhs).max() <= 1e-9 * scale


def test_fcf_definition(res):
    # FCF = EBITDA - interest - tax - capex - non-cash revenue (prepaid and hodled bitcoin), so never above
    fcf = _v(res, "fcf")
    upper = _v(res, "ebitda") - _v(res, "interest") - _v(res, "tax") - _v(res, "capex")
    assert (fcf <= upper + 1e-6).all()


def test_debt_and_rpo_never_negative_and_rpo_non_increasing(res):
    assert (_v(res, "debt") >= -1e-6).all()
    rpo = _v(res, "rpo")
    assert (rpo >= 0).all()
    assert (np.diff(rpo, axis=2) <= 1e-6).all()


def test_defaulted_company_has_no_later_flows(res):
    dm = res["pint"][:, :, 0].T  # [company, path]
    t = np.arange(res["full"].shape[-1])
    after = (dm[:, :, None] >= 0) & (t[None, None, :] > dm[:, :, None])
    assert after.any()
    for name in FLOWS + ("rpo", "utilization", "alive"):
        assert (_v(res, name)[after] == 0.0).all(), name
    for name in ("cash", "debt"):
        v = _v(res, name)
        frozen = np.take_along_axis(v, np.clip(dm, 0, None)[:, :, None], axis=2)
        assert (v[after] == np.broadcast_to(frozen, v.shape)[after]).all(), name
    alive = _v(res, "alive")
    assert (alive[~after] == 1.0).all()


def test_alarm_flags_agree_with_per_path_counts(res):
    from simulator._kernels import company_layout as CL

    flags = res["alarms"]  # [path, company, time]
    alive = (flags & CL.ALARM_ALIVE) > 0
    np.testing.assert_array_equal(alive.sum(axis=2), res["pint"][:, :, CL.P_ALIVE_MONTHS])
    np.testing.assert_array_equal(((flags & CL.ALARM_AVALANCHE) > 0).sum(axis=2), res["pint"][:, :, CL.P_AVALANCHE_MONTHS])
    both = ((flags & CL.ALARM_DEMAND) > 0) & ((flags & CL.ALARM_LEVERAGE) > 0)
    np.testing.assert_array_equal(both, (flags & CL.ALARM_AVALANCHE) > 0)
    np.testing.assert_array_equal(alive, _v(res, "alive").transpose(1, 0, 2) * (_after_default(res) == 0) > 0)


def _after_default(res):
    dm = res["pint"][:, :, 0]
    t = np.arange(res["alarms"].shape[2])
    return ((dm[:, :, None] >= 0) & (t[None, None, :] >= dm[:, :, None])).astype(int)
