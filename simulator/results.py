"""Raw arrays -> labelled xarray Datasets, summaries, and result files.

Time axis: ``time`` holds the last day of each step's final month; driver
values are as of that date, flows are over the step that ends then.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from simulator import __version__
from simulator._kernels import layout as L
from simulator.errors import OutputError

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

MARKET_UNITS = {
    "btc_price": ("USD", "bitcoin price"),
    "short_rate": ("1/year", "short rate (decimal)"),
    "hy_spread": ("1/year", "high-yield credit spread (decimal)"),
    "gpu_price": ("USD/GPU-hour", "rental price of the newest GPU generation, H100-equivalent"),
    "gpu_generation": ("count", "GPU generation launches since the start"),
    "ai_demand": ("1", "AI demand index, D0 = 1"),
    "demand_growth": ("1/year", "log growth rate of AI demand"),
    "inference_cost": ("USD/1k tokens", "inference cost"),
    "token_price": ("1", "token price relative to the start"),
    "app_gross_margin": ("1", "AI-application gross margin"),
    "power_price": ("USD/MWh", "power price"),
    "btc_regime": ("1", "bitcoin regime: 1 bear, 0 bull"),
    "utilization_factor": ("1", "common utilisation shock of the step (standard normal)"),
}


def time_index(simulation):
    """Month-end dates at the end of each step."""
    import pandas as pd

    first = pd.Period(simulation.start, freq="M")
    mps = simulation.months_per_step
    return pd.DatetimeIndex(
        [(first + (k + 1) * mps - 1).to_timestamp(how="end").normalize() for k in range(simulation.n_steps)],
        name="time",
    )


def provenance(scenario) -> dict:
    """Attributes that let a results file reproduce its run."""
    from simulator.scenario.loader import scenario_sha256

    return {
        "scenario": scenario.name,
        "scenario_sha256": scenario_sha256(scenario),
        "scenario_json": json.dumps(scenario.model_dump(mode="json"), sort_keys=True),
        "seed": scenario.simulation.seed,
        "paths": scenario.simulation.paths,
        "simulator_version": __version__,
    }


def market_dataset(scenario, market: np.ndarray, inputs, full: bool):
    """Market arrays ``[var, path, step]`` -> Dataset.

    ``full``: every path, dims ``(path, time)``. Otherwise per-step mean and
    quantiles over paths, dims ``(quantile, time)``.
    """
    import xarray as xr

    time = time_index(scenario.simulation)
    ds = xr.Dataset(coords={"time": time})
    if full:
        ds = ds.assign_coords(path=np.arange(market.shape[1]))
    else:
        ds = ds.assign_coords(quantile=np.asarray(QUANTILES))
    for v, name in enumerate(L.MARKET_VARS):
        units, long_name = MARKET_UNITS[name]
        attrs = {"units": units, "long_name": long_name}
        if full:
            ds[name] = (("path", "time"), market[v], attrs)
        else:
            ds[f"{name}_mean"] = (("time",), market[v].mean(axis=0), attrs)
            ds[f"{name}_quantiles"] = (("quantile", "time"), np.quantile(market[v], QUANTILES, axis=0), attrs)
    ds["network_hashrate"] = (("time",), inputs.network_hashrate, {"units": "EH/s", "long_name": "bitcoin network hashrate"})
    ds["block_subsidy"] = (("time",), inputs.block_subsidy, {"units": "BTC", "long_name": "block subsidy"})
    ds["correlation"] = (("factor", "factor2"), inputs.correlation.matrix,
                         {"long_name": "factor correlation used", "repaired": int(inputs.correlation.repaired)})
    ds = ds.assign_coords(factor=list(L.FACTORS), factor2=list(L.FACTORS))
    ds.attrs.update(provenance(scenario))
    ds.attrs["output"] = "full" if full else "summary"
    return ds


def write_dataset(ds, path: str | os.PathLike, force: bool = False) -> Path:
    """Write NetCDF (h5netcdf) atomically: a temporary file in the target folder,
    renamed into place when complete. An existing file is kept unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputError(f"{path} exists; use --force to overwrite it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
