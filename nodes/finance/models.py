"""What providers return: prices, a quote, fundamentals, headlines (JSON-ready, frozen).

Every provider converts its own wire format into these models, so that the
analyses never know where the data came from. ``model_dump(mode="json")`` and
``model_validate`` round-trip them through the response cache.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["Fundamentals", "Headline", "PriceSeries", "Quote"]


class PriceSeries(BaseModel):
    """Daily bars, oldest first; parallel lists of equal length."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    dates: list[str]          # ISO dates, ascending
    open: list[float]
    high: list[float]
    low: list[float]
    close: list[float]
    volume: list[float]

    @model_validator(mode="after")
    def _same_lengths(self) -> PriceSeries:
        n = len(self.dates)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} values for {n} dates")
        if self.dates != sorted(self.dates):
            raise ValueError("dates are not in ascending order")
        return self

    def __len__(self) -> int:
        return len(self.dates)

    def until(self, day: str) -> PriceSeries:
        """The bars on or before ``day`` (ISO date)."""
        n = sum(1 for d in self.dates if d <= day)
        return self.model_copy(update={
            k: getattr(self, k)[:n] for k in ("dates", "open", "high", "low", "close", "volume")
        })


class Quote(BaseModel):
    """The latest price known to the provider."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    price: float
    previous_close: float | None = None
    as_of: str                # ISO date (or date-time) of the price


class Fundamentals(BaseModel):
    """A company's figures for one period, as a provider has them.

    ``items`` are statement line items (millions; per-share amounts in units;
    share counts in thousands), for providers that give statements; ``metrics``
    are ratios the provider computed itself (fractions, not percent). Either may
    be empty; :mod:`nodes.finance.fundamentals` turns both into one set of ratios.
    """

    model_config = ConfigDict(frozen=True)

    symbol: str
    source: str               # the document or endpoint the figures come from
    period: str               # e.g. "FY2015 (2014-09-28 to 2015-09-26)" or "TTM to 2024-06-30"
    period_end: str | None = None
    filed: str | None = None
    items: dict[str, float] = {}
    metrics: dict[str, float] = {}


class Headline(BaseModel):
    """One news item: when, who published it, what it said."""

    model_config = ConfigDict(frozen=True)

    date: str                 # ISO date of publication
    headline: str
    source: str
    url: str | None = None
    summary: str | None = None
