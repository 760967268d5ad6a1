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


def test_each_row_is_divided_by_the_floor_of_its_own_size():
    """With --whole-run-paths the whole run is compared with the RNG floor timed at its size, not the other's."""
    from simulator.bench import Row, format_table

    rows = [Row("RNG floor: numpy SFC64, 1 thread", 0.5, 100.0),
            Row("numba engine, 1 thread", 2.0, 100.0),
            Row("RNG floor: numpy SFC64, 1 thread, 1000 paths", 5.0, 1000.0),
            Row("whole run, summary mode, process (2 threads), 1000 paths", 15.0, 1000.0)]
    meta = {"scenario": "s.yaml", "paths": 100, "months": 60, "engine": "market + companies", "repeats": 1,
            "numba": "x", "numpy": "y"}
    table = format_table({"rows": rows, "ratios": {}, "meta": meta})
    assert "| numba engine, 1 thread | 2.0000 | 5.000e+01 | 4.00 |" in table
    assert "| whole run, summary mode, process (2 threads), 1000 paths | 15.0000 | 6.667e+01 | 3.00 |" in table


def test_whole_run_row_at_its_own_size():
    """The whole-run row runs `python -m simulator run` as a child process, at --whole-run-paths."""
    res = CliRunner().invoke(main, ["bench", "--scenario", str(SCENARIOS / "avalanche.yaml"), "--paths", "16",
                                    "--repeats", "1", "--whole-run-paths", "40"])
    assert res.exit_code == 0, res.output
    assert "| RNG floor: numpy SFC64, 1 thread, 40 paths |" in res.output
    assert "whole run / RNG floor (target <= 2), 40 paths" in res.output
