"""Safe defaults: a server without authentication answers only on loopback.

``actorflow serve --host 0.0.0.0`` without ``--auth`` would let anyone who can reach
the port create graphs, read every run's state, and cancel, resume or fork any run.
It refuses to start unless ``--insecure`` says that something in front (a proxy that
authenticates, a private network) is trusted to guard it.
"""

from __future__ import annotations

from .auth import check_auth_settings
from .settings import Settings, SettingsError
from .transport import is_loopback

__all__ = ["check_exposure"]


def check_exposure(settings: Settings) -> None:
    """Raise SettingsError (saying why and what to do) for an unsafe configuration."""
    check_auth_settings(settings)
    if settings.auth == "none" and not is_loopback(settings.host) and not settings.insecure:
        raise SettingsError(
            f"refusing to serve on {settings.host} without authentication: anyone who can "
            "reach this port could create graphs, read every run's state and cancel, resume "
            "or fork any run. Choose --auth keys (create one with `actorflow keys create`), "
            "--auth jwt or --auth handler; or bind to 127.0.0.1; or pass --insecure if "
            "something in front (an authenticating proxy, a private network) guards it")
