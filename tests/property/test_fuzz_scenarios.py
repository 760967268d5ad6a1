"""Property-based fuzzing of the scenario loader and the command line.

Random mutations of the shipped scenarios (deleted keys, swapped types,
extreme numbers, random text, unknown keys, mangled YAML text, random
``--set`` overrides and options) must end in a clean result: exit 0, or exit 2
with one ``error:`` line. Never a traceback, never exit 1 (an internal error).
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.scenario import resolve_dict
from tests.conftest import SHIPPED

#: Resolved shipped scenarios as plain mappings (``extends`` merged, CSV paths absolute).
BASES = [resolve_dict(p)[0] for p in SHIPPED]

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 1e308, -1e-308, 1e5, 0.5, 1.5]),
    st.text(max_size=12), st.sampled_from(["no", "yes", "on", "off", "1e5", "~", "", "gbm", "cir", "replay"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=6), scalars, max_size=2))


def _leaves(node, prefix=()):
    """Every key path of a nested mapping (lists count as leaves)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from _leaves(v, prefix + (k,))


def _get_parent(data, path):
    for k in path[:-1]:
        data = data[k]
    return data


@st.composite
def mutated(draw):
    """A shipped scenario with 1-4 random mutations."""
    import copy

    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_leaves(data))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _get_parent(data, path)
        op = draw(st.sampled_from(["delete", "replace", "swap", "extreme", "unknown"]))
        old = parent[path[-1]]
        if op == "delete":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = draw(values)
        elif op == "swap":  # same value, another type
            parent[path[-1]] = str(old) if not isinstance(old, str) else [old]
        elif op == "extreme" and isinstance(old, (int, float)) and not isinstance(old, bool):
            parent[path[-1]] = draw(st.sampled_from([0, -old, old * 1e12, old * 1e-12, 10**20, -(10**20),
                                                     math.inf, -math.inf, math.nan]))
        elif op == "unknown" and isinstance(old, dict):
            old[draw(st.text(min_size=1, max_size=8))] = draw(scalars)
    return data


def _dump(data) -> str:
    from ruamel.yaml import YAML

    buf = io.StringIO()
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.dump(data, buf)
    return buf.getvalue()


def _assert_clean(res):
    assert res.exit_code in (0, 2), (res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output
    if res.exception is not None:
        assert isinstance(res.exception, SystemExit), repr(res.exception)
    errors = [ln for ln in res.stderr.splitlines() if not ln.startswith("warning: ")]
    if res.exit_code == 2:
        assert len(errors) == 1 and errors[0].startswith("error: "), res.stderr
    else:
        assert errors == [], res.stderr


@FUZZ
@given(data=mutated())
def test_mutated_scenarios_validate_cleanly(data):
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "fuzz.yaml"
        f.write_text(_dump(data))
        _assert_clean(CliRunner().invoke(main, ["validate", str(f)]))


@FUZZ
@given(base=st.sampled_from(SHIPPED), cut=st.integers(0, 10_000), junk=st.text(max_size=20))
def test_mangled_yaml_text_is_refused_cleanly(base, cut, junk):
    text = base.read_text()
    cut %= len(text)
    f = base.parent / f".fuzz-{os.getpid()}.yaml"  # beside the original, so `extends` still resolves
    try:
        f.write_text(text[:cut] + junk + text[cut:])
        _assert_clean(CliRunner().invoke(main, ["validate", str(f)]))
    finally:
        f.unlink()


KEYPATHS = sorted({".".join(p) for b in BASES for p in _leaves(b)})


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(),
       sets=st.lists(st.tuples(st.one_of(st.sampled_from(KEYPATHS), st.text(max_size=15)), st.text(max_size=10)),
                     max_size=2),
       paths=st.one_of(st.none(), st.integers(-5, 30)),
       horizon=st.one_of(st.none(), st.sampled_from([0.25, 0.5, 0.0, -1.0, 0.3, 1e9])))
def test_fuzzed_runs_end_cleanly(data, sets, paths, horizon):
    with tempfile.TemporaryDirectory() as d:
        _fuzzed_run(Path(d), data, sets, paths, horizon)


def _fuzzed_run(folder, data, sets, paths, horizon):
    f = folder / "fuzz.yaml"
    data.setdefault("simulation", {})
    if isinstance(data["simulation"], dict):  # keep real runs tiny
        data["simulation"].update(paths=20, horizon_years=0.25, steps_per_year=12)
    f.write_text(_dump(data))
    args = ["run", str(f), "-o", str(folder / "out.nc"), "-q"]
    for key, value in sets:
        args += ["--set", f"{key}={value}"]
    if paths is not None:
        args += ["--paths", str(paths)]
    if horizon is not None:
        args += ["--horizon", str(horizon)]
    res = CliRunner().invoke(main, args)
    _assert_clean(res)
    assert (folder / "out.nc").exists() == (res.exit_code == 0)
    assert not list(folder.glob(".*.tmp"))
