"""Will a run fit? Memory and disk estimates, checked before anything runs.

A run that would die halfway (out of memory, disk full) is refused up front
with the estimate and what to change. The estimates come from
:func:`simulator.results.estimate_full_bytes`, the one place that knows the
size of the per-path arrays.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from simulator.errors import ResourceError

#: Share of the available memory a run may plan to use.
MEMORY_SHARE = 0.8


def human_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def available_memory_bytes() -> int | None:
    """Memory a new allocation can get: ``MemAvailable`` (Linux), capped by a cgroup
    limit if one is set; ``os.sysconf`` elsewhere; None if unknown."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:  # cgroup v2 limit (containers)
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            avail = min(avail, int(limit) - used)
    except (OSError, ValueError):
        pass
    return avail


def peak_memory_bytes(scenario, full: bool) -> int:
    """Estimated peak memory of a run.

    The engine holds every path of every market variable in both output modes,
    plus working copies of about two variables (quantiles, writing).
    """
    from simulator.results import estimate_full_bytes

    sim = scenario.simulation
    return estimate_full_bytes(scenario) + 2 * sim.paths * sim.n_steps * 8


def _paths_that_fit(scenario, budget: float) -> int:
    per_path = peak_memory_bytes(scenario, True) / scenario.simulation.paths
    return max(0, int(budget / per_path))


def check_fits(scenario, full: bool, target: Path) -> None:
    """Refuse a run whose arrays would not fit in memory, or whose full output
    would not fit on the target's disk.

    Raises
    ------
    ResourceError
        With the estimate, what is available, and what to change.
    """
    from simulator.results import estimate_full_bytes

    need = peak_memory_bytes(scenario, full)
    avail = available_memory_bytes()
    if avail is not None and need > MEMORY_SHARE * avail:
        fit = _paths_that_fit(scenario, MEMORY_SHARE * avail)
        raise ResourceError(
            f"{scenario.name}: the run needs about {human_bytes(need)} of memory "
            f"({scenario.simulation.paths} paths x {scenario.simulation.n_steps} steps) but "
            f"{human_bytes(avail)} is available; use fewer paths (--paths {fit} or less) or a shorter "
            "--horizon")
    if full:
        size = estimate_full_bytes(scenario)
        folder = target.parent if str(target.parent) else Path(".")
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return
        if size > free:
            raise ResourceError(
                f"{scenario.name}: --output full writes about {human_bytes(size)} but {folder} has "
                f"{human_bytes(free)} free; use --output summary, fewer paths, or another -o folder")
