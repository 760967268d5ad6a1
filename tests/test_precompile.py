"""A cold run's kernels compiled on two cores (simulator.precompile).

The plan's signatures must be exactly those a run calls the kernels with
(summary mode in both band regimes, and the fused engine): checked in a
fresh process with an empty numba cache, where each kernel's compiled
signatures are only the runs' own. The same process checks
that the second process compiled its share into the cache, and that the
results are the bits of a run compiled the ordinary way (this test process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from simulator.scenario import load_scenario
from simulator.stream import run_summary
from tests.conftest import ROOT, SCENARIOS

N = 700

_CHILD = """
import json, sys
import numpy as np
from simulator.company import pack_companies
from simulator.drivers import pack_market
from simulator.company.summary import summarise
from simulator.precompile import compile_ahead, finish, kernel_plan
from simulator.scenario import load_scenario
from simulator.stream import run_summary


def signatures(plan):  # whether each kernel of the plan has exactly the plan's signatures for it
    want = {}
    for d, sig in plan.here + plan.elsewhere:
        want.setdefault(d, []).append(str(sig))
    return {d.py_func.__name__: sorted(str(t) for t in d.signatures) == sorted(w) for d, w in want.items()}


sc = load_scenario(sys.argv[1], paths=int(sys.argv[2]))
mi, ci = pack_market(sc), pack_companies(sc)
report = {}
for name, exact_bytes in (("sketch", 0), ("exact", 2**40)):
    plan = kernel_plan(mi, ci, name)
    child = compile_ahead(plan)
    finish(child)  # its share is in the cache before the run asks for it
    s = run_summary(sc, inputs=mi, companies=ci, exact_bytes=exact_bytes)
    # as the command line does next (a summary run keeps its per-path results with the paths last already)
    summarise(s.pint, s.pflt, ci.names, ci.opening_debt, mi.n_steps)
    report[name] = {
        "child": None if child is None else child.returncode,
        # the run compiled or loaded each kernel with the plan's signatures, and no other
        "signatures": signatures(plan),
        # loaded from the cache, not compiled, in this process
        "loaded": {d.py_func.__name__: [sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())]
                   for d, sig in plan.elsewhere},
    }
    np.savez(sys.argv[3] + name + ".npz", pint=s.pint, pflt=s.pflt, counts=s.counts, bands=s.bands,
             market_mean=s.market_mean)
# the block kernel calls the market and company kernels as function values: their code is not in its module
import re
from simulator._kernels.summary import summary_block
ir = "".join(summary_block.overloads[sig].library.get_llvm_str() for sig in summary_block.signatures)
report["defined"] = sorted(set(re.findall(r"^define [^@]*@[^(]*?(market_path|market_lanes|companies_lanes|_financing)",
                                          ir, re.M)))
# the company kernel calls its step's parts as function values: their code is not in its module
from simulator._kernels.company import companies_lanes
ir = "".join(companies_lanes.overloads[sig].library.get_llvm_str() for sig in companies_lanes.signatures)
report["company_defined"] = sorted(set(re.findall(r"^define [^@]*@[^(]*?(_operations|_financing|_outcome)", ir, re.M)))
# the fused engine (--output full) calls the market and company kernels with the same types
from simulator.engine import run
res = run(sc, inputs=mi, companies=ci, full=True)
summarise(res["pint"], res["pflt"], ci.names, ci.opening_debt, mi.n_steps)
plan = kernel_plan(mi, ci, None)
report["engine"] = signatures(plan)
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def cold(tmp_path_factory):
    """A summary run in each regime, then a full-output engine run, in a fresh process with an empty
    numba cache."""
    tmp = tmp_path_factory.mktemp("cold")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "numba")}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(SCENARIOS / "avalanche.yaml"), str(N), str(tmp / "r_")],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), tmp


def test_plan_signatures_are_the_runs_own(cold):
    report, _ = cold
    for regime in ("sketch", "exact"):
        assert all(report[regime]["signatures"].values()), (regime, report[regime]["signatures"])
    company = {"companies_lanes", "_operations", "_financing", "_outcome", "init_state"}
    market = {"market_lanes"}
    assert set(report["sketch"]["signatures"]) == company | market | {"hist_rows", "sketch_rows"}
    assert set(report["exact"]["signatures"]) == company | market | {"exact_rows"}
    assert report["engine"] == {name: True for name in company | market | {"paths_last_block"}}


def test_block_kernel_does_not_compile_the_lane_kernels_again(cold):
    """The summary block kernel gets the market and company kernels as function values
    (simulator._kernels.fnvalue): none of their code is linked into its module."""
    report, _ = cold
    assert report["defined"] == []


def test_company_kernel_does_not_compile_its_parts_again(cold):
    """The company kernel gets its step's three parts as function values: none of their code is
    linked into its module (each is compiled once, on its own, and the cold run's two processes
    share them out)."""
    report, _ = cold
    assert report["company_defined"] == []


def test_second_process_compiles_the_rest(cold):
    report, _ = cold
    # cold cache: the second process compiled the company kernel's opening state and two parts of
    # its step, the market kernels and the band kernels; this one loaded them
    assert report["sketch"]["child"] == 0
    assert report["sketch"]["loaded"] == {"init_state": [1, 0], "_operations": [1, 0], "_outcome": [1, 0],
                                          "market_lanes": [1, 0], "hist_rows": [1, 0], "sketch_rows": [1, 0]}
    # the company kernel is compiled by then: nothing to overlap, exact_rows compiles here as usual
    assert report["exact"]["child"] is None
    assert report["exact"]["loaded"]["exact_rows"] == [0, 1]


@pytest.mark.parametrize("regime,exact_bytes", [("sketch", 0), ("exact", 2**40)])
def test_results_are_the_same_bits(cold, regime, exact_bytes):
    _, tmp = cold
    s = run_summary(load_scenario(SCENARIOS / "avalanche.yaml", paths=N), exact_bytes=exact_bytes)
    got = np.load(tmp / f"r_{regime}.npz")
    for name in ("pint", "pflt", "counts", "bands", "market_mean"):
        assert np.array_equal(got[name], getattr(s, name), equal_nan=True), name


def test_warm_cache_starts_nothing():
    from simulator.precompile import compile_ahead, kernel_plan

    s = run_summary(load_scenario(SCENARIOS / "avalanche.yaml", paths=N), exact_bytes=0)
    assert compile_ahead(kernel_plan(s.inputs, s.companies, "sketch")) is None
    assert compile_ahead(kernel_plan(s.inputs, s.companies, None)) is None


def test_a_hung_second_process_is_stopped():
    from simulator.precompile import finish

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    finish(child, timeout=0.5)
    assert child.returncode is not None
