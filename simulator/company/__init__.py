"""The company engine, Python side: codes, packing, summaries and the blend.

- :mod:`.codes`: default causes and recovery statuses (IntEnum, CF flags).
- :mod:`.pack`: :class:`~simulator.scenario.company.Company` -> plain arrays.
- :mod:`.summary`: per-path results -> PD curves, causes, recovery, alarms, loss.
- :mod:`.blend`: probability-weighted mixture of scenarios.

The kernels are in :mod:`simulator._kernels.company` and
:mod:`simulator._kernels.engine`; :func:`simulator.engine.run` ties them together.
"""

from simulator.company.codes import DefaultCause, RecoveryStatus
from simulator.company.pack import CompanyInputs, pack_companies

__all__ = ["CompanyInputs", "DefaultCause", "RecoveryStatus", "pack_companies"]
