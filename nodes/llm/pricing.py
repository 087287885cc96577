"""Token prices and cost computation.

Prices are USD per 1M tokens, separately for input (prompt) and output
(completion, including "thinking" tokens, which providers bill as output).
The built-in table is a snapshot of public list prices and WILL go stale:
pass your own :class:`PriceTable` (or ``DEFAULT_PRICES.with_overrides(...)``)
to a provider when accuracy matters. Unknown models cost ``0.0`` rather than
raising, because local servers (Ollama, vLLM) are free and an unknown price
must never fail a workflow run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .base import Usage

__all__ = ["DEFAULT_PRICES", "ModelPrice", "PriceTable"]


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per 1M input tokens and per 1M output tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def cost_usd(self, usage: Usage) -> float:
        return (
            usage.prompt_tokens * self.input_per_mtok
            + usage.completion_tokens * self.output_per_mtok
        ) / 1_000_000


class PriceTable:
    """Looks up a model's price: exact name first, then the longest known prefix.

    Prefix matching makes dated or suffixed names (``gemini-2.0-flash-001``,
    ``gpt-4o-mini-2024-07-18``) resolve to their family's price; a prefix only
    matches at a ``-`` boundary, and the longest one wins so that
    ``gpt-4o-mini-...`` is priced as ``gpt-4o-mini``, not ``gpt-4o``.
    """

    def __init__(
        self, prices: Mapping[str, ModelPrice], *, default: ModelPrice | None = None
    ) -> None:
        self._prices = {_normalise(k): v for k, v in prices.items()}
        self._default = default

    def with_overrides(
        self, overrides: Mapping[str, ModelPrice], *, default: ModelPrice | None = None
    ) -> PriceTable:
        """A new table with ``overrides`` added or replacing existing entries."""
        merged = dict(self._prices)
        merged.update({_normalise(k): v for k, v in overrides.items()})
        return PriceTable(merged, default=default if default is not None else self._default)

    def lookup(self, model: str) -> ModelPrice | None:
        name = _normalise(model)
        if name in self._prices:
            return self._prices[name]
        best: str | None = None
        for known in self._prices:
            if name.startswith(known + "-") and (best is None or len(known) > len(best)):
                best = known
        return self._prices[best] if best is not None else self._default

    def cost_usd(self, model: str, usage: Usage) -> float:
        price = self.lookup(model)
        return price.cost_usd(usage) if price is not None else 0.0

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.lookup(model) is not None


def _normalise(model: str) -> str:
    # Gemini reports and accepts "models/<name>"; prices are keyed by bare name.
    name = model.strip().lower()
    return name.removeprefix("models/")


# Public list prices (USD / 1M tokens, standard tier, short-context rate),
# as of early 2025. Override rather than edit when they change.
DEFAULT_PRICES = PriceTable(
    {
        "gemini-2.5-pro": ModelPrice(1.25, 10.00),
        "gemini-2.5-flash": ModelPrice(0.30, 2.50),
        "gemini-2.0-flash": ModelPrice(0.10, 0.40),
        "gemini-2.0-flash-lite": ModelPrice(0.075, 0.30),
        "gemini-1.5-pro": ModelPrice(1.25, 5.00),
        "gemini-1.5-flash": ModelPrice(0.075, 0.30),
        "gpt-4o": ModelPrice(2.50, 10.00),
        "gpt-4o-mini": ModelPrice(0.15, 0.60),
        "gpt-4.1": ModelPrice(2.00, 8.00),
        "gpt-4.1-mini": ModelPrice(0.40, 1.60),
        "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    }
)
