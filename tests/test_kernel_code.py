"""The machine code of the company step's lane loops: what the step relies on for its speed.

The three parts of the step (``simulator._kernels.company``) are compiled in a fresh process with
an empty numba cache (numba shows the code of what it compiled, not of what it loaded), for the
argument types a run calls them with, and their code is read:

- no masked loads or stores (``vmaskmovpd``): a value stored back where it was loaded from goes
  through ``select.update``, and lane loops use ``&``/``|``, not ``and``/``or``;
- no reference counting of their array arguments (``NRT_incref``): each is rebound as a view that
  counts nothing (``select.borrow``) or with constant strides (``select.trailing2``);
- lane loops vectorised (AVX ``ymm`` registers), where the CPU has AVX.

A change that breaks one of these keeps every result, bit for bit, and only shows as a slower run;
this test makes it show here. ``docs/performance.md`` section 14 has the measurements.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SCENARIOS

_CHILD = """
import json, sys
from simulator.company import pack_companies
from simulator.drivers import pack_market
from simulator.precompile import part_argtypes
from simulator.scenario import load_scenario
from simulator._kernels import company

sc = load_scenario(sys.argv[1])
parts = dict(zip(("_operations", "_financing", "_outcome"), part_argtypes(pack_market(sc), pack_companies(sc))))
report = {}
for name, argtypes in parts.items():
    kernel = getattr(company, name)
    kernel.compile(argtypes)
    sig = kernel.signatures[-1]
    asm, ir = kernel.inspect_asm(sig), kernel.inspect_llvm(sig)
    report[name] = {"masked": asm.count("vmaskmov"), "incref": ir.count("call void @NRT_incref"),
                    "ymm": asm.count("ymm")}
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def code(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kernel_code")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "numba")}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(SCENARIOS / "avalanche.yaml")], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("part", ["_operations", "_financing", "_outcome"])
def test_no_masked_loads_or_stores(code, part):
    assert code[part]["masked"] == 0


@pytest.mark.parametrize("part", ["_operations", "_financing", "_outcome"])
def test_no_reference_counting_of_arguments(code, part):
    assert code[part]["incref"] == 0


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return " avx2" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(not _has_avx2(), reason="no AVX2 on this CPU (or no /proc/cpuinfo to tell)")
@pytest.mark.parametrize("part", ["_operations", "_financing", "_outcome"])
def test_lane_loops_vectorised(code, part):
    assert code[part]["ymm"] > 100
