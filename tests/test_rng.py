"""The counter-based generator: distributions, independence, purity, reproducibility.

Statistical checks use a fixed seed and a tolerance of 4 standard errors:
mean ``sd / sqrt(n)``; variance ``sqrt((m4 - s^4) / n)``; excess kurtosis of a
normal sample ``sqrt(24 / n)``; a proportion ``sqrt(p (1 - p) / n)``; a
correlation that should be zero ``1 / sqrt(n)``. Kolmogorov-Smirnov tests must
not reject at the 1 % level.
"""

import math

import numpy as np
import pytest
from scipy import stats

from simulator._kernels import layout as L
from simulator.drivers import pack_market
from simulator.drivers.checks import se_mean, se_var
from simulator.engine import run_market, set_threads
from simulator.results import market_data
from simulator.rng import draw, market_stream_kinds
from simulator.scenario import load_scenario
from tests.conftest import SCENARIOS

K_SE = 4.0
SEED = 987654321
MARKET = SCENARIOS / "common" / "market.yaml"


@pytest.fixture(scope="module")
def normals():
    """10^6 normals: 1000 paths x 500 steps x streams 0 and 10."""
    return draw(SEED, 0, 1000, 500, [0, 10], [L.NORMAL, L.NORMAL]).ravel()


def test_normal_mean_variance_kurtosis(normals):
    x = normals
    n = x.size
    m, se = se_mean(x)
    assert abs(m) <= K_SE * se
    v, se = se_var(x)
    assert abs(v - 1.0) <= K_SE * se
    kurt = float(((x - m) ** 4).mean() / ((x - m) ** 2).mean() ** 2)
    assert abs(kurt - 3.0) <= K_SE * math.sqrt(24.0 / n)


def test_normal_ks(normals):
    assert stats.kstest(normals, "norm").pvalue > 0.01


def test_normal_tail_beyond_ziggurat_base(normals):
    """Share beyond the ziggurat's base layer r = 3.6542 (drawn by the tail algorithm)."""
    r = 3.6541528853610088
    p = 2 * stats.norm.sf(r)
    share = float((np.abs(normals) > r).mean())
    assert abs(share - p) <= K_SE * math.sqrt(p * (1 - p) / normals.size)
    assert normals.max() > r and normals.min() < -r


def test_uniform_range_and_ks():
    u = draw(SEED, 0, 1000, 500, [9, 16], [L.UNIFORM, L.UNIFORM]).ravel()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 0.01


def test_streams_paths_and_steps_uncorrelated():
    kinds = market_stream_kinds()
    x = draw(SEED, 0, 2000, 100, np.arange(L.N_MARKET_STREAMS), kinds)  # [path, step, stream]
    n = x.shape[0] * x.shape[1]
    c = np.corrcoef(x.reshape(n, -1), rowvar=False)
    off = c[~np.eye(c.shape[0], dtype=bool)]
    assert np.abs(off).max() <= K_SE / math.sqrt(n)
    # lag-1 across steps and across neighbouring paths, per stream
    for j in range(x.shape[2]):
        a = x[:, :-1, j].ravel(), x[:, 1:, j].ravel()
        assert abs(np.corrcoef(*a)[0, 1]) <= K_SE / math.sqrt(a[0].size)
        b = x[:-1, :, j].ravel(), x[1:, :, j].ravel()
        assert abs(np.corrcoef(*b)[0, 1]) <= K_SE / math.sqrt(b[0].size)


STREAMS = np.arange(L.N_MARKET_STREAMS)


def test_path_of_small_run_equals_path_of_large_run():
    kinds = market_stream_kinds()
    small = draw(SEED, 0, 10, 24, STREAMS, kinds)
    large = draw(SEED, 0, 1000, 24, STREAMS, kinds)
    np.testing.assert_array_equal(small, large[:10])


def test_chunking_does_not_change_draws():
    kinds = market_stream_kinds()
    whole = draw(SEED, 0, 100, 24, STREAMS, kinds)
    parts = np.concatenate([draw(SEED, 0, 30, 24, STREAMS, kinds), draw(SEED, 30, 45, 24, STREAMS, kinds),
                            draw(SEED, 75, 25, 24, STREAMS, kinds)])
    np.testing.assert_array_equal(whole, parts)


def test_draws_depend_on_step_and_stream_only_by_index():
    """A shorter horizon or a subset of streams gives the same numbers."""
    kinds = market_stream_kinds()
    full = draw(SEED, 5, 20, 60, STREAMS, kinds)
    np.testing.assert_array_equal(draw(SEED, 5, 20, 12, STREAMS, kinds), full[:, :12])
    np.testing.assert_array_equal(draw(SEED, 5, 20, 60, [12, 3], kinds[[12, 3]]), full[:, :, [12, 3]])


def test_different_seeds_differ():
    kinds = market_stream_kinds()
    a = draw(SEED, 0, 50, 12, STREAMS, kinds)
    b = draw(SEED + 1, 0, 50, 12, STREAMS, kinds)
    assert (a != b).mean() > 0.99


def _scenario(seed=SEED, paths=300):
    return load_scenario(MARKET, paths=paths, seed=seed, horizon_years=2)


def test_engine_chunks_and_threads_agree():
    sc = _scenario()
    whole = run_market(sc)
    parts = np.concatenate([run_market(sc, path0=0, n_paths=120), run_market(sc, path0=120, n_paths=180)], axis=1)
    np.testing.assert_array_equal(whole, parts)
    import numba

    before = numba.get_num_threads()
    try:
        set_threads(1)
        serial = run_market(sc)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(whole, serial)


def test_injected_shocks_equal_generator():
    """Feeding the generator's own variates as shocks reproduces the run exactly."""
    sc = _scenario(paths=50)
    shocks = draw(sc.simulation.seed, 0, 50, sc.simulation.n_steps, STREAMS, market_stream_kinds())
    np.testing.assert_array_equal(run_market(sc, shocks=shocks), run_market(sc))


@pytest.mark.parametrize("full", [True, False], ids=["full", "summary"])
def test_same_seed_same_dataset_other_seed_other_dataset(full):
    def dataset(seed):
        sc = _scenario(seed)
        mi = pack_market(sc)
        return market_data(sc, run_market(sc, inputs=mi), mi, full=full).to_xarray()

    a, b, c = dataset(SEED), dataset(SEED), dataset(SEED + 1)
    assert a.identical(b)
    suffix = "" if full else "_mean"
    for var in ("btc_price", "short_rate", "hy_spread", "gpu_price", "ai_demand", "power_price"):
        assert not np.array_equal(a[var + suffix].values, c[var + suffix].values), var
