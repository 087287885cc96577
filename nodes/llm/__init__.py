"""Pluggable LLM providers behind one protocol.

Nodes depend on :class:`LLMProvider` only; which implementation answers is a
deployment decision (:func:`provider_from_env`)::

    provider = CachingProvider(provider_from_env())
    response = await provider.complete(LLMRequest(prompt="...", max_tokens=200))
    response.text, response.usage.total_tokens, response.cost_usd

Providers: :class:`OfflineProvider` (deterministic, no network, the default),
:class:`GeminiProvider`, :class:`OpenAICompatProvider` (OpenAI, Ollama, vLLM...).
All failures are :class:`LLMError`; all run on asyncio and trio. Each can also
``stream(request, on_token)`` (:class:`StreamingProvider`): the text handed over as
the model writes it, through server-sent events for the network providers.
"""

from .base import (
    LLMProvider,
    LLMRequest,
    LLMResponse,
    StreamingProvider,
    TokenSink,
    ToolCall,
    ToolSpec,
    Usage,
    estimate_tokens,
    stream_or_complete,
)
from .cache import CachingProvider, MemoryCache, ResponseCache, cache_key
from .config import provider_from_env
from .errors import LLMCircuitOpenError, LLMConfigError, LLMError, LLMTimeoutError
from .gemini import GeminiProvider
from .http import HttpTransport, HttpRetryPolicy
from .offline import OfflineProvider
from .openai_compat import OpenAICompatProvider
from .pricing import DEFAULT_PRICES, ModelPrice, PriceTable
from .tools import Tool, Toolbox

__all__ = [
    "DEFAULT_PRICES",
    "CachingProvider",
    "GeminiProvider",
    "HttpTransport",
    "LLMConfigError",
    "LLMCircuitOpenError",
    "LLMError",
    "LLMProvider",
    "LLMRequest",
    "LLMResponse",
    "LLMTimeoutError",
    "MemoryCache",
    "ModelPrice",
    "OfflineProvider",
    "OpenAICompatProvider",
    "PriceTable",
    "ResponseCache",
    "HttpRetryPolicy",
    "StreamingProvider",
    "TokenSink",
    "Tool",
    "ToolCall",
    "ToolSpec",
    "Toolbox",
    "Usage",
    "cache_key",
    "estimate_tokens",
    "provider_from_env",
    "stream_or_complete",
]
