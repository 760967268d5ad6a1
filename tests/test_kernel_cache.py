"""numba's cache of the kernels goes stale with any kernel module, not only the kernel's own file
(:mod:`simulator._kernels.cache`)."""

import os
import shutil
import subprocess
import sys

from simulator._kernels import cache
from tests.conftest import ROOT


def test_the_digest_changes_with_any_kernel_module(tmp_path):
    copy = tmp_path / "_kernels"
    shutil.copytree(cache.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache.sources_digest(copy)
    assert before == cache.sources_digest(cache.PACKAGE)
    layout = copy / "company_layout.py"
    layout.write_text(layout.read_text().replace("N_PFLT = ", "N_PFLT = 1 + "))
    cache.sources_digest.cache_clear()
    assert cache.sources_digest(copy) != before


def test_a_kernel_stamp_holds_the_package_digest():
    from simulator._kernels.summary import summary_block

    locator = summary_block._cache._impl.locator
    assert isinstance(locator, cache.KernelSourcesLocator)
    own, digest = locator.get_source_stamp()
    assert digest == cache.sources_digest()
    assert locator.get_cache_path()  # numba's own locator still says where


_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from simulator._kernels import _jit, cache  # _jit installs the locator
import numba

@numba.njit(cache=True)
def outside(x):
    return x + 1

outside(1)
print(type(outside._cache._impl.locator).__name__, cache.KernelSourcesLocator in cache._IMPL._locator_classes)
"""


def test_functions_outside_the_package_keep_numba_locators(tmp_path):
    script = tmp_path / "outside.py"
    script.write_text(_CHILD)
    out = subprocess.run([sys.executable, str(script), str(ROOT)], capture_output=True, text=True, check=True,
                         env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")})
    assert out.stdout.split() == ["UserProvidedCacheLocator", "True"]
