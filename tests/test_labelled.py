"""Results files written without xarray are the files xarray writes.

:meth:`simulator.labelled.Labelled.write_netcdf` must give, object by object,
the HDF5 file ``xarray.Dataset.to_netcdf(engine="h5netcdf")`` writes for the
same content: dtypes, shapes, layout, fill values, every attribute (CF
encodings, dimension scales and their references, in creation order) and the
data bytes. The one difference is the text of the hidden ``_NCProperties``
attribute, which names the writing library (``simulator=...`` instead of
``h5netcdf=...``).
"""

import h5py
import numpy as np
import pytest
import xarray as xr

from simulator.api import run_files
from simulator.labelled import Labelled
from tests.conftest import SCENARIOS


def _value(f, v):
    if isinstance(v, h5py.Reference):
        return f[v].name if v else None
    if isinstance(v, np.ndarray) and v.dtype.fields:
        return [tuple(_value(f, x) for x in row) for row in v.tolist()]
    if isinstance(v, np.ndarray) and v.dtype == object:
        return [_value(f, x) for x in v.ravel()]
    if isinstance(v, np.ndarray):
        return str(v.dtype), v.shape, v.tobytes()
    return type(v).__name__, repr(v)


def _objects(path) -> list:
    """Every object of an HDF5 file in order, with everything a reader can see (repr, so NaN == NaN)."""
    out = []
    with h5py.File(path, "r") as f:
        props = f.attrs["_NCProperties"].decode("ascii")
        assert props.startswith("version=2,") and ",hdf5=" in props, props
        out.append(("/", [(k, _value(f, f.attrs[k]) if k != "_NCProperties" else "(writer)") for k in f.attrs],
                    list(f.keys())))

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                plist = obj.id.get_create_plist()
                data = obj[()]
                out.append((name, str(obj.dtype), h5py.check_string_dtype(obj.dtype), obj.shape, obj.maxshape,
                            obj.chunks, obj.compression, plist.get_layout(), plist.fill_value_defined(),
                            repr(obj.fillvalue), [(k, _value(f, obj.attrs[k])) for k in obj.attrs],
                            data.tobytes() if data.dtype != object else [_value(f, x) for x in data.ravel()]))
            else:
                out.append((name, "group", list(obj.attrs)))

        f.visititems(visit)
    return [repr(x) for x in out]


@pytest.mark.parametrize("full", [False, True], ids=["summary", "full"])
def test_written_file_is_the_one_xarray_writes(tmp_path, full):
    rep = run_files([SCENARIOS / "avalanche.yaml"], paths=40, horizon_years=1.0, full=full,
                    out_path=tmp_path / "run.nc")
    labelled = rep.labelled["avalanche"]
    assert isinstance(labelled, Labelled)
    rep.datasets["avalanche"].to_netcdf(tmp_path / "xarray.nc", engine="h5netcdf")
    assert _objects(tmp_path / "run.nc") == _objects(tmp_path / "xarray.nc")
    with xr.open_dataset(tmp_path / "run.nc") as a, xr.open_dataset(tmp_path / "xarray.nc") as b:
        xr.testing.assert_identical(a, b)
        assert a.time.encoding["units"] == "days since 2026-09-30 00:00:00"


def test_dtypes_and_encodings_match_xarray(tmp_path):
    d = Labelled({"title": "t", "n": 3})
    d.add_coord("time", np.array(["2027-02-28", "2027-05-31"], dtype="datetime64[ns]"))
    d.add_coord("name", ["a", "bcd"])
    d["f"] = (("name", "time"), np.array([[1.5, np.nan], [0.0, -2.0]]), {"units": "1", "flag": 1})
    d["i8"] = (("name",), np.array([1, -1], dtype=np.int8), {"flag_values": np.array([0, 1], dtype=np.int8)})
    d["i64"] = (("time",), np.array([3, 4]))
    d.write_netcdf(tmp_path / "a.nc")
    d.to_xarray().to_netcdf(tmp_path / "b.nc", engine="h5netcdf")
    assert _objects(tmp_path / "a.nc") == _objects(tmp_path / "b.nc")


def test_refuses_what_it_cannot_encode_like_xarray(tmp_path):
    d = Labelled()
    d["b"] = (("x",), np.array([True, False]))
    with pytest.raises(TypeError):
        d.write_netcdf(tmp_path / "a.nc")
    d = Labelled()
    d.add_coord("time", np.array(["2027-02-28T12:00"], dtype="datetime64[ns]"))
    with pytest.raises(ValueError):
        d.write_netcdf(tmp_path / "b.nc")


def test_merge_keeps_order_and_refuses_conflicts():
    a, b = Labelled({"k": 1}), Labelled()
    a.add_coord("x", [1, 2])
    a["u"] = (("x",), [0.0, 1.0])
    b.add_coord("y", [5])
    b.add_coord("x", [1, 2])
    b["v"] = (("x", "y"), [[1.0], [2.0]])
    m = a.merge(b)
    assert list(m.variables) == ["x", "u", "y", "v"] and m.coords == {"x", "y"} and m.attrs == {"k": 1}
    c = Labelled()
    c.add_coord("x", [1, 3])
    with pytest.raises(ValueError):
        a.merge(c)
