"""Choose and build the LLM provider from environment variables.

=============================  ============================================  ==========================
variable                       meaning                                       default
=============================  ============================================  ==========================
ACTORFLOW_LLM_PROVIDER         ``offline`` | ``gemini`` | ``openai``          ``offline``
ACTORFLOW_LLM_TIMEOUT          seconds per HTTP attempt                      ``60``
ACTORFLOW_LLM_MAX_RETRIES      retries after the first attempt               ``2``
GEMINI_API_KEY                 Gemini API key                                required for ``gemini``
ACTORFLOW_GEMINI_MODEL         Gemini model                                  ``gemini-2.0-flash``
ACTORFLOW_GEMINI_BASE_URL      Gemini API root (no ``/v1beta``)              Google's endpoint
OPENAI_API_KEY                 Bearer key                                    required for api.openai.com
ACTORFLOW_OPENAI_BASE_URL      Chat Completions root, incl. ``/v1``          ``https://api.openai.com/v1``
ACTORFLOW_OPENAI_MODEL         model name                                    ``gpt-4o-mini``
=============================  ============================================  ==========================

Offline is the default so that nothing ever calls a paid API (or fails for
lack of a key) unless someone asked for it explicitly. Empty variables count
as unset, because ``FOO=`` in a ``.env`` file usually means "not configured".
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from .base import LLMProvider
from .errors import LLMConfigError
from .gemini import GEMINI_BASE_URL, GEMINI_DEFAULT_MODEL, GeminiProvider
from .http import HttpRetryPolicy
from .offline import OfflineProvider
from .openai_compat import OPENAI_BASE_URL, OPENAI_DEFAULT_MODEL, OpenAICompatProvider

__all__ = ["PROVIDERS", "provider_from_env"]

PROVIDERS = ("offline", "gemini", "openai")

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _url(env: Mapping[str, str], name: str, default: str, provider: str) -> str:
    value = _get(env, name) or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LLMConfigError(
            f"{name}={value!r} is not an http(s) URL, e.g. {default!r}",
            provider=provider,
            variable=name,
        )
    return value


def _timeout(env: Mapping[str, str], provider: str) -> float:
    name = "ACTORFLOW_LLM_TIMEOUT"
    raw = _get(env, name)
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise LLMConfigError(
            f"{name}={raw!r} must be a positive number of seconds, e.g. 30",
            provider=provider,
            variable=name,
        )
    return value


def _retry(env: Mapping[str, str], provider: str) -> HttpRetryPolicy:
    name = "ACTORFLOW_LLM_MAX_RETRIES"
    raw = _get(env, name)
    if raw is None:
        return HttpRetryPolicy(max_attempts=DEFAULT_MAX_RETRIES + 1)
    try:
        retries = int(raw)
    except ValueError:
        retries = -1
    if retries < 0:
        raise LLMConfigError(
            f"{name}={raw!r} must be a whole number >= 0 (0 disables retries)",
            provider=provider,
            variable=name,
        )
    return HttpRetryPolicy(max_attempts=retries + 1)


def provider_from_env(env: Mapping[str, str] = os.environ) -> LLMProvider:
    """Build the provider the environment asks for (see the module doc).

    Raises :class:`LLMConfigError` naming the offending variable (``.variable``)
    when a required one is missing or a value is invalid. Nothing is sent over
    the network here.
    """
    choice = (_get(env, "ACTORFLOW_LLM_PROVIDER") or "offline").lower()
    if choice == "offline":
        return OfflineProvider()
    if choice == "gemini":
        key = _get(env, "GEMINI_API_KEY")
        if key is None:
            raise LLMConfigError(
                "GEMINI_API_KEY is not set; ACTORFLOW_LLM_PROVIDER=gemini needs an API key "
                "(create one in Google AI Studio), or use ACTORFLOW_LLM_PROVIDER=offline",
                provider="gemini",
                variable="GEMINI_API_KEY",
            )
        return GeminiProvider(
            api_key=key,
            model=_get(env, "ACTORFLOW_GEMINI_MODEL") or GEMINI_DEFAULT_MODEL,
            base_url=_url(env, "ACTORFLOW_GEMINI_BASE_URL", GEMINI_BASE_URL, "gemini"),
            timeout=_timeout(env, "gemini"),
            retry=_retry(env, "gemini"),
        )
    if choice == "openai":
        base_url = _url(env, "ACTORFLOW_OPENAI_BASE_URL", OPENAI_BASE_URL, "openai")
        key = _get(env, "OPENAI_API_KEY")
        # Self-hosted servers (Ollama, vLLM) usually need no key; OpenAI itself always does.
        if key is None and urlsplit(base_url).hostname == urlsplit(OPENAI_BASE_URL).hostname:
            raise LLMConfigError(
                f"OPENAI_API_KEY is not set; it is required for {base_url} (for a keyless "
                "local server such as Ollama, set ACTORFLOW_OPENAI_BASE_URL instead)",
                provider="openai",
                variable="OPENAI_API_KEY",
            )
        return OpenAICompatProvider(
            api_key=key,
            model=_get(env, "ACTORFLOW_OPENAI_MODEL") or OPENAI_DEFAULT_MODEL,
            base_url=base_url,
            timeout=_timeout(env, "openai"),
            retry=_retry(env, "openai"),
        )
    raise LLMConfigError(
        f"ACTORFLOW_LLM_PROVIDER={choice!r} is not a known provider; "
        f"choose one of {', '.join(PROVIDERS)}",
        provider=choice,
        variable="ACTORFLOW_LLM_PROVIDER",
    )
