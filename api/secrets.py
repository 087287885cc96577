"""Secrets never reach a log line: the values to hide, and a logging filter hiding them.

The first defence is at each source (a provider's error echoing its key is scrubbed
in :mod:`nodes.llm.http`; the database URL is logged without its password). This is
the second: the ``actorflow`` command's log handlers replace every known secret
value (provider keys, tokens and passwords from the environment, the JWT secret,
the database password) with ``***``, whatever logged it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from .settings import Settings

__all__ = ["SecretFilter", "known_secrets"]

#: Environment variables whose names end so hold secrets.
SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_KEY")
#: Shorter values are not hidden: replacing "abc" everywhere would garble logs.
MIN_SECRET = 8


def known_secrets(settings: Settings, environ: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    found = [v for k, v in env.items() if k.upper().endswith(SECRET_SUFFIXES)]
    if settings.jwt_secret is not None:
        found.append(settings.jwt_secret.get_secret_value())
    password = urlsplit(settings.database_url).password
    if password:
        found += [password, unquote(password)]
    # Longest first, so a secret containing another is hidden whole.
    return sorted({v for v in found if len(v) >= MIN_SECRET}, key=len, reverse=True)


class SecretFilter(logging.Filter):
    """Replaces secret values in a record's message (arguments and traceback included)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self.secrets:
            message = message.replace(secret, "***")
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, "***")
        record.msg, record.args = message, None
        return True
