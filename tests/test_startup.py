"""A run's fixed cost: what a command-line run imports and starts (docs/performance.md section 3).

A results file is written without xarray, pandas or h5netcdf
(:mod:`simulator.labelled`); numba's optional imports of ``scipy.linalg`` and
cffi are failed during a run (:func:`simulator._kernels._jit.without_optional_imports`);
numba's threading layer is not launched (the blocks run on a Python pool).
"""

import json
import subprocess
import sys

from tests.conftest import ROOT, SCENARIOS

_CHILD = """
import json, sys
from simulator.cli import main
try:
    main([sys.argv[1], "--paths", "600", "--horizon", "1", "-q", "-o", sys.argv[2], "--force"])
except SystemExit as e:
    assert not e.code, e.code
from numba.np.ufunc import parallel
loaded = {m: m in sys.modules for m in ("xarray", "pandas", "h5netcdf", "scipy.linalg", "cffi")}
loaded["numba threading layer"] = parallel._is_initialized
import scipy.linalg.cython_blas, cffi  # importable again after the run
print(json.dumps(loaded))
"""


def test_a_run_imports_only_what_it_needs(tmp_path):
    out = subprocess.run([sys.executable, "-c", _CHILD, str(SCENARIOS / "avalanche.yaml"), str(tmp_path / "r.nc")],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "xarray": False, "pandas": False, "h5netcdf": False, "scipy.linalg": False, "cffi": False,
        "numba threading layer": False}
    assert (tmp_path / "r.nc").is_file()


def test_without_optional_imports_restores_the_import_system():
    from simulator._kernels._jit import NUMBA_OPTIONAL_IMPORTS, without_optional_imports

    before = {m: sys.modules.get(m, "absent") for m in NUMBA_OPTIONAL_IMPORTS}
    with without_optional_imports():
        for m, was in before.items():
            assert sys.modules[m] is (None if was == "absent" else was)
    assert {m: sys.modules.get(m, "absent") for m in NUMBA_OPTIONAL_IMPORTS} == before


_EXIT_CHILD = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))  # runs after the CLI's handler
from simulator.cli import main
print("frozen before:", gc.get_freeze_count() > 0)
main([sys.argv[1], "--paths", "600", "--horizon", "1", "-q", "-o", sys.argv[2], "--force"])
"""


def test_objects_are_frozen_at_exit_only(tmp_path):
    """At exit the command line freezes the objects of the process, so that Python's collections
    while it tears its modules down do not walk them (a fixed cost of every command); not before."""
    out = subprocess.run([sys.executable, "-c", _EXIT_CHILD, str(SCENARIOS / "avalanche.yaml"), str(tmp_path / "r.nc")],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:2] == ["frozen before: False", "frozen at exit: True"], out.stdout


_PAGES_CHILD = """
import sys
from simulator.cli import main
from numpy._core import multiarray
before = multiarray._get_madvise_hugepage()
try:
    main(["validate", sys.argv[1]])
except SystemExit:
    pass
after_validate = multiarray._get_madvise_hugepage()
try:
    main([sys.argv[1], "--paths", "600", "--horizon", "1", "-q", "-o", sys.argv[2], "--force"])
except SystemExit as e:
    assert not e.code, e.code
print(before, after_validate, multiarray._get_madvise_hugepage())
"""


def _pages(tmp_path, env):
    out = subprocess.run([sys.executable, "-c", _PAGES_CHILD, str(SCENARIOS / "avalanche.yaml"), str(tmp_path / "r.nc")],
                         cwd=ROOT, capture_output=True, text=True, check=True, env=env)
    return out.stdout.splitlines()[-1].split()  # after validate's own line


def test_a_run_asks_numpy_for_small_pages(tmp_path):
    """A run's arrays are touched once, in order: no transparent huge pages (slow to fault in on a
    virtual machine); other commands leave numpy's setting alone, and so does a run when
    ``NUMPY_MADVISE_HUGEPAGE`` is set."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    assert _pages(tmp_path, env) == ["True", "True", "False"]
    assert _pages(tmp_path, {**env, "NUMPY_MADVISE_HUGEPAGE": "1"}) == ["True", "True", "True"]
