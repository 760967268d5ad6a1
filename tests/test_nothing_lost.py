"""Nothing already saved is lost: atomic writes, --force, interruption, reruns.

Interruption tests run the CLI in a subprocess with the test-only hook
``SIMULATOR_TEST_WRITE_DELAY`` (seconds to wait after the temporary file is
written and before it is renamed), then send a signal while it waits.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from simulator.cli import main
from simulator.results import TEST_WRITE_DELAY_ENV, remove_stale_temps
from tests.bad_inputs import BASE, GOOD_CSV
from tests.conftest import ROOT


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _cli(args, cwd, **env):
    return subprocess.run([sys.executable, "-m", "simulator", *args], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=120)


def _temps(folder):
    return sorted(folder.glob(".*.tmp"))


@pytest.fixture
def folder_with_results(tmp_path):
    """A folder with base.yaml and a first results file out.nc."""
    (tmp_path / "base.yaml").write_text(BASE)
    res = CliRunner().invoke(main, ["run", str(tmp_path / "base.yaml"), "-o", str(tmp_path / "out.nc"), "-q",
                                    "--seed", "1"])
    assert res.exit_code == 0, res.output
    return tmp_path


def _default_signals():
    """In the child: default signal dispositions, whatever the test runner inherited
    (a shell's background job starts with SIGINT ignored, and Python keeps that)."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL)


def _interrupt(folder, sig):
    """Start an overwriting run, send ``sig`` while its temporary file is being written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "run", "base.yaml", "-o", "out.nc", "--force", "-q",
         "--output", "full", "--seed", "2"],
        cwd=folder, env=_env(**{TEST_WRITE_DELAY_ENV: "60"}), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=_default_signals)
    deadline = time.monotonic() + 90
    while not any(p.stat().st_size > 0 for p in _temps(folder)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.05)
    time.sleep(0.3)  # inside the write (the hook waits 60 s before the rename)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, err


@pytest.mark.parametrize("sig, code, says", [(signal.SIGINT, 130, "interrupted"),
                                             (signal.SIGTERM, 143, "terminated")])
def test_interrupted_run_keeps_previous_results_and_leaves_no_temp(folder_with_results, sig, code, says):
    before = (folder_with_results / "out.nc").read_bytes()
    rc, err = _interrupt(folder_with_results, sig)
    assert rc == code, err
    assert err.strip() == f"{says}; no partial results written"
    assert (folder_with_results / "out.nc").read_bytes() == before
    assert _temps(folder_with_results) == []


def test_killed_run_keeps_previous_results_and_next_run_cleans_up(folder_with_results):
    folder = folder_with_results
    before = (folder / "out.nc").read_bytes()
    rc, _ = _interrupt(folder, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    assert (folder / "out.nc").read_bytes() == before  # the target is never written in place
    left = _temps(folder)
    assert len(left) == 1 and left[0].name.startswith(".out.nc.") and left[0].suffix == ".tmp"
    # a temporary file of a live process (this one) must survive the clean-up
    live = folder / f".out.nc.{os.uname().nodename}.{os.getpid()}.abc123.tmp"
    live.write_bytes(b"in progress")
    res = _cli(["run", "base.yaml", "-o", "out.nc", "--force", "-q"], folder)
    assert res.returncode == 0, res.stderr
    assert _temps(folder) == [live]
    assert (folder / "out.nc").read_bytes() != before


def test_remove_stale_temps_ignores_other_files(tmp_path):
    target = tmp_path / "r.nc"
    keep = [tmp_path / "r.nc.tmp", tmp_path / ".r.nc.otherhost.1.x.tmp", tmp_path / ".other.nc.h.1.x.tmp"]
    for p in keep:
        p.write_text("x")
    assert remove_stale_temps(target) == []
    assert all(p.exists() for p in keep)


def test_existing_results_need_force(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    out = tmp_path / "out.nc"
    runner = CliRunner()
    args = [str(tmp_path / "base.yaml"), "-o", str(out), "-q"]
    assert runner.invoke(main, args).exit_code == 0
    first = out.read_bytes()
    res = runner.invoke(main, [*args, "--seed", "99"])
    assert res.exit_code == 2 and "use --force" in res.stderr
    assert out.read_bytes() == first
    assert runner.invoke(main, [*args, "--seed", "99", "--force"]).exit_code == 0
    assert out.read_bytes() != first


def test_results_file_records_what_produced_it(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    out = tmp_path / "out.nc"
    assert CliRunner().invoke(main, [str(tmp_path / "base.yaml"), "-o", str(out), "-q", "--seed", "5"]).exit_code == 0
    with xr.open_dataset(out) as ds:
        a = ds.attrs
    stored = json.loads(a["scenario_json"])
    assert stored["simulation"]["seed"] == a["seed"] == 5
    assert len(a["scenario_sha256"]) == 64 and a["simulator_version"]
    assert json.loads(a["data_sha256"]) == {}


@pytest.mark.parametrize("mode", ["full", "summary"])
def test_rerun_reproduces_bit_for_bit(tmp_path, mode):
    (tmp_path / "base.yaml").write_text(BASE)
    out, again = tmp_path / "out.nc", tmp_path / "again.nc"
    runner = CliRunner()
    res = runner.invoke(main, [str(tmp_path / "base.yaml"), "-o", str(out), "-q", "--output", mode,
                               "--set", "drivers.bitcoin.model=jump_diffusion", "--set", "drivers.bitcoin.jump_rate=3",
                               "--paths", "37", "--seed", "11"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["rerun", str(out), "-o", str(again), "--check"])
    assert res.exit_code == 0, res.output
    assert "identical bit for bit" in res.stdout
    with xr.open_dataset(out) as a, xr.open_dataset(again) as b:
        assert set(a.data_vars) == set(b.data_vars)
        for name in a.data_vars:
            assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name
        assert a.attrs == b.attrs
        assert a.sizes == b.sizes and (a.sizes.get("path") == 37) == (mode == "full")


@pytest.mark.parametrize("how", ["numpy engine", "sketch bands"])
def test_rerun_uses_the_runs_engine_and_band_method(tmp_path, how):
    """The engine and a summary's band method decide the bits too: the file records both and
    `rerun` uses them (a numpy-engine run agrees with numba to 1e-12 only; sketch bands are not
    exact ones)."""
    from simulator.api import run_files

    out, again = tmp_path / "out.nc", tmp_path / "again.nc"
    kw = {"engine": "numpy"} if how == "numpy engine" else {"exact_bytes": 0}
    run_files([str(ROOT / "scenarios" / "avalanche.yaml")], paths=41, seed=3, out_path=out, **kw)
    with xr.open_dataset(out) as ds:
        assert ds.attrs["engine"] == kw.get("engine", "numba")
        assert ds.attrs["bands"] == ("sketch" if how == "sketch bands" else "exact")
    res = CliRunner().invoke(main, ["rerun", str(out), "-o", str(again), "--check"])
    assert res.exit_code == 0, res.output
    # without the attributes (a file from before them) the rerun takes the defaults and differs
    with xr.open_dataset(out) as ds:
        ds = ds.load()
    del ds.attrs["engine"], ds.attrs["bands"]
    ds.to_netcdf(out, engine="h5netcdf")
    res = CliRunner().invoke(main, ["rerun", str(out), "-o", str(again), "--force", "--check"])
    assert res.exit_code == 1 and "differs" in res.stderr


def test_rerun_check_detects_a_difference(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    out, again = tmp_path / "out.nc", tmp_path / "again.nc"
    runner = CliRunner()
    assert runner.invoke(main, [str(tmp_path / "base.yaml"), "-o", str(out), "-q"]).exit_code == 0
    with xr.open_dataset(out) as ds:
        ds = ds.load()
    ds["btc_price_mean"][0] = ds["btc_price_mean"][0] + 1.0  # tamper with the stored results
    ds.to_netcdf(out, engine="h5netcdf")
    res = runner.invoke(main, ["rerun", str(out), "-o", str(again), "--check"])
    assert res.exit_code == 1 and "btc_price_mean" in res.stderr


def test_rerun_refuses_changed_or_missing_data(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "prices.csv").write_text(GOOD_CSV)
    (tmp_path / "replay.yaml").write_text(
        "extends: base.yaml\ndrivers: {bitcoin: {model: replay, data: {csv: prices.csv}}}\n")
    out = tmp_path / "out.nc"
    runner = CliRunner()
    res = runner.invoke(main, [str(tmp_path / "replay.yaml"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["rerun", str(out), "-o", str(tmp_path / "a.nc"), "--check"])
    assert res.exit_code == 0, res.output
    (tmp_path / "prices.csv").write_text(GOOD_CSV.replace("110", "111"))
    res = runner.invoke(main, ["rerun", str(out), "-o", str(tmp_path / "b.nc")])
    assert res.exit_code == 2
    assert "drivers.bitcoin.data.csv" in res.stderr and "changed since the run" in res.stderr
    (tmp_path / "prices.csv").unlink()
    res = runner.invoke(main, ["rerun", str(out), "-o", str(tmp_path / "b.nc")])
    assert res.exit_code == 2 and "missing" in res.stderr
    assert not (tmp_path / "b.nc").exists()


def test_rerun_warns_about_another_version(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    out = tmp_path / "out.nc"
    runner = CliRunner()
    assert runner.invoke(main, [str(tmp_path / "base.yaml"), "-o", str(out), "-q"]).exit_code == 0
    with xr.open_dataset(out) as ds:
        ds = ds.load()
    ds.attrs["simulator_version"] = "0.0.1"
    ds.to_netcdf(out, engine="h5netcdf")
    res = runner.invoke(main, ["rerun", str(out), "-o", str(tmp_path / "again.nc"), "--check"])
    assert res.exit_code == 0, res.output
    assert res.stderr.startswith("warning: ") and "0.0.1" in res.stderr


@pytest.mark.parametrize("mode", ["summary", "full"])
def test_rerun_reproduces_a_run_with_companies(tmp_path, mode):
    """The shipped avalanche (companies not in alphabetical order, contracts between them)
    reruns bit for bit: the stored scenario keeps the order of companies, which decides
    their random streams."""
    from tests.conftest import SCENARIOS

    out, again = tmp_path / "out.nc", tmp_path / "again.nc"
    runner = CliRunner()
    res = runner.invoke(main, [str(SCENARIOS / "avalanche.yaml"), "-o", str(out), "-q", "--output", mode,
                               "--paths", "64", "--horizon", "2"])
    assert res.exit_code == 0, res.output
    with xr.open_dataset(out) as a:
        assert list(a.company.values) != sorted(a.company.values)  # the order matters here
    res = runner.invoke(main, ["rerun", str(out), "-o", str(again), "--check"])
    assert res.exit_code == 0, res.output
    with xr.open_dataset(out) as a, xr.open_dataset(again) as b:
        for name in a.data_vars:
            assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name
