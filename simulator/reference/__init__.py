"""Plain-numpy reference engines, vectorised over paths.

They implement the model of ``shared/MODEL.md`` from the scenario objects and
given variates, without any numba code and without the kernels' helpers, so
that the tests can check the numba engine against an independent oracle
(habit 12 of the house style), and so that ``--engine numpy`` has something
to run. They are exact but not fast.
"""

from simulator.reference.market import simulate_market

__all__ = ["simulate_market"]
