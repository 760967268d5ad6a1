"""What the loader accepts, so that refusing bad input never refuses good input."""

import warnings

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.errors import ScenarioError, ScenarioWarning
from simulator.scenario import load_scenario
from simulator.scenario.safe_yaml import MAX_ALIASES, MAX_DEPTH, MAX_NODES, read_yaml
from tests.bad_inputs import BASE


@pytest.fixture
def base(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    return tmp_path


def _child(folder, text):
    f = folder / "child.yaml"
    f.write_text("extends: base.yaml\n" + text)
    return f


def test_integral_float_is_a_whole_number(base):
    sc = load_scenario(_child(base, "simulation: {paths: 1e5}\n"))
    assert sc.simulation.paths == 100_000 and type(sc.simulation.paths) is int
    assert load_scenario(base / "base.yaml", ["simulation.paths=2e3"]).simulation.paths == 2000


def test_exponent_floats_and_true_false(base):
    sc = load_scenario(_child(base, "drivers: {bitcoin: {sigma: 5e-1}}\ncorrelation: {repair: true}\n"))
    assert sc.drivers.bitcoin.sigma == 0.5 and sc.correlation.repair is True


def test_override_strings_stay_text(base):
    sc = load_scenario(base / "base.yaml", ["description=no", "simulation.start='2027-01'"])
    assert sc.description == "no" and sc.simulation.start == "2027-01"


def test_plain_aliases_within_limits_are_fine(tmp_path):
    f = tmp_path / "a.yaml"
    f.write_text("x: &v {a: 1, b: [1, 2]}\ny: *v\nz: *v\n")
    data, sources = read_yaml(f)
    assert data["y"] == data["z"] == {"a": 1, "b": [1, 2]}
    assert sources[("z",)] == ("a.yaml", 3) or sources[("z",)][1] == 3


def test_limits_are_exact(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n")
    read_yaml(f)  # exactly at the limit: fine
    f.write_text("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n")
    with pytest.raises(ScenarioError, match="nesting deeper"):
        read_yaml(f)
    f.write_text("a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n")
    with pytest.raises(ScenarioError, match="aliases"):
        read_yaml(f)
    f.write_text("a: [" + ", ".join(["1"] * MAX_NODES) + "]\n")
    with pytest.raises(ScenarioError, match="expands to more than"):
        read_yaml(f)


def test_feller_breach_warns_and_still_loads(base):
    f = _child(base, "drivers:\n  rates: {model: cir, sigma: 0.2}\n")
    with pytest.warns(ScenarioWarning, match="Feller") as rec:
        sc = load_scenario(f)
    assert sc.drivers.rates.model == "cir"
    assert "child.yaml:3: drivers.rates:" in str(rec[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scenario(_child(base, "drivers:\n  rates: {model: cir, sigma: 0.05}\n"))  # 2*0.25*0.0325 >= 0.0025


def test_feller_warning_reaches_the_user_of_a_run(base, tmp_path):
    f = _child(base, "drivers:\n  rates: {model: cir, sigma: 0.2}\n")
    res = CliRunner().invoke(main, [str(f), "-o", str(tmp_path / "o.nc"), "-q"])
    assert res.exit_code == 0, res.output
    assert res.stderr.startswith("warning: ") and "Feller" in res.stderr
    assert (tmp_path / "o.nc").exists()
