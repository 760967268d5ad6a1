"""Monte Carlo stress test of AI-infrastructure balance sheets.

The package is layered so that data flows one way::

    scenario file -> simulator.scenario (validated, frozen Scenario)
                  -> simulator.engine   (packed arrays -> numba kernels)
                  -> simulator.results  (labelled arrays, summaries, NetCDF files)

Heavy dependencies (numba, h5netcdf) are imported lazily so that the command
line starts fast; a run imports neither xarray nor pandas (simulator.labelled
writes the results file).
"""

__version__ = "0.1.0"
