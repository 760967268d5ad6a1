"""Company definitions (schema). Filled in by the company engine."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Company(BaseModel):
    """One company simulated on every path."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    archetype: Literal["hyperscaler", "neocloud", "miner", "ai_app"] = Field(description="Which lines are present.")
