"""``actorflow serve`` makes young collections rarer in its own process
(``gc_threshold``, default 50,000; 0 keeps Python's); an app made with
``create_app`` and served by its embedding program leaves the collector alone."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from api import server
from api.app import create_app
from api.settings import Settings


def serve_threshold(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> tuple[int, ...]:
    """The collector's threshold when ``serve`` starts the event loop."""
    seen: list[tuple[int, ...]] = []

    def run(*args: Any, **kwargs: Any) -> None:
        seen.append(gc.get_threshold())

    monkeypatch.setattr(server.anyio, "run", run)
    monkeypatch.setattr(server, "freeze_startup_objects", lambda: None)  # not in pytest
    server.serve(settings)
    return seen[0]


def test_serve_raises_the_first_threshold_by_default(
        app_threshold: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    settings = Settings.from_env({"ACTORFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    assert settings.gc_threshold == 50_000
    assert serve_threshold(monkeypatch, settings) == (50_000, 7, 9)


def test_gc_threshold_0_keeps_pythons_setting(
        app_threshold: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    settings = Settings.from_env({"ACTORFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
                                  "ACTORFLOW_GC_THRESHOLD": "0"})
    assert serve_threshold(monkeypatch, settings) == app_threshold


def test_an_embedded_app_leaves_the_collector_alone(
        app_threshold: tuple[int, int, int], tmp_path: Path) -> None:
    create_app(Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    assert gc.get_threshold() == app_threshold
