"""Scenario files -> validated, frozen :class:`Scenario` objects.

- :mod:`.schema`: the typed schema (every key, its default, range and meaning).
- :mod:`.loader`: YAML reading, ``extends``, ``--set`` overrides, error locations.
- :mod:`.correlation`: the factor correlation matrix (validation, repair).
"""

from simulator.scenario.loader import load_scenario, resolve_dict
from simulator.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "resolve_dict"]
