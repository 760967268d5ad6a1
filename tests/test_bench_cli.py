"""`simulate bench` runs and prints every row and ratio (tiny sizes; no timing is checked)."""

from click.testing import CliRunner

from simulator.cli import main
from tests.conftest import SCENARIOS


def test_bench_prints_the_table():
    res = CliRunner().invoke(main, ["bench", "--scenario", str(SCENARIOS / "avalanche.yaml"), "--paths", "64",
                                    "--repeats", "1", "--no-whole-run"])
    assert res.exit_code == 0, res.output
    for row in ("RNG floor: numpy SFC64, 1 thread", "numba RNG, 1 thread", "numba engine, 1 thread",
                "numpy engine (reference)", "numba engine speed-up over numpy engine"):
        assert row in res.output
    assert "whole run" not in res.output


def test_bench_reports_a_bad_scenario_in_one_line(tmp_path):
    res = CliRunner().invoke(main, ["bench", "--scenario", str(tmp_path / "missing.yaml"), "--paths", "8"])
    assert res.exit_code != 0
    assert res.output.startswith("error:") and "Traceback" not in res.output
