"""Every way a user can get it wrong ends in one clear line, exit 2, and no results file.

The cases live in :mod:`tests.bad_inputs` (shared with ``scripts/error_table.py``).
"""

import time

import pytest

from tests.bad_inputs import CASES, Case, message_lines, run_case


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_line(case: Case, tmp_path):
    before = case.files.get("out.nc")
    res = run_case(case, tmp_path)
    assert res.exit_code == case.exit_code, res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output
    lines = message_lines(res, case.kind)
    assert len(lines) == 1, res.stderr
    msg = lines[0]
    if case.kind == "error":  # nothing but the one line on stderr
        assert res.stderr.strip() == msg, res.stderr
    if case.where is not None:
        assert f"{case.kind}: {case.where}" in msg, msg
    if case.keypath is not None:
        assert f" {case.keypath}: " in msg, msg
    for text in case.says:
        assert text in msg, msg
    out = tmp_path / "out.nc"
    if before is None:
        assert not out.exists()
    else:
        assert out.read_bytes() == before  # an existing file is never touched
    assert not list(tmp_path.glob(".*.tmp"))


def test_alias_bomb_is_rejected_in_under_a_second(tmp_path):
    case = next(c for c in CASES if c.id == "alias-bomb")
    run_case(case, tmp_path)  # warm imports
    t0 = time.perf_counter()
    res = run_case(case, tmp_path)
    elapsed = time.perf_counter() - t0
    assert res.exit_code == 2
    assert elapsed < 1.0, f"alias bomb took {elapsed:.2f} s to refuse"


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
