"""Make scenarios/data/fedfunds_monthly.csv from ../shared/data/FEDFUNDS.csv.

The effective federal funds rate, percent, monthly average, one row per month
(``YYYY-MM``). Source: FRED series FEDFUNDS (Board of Governors of the Federal
Reserve System), as mirrored in the public GitHub repository
sivamsapingali/Codex_Macro-Monitor (``data/``), via shared/data/FEDFUNDS.csv.
Values stay in percent; a scenario reads them with ``scale: 0.01``.
Run from the project root: ``python scripts/make_fedfunds_monthly.py``.
"""

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT.parent / "shared" / "data" / "FEDFUNDS.csv"
DST = ROOT / "scenarios" / "data" / "fedfunds_monthly.csv"


def main() -> None:
    rows = []
    with SRC.open(newline="") as fh:
        for row in csv.DictReader(fh):
            value = row["value"].strip()
            if value:
                rows.append((row["date"][:7], value))
    with DST.open("w", newline="") as fh:
        fh.write("# Effective federal funds rate, percent, monthly average (use scale: 0.01 for decimals).\n")
        fh.write("# Source: FRED series FEDFUNDS (Board of Governors of the Federal Reserve System),\n")
        fh.write("# as mirrored in GitHub sivamsapingali/Codex_Macro-Monitor data/, via shared/data/FEDFUNDS.csv.\n")
        fh.write("# Made by scripts/make_fedfunds_monthly.py; do not edit by hand.\n")
        w = csv.writer(fh)
        w.writerow(["month", "fedfunds_pct"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
