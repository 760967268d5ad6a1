"""Integer codes of the company engine as enums, with CF flag attributes."""

from __future__ import annotations

from enum import IntEnum

from simulator._kernels import company_layout as CL


class DefaultCause(IntEnum):
    """Why a company defaulted (MODEL.md section 5); ``none`` if it did not."""

    none = CL.CAUSE_NONE
    liquidity = CL.CAUSE_LIQUIDITY
    covenant = CL.CAUSE_COVENANT
    refinancing = CL.CAUSE_REFINANCING


class RecoveryStatus(IntEnum):
    """Outcome of the FCF recovery rule on a path (MODEL.md section 6)."""

    never_stressed = CL.REC_NEVER_STRESSED
    recovered = CL.REC_RECOVERED
    censored = CL.REC_CENSORED
    defaulted = CL.REC_DEFAULTED


def flag_attrs(enum) -> dict:
    """CF-convention ``flag_values`` / ``flag_meanings`` of an IntEnum."""
    import numpy as np

    return {"flag_values": np.array([int(m) for m in enum], dtype=np.int8),
            "flag_meanings": " ".join(m.name for m in enum)}
