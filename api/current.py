"""The app's service and metrics, from inside a request or WebSocket handler."""

from __future__ import annotations

from typing import cast

from quart import current_app

from .metrics import Metrics
from .service import ApiService

__all__ = ["METRICS_KEY", "SERVICE_KEY", "metrics", "service"]

SERVICE_KEY = "actorflow"
METRICS_KEY = "actorflow.metrics"


def service() -> ApiService:
    """The ApiService of the app handling this request."""
    return cast(ApiService, current_app.extensions[SERVICE_KEY])


def metrics() -> Metrics:
    """The Metrics of the app handling this request."""
    return cast(Metrics, current_app.extensions[METRICS_KEY])
