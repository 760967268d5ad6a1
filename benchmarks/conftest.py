"""Benchmark sizes: real sizes when timing, tiny ones under ``--benchmark-disable``.

``python -m pytest`` runs these with timing off (see ``pyproject.toml``) so that
they stay working; time them with ``python -m pytest benchmarks --benchmark-enable``.
Every benchmark compiles its kernels in an untimed warm-up call first.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AVALANCHE = ROOT / "scenarios" / "avalanche.yaml"


@pytest.fixture(scope="session")
def timing(request) -> bool:
    opt = request.config.getoption
    return bool(opt("benchmark_enable")) or not opt("benchmark_disable")


@pytest.fixture(scope="session")
def work(timing):
    """The avalanche scenario, 5 years monthly: 20,000 paths when timing, 64 otherwise."""
    from simulator.bench import workload

    return workload(AVALANCHE, 20_000 if timing else 64)


@pytest.fixture(params=["1-thread", "all-threads"])
def threads(request):
    import numba

    before = numba.get_num_threads()
    n = 1 if request.param == "1-thread" else numba.config.NUMBA_NUM_THREADS
    numba.set_num_threads(n)
    yield n
    numba.set_num_threads(before)
