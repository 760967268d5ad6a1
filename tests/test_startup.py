"""A run's fixed cost: what a command-line run imports and starts (docs/performance.md section 3).

A results file is written without xarray, pandas or h5netcdf
(:mod:`simulator.labelled`); numba's optional import of ``scipy.linalg`` is
failed during a run (:func:`simulator._kernels._jit.without_optional_scipy`);
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
loaded = {m: m in sys.modules for m in ("xarray", "pandas", "h5netcdf", "scipy.linalg")}
loaded["numba threading layer"] = parallel._is_initialized
import scipy.linalg.cython_blas  # importable again after the run
print(json.dumps(loaded))
"""


def test_a_run_imports_only_what_it_needs(tmp_path):
    out = subprocess.run([sys.executable, "-c", _CHILD, str(SCENARIOS / "avalanche.yaml"), str(tmp_path / "r.nc")],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "xarray": False, "pandas": False, "h5netcdf": False, "scipy.linalg": False,
        "numba threading layer": False}
    assert (tmp_path / "r.nc").is_file()


def test_without_optional_scipy_restores_the_import_system():
    from simulator._kernels._jit import _NUMBA_OPTIONAL_SCIPY, without_optional_scipy

    before = sys.modules.get(_NUMBA_OPTIONAL_SCIPY, "absent")
    with without_optional_scipy():
        if before == "absent":
            assert sys.modules[_NUMBA_OPTIONAL_SCIPY] is None
        else:
            assert sys.modules[_NUMBA_OPTIONAL_SCIPY] is before
    assert sys.modules.get(_NUMBA_OPTIONAL_SCIPY, "absent") is before
