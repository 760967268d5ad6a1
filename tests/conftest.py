import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


@pytest.fixture
def market_yaml():
    return SCENARIOS / "common" / "market.yaml"
