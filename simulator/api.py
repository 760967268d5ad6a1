"""The Python API behind the command line: run scenario files, get a report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence


@dataclass
class Report:
    """What a run produced: per-scenario datasets and where they were written."""

    datasets: dict = field(default_factory=dict)
    written: dict = field(default_factory=dict)

    def summary(self) -> dict:
        out = {}
        for name, ds in self.datasets.items():
            s = {"file": str(self.written.get(name, "")), "paths": int(ds.attrs["paths"]),
                 "seed": int(ds.attrs["seed"]), "drivers_at_horizon": {}}
            for var in ("btc_price", "short_rate", "hy_spread", "gpu_price", "ai_demand", "inference_cost",
                        "app_gross_margin", "power_price"):
                if f"{var}_quantiles" in ds:
                    q = ds[f"{var}_quantiles"].isel(time=-1).values
                    mean = float(ds[f"{var}_mean"].isel(time=-1))
                else:
                    q = ds[var].isel(time=-1).quantile([0.05, 0.25, 0.5, 0.75, 0.95]).values
                    mean = float(ds[var].isel(time=-1).mean())
                s["drivers_at_horizon"][var] = {"mean": mean, "p5": float(q[0]), "p50": float(q[2]), "p95": float(q[4])}
            out[name] = s
        return out

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2)

    def print(self) -> None:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        for name, s in self.summary().items():
            t = Table(title=f"{name}: market drivers at the horizon ({s['paths']} paths, seed {s['seed']})")
            for col in ("driver", "mean", "p5", "median", "p95"):
                t.add_column(col, justify="right" if col != "driver" else "left")
            for var, m in s["drivers_at_horizon"].items():
                t.add_row(var, *(f"{m[k]:.4g}" for k in ("mean", "p5", "p50", "p95")))
            console.print(t)
            console.print(f"results: {s['file']}")


def default_out_path(name: str) -> Path:
    return Path("results") / f"{name}.nc"


def run_files(files: Sequence[str], overrides=(), *, paths=None, seed=None, horizon_years=None,
              full=False, out_path=None, force=False, threads=None) -> Report:
    """Load each scenario file, simulate it, write one results file per scenario.

    ``paths``, ``seed``, ``horizon_years`` override the files' ``simulation`` keys.
    Everything is loaded and checked (targets, memory, disk) before anything
    runs or is written.
    """
    from simulator.errors import OutputError
    from simulator.scenario import load_scenario

    scenarios = [load_scenario(f, overrides, paths=paths, seed=seed, horizon_years=horizon_years) for f in files]
    if out_path is not None and len(scenarios) > 1:
        raise OutputError("-o/--out names one file; with several scenarios leave it out (results/<name>.nc)")
    targets = [Path(out_path) if out_path else default_out_path(sc.name) for sc in scenarios]
    return _simulate(scenarios, targets, full=full, force=force, threads=threads)


def rerun_file(results_file: str, out_path=None, *, force=False, threads=None) -> Report:
    """Reproduce a results file from what it records (resolved scenario, seed,
    output mode) into ``out_path`` (default: ``NAME.rerun.nc`` beside it).

    The CSV files the run read must still be there, unchanged (their SHA-256
    is stored in the file); results are bit for bit the same.
    """
    from simulator.results import read_provenance

    import warnings

    from simulator import __version__
    from simulator.errors import ScenarioWarning

    scenario, mode, attrs = read_provenance(results_file)
    if attrs.get("simulator_version") != __version__:
        warnings.warn(ScenarioWarning(
            f"written by simulator {attrs.get('simulator_version', '(unknown)')}, this is {__version__}: "
            "results may differ", str(results_file)), stacklevel=2)
    src = Path(results_file)
    target = Path(out_path) if out_path else src.with_name(f"{src.stem}.rerun{src.suffix or '.nc'}")
    return _simulate([scenario], [target], full=mode == "full", force=force, threads=threads)


def same_data(a: str, b: str) -> list[str]:
    """Names of the data variables that differ between two results files (bitwise,
    NaN equal to NaN); empty if they hold the same results."""
    import numpy as np
    import xarray as xr

    with xr.open_dataset(a, engine="h5netcdf") as da, xr.open_dataset(b, engine="h5netcdf") as db:
        names = sorted(set(da.data_vars) | set(db.data_vars))
        return [n for n in names if n not in da or n not in db
                or not np.array_equal(da[n].values, db[n].values, equal_nan=True)]


def _simulate(scenarios, targets, *, full, force, threads) -> Report:
    from simulator.drivers import pack_market
    from simulator.engine import run_market, set_threads
    from simulator.errors import OutputError
    from simulator.resources import check_fits
    from simulator.results import market_dataset, write_dataset

    for t in targets:
        if t.exists() and not force:
            raise OutputError(f"{t} exists; use --force to overwrite it")
    for sc, t in zip(scenarios, targets):
        check_fits(sc, full, t)
    set_threads(threads)
    inputs = [pack_market(sc) for sc in scenarios]
    report = Report()
    for sc, mi, target in zip(scenarios, inputs, targets):
        market = run_market(sc, inputs=mi)
        ds = market_dataset(sc, market, mi, full=full)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create folder {target.parent}: {e.strerror or e}") from None
        report.datasets[sc.name] = ds
        report.written[sc.name] = write_dataset(ds, target, force=force)
    return report
