"""Bitcoin network hashrate (deterministic) and block subsidy with halvings."""

from __future__ import annotations

import numpy as np

#: Blocks per year at the 10-minute target.
BLOCKS_PER_YEAR = 6 * 24 * 365.25


def month_index(month: str) -> int:
    """'YYYY-MM' -> months since year 0 (for differences)."""
    y, m = month.split("-")
    return int(y) * 12 + int(m) - 1


def network(spec, start: str, n_steps: int, months_per_step: int):
    """Per step (end of step): network hashrate (EH/s) and block subsidy (BTC).

    ``H_t = h0 (1 + growth)^t``; the subsidy halves in each listed month
    (a halving in the month that a step ends counts for that step).
    """
    t_months = months_per_step * (np.arange(n_steps) + 1)
    hashrate = spec.h0 * (1 + spec.growth) ** (t_months / 12.0)
    s0 = month_index(start)
    subsidy = np.full(n_steps, spec.subsidy)
    for h in spec.halvings:
        k = month_index(h) - s0  # months after the start month
        if k >= 0:
            subsidy[t_months - 1 >= k] *= 0.5
    return hashrate, subsidy
