"""What every provider's streamed answer does with a chunk before reading its fields."""

from __future__ import annotations

import json
from typing import Any

from .base import TokenSink
from .errors import LLMError

__all__ = ["StreamFold"]


class StreamFold:
    """The chunks of one streamed answer, folded into the provider's whole response.

    Subclasses read the fields of each chunk :meth:`decode` hands them."""

    def __init__(self, provider: str, on_token: TokenSink) -> None:
        self.provider = provider
        self.on_token = on_token
        self.chunks = 0

    def decode(self, data: str) -> dict[str, Any] | None:
        """The chunk's JSON object (None for other JSON); a chunk that is not JSON is a
        non-retryable LLMError naming its number and start."""
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise LLMError(f"stream chunk {self.chunks + 1} is not JSON: {data[:200]!r}",
                           provider=self.provider, status=200) from exc
        self.chunks += 1
        return chunk if isinstance(chunk, dict) else None
