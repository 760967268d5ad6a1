"""Raw arrays -> labelled results (:class:`simulator.labelled.Labelled`), result files.

Time axis: ``time`` holds the last day of each step's final month; driver
values are as of that date, flows are over the step that ends then.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from simulator import __version__
from simulator._kernels import layout as L
from simulator.errors import OutputError
from simulator.labelled import Labelled

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


def time_index(simulation) -> np.ndarray:
    """Month-end dates at the end of each step (``datetime64[ns]``, midnight)."""
    first = np.datetime64(simulation.start, "M")
    month_ends = first + np.arange(1, simulation.n_steps + 1) * simulation.months_per_step
    return (month_ends.astype("datetime64[D]") - np.timedelta64(1, "D")).astype("datetime64[ns]")


def data_files(scenario) -> dict[str, str]:
    """Data files the run reads: ``{key path: absolute CSV path}`` (replay, bootstrap)."""
    d = scenario.drivers
    out = {}
    if d.bitcoin.model in ("replay", "bootstrap"):
        out["drivers.bitcoin.data.csv"] = d.bitcoin.data.csv
    if d.rates.model == "replay":
        out["drivers.rates.data.csv"] = d.rates.data.csv
    return out


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def provenance(scenario) -> dict:
    """Attributes that let a results file reproduce its run (``simulate rerun``).

    ``scenario_json`` is the fully resolved scenario (after ``extends``,
    ``--set`` and command-line options); ``data_sha256`` holds the SHA-256 of
    every CSV the run read, so that a rerun can refuse changed data.
    """
    from simulator.scenario.loader import scenario_sha256

    return {
        "scenario": scenario.name,
        "scenario_sha256": scenario_sha256(scenario),
        "scenario_json": json.dumps(scenario.model_dump(mode="json")),  # key order kept: company order sets their random streams
        "data_sha256": json.dumps({k: file_sha256(p) for k, p in data_files(scenario).items()}, sort_keys=True),
        "seed": scenario.simulation.seed,
        "paths": scenario.simulation.paths,
        "simulator_version": __version__,
    }


def read_provenance(path: str | os.PathLike):
    """A results file -> (Scenario, output mode ``'full'``/``'summary'``, attributes).

    Checks that the CSV files the run read still exist with the same content.

    Raises
    ------
    OutputError
        Not a results file, or one without a stored scenario.
    ScenarioError
        The stored scenario no longer validates, or a data file it read is
        missing or changed.
    """
    import xarray as xr

    from simulator.errors import ScenarioError
    from simulator.scenario.loader import scenario_from_json

    path = Path(path)
    if not path.is_file():
        raise OutputError(f"{path}: file not found")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            attrs = dict(ds.attrs)
    except Exception:  # noqa: BLE001 - any reader failure means "not a results file"
        raise OutputError(f"{path}: not a results file (cannot be read as NetCDF)") from None
    if "scenario_json" not in attrs:
        raise OutputError(f"{path}: has no stored scenario (scenario_json); it cannot be rerun")
    scenario = scenario_from_json(attrs["scenario_json"], str(path))
    try:
        hashes = json.loads(attrs.get("data_sha256", "{}"))
    except ValueError:
        raise OutputError(f"{path}: data_sha256 attribute is not valid JSON") from None
    for key, csv in data_files(scenario).items():
        if key not in hashes:
            raise OutputError(f"{path}: no checksum stored for {key}; it cannot be rerun exactly")
        if not os.path.isfile(csv):
            raise ScenarioError(f"data file {csv} used by the run is missing; restore it to rerun", str(path),
                                keypath=key)
        if file_sha256(csv) != hashes[key]:
            raise ScenarioError(f"data file {csv} changed since the run (sha256 differs); restore it to rerun",
                                str(path), keypath=key)
    return scenario, attrs.get("output", "summary"), attrs


def estimate_full_bytes(scenario) -> int:
    """Bytes of the per-path arrays of a ``--output full`` run: what it writes
    and what the engine holds in memory.

    Market: ``N_MARKET_VARS x paths x steps x 8``; companies:
    ``N_OUT x companies x paths x steps x 8`` plus one alarm byte per
    company-path-step.
    """
    from simulator._kernels import company_layout as CL

    sim = scenario.simulation
    n_comp = len(scenario.companies)
    return (L.N_MARKET_VARS + CL.N_OUT * n_comp) * sim.paths * sim.n_steps * 8 + n_comp * sim.paths * sim.n_steps


def band_attrs(exact: bool, relative_error: float) -> dict:
    """Attributes stating how quantile bands were computed, and their error."""
    if exact:
        return {"band_method": "exact: numpy.quantile over every path (linear interpolation)"}
    from simulator.sketch import ABSOLUTE_ERROR

    return {"band_method": "histogram sketch (log-linear fixed bins, simulator.sketch)",
            "band_relative_error": relative_error,
            "band_absolute_error_near_zero": ABSOLUTE_ERROR}


def market_data(scenario, market: np.ndarray | None, inputs, full: bool, summary=None) -> Labelled:
    """Market arrays ``[var, path, step]`` -> labelled results.

    ``full``: every path, dims ``(path, time)``. Otherwise per-step mean and
    quantiles over paths, dims ``(quantile, time)``: from ``market`` (exact),
    or from a streamed :class:`simulator.stream.Summary` (``summary``; exact
    or the histogram sketch, as its attributes say).
    """
    ds = Labelled()
    ds.add_coord("time", time_index(scenario.simulation))
    if full:
        ds.add_coord("path", np.arange(market.shape[1]))
    else:
        ds.add_coord("quantile", np.asarray(QUANTILES))
    for v, name in enumerate(L.MARKET_VARS):
        units, long_name = MARKET_UNITS[name]
        attrs = {"units": units, "long_name": long_name}
        if full:
            ds[name] = (("path", "time"), market[v], attrs)
        elif summary is not None:
            ds[f"{name}_mean"] = (("time",), summary.market_mean[v], attrs)
            ds[f"{name}_quantiles"] = (("quantile", "time"), summary.bands[:, v],
                                       {**attrs, **band_attrs(summary.exact, summary.relative_error)})
        else:
            ds[f"{name}_mean"] = (("time",), market[v].mean(axis=0), attrs)
            ds[f"{name}_quantiles"] = (("quantile", "time"), np.quantile(market[v], QUANTILES, axis=0),
                                       {**attrs, **band_attrs(True, 0.0)})
    ds["network_hashrate"] = (("time",), inputs.network_hashrate, {"units": "EH/s", "long_name": "bitcoin network hashrate"})
    ds["block_subsidy"] = (("time",), inputs.block_subsidy, {"units": "BTC", "long_name": "block subsidy"})
    ds["correlation"] = (("factor", "factor2"), inputs.correlation.matrix,
                         {"long_name": "factor correlation used", "repaired": int(inputs.correlation.repaired)})
    ds.add_coord("factor", list(L.FACTORS))
    ds.add_coord("factor2", list(L.FACTORS))
    ds.attrs.update(provenance(scenario))
    ds.attrs["output"] = "full" if full else "summary"
    return ds


#: Test-only hook: seconds to wait after the temporary file is complete and
#: before it is renamed into place (to test interruption). Never set it otherwise.
TEST_WRITE_DELAY_ENV = "SIMULATOR_TEST_WRITE_DELAY"


def _temp_prefix(path: Path) -> str:
    """Temporary files are ``.NAME.HOST.PID.RANDOM.tmp`` beside the target: hidden,
    never ending in the target's suffix, and traceable to the process."""
    return f".{path.name}.{socket.gethostname()}.{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(path: Path) -> list[Path]:
    """Remove temporary files of ``path`` left by a killed run (SIGKILL, power loss)
    on this host: those whose process no longer exists. Returns what was removed."""
    host = socket.gethostname()
    removed = []
    for p in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        rest = p.name[len(path.name) + 2:-len(".tmp")]
        parts = rest.rsplit(".", 2)
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        if int(parts[1]) != os.getpid() and not _pid_alive(int(parts[1])):
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def write_dataset(ds, path: str | os.PathLike, force: bool = False) -> Path:
    """Write NetCDF atomically: ``ds`` a :class:`~simulator.labelled.Labelled`
    (:meth:`~simulator.labelled.Labelled.write_netcdf`) or an ``xarray.Dataset``
    (``to_netcdf`` with h5netcdf).

    The data go to a temporary file beside the target (see :func:`_temp_prefix`),
    which is renamed into place only when complete; on any error or interruption
    (Ctrl-C, SIGTERM through the CLI's handler) it is removed and an existing
    target is untouched. Without ``force`` an existing file is never replaced,
    even one created while this run was writing (hard link, not rename).
    Stale temporary files of earlier killed runs are removed first.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputError(f"{path} exists; use --force to overwrite it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"folder {folder} does not exist")
    if path.is_dir():
        raise OutputError(f"{path} is a folder, not a results file")
    remove_stale_temps(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=folder)
    except OSError as e:
        raise OutputError(f"cannot write in {folder}: {e.strerror or e}") from None
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a result gets ordinary permissions
        if isinstance(ds, Labelled):
            ds.write_netcdf(tmp)
        else:
            ds.to_netcdf(tmp, engine="h5netcdf")
        delay = os.environ.get(TEST_WRITE_DELAY_ENV)
        if delay:  # short sleeps: a signal delivered to another thread is still seen promptly
            end = time.monotonic() + float(delay)
            while time.monotonic() < end:
                time.sleep(0.02)
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the target appeared meanwhile
            except FileExistsError:
                raise OutputError(f"{path} exists; use --force to overwrite it") from None
            except OSError:  # file system without hard links
                if path.exists():
                    raise OutputError(f"{path} exists; use --force to overwrite it") from None
                os.replace(tmp, path)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
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
    "net_leverage": ("1", "(debt - cash) / trailing-12-month EBITDA at the end of the step (+-inf when EBITDA <= 0)"),
}


def company_data(scenario, res: dict, full: bool) -> Labelled:
    """Company results -> labelled results with dims ``company``, ``path`` and ``time``.

    Always: per company and path the default step and cause, recovery step and
    status (CF flag attributes), stress and trough steps; per company and step
    the cumulative PD with Wilson 95 % bounds; the FCF recovery curve. With
    ``full``: every line of :data:`COMPANY_UNITS` over (company, path, time).
    """
    from simulator._kernels import company_layout as CL
    from simulator.company.codes import DefaultCause, RecoveryStatus, flag_attrs
    from simulator.company.summary import equal_weights, paths_last, pd_curve, recovery_curve

    ci = res["companies"]
    pint, pflt = paths_last(res["pint"]), paths_last(res["pflt"])  # each column of a company contiguous
    n_paths, n_steps = pint.shape[0], scenario.simulation.n_steps
    ds = Labelled()
    ds.add_coord("company", list(ci.names))
    ds.add_coord("path", np.arange(n_paths))
    ds.add_coord("time", time_index(scenario.simulation))
    step = "step index from 0 (the first simulated step), -1 if none"
    # steps as int16 (a run has at most 600): at 10^6 paths the file is 40 MB smaller than with int32,
    # 0.1-0.4 s less to write here (docs/performance.md section 15)
    per_path = {
        "default_month": (CL.P_DEFAULT_MONTH, np.int16, {"long_name": "step of default", "units": "1", "description": step}),
        "default_cause": (CL.P_CAUSE, np.int8, {"long_name": "cause of default", **flag_attrs(DefaultCause)}),
        "recovery_month": (CL.P_REC_MONTH, np.int16, {"long_name": "step at which trailing-12-month FCF reached the target", "units": "1", "description": step}),
        "recovery_status": (CL.P_REC_STATUS, np.int8, {"long_name": "FCF recovery status", **flag_attrs(RecoveryStatus)}),
        "stress_month": (CL.P_STRESS_MONTH, np.int16, {"long_name": "step at which the FCF stress episode started", "units": "1", "description": step}),
        "trough_month": (CL.P_TROUGH_MONTH, np.int16, {"long_name": "step of the FCF trough in the episode", "units": "1", "description": step}),
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
    ds.add_coord("steps_since_stress", np.arange(n_steps + 1))
    from simulator._kernels import summary as SK

    if res.get("counts") is not None:  # streamed summary mode
        counts, bands, exact, rel = res["counts"], res["bands"][:, L.N_MARKET_VARS:], res["exact"], res["relative_error"]
    else:  # every path in memory: the same aggregates, exact
        from simulator.stream import from_full

        counts, _, allb = from_full(res, QUANTILES)
        bands, exact, rel = allb[:, L.N_MARKET_VARS:], True, 0.0
    n_alive = counts[:, SK.CN_ALIVE]  # [company, time]
    ds["alive_count"] = (("company", "time"), counts[:, SK.CN_ALIVE],
                         {"units": "1", "long_name": "paths on which the company is alive at the end of the step"})
    for name, col, text in (("demand_alarm_share", SK.CN_DEMAND, "demand alarm (L1 and L2)"),
                            ("leverage_alarm_share", SK.CN_LEVERAGE, "leverage alarm (L3 and L4)"),
                            ("avalanche_share", SK.CN_AVALANCHE, "avalanche (both alarms)")):
        lit = counts[:, col]
        share = np.where(n_alive > 0, lit / np.maximum(n_alive, 1), np.nan)
        ds[name] = (("company", "time"), share, {"units": "1", "long_name": f"share of paths alive at the step with the {text} lit"})
    ds.add_coord("quantile", np.asarray(QUANTILES))
    n_comp = len(ci.names)
    for k, o in enumerate(SK.COMPANY_BANDS):
        name = CL.OUT_NAMES[o]
        units, long_name = COMPANY_UNITS[name]
        b = bands[:, [SK.N_COMPANY_BANDS * c + k for c in range(n_comp)]]
        ds[f"{name}_quantiles"] = (("quantile", "company", "time"), b,
                                   {"units": units, "long_name": f"{long_name}: quantiles over paths alive in the step",
                                    **band_attrs(exact, rel)})
    if full and res.get("full") is not None:
        for v, name in enumerate(CL.OUT_NAMES):
            units, long_name = COMPANY_UNITS[name]
            ds[name] = (("company", "path", "time"), res["full"][v], {"units": units, "long_name": long_name})
    return ds
