"""Small scenarios for the company-engine tests."""

from __future__ import annotations

import numpy as np

from simulator.engine import n_streams, run
from simulator.scenario.loader import resolve_dict, validate
from tests.conftest import SCENARIOS


def scenario(companies: dict, paths: int = 1, months: int = 24, seed: int = 7, drivers: dict | None = None):
    """The shipped base market with ``companies`` (plain dicts) and a short horizon."""
    data, sources = resolve_dict(SCENARIOS / "common" / "market.yaml")
    data["companies"] = companies
    data["simulation"].update(paths=paths, horizon_years=months / 12, seed=seed)
    for driver, over in (drivers or {}).items():
        data["drivers"][driver] = {**data["drivers"][driver], **over}
    return validate(data, sources, "test")


def run_zero(sc, full: bool = True) -> dict:
    """Run with every variate zero: all volatilities switched off, no jumps."""
    n = sc.simulation.n_steps
    shocks = np.zeros((sc.simulation.paths, n, n_streams(len(sc.companies))))
    return run(sc, shocks=shocks, full=full)


def line(res: dict, name: str, company: int = 0, path: int = 0) -> np.ndarray:
    """One full-mode line (USD per month, etc.) of one company on one path."""
    from simulator._kernels.company_layout import OUT_NAMES

    return res["full"][OUT_NAMES.index(name), company, path]


def per_path(res: dict, name: str) -> np.ndarray:
    """A per-path integer result ``[path, company]`` by name."""
    from simulator._kernels.company_layout import PINT_NAMES

    return res["pint"][:, :, PINT_NAMES.index(name)]


def cash_burner(cash: float, burn: float, **extra) -> dict:
    """A neocloud with no revenue, fixed opex ``burn`` per month and no tax."""
    return {"archetype": "neocloud", "cash": cash, "opex_fixed": burn, "tax_rate": 0.0, **extra}
