"""Monthly market series from CSV, for replay and bootstrap drivers.

Format: lines starting with ``#`` are comments (sources); then a header row and
``YYYY-MM[-DD],value`` rows, one per month, in order, without gaps. Values must
be finite and, for prices, positive.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from simulator.errors import ScenarioError


def read_monthly(spec, keypath: str) -> tuple[list[str], np.ndarray]:
    """Read ``spec`` (a :class:`SeriesFile`) -> (months 'YYYY-MM', values * scale)."""
    path = Path(spec.csv)
    if not path.is_file():
        raise ScenarioError(f"CSV file not found: {path}", keypath=f"{keypath}.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(line for line in fh if not line.lstrip().startswith("#")) if r]
    if len(rows) < 2:
        raise ScenarioError(f"CSV {path} has no data rows", keypath=f"{keypath}.csv")
    header, body = rows[0], rows[1:]
    col = 1
    if spec.column is not None:
        if spec.column not in header:
            raise ScenarioError(f"column {spec.column!r} not in {path} (columns: {', '.join(header)})",
                                keypath=f"{keypath}.column")
        col = header.index(spec.column)
    months, values = [], []
    for i, row in enumerate(body, start=2):
        try:
            months.append(row[0][:7])
            values.append(float(row[col]))
        except (IndexError, ValueError):
            raise ScenarioError(f"{path} row {i}: cannot read a month and a number from {row!r}",
                                keypath=f"{keypath}.csv") from None
        if not math.isfinite(values[-1]):
            raise ScenarioError(f"{path} row {i}: value is not finite", keypath=f"{keypath}.csv")
    for a, b in zip(months, months[1:]):
        if _index(b) - _index(a) != 1:
            raise ScenarioError(f"{path}: gap or disorder between months {a} and {b} (rows must be consecutive months)",
                                keypath=f"{keypath}.csv")
    if spec.start is not None:
        if spec.start not in months:
            raise ScenarioError(f"start month {spec.start} not in {path} ({months[0]} .. {months[-1]})",
                                keypath=f"{keypath}.start")
        k = months.index(spec.start)
        months, values = months[k:], values[k:]
    return months, np.asarray(values) * spec.scale


def _index(month: str) -> int:
    try:
        y, m = month.split("-")
        return int(y) * 12 + int(m) - 1
    except ValueError:
        raise ScenarioError(f"bad month {month!r} in CSV (expected YYYY-MM)") from None


def replay_path(spec, n_steps: int, months_per_step: int, keypath: str, positive: bool) -> np.ndarray:
    """Values at the end of each step: row ``(t + 1) * months_per_step - 1`` from the start row."""
    months, values = read_monthly(spec, keypath)
    need = n_steps * months_per_step
    if len(values) < need:
        raise ScenarioError(
            f"replay needs {need} months from {months[0]} but {spec.csv} has {len(values)}; "
            "shorten the horizon or choose an earlier `start`", keypath=f"{keypath}.csv")
    if positive and (values[:need] <= 0).any():
        raise ScenarioError(f"{spec.csv} has non-positive prices", keypath=f"{keypath}.csv")
    return np.ascontiguousarray(values[months_per_step - 1:need:months_per_step])


def monthly_log_returns(spec, keypath: str) -> np.ndarray:
    """Historical monthly log returns of a positive price series (bootstrap)."""
    months, values = read_monthly(spec, keypath)
    if (values <= 0).any():
        raise ScenarioError(f"{spec.csv} has non-positive prices", keypath=f"{keypath}.csv")
    if len(values) < 3:
        raise ScenarioError(f"{spec.csv} needs at least 3 months to bootstrap", keypath=f"{keypath}.csv")
    return np.diff(np.log(values))
