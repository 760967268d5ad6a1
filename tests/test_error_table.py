"""docs/errors.md is generated from the bad-input cases and must be up to date."""

import subprocess
import sys

from tests.conftest import ROOT


def test_errors_doc_is_up_to_date():
    fresh = subprocess.run([sys.executable, str(ROOT / "scripts" / "error_table.py")], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout
    fresh = _mask_machine(fresh)
    assert fresh == _mask_machine((ROOT / "docs" / "errors.md").read_text()), (
        "docs/errors.md is stale: run `python scripts/error_table.py > docs/errors.md`")


def _mask_machine(text: str) -> str:
    """The memory case names this machine's free memory; mask it."""
    import re

    return re.sub(r"but [0-9.]+ \w+ is available; use fewer paths \(--paths \d+", "but <mem> is available; "
                  "use fewer paths (--paths <n>", text)
