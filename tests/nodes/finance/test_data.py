"""The shipped data is what its NOTICE says, and ships in the wheel."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import nodes.finance
from nodes.finance.offline import _data, load_prices

DATA = Path(nodes.finance.__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[3]


def test_the_price_file_is_the_plotly_aapl_series() -> None:
    prices = load_prices()
    assert len(prices) == 506
    assert (prices.dates[0], prices.dates[-1]) == ("2015-02-17", "2017-02-16")
    assert prices.close[prices.dates.index("2016-06-30")] == 95.599998
    assert all(lo <= min(o, c) and hi >= max(o, c) for o, hi, lo, c in
               zip(prices.open, prices.high, prices.low, prices.close, strict=True))


def test_the_ten_k_figures_balance() -> None:
    for report in json.loads(_data("aapl_fundamentals.json"))["reports"]:
        items = report["items"]
        assert items["total_assets"] == items["total_liabilities"] + items["shareholders_equity"]
        assert "10-K" in report["source"] and report["filed"] > report["period_end"]


def test_every_headline_has_a_date_and_a_publisher() -> None:
    for h in json.loads(_data("aapl_headlines.json"))["headlines"]:
        assert h["date"] and h["source"] and h["headline"]


def test_notice_names_source_and_license_of_each_file() -> None:
    notice = (DATA / "NOTICE.md").read_text()
    for name in ("finance-charts-apple.csv", "aapl_fundamentals.json", "aapl_headlines.json"):
        assert name in notice
    assert "plotly/datasets" in notice and "MIT" in notice and "Form 10-K" in notice


def test_package_data_includes_every_data_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["nodes.finance"]
    shipped = {p.name for pattern in patterns for p in DATA.glob(pattern.removeprefix("data/"))}
    assert shipped == {p.name for p in DATA.iterdir() if p.is_file()}
