"""Labelled arrays of a results file, written to NetCDF without xarray or pandas.

:mod:`simulator.results` builds a :class:`Labelled`: variables with their
dimensions and attributes, in file order, some of them coordinates, and the
file's global attributes. A run writes it with h5netcdf directly
(:meth:`Labelled.write_netcdf`); :meth:`Labelled.to_xarray` gives the same
content as an ``xarray.Dataset`` when one is asked for (the API's
``Report.datasets``). Importing xarray, and pandas with it, cost about a
third of a second of every run, for a file of a few dozen small variables
(``docs/performance.md`` section 3).

The file is the one ``xarray.Dataset.to_netcdf(engine="h5netcdf")`` writes
for the same Dataset: the same h5netcdf calls in the same order (global
attributes; dimensions in order of first use; per variable: create, set
attributes, write data), with the CF encodings xarray applies to the dtypes
a results file holds:

- floating point: ``_FillValue`` NaN;
- ``datetime64`` (the ``time`` coordinate): int64 days since the first date,
  ``units: days since YYYY-MM-DD 00:00:00``, ``calendar: proleptic_gregorian``
  (xarray's choice for dates at midnight);
- text: variable-length UTF-8 strings, no fill value;
- integers: as they are, no fill value.

Any other dtype is refused rather than written differently from xarray;
``tests/test_labelled.py`` compares the files object by object.
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
        for d, n in zip(dims, data.shape):
            size = self.sizes().get(d)
            if size is not None and size != n and not (name in self.variables and d in self.variables[name].dims):
                raise ValueError(f"{name}: dimension {d} has length {size}, not {n}")
        self.variables[name] = Var(dims, data, dict(attrs or {}))
        if coord:
            self.coords.add(name)

    def add_coord(self, name: str, data, attrs: dict | None = None) -> None:
        """A coordinate along its own dimension ``name``."""
        self.add(name, (name,), data, attrs, coord=True)

    def sizes(self) -> dict[str, int]:
        """Dimension lengths, in order of first use (the file's dimension order)."""
        out: dict[str, int] = {}
        for v in self.variables.values():
            for d, n in zip(v.dims, v.data.shape):
                out.setdefault(d, n)
        return out

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
        """Write a NetCDF4 file with h5netcdf, as xarray's h5netcdf backend does."""
        import h5netcdf

        encoded = [(name, *_encode(name, v)) for name, v in self.variables.items()]
        with h5netcdf.File(path, "w", invalid_netcdf=None, decode_vlen_strings=True, driver=None,
                           format="NETCDF4") as f:
            for k, a in self.attrs.items():
                f.attrs[k] = a
            for d, n in self.sizes().items():
                f.dimensions[d] = n
            for name, dims, data, attrs, dtype, fill in encoded:
                var = f.create_variable(name, dtype=dtype, dimensions=dims, fillvalue=fill, chunks=None)
                for k, a in attrs.items():
                    var.attrs[k] = a
                var[...] = data


def _encode(name: str, v: Var):
    """(dims, data, attrs, dtype, fill value) as xarray's CF encoding writes ``v``."""
    data, attrs = v.data, v.attrs
    kind = data.dtype.kind
    if kind == "f":
        return v.dims, data, attrs, data.dtype, np.nan
    if kind in "iu":
        return v.dims, data, attrs, data.dtype, None
    if kind in "US":
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
