"""The scenario blend, the CLI's company report, and scenario errors for companies."""

import json

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from simulator._kernels import company_layout as CL
from simulator.cli import main
from simulator.company.blend import blend
from simulator.company.summary import equal_weights, pd_curve, summarise
from simulator.engine import run
from simulator.errors import ScenarioError
from tests.company.helpers import scenario
from tests.company.test_identities import _rich_companies


def _runs():
    base = scenario(_rich_companies(), paths=300, months=24, seed=2)
    worse = scenario(_rich_companies(), paths=200, months=24, seed=2,
                     drivers={"demand": {"g0": 0.2, "g_long": 0.0}, "rates": {"r0": 0.06, "theta": 0.06}})
    return [(0.7, run(base, keep_market=False)), (0.1, run(worse, keep_market=False))]


def test_blend_is_the_probability_weighted_mixture():
    runs = _runs()
    names = [r["companies"].names for _, r in runs]
    common, pint, pflt, w = blend([(p, r["pint"], r["pflt"]) for p, r in runs], names)
    assert common == names[0]
    n = 24
    mixed, _, _ = pd_curve(pint[:, :, CL.P_DEFAULT_MONTH], w, n)
    per = [pd_curve(r["pint"][:, :, CL.P_DEFAULT_MONTH], equal_weights(r["pint"].shape[0]), n)[0] for _, r in runs]
    # probabilities 0.7 and 0.1 normalise to 7/8 and 1/8
    assert not np.allclose(per[0], per[1])
    np.testing.assert_allclose(mixed, 7 / 8 * per[0] + 1 / 8 * per[1], rtol=0, atol=1e-12)
    debt = runs[0][1]["companies"].opening_debt
    s_mix = summarise(pint, pflt, common, debt, n, weights=w)
    s_each = [summarise(r["pint"], r["pflt"], common, debt, n) for _, r in runs]
    for c in common:
        for key in ("never_stressed", "recovered", "censored", "defaulted"):
            expected = 7 / 8 * s_each[0][c]["recovery"][key] + 1 / 8 * s_each[1][c]["recovery"][key]
            assert s_mix[c]["recovery"][key] == pytest.approx(expected, abs=1e-12)
        for cause in ("liquidity", "covenant", "refinancing"):
            expected = 7 / 8 * s_each[0][c]["pd_by_cause"][cause] + 1 / 8 * s_each[1][c]["pd_by_cause"][cause]
            assert s_mix[c]["pd_by_cause"][cause] == pytest.approx(expected, abs=1e-12)
        el = 7 / 8 * s_each[0][c]["expected_loss"]["usd"] + 1 / 8 * s_each[1][c]["expected_loss"]["usd"]
        assert s_mix[c]["expected_loss"]["usd"] == pytest.approx(el, rel=1e-12)


def test_same_seed_gives_common_random_numbers():
    a = run(scenario(_rich_companies(), paths=50, months=12, seed=9), keep_market=True)
    b = run(scenario(_rich_companies(), paths=80, months=12, seed=9), path0=0, n_paths=80, keep_market=True)
    np.testing.assert_array_equal(a["market"], b["market"][:, :50])
    np.testing.assert_array_equal(a["pint"], b["pint"][:50])
    c = run(scenario(_rich_companies(), paths=80, months=12, seed=9), path0=30, n_paths=20, keep_market=False)
    np.testing.assert_array_equal(c["pint"], b["pint"][30:50])



@pytest.fixture
def scenario_files(tmp_path):
    from tests.conftest import SCENARIOS

    market = SCENARIOS / "common" / "market.yaml"
    files = []
    for name, prob, g0 in (("up", 0.6, 0.9), ("down", 0.2, 0.1)):
        f = tmp_path / f"{name}.yaml"
        f.write_text(
            f"extends: {market}\nprobability: {prob}\nsimulation: {{paths: 200, horizon_years: 2}}\n"
            f"drivers: {{demand: {{g0: {g0}}}}}\n"
            "companies:\n"
            "  lab: {archetype: ai_app, cash: 5.0e9, opex_fixed: 1.0e9, ai: {revenue0: 1.2e10}}\n"
            "  neo:\n"
            "    archetype: neocloud\n"
            "    cash: 1.0e9\n"
            "    opex_fixed: 5.0e7\n"
            "    contracts: [{counterparty: lab, monthly_amount: 2.0e8, end: 40}]\n"
            "    debt: [{name: notes, principal: 3.0e9, coupon: 0.09, maturity: 14}]\n")
        files.append(f)
    return files


def test_cli_reports_companies_and_blend_as_json(scenario_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, [*map(str, scenario_files), "--json"])
    assert res.exit_code == 0, res.output
    assert "NaN" not in res.output
    out = json.loads(res.output)
    assert set(out) == {"up", "down", "blend"}
    assert out["blend"]["weights"] == pytest.approx({"up": 0.75, "down": 0.25})
    for name in ("up", "down"):
        c = out[name]["companies"]["neo"]
        assert 0.0 <= c["pd"]["lower"] <= c["pd"]["p"] <= c["pd"]["upper"] <= 1.0
        assert sum(c["recovery"][k] for k in ("never_stressed", "recovered", "censored", "defaulted")) == pytest.approx(1.0)
    pd_blend = out["blend"]["companies"]["neo"]["pd"]["p"]
    assert pd_blend == pytest.approx(0.75 * out["up"]["companies"]["neo"]["pd"]["p"]
                                     + 0.25 * out["down"]["companies"]["neo"]["pd"]["p"], abs=1e-12)
    ds = xr.open_dataset(tmp_path / "results" / "up.nc")
    assert ds.default_cause.attrs["flag_meanings"] == "none liquidity covenant refinancing"
    assert ds.recovery_status.attrs["flag_meanings"] == "never_stressed recovered censored defaulted"
    assert ds.default_month.dims == ("company", "path")
    assert ds.pd_cumulative.dims == ("company", "time")
    assert "revenue" not in ds  # summary mode keeps no (company, path, time) arrays
    assert ds.avalanche_share.dims == ("company", "time")
    assert ((ds.demand_alarm_share >= 0) & (ds.demand_alarm_share <= 1)).all()
    pd_end = float(ds.pd_cumulative.sel(company="neo").isel(time=-1))
    assert pd_end == pytest.approx(float((ds.default_month.sel(company="neo") >= 0).mean()))


def test_cli_full_output_has_company_lines(scenario_files, tmp_path):
    out = tmp_path / "full.nc"
    res = CliRunner().invoke(main, [str(scenario_files[0]), "--output", "full", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(out)
    for v in ("revenue", "ebitda", "interest", "capex", "fcf", "cash", "debt", "rpo", "utilization", "alive"):
        assert ds[v].dims == ("company", "path", "time"), v


def test_unknown_counterparty_is_a_one_line_error_with_keypath(scenario_files):
    text = scenario_files[0].read_text().replace("counterparty: lab", "counterparty: labb")
    scenario_files[0].write_text(text)
    res = CliRunner().invoke(main, ["validate", str(scenario_files[0])])
    assert res.exit_code == 2
    line = res.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "companies.neo.contracts.0.counterparty" in line
    assert "'labb'" in line and "valid: lab, neo, external" in line
    assert f"{scenario_files[0]}:" in line


def test_archetype_lines_are_checked():
    with pytest.raises(ScenarioError, match="archetype neocloud has no `mining` line"):
        scenario({"neo": {"archetype": "neocloud", "mining": {"hashrate_eh": 1.0}}})


def test_injected_shocks_reproduce_the_generator_bit_for_bit():
    """The shocks convention a reference engine relies on: market streams, then 8 streams per company."""
    from simulator._kernels import layout as L
    from simulator.engine import n_streams
    from simulator.rng import draw

    sc = scenario(_rich_companies(), paths=40, months=18, seed=4)
    width = n_streams(len(sc.companies))
    kinds = np.zeros(width, dtype=np.int64)
    kinds[:L.N_MARKET_STREAMS] = L.MARKET_STREAM_KINDS
    for c in range(len(sc.companies)):
        s0 = L.COMPANY_STREAM0 + c * L.STREAMS_PER_COMPANY
        kinds[s0:s0 + L.STREAMS_PER_COMPANY] = CL.COMPANY_STREAM_KINDS
    shocks = draw(sc.simulation.seed, 0, 40, sc.simulation.n_steps, np.arange(width), kinds)
    a = run(sc, full=True)
    b = run(sc, full=True, shocks=shocks)
    np.testing.assert_array_equal(a["pint"], b["pint"])
    np.testing.assert_array_equal(a["full"], b["full"])


def test_thread_count_does_not_change_results():
    import numba

    from simulator.engine import set_threads

    sc = scenario(_rich_companies(), paths=64, months=18, seed=8)
    before = numba.get_num_threads()
    try:
        set_threads(1)
        one = run(sc, full=True)
        set_threads(2)
        two = run(sc, full=True)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one["pint"], two["pint"])
    np.testing.assert_array_equal(one["full"], two["full"])


def test_unknown_company_key_suggests_the_valid_one():
    with pytest.raises(ScenarioError, match=r"companies\.n\.debt\.0\.seniorty: unknown key; did you mean 'seniority'"):
        scenario({"n": {"archetype": "neocloud",
                        "debt": [{"name": "a", "principal": 1.0, "coupon": 0.1, "maturity": 3, "seniorty": "x"}]}})


def test_contract_ending_before_it_starts_is_a_scenario_error():
    from simulator.company import pack_companies

    sc = scenario({"n": {"archetype": "neocloud", "contracts": [
        {"counterparty": "external", "monthly_amount": 1.0, "start": "2027-03", "end": "2027-01"}]}})
    with pytest.raises(ScenarioError, match=r"companies\.n\.contracts\.0\.end"):
        pack_companies(sc)
