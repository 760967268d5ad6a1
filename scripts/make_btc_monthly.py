"""Make scenarios/data/btc_usd_monthly.csv from ../shared/data/btc_usd_daily.csv.

Month-end close: the last daily 00:00-UTC close in each calendar month.
Source of the daily series: CoinGecko daily prices as mirrored in the public
GitHub repository Boddei/coinmaster (data/btc_daily_prices.csv, commit d11fc03).
Run from the project root: ``python scripts/make_btc_monthly.py``.
"""

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT.parent / "shared" / "data" / "btc_usd_daily.csv"
DST = ROOT / "scenarios" / "data" / "btc_usd_monthly.csv"
FIRST_MONTH = "2013-01"  # earlier prices are thin, pre-exchange-era quotes


def main() -> None:
    last: dict[str, tuple[str, str]] = {}
    with SRC.open(newline="") as fh:
        for row in csv.DictReader(fh):
            month = row["date"][:7]
            if month >= FIRST_MONTH:
                last[month] = (row["date"], row["close_usd"])
    months = sorted(last)
    # drop a final month that has not ended in the data
    if last[months[-1]][0][8:10] < "28":
        months = months[:-1]
    with DST.open("w", newline="") as fh:
        fh.write("# Bitcoin month-end close, USD (last daily 00:00-UTC close of each month).\n")
        fh.write("# Source: CoinGecko daily prices, as mirrored in GitHub Boddei/coinmaster\n")
        fh.write("# data/btc_daily_prices.csv (commit d11fc03), via shared/data/btc_usd_daily.csv.\n")
        fh.write("# Made by scripts/make_btc_monthly.py; do not edit by hand.\n")
        w = csv.writer(fh)
        w.writerow(["month", "close_usd"])
        for m in months:
            w.writerow([m, last[m][1]])


if __name__ == "__main__":
    main()
