"""scripts/kernel_costs.py, the split of the company kernel's time by company: its scenario variants
are what they say, and the script runs (its timings are not checked: they are measurements)."""

import importlib.util
import os
import subprocess
import sys

from tests.conftest import ROOT, SCENARIOS


def _script():
    spec = importlib.util.spec_from_file_location("kernel_costs", ROOT / "scripts" / "kernel_costs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_dropped_company_leaves_its_contracts_external_and_never_defaulting():
    script = _script()
    sc = script.variant(str(SCENARIOS / "avalanche.yaml"), ("openai",))
    assert "openai" not in sc.companies
    full = script.variant(str(SCENARIOS / "avalanche.yaml"), ())
    before = full.companies["coreweave"].contracts
    after = sc.companies["coreweave"].contracts
    assert len(after) == len(before)
    moved = [(b, a) for b, a in zip(before, after) if b.counterparty == "openai"]
    assert moved, "avalanche's CoreWeave has contracts with OpenAI"
    for b, a in moved:
        assert a.counterparty == "external" and a.hazard == 0.0
        assert a.monthly_amount == b.monthly_amount and a.start == b.start and a.end == b.end
    assert [a for b, a in zip(before, after) if b.counterparty != "openai"] == \
        [b for b in before if b.counterparty != "openai"]


def test_the_script_prints_every_variant():
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "kernel_costs.py"), "--drop", "openai",
                          "--groups", "2", "--repeats", "1", "--rounds", "1"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    labels = [" ".join(w for w in r if not _number(w)) for r in rows]
    assert labels == ["as it is", "without openai", "without every company"]
    for r in rows:  # market and company kernel, us a path (then the company's cost, of either sign)
        market, companies = [float(w) for w in r if _number(w)][:2]
        assert market > 0 and companies > 0


def _number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def test_more_than_one_thread_is_refused():
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "kernel_costs.py"), "--groups", "1"], cwd=ROOT,
                         env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "one thread" in out.stderr


def test_an_unknown_company_is_refused():
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "kernel_costs.py"), "--drop", "nvidia"], cwd=ROOT,
                         env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "no company nvidia" in out.stderr and "Traceback" not in out.stderr
