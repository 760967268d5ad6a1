"""Structural check: one lognormal asset and one bullet debt give Merton's PD.

The company's only asset is a bitcoin treasury (the market's GBM bitcoin, no
jumps), its only liability a zero-coupon bullet that cannot be refinanced and
is repaid by selling bitcoin (no haircut). It defaults at maturity exactly
when ``N S_T < D``, so ``PD = N(-d2)`` with
``d2 = (ln(N S_0 / D) + (mu - sigma^2 / 2) T) / (sigma sqrt(T))``.
"""

import math

from scipy.stats import norm

from simulator.company import DefaultCause
from tests.company.helpers import per_path, scenario

from simulator.engine import run

K_STDERR = 4.0


def test_pd_at_maturity_matches_merton():
    s0, mu, sigma = 77862.0, 0.05, 0.6
    n_btc, face, months = 10_000.0, 5.0e8, 24
    company = {"archetype": "miner", "cash": 0.0, "tax_rate": 0.0,
               "treasury": {"btc": n_btc, "haircut": 0.0},
               "debt": [{"name": "bullet", "principal": face, "coupon": 0.0, "maturity": months - 1,
                         "refinanceable": False}]}
    paths = 20_000
    sc = scenario({"m": company}, paths=paths, months=months, seed=3,
                  drivers={"bitcoin": {"model": "gbm", "s0": s0, "mu": mu, "sigma": sigma}})
    res = run(sc, keep_market=False)
    t = months / 12.0
    d2 = (math.log(n_btc * s0 / face) + (mu - 0.5 * sigma**2) * t) / (sigma * math.sqrt(t))
    exact = norm.cdf(-d2)
    dm = per_path(res, "default_month")[:, 0]
    cause = per_path(res, "default_cause")[:, 0]
    assert set(dm[dm >= 0]) == {months - 1}  # only at maturity
    assert (cause[dm >= 0] == DefaultCause.refinancing).all()
    pd_mc = (dm >= 0).mean()
    se = math.sqrt(exact * (1 - exact) / paths)
    assert 0.2 < exact < 0.5
    assert abs(pd_mc - exact) <= K_STDERR * se, (pd_mc, exact, se)
