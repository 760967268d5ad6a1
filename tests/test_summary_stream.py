"""Streamed summary mode (simulator.stream) against the same aggregates of a full run.

Integer aggregates (PD curves, causes, alarm counts, the conditional PD) must
be equal; exact bands equal np.quantile of the full run; the histogram sketch
within its stated error; everything bit-identical across chunk sizes and
thread counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from simulator._kernels import company_layout as CL
from simulator._kernels import layout as L
from simulator.engine import run
from simulator.scenario import load_scenario
from simulator.sketch import ABSOLUTE_ERROR, RELATIVE_ERROR, quantiles as sketch_quantiles
from simulator.stream import from_full, run_summary

QS = (0.05, 0.25, 0.5, 0.75, 0.95)
N = 1300  # not a multiple of the 512-path block


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("scenarios/avalanche.yaml", paths=N)


@pytest.fixture(scope="module")
def full(scenario):
    return run(scenario, full=True)


@pytest.fixture(scope="module")
def exact(scenario):
    return run_summary(scenario, chunk=512)


@pytest.fixture(scope="module")
def sketch(scenario):
    return run_summary(scenario, chunk=1024, exact_bytes=0)


def test_per_path_scalars_equal_full_run(full, exact):
    np.testing.assert_array_equal(exact.pint, full["pint"])
    np.testing.assert_array_equal(exact.pflt, full["pflt"])


def test_per_path_scalars_are_kept_with_the_paths_last(exact, sketch):
    """As the summaries and the results file read them: no copy of them after the run."""
    from simulator.company.summary import paths_last

    for s in (exact, sketch):
        for a in (s.pint, s.pflt):
            assert a[:, 1, 2].flags.c_contiguous
            assert paths_last(a) is a


def test_company_summary_is_the_same_on_any_thread_count(scenario, exact):
    """summarise runs one company per task on the thread pool: the same numbers on 1 or 3 threads."""
    import json

    import numba

    from simulator.company.summary import summarise

    ci = exact.companies
    before = numba.get_num_threads()
    out = []
    try:
        for threads in (1, min(3, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            out.append(json.dumps(summarise(exact.pint, exact.pflt, ci.names, ci.opening_debt,
                                            scenario.simulation.n_steps, counterparties=ci.counterparties())))
    finally:
        numba.set_num_threads(before)
    assert out[0] == out[1]
    assert '"contagion"' in out[0]


def test_counts_and_pd_equal_full_run(scenario, full, exact):
    from simulator.company.summary import equal_weights, pd_curve, summarise

    counts, mean, bands = from_full(full, QS)
    np.testing.assert_array_equal(exact.counts, counts)
    ci = exact.companies
    n = scenario.simulation.n_steps
    a = summarise(exact.pint, exact.pflt, ci.names, ci.opening_debt, n)
    b = summarise(full["pint"], full["pflt"], ci.names, ci.opening_debt, n)
    np.testing.assert_equal(a, b)
    for name in ci.names:  # PD, causes and the conditional PD are exact
        assert a[name]["pd"] == b[name]["pd"]
        assert a[name]["pd_by_cause"] == b[name]["pd_by_cause"]
        np.testing.assert_equal(a[name]["alarms"]["pd12_given_avalanche"], b[name]["alarms"]["pd12_given_avalanche"])
    np.testing.assert_array_equal(pd_curve(exact.pint[:, :, CL.P_DEFAULT_MONTH], equal_weights(N), n)[0],
                                  pd_curve(full["pint"][:, :, CL.P_DEFAULT_MONTH], equal_weights(N), n)[0])
    # some alarm actually lit, or the comparison proves little
    assert counts[:, 2:].sum() > 0


def test_exact_bands_equal_full_run(full, exact):
    counts, mean, bands = from_full(full, QS)
    assert exact.exact
    np.testing.assert_array_equal(exact.bands, bands)
    np.testing.assert_allclose(exact.market_mean, mean, rtol=1e-12, atol=0)
    # and both are numpy's own quantiles of the full run (company rows over the paths alive)
    import warnings

    want = [np.quantile(full["market"], QS, axis=1)]
    for c in range(full["full"].shape[1]):
        alive = full["full"][CL.O_ALIVE, c] > 0.5
        for o in (CL.O_CASH, CL.O_FCF, CL.O_NET_LEVERAGE):
            with warnings.catch_warnings(), np.errstate(invalid="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN steps
                want.append(np.nanquantile(np.where(alive, full["full"][o, c], np.nan), QS, axis=0)[:, None])
    np.testing.assert_array_equal(exact.bands, np.concatenate(want, axis=1))


def test_sketch_bands_within_stated_error(full, sketch):
    _, _, bands = from_full(full, QS)
    assert not sketch.exact and sketch.relative_error == RELATIVE_ERROR
    got, want = sketch.bands, bands
    finite = np.isfinite(want) & np.isfinite(got)
    assert finite.mean() > 0.9
    err = np.abs(got[finite] - want[finite])
    bound = RELATIVE_ERROR * np.abs(want[finite]) + ABSOLUTE_ERROR
    assert np.all(err <= bound * (1 + 1e-9)), float(np.max(err / bound))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    # a sketch is a sketch: it is not the exact answer everywhere
    assert np.any(got[finite] != want[finite])


def test_sketch_bands_stay_within_the_values(full, sketch):
    """Clamped to each row's exact range: the clipped app gross margin's lower band is -1, not below."""
    market = full["market"]
    gm = sketch.bands[:, L.V_GM]
    assert (gm >= -1.0).all() and (gm <= 1.0).all()
    assert (gm[0] == -1.0).any()  # the 5 % band sits on the clip somewhere, exactly
    lo, hi = market.min(axis=1), market.max(axis=1)
    m = sketch.bands[:, :L.N_MARKET_VARS]
    assert (m >= lo).all() and (m <= hi).all()


def _bins_by_frexp(x):
    """Histogram bins of an array by the sketch's definition (:mod:`simulator._kernels.summary`:
    octave and top mantissa bits), written with numpy's frexp; NaN -> -1."""
    from simulator._kernels.summary import E_MAX, E_MIN, NB, SUB_BITS

    a = np.abs(x)
    m, e = np.frexp(np.where(np.isfinite(a), a, 1.0))
    j = ((e - 1 - E_MIN) << SUB_BITS) + np.floor((2.0 * m - 1.0) * (1 << SUB_BITS)).astype(np.int64)
    j = np.where(a < 2.0 ** E_MIN, -1, np.where(a >= 2.0 ** E_MAX, NB, j)) + 1
    return np.where(np.isnan(x), -1, np.where(x < 0, NB + 1 - j, NB + 1 + j))


def test_sketch_bands_equal_the_sketch_of_the_full_run(full, sketch):
    """Bin every band value of the full run, count, take the sketch quantiles and clamp them to each
    row's exact range: the streamed run's range and bands, bit for bit (1300 paths: the last lane
    group of the company kernel is partial, and its unused lanes must not reach a histogram or a
    range)."""
    from simulator._kernels.summary import COMPANY_BANDS, N_BINS

    market, f = full["market"], full["full"]
    rows = [market]  # [var, path, step]
    for c in range(f.shape[1]):
        alive = f[CL.O_ALIVE, c] > 0.5
        rows += [np.where(alive, f[o, c], np.nan)[None] for o in COMPANY_BANDS]
    vals = np.concatenate(rows, axis=0)
    bins = _bins_by_frexp(vals)
    nv, _, n = vals.shape
    hist = np.zeros((nv, n, N_BINS), dtype=np.int64)
    for v in range(nv):
        for t in range(n):
            b = bins[v, :, t]
            hist[v, t] = np.bincount(b[b >= 0], minlength=N_BINS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: a company defaulted on every path
        lo, hi = np.nanmin(vals, axis=1), np.nanmax(vals, axis=1)
    np.testing.assert_array_equal(sketch.band_range, np.stack([lo, hi]))
    np.testing.assert_array_equal(sketch.bands, np.clip(sketch_quantiles(hist, QS), lo, hi))


def test_extremes_order_puts_negative_zero_first():
    """The order of the sketch's range (kernel and numpy): -0.0 < 0.0, NaN neither above nor below,
    so a row's least and greatest value do not depend on the order of its paths."""
    from simulator._kernels.summary import lower
    from simulator.stream import _lower

    x = np.array([-np.inf, -1.0, -0.0, 0.0, 5e-324, 1.0, np.inf, np.nan])
    a, b = np.meshgrid(x, x, indexing="ij")
    got = np.array([[lower(p, q) for q in x] for p in x])
    np.testing.assert_array_equal(got, _lower(a, b))
    rank = np.arange(7)  # x[:7] is in increasing order, with -0.0 before 0.0
    np.testing.assert_array_equal(got[:7, :7], rank[:, None] < rank[None, :])
    assert not got[7].any() and not got[:, 7].any()


def test_sketch_quantiles_of_known_sample():
    from simulator._kernels.summary import N_BINS, bin_index

    rng = np.random.default_rng(1)
    x = np.concatenate([rng.lognormal(3, 2, 4000), -rng.lognormal(0, 1, 1000), [0.0, 1e-9, -np.inf]])
    h = np.zeros(N_BINS, dtype=np.int64)
    for v in x:
        h[bin_index(v)] += 1
    got = sketch_quantiles(h, QS)
    want = np.quantile(x, QS)
    assert np.all(np.abs(got - want) <= RELATIVE_ERROR * np.abs(want) + ABSOLUTE_ERROR)
    with np.errstate(invalid="ignore"):  # numpy's own lerp of -inf and a finite value is NaN
        np.testing.assert_array_equal(np.isnan(sketch_quantiles(h, [0.0, 1.0])), np.isnan(np.quantile(x, [0.0, 1.0])))


def test_bin_of_bits_equals_bin_index():
    from simulator._kernels.summary import E_MAX, E_MIN, bin_index, bin_of_bits

    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0, 1, 2000) * 10.0 ** rng.uniform(-12, 35, 2000),
                        [0.0, -0.0, 5e-324, -5e-324, 2.0 ** E_MIN, -(2.0 ** E_MIN), np.nextafter(2.0 ** E_MIN, 0),
                         2.0 ** E_MAX, np.nextafter(2.0 ** E_MAX, 0), -(2.0 ** E_MAX), np.inf, -np.inf, 1.0, 1.5,
                         np.nextafter(1.5, 0), 1e300, -1e300]])
    bits = x.view(np.int64)
    assert [bin_index(v) for v in x] == [bin_of_bits(b) for b in bits]


@pytest.mark.parametrize("n_steps", [8, 7, 3, 1])  # four steps' rows at a time, and the steps left over
def test_hist_rows_counts_every_bin(n_steps):
    from simulator._kernels.summary import BIN_SKIP, N_BINS, hist_rows

    rng = np.random.default_rng(3)
    n_paths = 1000
    bins = rng.integers(0, N_BINS + 1, size=(3, n_steps, n_paths + 37)).astype(np.int16)
    bins[0, :, :500] = 7  # runs of one bin
    bins[1, :, ::3] = BIN_SKIP
    hist = np.zeros((3, n_steps, N_BINS + 1), dtype=np.int32)
    hist[2, 0, 5] = 4  # adds to what is there
    hist_rows(0, 3, bins, n_paths, hist)
    want = np.array([[np.bincount(bins[v, t, :n_paths], minlength=N_BINS + 1) for t in range(n_steps)]
                     for v in range(3)])
    want[2, 0, 5] += 4
    np.testing.assert_array_equal(hist, want)


def test_exact_bands_equal_numpy_quantile_on_hard_rows():
    """The exact kernel (bin count + radix selection) gives numpy.quantile's bits on rows with
    ties, infinities, both signs, tiny and huge magnitudes, NaN, one or no value."""
    from simulator.stream import exact_bands

    rng = np.random.default_rng(3)
    n = 3001
    rows = [rng.normal(0, 1, n) * 10.0 ** rng.uniform(-30, 120, n),  # all bins, end bins, zero bin
            np.round(rng.normal(0, 3, n)),  # heavy ties
            np.full(n, 7.25),  # one value
            np.where(rng.uniform(size=n) < 0.1, np.inf, rng.lognormal(0, 1, n)),  # +inf tail
            np.where(rng.uniform(size=n) < 0.02, -np.inf, -rng.lognormal(0, 1, n)),
            1.0 + rng.integers(0, 5, n) * 2.0 ** -52,  # neighbours within one bin
            rng.uniform(-2.0 ** -21, 2.0 ** -21, n)]  # inside the zero bin
    qs = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0, 0.3333)
    market = np.stack(rows + [np.where(rng.uniform(size=n) < 0.5, np.nan, rows[0])])  # NaN: all NaN
    company = np.stack([np.where(rng.uniform(size=n) < 0.3, np.nan, r) for r in rows]
                       + [np.full(n, np.nan), np.where(np.arange(n) == 17, 2.5, np.nan)])
    nm = L.N_MARKET_VARS
    assert market.shape[0] <= nm
    vals = np.full((nm + company.shape[0], 1, n + 5), -1.0)  # padding past n_paths must be ignored
    vals[:market.shape[0], 0, :n] = market
    vals[nm:, 0, :n] = company
    got = exact_bands(vals, qs, n)
    with np.errstate(invalid="ignore"):
        for v in range(vals.shape[0]):
            row = vals[v, 0, :n]
            if v >= nm:
                row = row[~np.isnan(row)]
            want = np.quantile(row, qs) if row.size else np.full(len(qs), np.nan)
            np.testing.assert_array_equal(got[:, v, 0], want, err_msg=f"row {v}")


@pytest.mark.parametrize("chunk", [512, 1536, 4096])
def test_chunk_size_does_not_change_bits(scenario, exact, sketch, chunk):
    a = run_summary(scenario, chunk=chunk)
    for f in ("pint", "pflt", "counts", "market_mean", "bands"):
        np.testing.assert_array_equal(getattr(a, f), getattr(exact, f))
    b = run_summary(scenario, chunk=chunk, exact_bytes=0)
    np.testing.assert_array_equal(b.bands, sketch.bands)
    np.testing.assert_array_equal(b.market_mean, sketch.market_mean)


def test_prefix_of_larger_run_equals_smaller_run(scenario, full):
    big = run(load_scenario("scenarios/avalanche.yaml", paths=N + 700), full=True)
    for k in ("pint", "pflt", "alarms"):
        np.testing.assert_array_equal(big[k][:N], full[k])
    np.testing.assert_array_equal(big["full"][:, :, :N], full["full"])
    np.testing.assert_array_equal(big["market"][:, :N], full["market"])
    s = run_summary(load_scenario("scenarios/avalanche.yaml", paths=N + 700), chunk=1024)
    np.testing.assert_array_equal(s.pint[:N], full["pint"])


_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from simulator.scenario import load_scenario
    from simulator.stream import run_summary
    sc = load_scenario("scenarios/avalanche.yaml", paths=1100)
    for tag, eb in (("exact", None), ("sketch", 0)):
        s = run_summary(sc, chunk=512, **({} if eb is None else {"exact_bytes": eb}))
        np.savez(sys.argv[1] + tag, pint=s.pint, pflt=s.pflt, counts=s.counts, mean=s.market_mean, bands=s.bands)
""")


def test_thread_count_does_not_change_bits(tmp_path):
    out = {}
    for threads in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
        prefix = str(tmp_path / f"t{threads}-")
        subprocess.run([sys.executable, "-c", _CHILD, prefix], check=True, env=env)
        out[threads] = {tag: dict(np.load(prefix + tag + ".npz")) for tag in ("exact", "sketch")}
    for tag in ("exact", "sketch"):
        for k, v in out[1][tag].items():
            np.testing.assert_array_equal(v, out[2][tag][k], err_msg=f"{tag} {k}")


def test_summary_dataset_from_cli_has_bands(tmp_path):
    import xarray as xr

    from simulator.api import run_files

    rep = run_files(["scenarios/avalanche.yaml"], paths=700, out_path=tmp_path / "s.nc", exact_bytes=0)
    ds = rep.datasets["avalanche"]
    assert ds["cash_quantiles"].dims == ("quantile", "company", "time")
    assert "histogram sketch" in ds["btc_price_quantiles"].attrs["band_method"]
    assert ds["btc_price_quantiles"].attrs["band_relative_error"] == RELATIVE_ERROR
    assert "path" not in ds["btc_price_mean"].dims and "btc_price" not in ds
    with xr.open_dataset(tmp_path / "s.nc", engine="h5netcdf") as back:
        assert back.attrs["output"] == "summary"
    assert L.N_MARKET_VARS == len(L.MARKET_VARS)


def test_numpy_engine_option_gives_the_same_results(tmp_path):
    from click.testing import CliRunner

    import xarray as xr

    from simulator.cli import main

    files = {}
    for engine in ("numba", "numpy"):
        files[engine] = tmp_path / f"{engine}.nc"
        r = CliRunner().invoke(main, ["run", "scenarios/avalanche.yaml", "--paths", "300", "-q", "--engine", engine,
                                      "-o", str(files[engine])])
        assert r.exit_code == 0, r.output
    with xr.open_dataset(files["numba"], engine="h5netcdf") as a, xr.open_dataset(files["numpy"], engine="h5netcdf") as b:
        np.testing.assert_array_equal(a["default_month"].values, b["default_month"].values)
        np.testing.assert_array_equal(a["pd_cumulative"].values, b["pd_cumulative"].values)
        np.testing.assert_array_equal(a["avalanche_share"].values, b["avalanche_share"].values)
        np.testing.assert_allclose(a["btc_price_mean"].values, b["btc_price_mean"].values, rtol=1e-12)
        np.testing.assert_allclose(a["cash_quantiles"].values, b["cash_quantiles"].values, rtol=1e-9)
