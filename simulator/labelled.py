"""Labelled arrays of a results file, written to NetCDF without xarray or pandas.

:mod:`simulator.results` builds a :class:`Labelled`: variables with their
dimensions and attributes, in file order, some of them coordinates, and the
file's global attributes. A run writes it with h5py (:meth:`Labelled.write_netcdf`);
:meth:`Labelled.to_xarray` gives the same content as an ``xarray.Dataset``
when one is asked for (the API's ``Report.datasets``). Importing xarray, and
pandas with it, cost about a third of a second of every run, and writing
through xarray and h5netcdf about three times as long as with h5py for the
55 small variables of a summary file (``docs/performance.md`` section 3).

The file is the one ``xarray.Dataset.to_netcdf(engine="h5netcdf")`` writes
for the same Dataset: the same HDF5 objects made by the same h5py calls in
the same order (global attributes; one placeholder dimension scale per
dimension, in order of first use; per variable: create it, replace its
dimension's placeholder if it is a coordinate, attach dimension scales, set
``_Netcdf4Coordinates``/``_Netcdf4Dimid``, attributes, data), with the CF
encodings xarray applies to the dtypes a results file holds:

- floating point: ``_FillValue`` NaN;
- ``datetime64`` (the ``time`` coordinate): int64 days since the first date,
  ``units: days since YYYY-MM-DD 00:00:00``, ``calendar: proleptic_gregorian``
  (xarray's choice for dates at midnight);
- text: variable-length UTF-8 strings, no fill value;
- integers: as they are, no fill value.

Only the hidden ``_NCProperties`` attribute differs: it names this package
as the writer. Any other dtype, an unlimited (zero-length) dimension or a
variable named as a dimension that is not its coordinate is refused rather
than written differently; ``tests/test_labelled.py`` compares the files
object by object with xarray's.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np


class Var(NamedTuple):
    """One variable: dimension names, values, attributes."""

    dims: tuple
    data: np.ndarray
    attrs: dict


class Labelled:
    """Variables in file order (coordinates among them) and global attributes."""

    def __init__(self, attrs: dict | None = None):
        self.variables: dict[str, Var] = {}
        self.coords: set[str] = set()
        self.attrs: dict = dict(attrs or {})

    def __contains__(self, name: str) -> bool:
        return name in self.variables

    def __getitem__(self, name: str) -> np.ndarray:
        return self.variables[name].data

    def __setitem__(self, name: str, value: tuple) -> None:
        """``ds[name] = (dims, data)`` or ``(dims, data, attrs)``, as with xarray."""
        self.add(name, *value)

    def add(self, name: str, dims, data, attrs: dict | None = None, coord: bool = False) -> None:
        """Add (or replace) a variable; ``dims`` a name or a tuple of names."""
        dims = (dims,) if isinstance(dims, str) else tuple(dims)
        data = np.asarray(data)
        if data.ndim != len(dims):
            raise ValueError(f"{name}: {data.ndim}-d values for dimensions {dims}")
        sizes = _sizes(v for k, v in self.variables.items() if k != name)
        for d, n in zip(dims, data.shape):
            if sizes.get(d, n) != n:
                raise ValueError(f"{name}: dimension {d} has length {sizes[d]}, not {n}")
        self.variables[name] = Var(dims, data, dict(attrs or {}))
        if coord:
            self.coords.add(name)

    def add_coord(self, name: str, data, attrs: dict | None = None) -> None:
        """A coordinate along its own dimension ``name``."""
        self.add(name, (name,), data, attrs, coord=True)

    def sizes(self) -> dict[str, int]:
        """Dimension lengths, in order of first use (the file's dimension order)."""
        return _sizes(self.variables.values())

    def merge(self, other: "Labelled") -> "Labelled":
        """This one's variables, then ``other``'s new ones; shared ones must be equal
        (as ``xarray.merge`` would require); global attributes of this one."""
        out = Labelled(self.attrs)
        out.variables = dict(self.variables)
        out.coords = set(self.coords)
        for name, v in other.variables.items():
            if name in out.variables:
                mine = out.variables[name]
                if mine.dims != v.dims or not np.array_equal(mine.data, v.data):
                    raise ValueError(f"cannot merge: {name} differs")
                continue
            out.add(name, v.dims, v.data, v.attrs, coord=name in other.coords)
        return out

    def to_xarray(self):
        """The same content as an ``xarray.Dataset`` (variables in the same order)."""
        import xarray as xr

        ds = xr.Dataset({name: xr.Variable(v.dims, v.data, v.attrs) for name, v in self.variables.items()},
                        attrs=dict(self.attrs))
        return ds.set_coords([n for n in self.variables if n in self.coords])

    def write_netcdf(self, path: str | os.PathLike) -> None:
        """Write a NetCDF4 file: the HDF5 objects, attributes and dimension scales
        that ``xarray.Dataset.to_netcdf(engine="h5netcdf")`` creates, in the same
        order, made with h5py directly (see the module docstring)."""
        import h5py

        from simulator import __version__

        encoded = [(name, *_encode(name, v)) for name, v in self.variables.items()]
        sizes = self.sizes()
        dim_ids = {d: np.int32(i) for i, d in enumerate(sizes)}
        with h5py.File(path, "w", track_order=True) as f:
            for k, a in self.attrs.items():
                _set_attr(f.attrs, k, a)
            for d, n in sizes.items():  # each dimension starts as a placeholder scale
                if n == 0:
                    raise ValueError(f"dimension {d} has length 0 (unlimited dimensions are not written here)")
                scale = f.create_dataset(d, shape=(n,), dtype=">f4", track_order=True)
                scale.attrs["_Netcdf4Dimid"] = np.array(dim_ids[d], dtype=np.int32)
                scale.make_scale(_NOT_A_VARIABLE + f"{n:10}".encode("ascii"))
            for name, dims, data, attrs, dtype, fill in encoded:
                refs = []
                if name in sizes:  # a coordinate variable replaces its dimension's placeholder
                    if dims != (name,):
                        raise ValueError(f"{name}: a variable named as a dimension must be its 1-d coordinate")
                    placeholder = f[name]
                    refs = list(placeholder.attrs.get("REFERENCE_LIST", []))
                    for ref, axis in refs:
                        f[ref].dims[axis].detach_scale(placeholder)
                    del f[name]
                fillvalue = None if fill is None else np.array(fill).astype(dtype)
                var = f.create_dataset(name, tuple(sizes[d] for d in dims), dtype=dtype, data=None, chunks=None,
                                       fillvalue=fillvalue, track_order=True)
                if name in sizes:
                    var.attrs["_Netcdf4Dimid"] = np.array(dim_ids[name], dtype=np.int32)
                    var.make_scale(name)
                    for ref, axis in refs:
                        f[ref].dims[axis].attach_scale(var)
                else:
                    for axis, d in enumerate(dims):
                        var.dims[axis].attach_scale(f[d])
                if dims:
                    var.attrs["_Netcdf4Coordinates"] = np.array([dim_ids[d] for d in dims], "int32")
                    # as netCDF4 (and h5netcdf): the first dimension's id, unless set and non-zero
                    if not var.attrs.get("_Netcdf4Dimid", False):
                        var.attrs["_Netcdf4Dimid"] = f[dims[0]].attrs["_Netcdf4Dimid"]
                if fillvalue is not None:
                    _set_attr(var.attrs, "_FillValue", np.dtype(dtype).type(fillvalue))
                for k, a in attrs.items():
                    _set_attr(var.attrs, k, a)
                # C order first: h5py writes any other layout through HDF5's strided memory selection,
                # which took 0.12-0.16 s for a 40 MB per-path column of a 10^6-path run, against some
                # 0.01 s for its copy
                var[...] = np.ascontiguousarray(data) if isinstance(data, np.ndarray) else data
            props = f"version=2,simulator={__version__},hdf5={h5py.version.hdf5_version},h5py={h5py.__version__}"
            f.attrs["_NCProperties"] = np.array(props, dtype=h5py.string_dtype(encoding="ascii", length=len(props)))


def _sizes(variables) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in variables:
        for d, n in zip(v.dims, v.data.shape):
            out.setdefault(d, n)
    return out


#: The NAME of a dimension scale that is not (yet) a coordinate variable (netCDF-C's text).
_NOT_A_VARIABLE = b"This is a netCDF dimension but not a netCDF variable."


def _set_attr(attrs, key: str, value) -> None:
    """Set an attribute as netCDF writes it: scalars that are not text as 1-element arrays."""
    dtype = value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype
    if np.isscalar(value) and dtype.kind not in "SU":
        value = np.atleast_1d(value)
    attrs[key] = value


def _encode(name: str, v: Var):
    """(dims, data, attrs, dtype, fill value) as xarray's CF encoding writes ``v``."""
    data, attrs = v.data, v.attrs
    kind = data.dtype.kind
    if kind == "f":
        return v.dims, data, attrs, data.dtype, np.nan
    if kind in "iu":
        return v.dims, data, attrs, data.dtype, None
    if kind == "U":
        import h5py

        return v.dims, data.astype(object), attrs, h5py.string_dtype(), None
    if kind == "M":
        days = data.astype("datetime64[D]")
        if data.size and (days != data).any():
            raise ValueError(f"{name}: only dates at midnight are encoded (days since the first date)")
        first = str(days[0]) if data.size else "1970-01-01"
        values = (days - np.datetime64(first, "D")).astype(np.int64)
        return v.dims, values, {**attrs, "units": f"days since {first} 00:00:00",
                                "calendar": "proleptic_gregorian"}, values.dtype, None
    raise TypeError(f"{name}: dtype {data.dtype} has no encoding here (see simulator.labelled)")
