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


#: Resident memory of the interpreter with numpy, xarray and the loaded kernels, measured
#: on a small run (``docs/performance.md``); added to every estimate.
BASE_BYTES = 400 * 2**20


def summary_path_bytes(n_comp: int) -> int:
    """Memory per path of a summary run: the per-path scalars (``pint`` int32,
    ``pflt`` float64) and their copies in the results Dataset, with slack for
    the summaries' temporaries."""
    import numpy as np

    from simulator._kernels import company_layout as CL

    return n_comp * (CL.N_PINT * np.dtype(CL.PINT_DTYPE).itemsize + CL.N_PFLT * 8 + 48) + 64


def peak_memory_bytes(scenario, full: bool) -> int:
    """Estimated peak memory of a run.

    ``full``: every path of every market variable and company line (twice:
    the engine's arrays and the Dataset's file buffers) plus the interpreter.
    Summary mode streams chunks of paths (:mod:`simulator.stream`): the
    per-path scalars, and either the exact band values (at most
    ``EXACT_BYTES``, written once, quantiles taken in place) or the histogram
    sketch and the reused chunk buffer.
    """
    from simulator.results import estimate_full_bytes
    from simulator.stream import CHUNK_PATHS, EXACT_BYTES, band_bytes, chunk_bytes, sketch_bytes

    sim = scenario.simulation
    n_comp = len(scenario.companies)
    if full:
        return 2 * estimate_full_bytes(scenario) + BASE_BYTES
    bands = band_bytes(sim.paths, sim.n_steps, n_comp)
    if bands <= EXACT_BYTES:  # the kernel writes the band values straight into one store
        quant = bands
    else:
        quant = sketch_bytes(sim.n_steps, n_comp) + chunk_bytes(min(CHUNK_PATHS, sim.paths), sim.n_steps, n_comp)
    return BASE_BYTES + sim.paths * summary_path_bytes(n_comp) + quant


def _paths_that_fit(scenario, budget: float, full: bool = True) -> int:
    if not full:
        per_path = summary_path_bytes(len(scenario.companies))
        return max(0, int((budget - BASE_BYTES) / per_path))
    per_path = (peak_memory_bytes(scenario, True) - BASE_BYTES) / scenario.simulation.paths
    return max(0, int((budget - BASE_BYTES) / per_path))


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
        fit = _paths_that_fit(scenario, MEMORY_SHARE * avail, full)
        raise ResourceError(
            f"{scenario.name}: the run needs about {human_bytes(need)} of memory "
            f"({scenario.simulation.paths} paths x {scenario.simulation.n_steps} steps) but "
            f"{human_bytes(avail)} is available; use fewer paths (--paths {fit} or less)"
            + (" or a shorter --horizon" if full else " (summary mode keeps per-path scalars only)"))
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
