"""Scenario resolution: ``extends`` (single and list), ``--set`` overrides and
run options give the scenario written out by hand below; shipped scenarios
validate; the committed scenario reference is up to date."""

import copy
import importlib.util

import pytest

from simulator.drivers import pack_market
from simulator.errors import ScenarioError
from simulator.scenario import load_scenario
from tests.conftest import ROOT, SCENARIOS, SHIPPED

BASE = """\
name: base-name
description: the base
simulation: {paths: 500, seed: 3, horizon_years: 2}
drivers:
  bitcoin: {s0: 50000, sigma: 0.6, data: {csv: prices.csv}}
  rates: {r0: 0.04}
  spread: {h0: 0.03}
  gpu: {p0: 2.0}
  demand: {g0: 0.5}
  inference: {c0: 0.001}
  power: {p0: 70}
correlation:
  pairs:
    bitcoin: {spread: -0.3}
"""

CHILD = """\
extends: ../base.yaml
probability: 0.4
simulation: {seed: 9}
drivers:
  bitcoin: {model: gbm, mu: 0.1}
  gpu: {decline: 0.4}
correlation:
  pairs:
    gpu: {demand: 0.5}
"""


def expected_base(tmp_path):
    """base.yaml resolved: its keys plus every schema default, written out."""
    return {
        "name": "base-name",
        "description": "the base",
        "probability": 1.0,
        "simulation": {"paths": 500, "seed": 3, "horizon_years": 2.0, "steps_per_year": 12, "start": "2026-09"},
        "drivers": {
            "bitcoin": {"model": "jump_diffusion", "s0": 50000.0, "mu": 0.0, "sigma": 0.6, "jump_rate": 0.0,
                        "jump_mean": 0.0, "jump_std": 0.0, "bear_mu": -0.6, "bear_sigma": 0.7, "bear_rate": 0.25,
                        "bull_rate": 1.0, "start_regime": "bull",
                        "data": {"csv": str(tmp_path / "prices.csv"), "column": None, "start": None, "scale": 1.0},
                        "block_months": 12},
            "rates": {"model": "vasicek", "r0": 0.04, "kappa": 0.25, "theta": 0.0325, "sigma": 0.009, "data": None},
            "spread": {"h0": 0.03, "kappa": 0.42, "long_run": 0.048, "sigma": 0.36, "jump_rate": 0.0,
                       "jump_mean": 0.0, "jump_std": 0.0},
            "gpu": {"p0": 2.0, "decline": 0.3, "kappa": 1.5, "sigma": 0.35, "generation_rate": 0.0,
                    "generation_months": 0.0, "generation_drop": 0.2},
            "demand": {"g0": 0.5, "g_long": 0.2, "half_life": 2.0, "sigma_g": 0.4},
            "inference": {"c0": 0.001, "decline": 0.6, "sigma": 0.3},
            "tokens": {"decline": 0.5, "sigma": 0.0, "gm0": 0.5},
            "power": {"p0": 70.0, "kappa": 1.0, "long_run": 80.0, "sigma": 0.25},
            "hashrate": {"h0": 1000.0, "growth": 0.35, "subsidy": 3.125, "halvings": ("2028-04",),
                         "fee_share": 0.02},
        },
        "correlation": {"factors": None, "matrix": None, "pairs": {"bitcoin": {"spread": -0.3}}, "repair": False},
        "companies": {},
    }


@pytest.fixture
def files(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.yaml").write_text(CHILD)
    return tmp_path


def test_base_resolves_with_defaults(files):
    assert load_scenario(files / "base.yaml").model_dump() == expected_base(files)


def test_extends_merges_and_overrides(files):
    exp = expected_base(files)
    exp["name"] = "child"  # a base's name is not inherited
    exp["probability"] = 0.4
    exp["simulation"]["seed"] = 9
    exp["drivers"]["bitcoin"].update(model="gbm", mu=0.1)  # sigma 0.6 and the data file stay from the base
    exp["drivers"]["gpu"]["decline"] = 0.4
    exp["correlation"]["pairs"] = {"bitcoin": {"spread": -0.3}, "gpu": {"demand": 0.5}}
    assert load_scenario(files / "sub" / "child.yaml").model_dump() == exp


def test_set_overrides_and_run_options(files):
    sets = [
        "drivers.rates.kappa=0.5",                       # scalar
        "description=set on the command line",           # string
        "drivers.bitcoin.jump_rate=2",                   # nested key
        "correlation.pairs.bitcoin.demand=0.25",         # nested below a merged mapping
        "drivers.hashrate.halvings=[2028-04, 2032-04]",  # YAML flow list
        "simulation.steps_per_year=4",
        "simulation.seed=11",                            # --seed below wins over this
    ]
    sc = load_scenario(files / "sub" / "child.yaml", sets, paths=64, seed=5, horizon_years=3)
    exp = expected_base(files)
    exp["name"] = "child"
    exp["description"] = "set on the command line"
    exp["probability"] = 0.4
    exp["simulation"].update(paths=64, seed=5, horizon_years=3.0, steps_per_year=4)
    exp["drivers"]["bitcoin"].update(model="gbm", mu=0.1, jump_rate=2.0)
    exp["drivers"]["gpu"]["decline"] = 0.4
    exp["drivers"]["rates"]["kappa"] = 0.5
    exp["drivers"]["hashrate"]["halvings"] = ("2028-04", "2032-04")
    exp["correlation"]["pairs"] = {"bitcoin": {"spread": -0.3, "demand": 0.25}, "gpu": {"demand": 0.5}}
    assert sc.model_dump() == exp


def test_list_extends_later_files_win(files):
    (files / "a.yaml").write_text("extends: base.yaml\nsimulation: {paths: 100}\n"
                                  "drivers: {bitcoin: {sigma: 0.7, mu: 0.05}}\n")
    (files / "b.yaml").write_text("drivers: {bitcoin: {sigma: 0.8}, power: {kappa: 2.0}}\n")
    (files / "c.yaml").write_text("extends: [a.yaml, b.yaml]\ndrivers: {spread: {h0: 0.05}}\n")
    exp = copy.deepcopy(expected_base(files))
    exp["name"] = "c"
    exp["simulation"]["paths"] = 100
    exp["drivers"]["bitcoin"].update(sigma=0.8, mu=0.05)
    exp["drivers"]["power"]["kappa"] = 2.0
    exp["drivers"]["spread"]["h0"] = 0.05
    assert load_scenario(files / "c.yaml").model_dump() == exp


def test_bad_override_names_the_key(files):
    with pytest.raises(ScenarioError, match=r"drivers\.bitcoin\.sigmaa.*did you mean 'sigma'"):
        load_scenario(files / "base.yaml", ["drivers.bitcoin.sigmaa=0.5"])
    with pytest.raises(ScenarioError, match=r"drivers\.rates\.kappa"):
        load_scenario(files / "base.yaml", ["drivers.rates.kappa=-1"])


def test_extends_cycle_is_an_error(tmp_path):
    (tmp_path / "x.yaml").write_text("extends: y.yaml\n")
    (tmp_path / "y.yaml").write_text("extends: x.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "x.yaml")


@pytest.mark.parametrize("path", SHIPPED + [SCENARIOS / "common" / "market.yaml"], ids=lambda p: p.name)
def test_shipped_scenarios_validate(path):
    sc = load_scenario(path)
    mi = pack_market(sc)
    assert mi.n_steps == sc.simulation.n_steps and not mi.correlation.repaired


def test_scenario_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location("make_reference", ROOT / "scripts" / "make_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    committed = (ROOT / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    assert committed == mod.render(), "docs/scenario-reference.md is stale: run python scripts/make_reference.py"


def test_set_reaches_list_items_by_index():
    """``--set companies.X.contracts.0.end=...`` edits one item of a list in place."""
    sc = load_scenario(SCENARIOS / "avalanche.yaml", ["companies.coreweave.contracts.1.monthly_amount=1.0e8"])
    base = load_scenario(SCENARIOS / "avalanche.yaml")
    new = sc.companies["coreweave"].contracts
    old = base.companies["coreweave"].contracts
    assert new[1].monthly_amount == 1.0e8 != old[1].monthly_amount
    assert new[0] == old[0] and new[2:] == old[2:]


def test_set_list_index_out_of_range_is_an_error():
    n = len(load_scenario(SCENARIOS / "avalanche.yaml").companies["coreweave"].contracts)
    with pytest.raises(ScenarioError, match=rf"is a list of {n} item\(s\): index it with 0\.\.{n - 1}") as e:
        load_scenario(SCENARIOS / "avalanche.yaml", [f"companies.coreweave.contracts.{n}.end=12"])
    assert e.value.keypath == f"companies.coreweave.contracts.{n}.end"
