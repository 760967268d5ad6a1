"""Monte Carlo stress test of AI-infrastructure balance sheets.

The package is layered so that data flows one way::

    scenario file -> simulator.scenario (validated, frozen Scenario)
                  -> simulator.engine   (packed arrays -> numba kernels)
                  -> simulator.results  (labelled xarray Dataset, summaries, files)

Heavy dependencies (numba, xarray, pandas) are imported lazily so that the
command line starts fast.
"""

__version__ = "0.1.0"
