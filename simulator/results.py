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


COMPANY_UNITS = {
    "revenue": ("USD", "revenue recognised in the step"),
    "ebitda": ("USD", "EBITDA of the step"),
    "interest": ("USD", "interest of the step"),
    "tax": ("USD", "cash tax of the step"),
    "capex": ("USD", "capex of the step"),
    "fcf": ("USD", "free cash flow: EBITDA - non-cash revenue - interest - tax - capex"),
    "net_financing": ("USD", "draws - repayments + equity raised + bitcoin sold"),
    "cash": ("USD", "cash at the end of the step"),
    "debt": ("USD", "debt principal and revolver at the end of the step"),
    "rpo": ("USD", "remaining contract value after the step"),
    "utilization": ("1", "spot GPU utilisation"),
    "alive": ("1", "1 until the company defaults (inclusive of the default step), then 0"),
    "depreciation": ("USD", "accounting depreciation of the step"),
    "impairment": ("USD", "impairment charge of the step"),
    "btc_holdings": ("BTC", "bitcoin treasury at the end of the step"),
}


def company_dataset(scenario, res: dict, full: bool):
    """Company results -> Dataset with dims ``company``, ``path`` and ``time``.

    Always: per company and path the default step and cause, recovery step and
    status (CF flag attributes), stress and trough steps; per company and step
    the cumulative PD with Wilson 95 % bounds; the FCF recovery curve. With
    ``full``: every line of :data:`COMPANY_UNITS` over (company, path, time).
    """
    import xarray as xr

    from simulator._kernels import company_layout as CL
    from simulator.company.codes import DefaultCause, RecoveryStatus, flag_attrs
    from simulator.company.summary import equal_weights, pd_curve, recovery_curve

    ci = res["companies"]
    pint, pflt = res["pint"], res["pflt"]
    n_paths, n_steps = pint.shape[0], scenario.simulation.n_steps
    ds = xr.Dataset(coords={"company": list(ci.names), "path": np.arange(n_paths),
                            "time": time_index(scenario.simulation)})
    step = "step index from 0 (the first simulated step), -1 if none"
    per_path = {
        "default_month": (CL.P_DEFAULT_MONTH, np.int32, {"long_name": "step of default", "units": "1", "description": step}),
        "default_cause": (CL.P_CAUSE, np.int8, {"long_name": "cause of default", **flag_attrs(DefaultCause)}),
        "recovery_month": (CL.P_REC_MONTH, np.int32, {"long_name": "step at which trailing-12-month FCF reached the target", "units": "1", "description": step}),
        "recovery_status": (CL.P_REC_STATUS, np.int8, {"long_name": "FCF recovery status", **flag_attrs(RecoveryStatus)}),
        "stress_month": (CL.P_STRESS_MONTH, np.int32, {"long_name": "step at which the FCF stress episode started", "units": "1", "description": step}),
        "trough_month": (CL.P_TROUGH_MONTH, np.int32, {"long_name": "step of the FCF trough in the episode", "units": "1", "description": step}),
    }
    for name, (col, dtype, attrs) in per_path.items():
        ds[name] = (("company", "path"), pint[:, :, col].T.astype(dtype), attrs)
    ds["trough_metric"] = (("company", "path"), pflt[:, :, CL.PF_TROUGH].T, {"long_name": "recovery metric at the trough (USD or share)"})
    ds["loss_given_default"] = (("company", "path"), pflt[:, :, CL.PF_LOSS].T, {"units": "USD", "long_name": "loss to creditors on default (0 if none)"})
    p, lo, hi = pd_curve(pint[:, :, CL.P_DEFAULT_MONTH], equal_weights(n_paths), n_steps)
    ds["pd_cumulative"] = (("company", "time"), p, {"units": "1", "long_name": "P(defaulted by the end of the step)"})
    ds["pd_lower"] = (("company", "time"), lo, {"units": "1", "long_name": "Wilson 95 % lower bound of pd_cumulative"})
    ds["pd_upper"] = (("company", "time"), hi, {"units": "1", "long_name": "Wilson 95 % upper bound of pd_cumulative"})
    ds["recovery_curve"] = (("company", "steps_since_stress"), recovery_curve(pint, equal_weights(n_paths), n_steps),
                            {"units": "1", "long_name": "P(FCF recovered within m steps of the stress start | stressed)"})
    ds = ds.assign_coords(steps_since_stress=np.arange(n_steps + 1))
    alive = (res["alarms"] & CL.ALARM_ALIVE) > 0
    n_alive = alive.sum(axis=0)  # [company, time]
    for name, bit, text in (("demand_alarm_share", CL.ALARM_DEMAND, "demand alarm (L1 and L2)"),
                            ("leverage_alarm_share", CL.ALARM_LEVERAGE, "leverage alarm (L3 and L4)"),
                            ("avalanche_share", CL.ALARM_AVALANCHE, "avalanche (both alarms)")):
        lit = ((res["alarms"] & bit) > 0).sum(axis=0)
        share = np.where(n_alive > 0, lit / np.maximum(n_alive, 1), np.nan)
        ds[name] = (("company", "time"), share, {"units": "1", "long_name": f"share of paths alive at the step with the {text} lit"})
    if full and res.get("full") is not None:
        for v, name in enumerate(CL.OUT_NAMES):
            units, long_name = COMPANY_UNITS[name]
            ds[name] = (("company", "path", "time"), res["full"][v], {"units": units, "long_name": long_name})
    return ds
