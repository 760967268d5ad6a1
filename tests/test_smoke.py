"""End to end: the user's commands work."""

import numpy as np
import xarray as xr
from click.testing import CliRunner

from simulator.cli import main
from tests.conftest import SHIPPED


def test_shipped_scenarios_validate():
    res = CliRunner().invoke(main, ["validate", *map(str, SHIPPED)])
    assert res.exit_code == 0, res.output
    assert res.output.count("ok:") == len(SHIPPED) == 4


def test_full_output_is_labelled(tmp_path):
    out = tmp_path / "out.nc"
    res = CliRunner().invoke(main, [str(SHIPPED[0]), "--paths", "50", "--horizon", "1", "--output", "full",
                                    "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(out)
    assert ds.btc_price.dims == ("path", "time")
    sizes = dict(ds.sizes)
    assert {k: sizes[k] for k in ("path", "time", "factor", "factor2")} == {"path": 50, "time": 12, "factor": 9, "factor2": 9}
    assert sizes["company"] == 5  # the calibrated companies the shipped scenarios include
    assert str(ds.time.values[0])[:10] == "2026-09-30"
    assert ds.attrs["paths"] == 50 and len(ds.attrs["scenario_sha256"]) == 64
    assert np.isfinite(ds.btc_price.values).all()
