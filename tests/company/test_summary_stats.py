"""The analyst's statistics of simulator.company.summary on hand-made per-path results."""

from __future__ import annotations

import numpy as np
import pytest

from simulator._kernels import company_layout as CL
from simulator.company.summary import contagion, summarise, weighted_quantiles


def _pint(default_months: dict, n_paths: int, dtype) -> np.ndarray:
    """Per-path integers with only the default months set (``{company: [month per path]}``)."""
    pint = np.full((n_paths, len(default_months), CL.N_PINT), -1, dtype=dtype)
    pint[:, :, CL.P_CAUSE] = 0
    for c, months in enumerate(default_months.values()):
        pint[:, c, CL.P_DEFAULT_MONTH] = months
    return pint


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64])
def test_contagion_by_hand(dtype):
    # paths: 0 counterparty first, 1 company first, 2 counterparty only, 3 company only, 4 neither,
    # 5 both in the same month (not first)
    months = {"lab": [10, 3, -1, 5, -1, 7], "cloud": [4, 8, 2, -1, -1, 7]}
    pint = _pint(months, 6, dtype)
    w = np.full(6, 1 / 6)
    got = contagion(pint, list(months), "lab", ["cloud"], w)
    assert got["p_counterparty_default_first"] == pytest.approx(2 / 6)  # paths 0 and 2
    assert got["pd_given_counterparty_default"] == pytest.approx(1 / 2)  # path 0 of 0 and 2
    assert got["pd_otherwise"] == pytest.approx(3 / 4)  # paths 1, 3, 5 of 1, 3, 4, 5


@pytest.mark.parametrize("n_steps, mps", [(60, 1), (600, 1), (50, 12)])  # the longest runs: 600 months
def test_summary_does_not_depend_on_the_integer_width(n_steps, mps):
    rng = np.random.default_rng(3)
    n = 2000
    pint64 = rng.integers(-1, n_steps, size=(n, 2, CL.N_PINT)).astype(np.int64)
    pint64[:5] = n_steps - 1  # the last step, on a few paths
    stress, rec = pint64[:, :, CL.P_STRESS_MONTH], pint64[:, :, CL.P_REC_MONTH]
    pint64[:, :, CL.P_REC_MONTH] = np.where((stress >= 0) & (rec >= 0), np.maximum(rec, stress), rec)  # as a run
    pflt = rng.normal(size=(n, 2, CL.N_PFLT))
    args = (["a", "b"], np.array([1e9, 2e9]), n_steps, mps)
    cp = {"a": ["b"], "b": ["a"]}
    want = summarise(pint64, pflt, *args, counterparties=cp)
    for dtype in (np.int16, np.int32):
        assert summarise(pint64.astype(dtype), pflt, *args, counterparties=cp) == want


def test_pint_dtype_holds_the_longest_run():
    from pydantic import ValidationError

    from simulator.scenario.schema import Simulation

    longest = Simulation(horizon_years=50.0, steps_per_year=12)
    with pytest.raises(ValidationError):
        Simulation(horizon_years=50.5, steps_per_year=12)
    # a step index, a count of steps, and a month count (steps x months per step) all fit
    assert longest.n_steps * 12 <= np.iinfo(CL.PINT_DTYPE).max


@pytest.mark.parametrize("dtype", [np.int16, np.int64])
def test_curves_add_weights_in_path_order(dtype):
    """pd_curve and recovery_curve are the bits of np.add.at over the paths concerned."""
    from simulator.company.summary import pd_curve, recovery_curve

    rng = np.random.default_rng(4)
    n, n_steps = 5000, 36
    pint = rng.integers(-1, n_steps, size=(n, 3, CL.N_PINT)).astype(dtype)
    stress, rec = pint[:, :, CL.P_STRESS_MONTH], pint[:, :, CL.P_REC_MONTH]
    pint[:, :, CL.P_REC_MONTH] = np.where((stress >= 0) & (rec >= 0), np.maximum(rec, stress), rec)
    pint[:, 2, CL.P_STRESS_MONTH] = -1  # a company never stressed: NaN
    w = rng.random(n)
    w /= w.sum()
    dm = pint[:, :, CL.P_DEFAULT_MONTH]
    want_pd = np.zeros((3, n_steps))
    want_rec = np.full((3, n_steps + 1), np.nan)
    for c in range(3):
        hit = dm[:, c] >= 0
        np.add.at(want_pd[c], dm[hit, c], w[hit])
        stressed = stress[:, c] >= 0
        if c < 2:
            ok = stressed & (pint[:, c, CL.P_REC_MONTH] >= 0)
            dens = np.zeros(n_steps + 1)
            np.add.at(dens, pint[ok, c, CL.P_REC_MONTH] - pint[ok, c, CL.P_STRESS_MONTH], w[ok])
            want_rec[c] = np.cumsum(dens) / w[stressed].sum()
    np.testing.assert_array_equal(pd_curve(dm, w, n_steps)[0], np.clip(np.cumsum(want_pd, axis=1), 0.0, 1.0))
    np.testing.assert_array_equal(recovery_curve(pint, w, n_steps), want_rec)


def test_weighted_quantiles_one_sort_many_levels():
    x = np.array([5, 1, 3, 2, 4])
    w = np.full(5, 0.2)
    assert weighted_quantiles(x, w, (0.2, 0.5, 0.9)) == [1.0, 3.0, 5.0]
    assert all(np.isnan(weighted_quantiles(x[:0], w[:0], (0.5,))))


@pytest.mark.parametrize("dtype", [np.int16, np.int64, np.float64])
@pytest.mark.parametrize("n_paths", [1, 255, 70_000])  # under a tile, and over a block of the pool
def test_paths_last_is_the_same_array_with_paths_last_in_memory(dtype, n_paths):
    from simulator.company.summary import paths_last

    rng = np.random.default_rng(5)
    a = rng.integers(-1, 600, size=(n_paths, 3, CL.N_PINT)).astype(dtype)
    got = paths_last(a)
    np.testing.assert_array_equal(got, a)
    assert got.dtype == a.dtype and got[:, 1, 4].flags.c_contiguous
    strided = a[:, ::2, 1:]  # any layout
    np.testing.assert_array_equal(paths_last(strided), strided)
