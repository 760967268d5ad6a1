"""The Python API behind the command line: run scenario files, get a report."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence


@dataclass
class Report:
    """What a run produced: per-scenario results and where they were written."""

    #: scenario name -> :class:`simulator.labelled.Labelled` (the content of the results file)
    labelled: dict = field(default_factory=dict)
    written: dict = field(default_factory=dict)
    #: scenario name -> one-line notices for the user (e.g. a repaired correlation matrix)
    notices: dict = field(default_factory=dict)
    #: per scenario: {company: summary} (:func:`simulator.company.summary.summarise`)
    companies: dict = field(default_factory=dict)
    #: with several scenarios: {"weights": {scenario: w}, "companies": {company: summary}}
    blend: dict | None = None
    _datasets: dict | None = field(default=None, init=False, repr=False)

    @property
    def datasets(self) -> dict:
        """scenario name -> ``xarray.Dataset``: the results as xarray (imported on first use)."""
        if self._datasets is None or self._datasets.keys() != self.labelled.keys():
            self._datasets = {name: d.to_xarray() for name, d in self.labelled.items()}
        return self._datasets

    def summary(self) -> dict:
        import numpy as np

        from simulator.results import QUANTILES

        out = {}
        for name, ds in self.labelled.items():
            s = {"file": str(self.written.get(name, "")), "paths": int(ds.attrs["paths"]),
                 "seed": int(ds.attrs["seed"]), "drivers_at_horizon": {}}
            for var in ("btc_price", "short_rate", "hy_spread", "gpu_price", "ai_demand", "inference_cost",
                        "app_gross_margin", "power_price"):
                if f"{var}_quantiles" in ds:  # dims (quantile, time)
                    q = ds[f"{var}_quantiles"][:, -1]
                    mean = float(ds[f"{var}_mean"][-1])
                else:  # every path, dims (path, time); NaN skipped as xarray's quantile and mean do
                    q = np.nanquantile(ds[var][:, -1], QUANTILES)
                    mean = float(np.nanmean(ds[var][:, -1]))
                s["drivers_at_horizon"][var] = {"mean": mean, "p5": float(q[0]), "p50": float(q[2]), "p95": float(q[4])}
            s["notices"] = list(self.notices.get(name, []))
            if name in self.companies:
                s["companies"] = self.companies[name]
            out[name] = s
        if self.blend is not None:
            out["blend"] = self.blend
        return out

    def to_json(self) -> str:
        """The summary as strict JSON (NaN, for "no such event", becomes null)."""
        return json.dumps(_nan_to_none(self.summary()), indent=2, default=_json_default, allow_nan=False)

    def print(self) -> None:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        summary = self.summary()
        blend = summary.pop("blend", None)
        for name, s in summary.items():
            t = Table(title=f"{name}: market drivers at the horizon ({s['paths']} paths, seed {s['seed']})")
            for col in ("driver", "mean", "p5", "median", "p95"):
                t.add_column(col, justify="right" if col != "driver" else "left")
            for var, m in s["drivers_at_horizon"].items():
                t.add_row(var, *(f"{m[k]:.4g}" for k in ("mean", "p5", "p50", "p95")))
            console.print(t)
            for note in s["notices"]:
                console.print(f"note: {note}", markup=False, soft_wrap=True)
            if s.get("companies"):
                print_company_tables(console, f"{name} ({s['paths']} paths)", s["companies"])
            console.print(f"results: {s['file']}")
        if blend is not None:
            weights = ", ".join(f"{k} {v:.2f}" for k, v in blend["weights"].items())
            print_company_tables(console, f"blend ({weights})", blend["companies"])


def _nan_to_none(x):
    import math

    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_to_none(v) for v in x]
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def _json_default(x):
    import numpy as np

    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x)}")


def _pct(x: float) -> str:
    import math

    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return "<0.1%" if 0 < x < 0.0005 else f"{100 * x:.1f}%"


def _num(x: float) -> str:
    import math

    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0f}"


def print_company_tables(console, title: str, companies: dict) -> None:
    """Three rich tables: default, FCF recovery, alarm lights (one row per company)."""
    from rich.table import Table

    t = Table(title=f"{title}: default by the horizon")
    for col in ("company", "PD", "95% CI", "liquidity", "covenant", "refinancing",
                "month p25 / median / p75", "EL $bn", "LGD"):
        t.add_column(col, justify="left" if col == "company" else "right")
    for name, c in companies.items():
        pd, dm, by = c["pd"], c["default_month"], c["pd_by_cause"]
        t.add_row(name, _pct(pd["p"]), f"{_pct(pd['lower'])} - {_pct(pd['upper'])}", _pct(by["liquidity"]),
                  _pct(by["covenant"]), _pct(by["refinancing"]),
                  f"{_num(dm['p25'])} / {_num(dm['median'])} / {_num(dm['p75'])}",
                  f"{c['expected_loss']['usd'] / 1e9:.2f}", _pct(c["expected_loss"]["lgd"]))
    console.print(t)
    t = Table(title=f"{title}: FCF recovery (months from the start of the stress episode)")
    for col in ("company", "never stressed", "recovered", "censored", "defaulted", "median months",
                "<= 12", "<= 24", "<= 36"):
        t.add_column(col, justify="left" if col == "company" else "right")
    for name, c in companies.items():
        r = c["recovery"]
        t.add_row(name, _pct(r["never_stressed"]), _pct(r["recovered"]), _pct(r["censored"]), _pct(r["defaulted"]),
                  _num(r["median_months"]), _pct(r["within_12"]), _pct(r["within_24"]), _pct(r["within_36"]))
    console.print(t)
    t = Table(title=f"{title}: alarm lights (share of company-months alive)")
    for col in ("company", "demand", "leverage", "avalanche", "P(def 12m | avalanche)", "avalanche months",
                "P(def 12m)"):
        t.add_column(col, justify="left" if col == "company" else "right")
    for name, c in companies.items():
        a = c["alarms"]
        t.add_row(name, _pct(a["demand"]), _pct(a["leverage"]), _pct(a["avalanche"]),
                  _pct(a["pd12_given_avalanche"]), str(a["avalanche_months_observed"]), _pct(a["pd12_unconditional"]))
    console.print(t)
    rows = [(name, c["contagion"]) for name, c in companies.items() if "contagion" in c]
    if rows:
        t = Table(title=f"{title}: contagion along contracts")
        for col in ("company", "counterparties", "P(counterparty defaults first)", "PD | counterparty default",
                    "PD otherwise"):
            t.add_column(col, justify="left" if col in ("company", "counterparties") else "right")
        for name, k in rows:
            t.add_row(name, ", ".join(k["counterparties"]), _pct(k["p_counterparty_default_first"]),
                      _pct(k["pd_given_counterparty_default"]), _pct(k["pd_otherwise"]))
        console.print(t)


#: Engines a run can use.
ENGINES = ("numba", "numpy")


def default_out_path(name: str) -> Path:
    return Path("results") / f"{name}.nc"


def run_files(files: Sequence[str], overrides=(), *, paths=None, seed=None, horizon_years=None,
              full=False, out_path=None, force=False, threads=None, quiet=True, exact_bytes=None,
              engine="numba") -> Report:
    """Load each scenario file, simulate it, write one results file per scenario.

    ``paths``, ``seed``, ``horizon_years`` override the files' ``simulation`` keys.
    Summary mode streams the paths in chunks (:func:`simulator.stream.run_summary`);
    ``exact_bytes`` caps the memory of exact quantile bands (above it: the
    histogram sketch). ``quiet=False`` shows a progress bar on a terminal.
    ``engine="numpy"`` runs the plain-numpy reference engine instead
    (:func:`simulator.engine.run_reference`; slow, memory as ``--output full``).
    Everything is loaded and checked (targets, memory, disk) before anything
    runs or is written.
    """
    from simulator.errors import OutputError
    from simulator.scenario import load_scenario

    scenarios = [load_scenario(f, overrides, paths=paths, seed=seed, horizon_years=horizon_years) for f in files]
    if out_path is not None and len(scenarios) > 1:
        raise OutputError("-o/--out names one file; with several scenarios leave it out (results/<name>.nc)")
    targets = [Path(out_path) if out_path else default_out_path(sc.name) for sc in scenarios]
    if engine not in ENGINES:
        raise OutputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    return _simulate(scenarios, targets, full=full, force=force, threads=threads, quiet=quiet,
                     exact_bytes=exact_bytes, engine=engine)


def rerun_file(results_file: str, out_path=None, *, force=False, threads=None) -> Report:
    """Reproduce a results file from what it records (resolved scenario, seed,
    output mode, engine, band method) into ``out_path`` (default:
    ``NAME.rerun.nc`` beside it).

    The CSV files the run read must still be there, unchanged (their SHA-256
    is stored in the file); results are bit for bit the same.
    """
    import warnings

    from simulator import __version__
    from simulator.errors import OutputError, ScenarioWarning
    from simulator.results import read_provenance

    scenario, mode, attrs = read_provenance(results_file)
    engine = attrs.get("engine", "numba")  # files from before the attribute: the numba engine
    if engine not in ENGINES:
        raise OutputError(f"{results_file}: unknown engine {engine!r} in its attributes; it cannot be rerun")
    # the same band method as the run: the histogram sketch, or exact whatever its memory (None: decide
    # by size as a run does, for files from before the attribute)
    exact_bytes = {"sketch": 0, "exact": sys.maxsize}.get(attrs.get("bands"))
    if attrs.get("simulator_version") != __version__:
        warnings.warn(ScenarioWarning(
            f"written by simulator {attrs.get('simulator_version', '(unknown)')}, this is {__version__}: "
            "results may differ", str(results_file)), stacklevel=2)
    src = Path(results_file)
    target = Path(out_path) if out_path else src.with_name(f"{src.stem}.rerun{src.suffix or '.nc'}")
    return _simulate([scenario], [target], full=mode == "full", force=force, threads=threads,
                     exact_bytes=exact_bytes, engine=engine)


def same_data(a: str, b: str) -> list[str]:
    """Names of the data variables that differ between two results files (bitwise,
    NaN equal to NaN); empty if they hold the same results."""
    import numpy as np
    import xarray as xr

    with xr.open_dataset(a, engine="h5netcdf") as da, xr.open_dataset(b, engine="h5netcdf") as db:
        names = sorted(set(da.data_vars) | set(db.data_vars))
        return [n for n in names if n not in da or n not in db
                or not np.array_equal(da[n].values, db[n].values, equal_nan=True)]


def _simulate(scenarios, targets, *, full, force, threads, quiet=True, exact_bytes=None, engine="numba") -> Report:
    from concurrent.futures import ThreadPoolExecutor

    from simulator.company import pack_companies
    from simulator.progress import progress_bar
    from simulator.stream import EXACT_BYTES, run_summary, summary_from_full
    from simulator.company.summary import paths_last, summarise
    from simulator.drivers import pack_market
    from simulator.engine import run, run_reference, set_threads
    from simulator.errors import OutputError
    from simulator.resources import check_fits
    from simulator.results import company_data, market_data, write_dataset

    exact_bytes = EXACT_BYTES if exact_bytes is None else exact_bytes
    for t in targets:
        if t.exists() and not force:
            raise OutputError(f"{t} exists; use --force to overwrite it")
    for sc, t in zip(scenarios, targets):
        check_fits(sc, full or engine == "numpy", t)
    set_threads(threads)
    inputs = [pack_market(sc) for sc in scenarios]
    companies = [pack_companies(sc) for sc in scenarios]
    report = Report()
    parts = []
    total = sum(sc.simulation.paths for sc in scenarios)
    with progress_bar(total, description="paths", quiet=quiet) as advance:
        results = []
        for sc, mi, ci in zip(scenarios, inputs, companies):
            if engine == "numpy":
                res = run_reference(sc, inputs=mi, companies=ci, advance=advance)
                if not full:
                    s = summary_from_full(res)
                    res = {**res, "market": None, "counts": s.counts, "bands": s.bands, "exact": True,
                           "relative_error": 0.0, "summary": s, "full": None, "alarms": None}
            elif full:
                res = run(sc, inputs=mi, companies=ci, full=True)
                advance(sc.simulation.paths)
            else:
                s = run_summary(sc, inputs=mi, companies=ci, advance=advance, exact_bytes=exact_bytes)
                res = {"market": None, "pint": s.pint, "pflt": s.pflt, "counts": s.counts, "bands": s.bands,
                       "exact": s.exact, "relative_error": s.relative_error, "companies": ci, "inputs": mi,
                       "summary": s}
            results.append(res)
    for sc, mi, ci, target, res in zip(scenarios, inputs, companies, targets, results):
        ds = market_data(sc, res["market"], mi, full=full, summary=res.get("summary"))
        # what else decides the bits, for `rerun`: the engine, and a summary's band method
        ds.attrs["engine"] = engine
        if not full:
            ds.attrs["bands"] = "exact" if res["exact"] else "sketch"
        if ci.n:
            # the dataset and the summaries read the per-path results a company's column at a time:
            # laid out so once (a summary run's already are; an engine's are copied here, once)
            res = {**res, "pint": paths_last(res["pint"]), "pflt": paths_last(res["pflt"])}
            ds = ds.merge(company_data(sc, res, full=full))
            parts.append((sc, res))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create folder {target.parent}: {e.strerror or e}") from None
        report.labelled[sc.name] = ds
        if mi.correlation.repaired:
            report.notices.setdefault(sc.name, []).append(mi.correlation.notice())
        # the summaries are computed while the file is written: writing is mostly the kernel's
        # page-cache copy and its throttling (h5py releases the GIL), about 0.2-0.8 s at 10^6 paths
        # here (docs/performance.md, section 18); the summaries are numpy passes over the paths. The
        # file is written by this thread, so that an interruption stops it before the rename
        with ThreadPoolExecutor(1, thread_name_prefix="simulator-summary") as helper:
            summary = helper.submit(summarise, res["pint"], res["pflt"], ci.names, ci.opening_debt, mi.n_steps,
                                    mi.months_per_step, counterparties=ci.counterparties()) if ci.n else None
            report.written[sc.name] = write_dataset(ds, target, force=force)
            if summary is not None:
                report.companies[sc.name] = summary.result()
    if len(scenarios) > 1 and parts:
        report.blend = blend_report(parts)
    return report


def blend_report(parts) -> dict:
    """Blend of several scenarios' company results, weighted by their normalised probabilities."""
    from simulator.company.blend import blend, scenario_weights
    from simulator.company.summary import summarise
    from simulator.errors import ScenarioError

    steps = {(sc.simulation.n_steps, sc.simulation.months_per_step) for sc, _ in parts}
    if len(steps) > 1:
        raise ScenarioError("blending needs the same horizon and steps_per_year in every scenario")
    names, pint, pflt, w = blend([(sc.probability, r["pint"], r["pflt"]) for sc, r in parts],
                                 [r["companies"].names for _, r in parts])
    sw = scenario_weights([sc.probability for sc, _ in parts])
    debt = {}
    for _, r in parts:
        for n, d in zip(r["companies"].names, r["companies"].opening_debt):
            debt.setdefault(n, d)
    sc0 = parts[0][0]
    cptys = {n: [k for k in ks if k in names] for n, ks in parts[0][1]["companies"].counterparties().items() if n in names}
    summary = summarise(pint, pflt, names, [debt[n] for n in names], sc0.simulation.n_steps,
                        sc0.simulation.months_per_step, weights=w, counterparties=cptys)
    return {"weights": {sc.name: float(x) for (sc, _), x in zip(parts, sw)}, "companies": summary}
