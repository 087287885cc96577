"""actorflow's HTTP API: a Quart app (QuartTrio on trio) served by Hypercorn.

::

    from api import Settings, create_app

    app = create_app(Settings(database_url="sqlite:///actorflow.db"))

The ``actorflow`` command (:func:`api.cli.main`) serves it and runs graphs locally.
"""

from .app import create_app
from .errors import ApiError
from .settings import Settings, SettingsError

__all__ = ["ApiError", "Settings", "SettingsError", "create_app"]
