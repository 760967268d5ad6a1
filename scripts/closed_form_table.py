"""Print the closed-form check table of docs/drivers.md.

Runs every check of :mod:`simulator.drivers.checks` (the same ones the tests
assert within 4 standard errors) on the shipped base market
(``scenarios/common/market.yaml``) and prints a markdown table at one horizon.
Run from the project root:
``python scripts/closed_form_table.py [--paths 100000] [--seed 20261121] [--months 60]``.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's simulator, not an installed one

from simulator.drivers import checks  # noqa: E402
MARKET = ROOT / "scenarios" / "common" / "market.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--months", type=int, default=60)
    args = ap.parse_args()
    runs = checks.simulate(MARKET, args.paths, args.seed, args.months)
    rows = checks.checks_at(runs, args.months)
    print(f"Closed-form checks at {args.months} months: {args.paths} paths per configuration, seed {args.seed}, "
          "base market scenarios/common/market.yaml.\n")
    print(checks.markdown_table(rows))
    worst = max(abs(c.z) for c in rows)
    print(f"\n{len(rows)} checks; largest |z| = {worst:.2f} (tests require |z| <= 4).")


if __name__ == "__main__":
    main()
