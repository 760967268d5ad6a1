"""Plain-numpy reference engines, vectorised over paths.

They implement the model of ``shared/MODEL.md`` from the scenario objects and
given variates, without any numba code and without the kernels' helpers, so
that the tests can check the numba engine against an independent oracle
(habit 12 of the house style), and so that ``--engine numpy`` has something
to run. They are exact but not fast.

- :func:`run`: the whole model (market then companies), the same dict as
  :func:`simulator.engine.run` with ``full=True``.
- :func:`simulate_market`: the market drivers alone.
- :func:`simulate_companies`: the companies on given market paths.
"""

from simulator.reference.company import simulate_companies
from simulator.reference.engine import draw_shocks, run
from simulator.reference.market import simulate_market

__all__ = ["draw_shocks", "run", "simulate_companies", "simulate_market"]
