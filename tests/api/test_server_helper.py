"""The end-to-end tests' server helper talks to its own server only: a port that another
process took first (another test run on the machine) is given up, never used."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import _server
import httpx
import pytest

pytestmark = pytest.mark.slow


class _Stranger(BaseHTTPRequestHandler):
    """Another process's server: healthy, but not the test's."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "8")
        self.end_headers()
        self.wfile.write(b"stranger")

    def log_message(self, *args: object) -> None:
        pass


def test_a_port_another_process_listens_on_is_given_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stranger = ThreadingHTTPServer(("127.0.0.1", 0), _Stranger)
    taken = int(stranger.server_address[1])
    threading.Thread(target=stranger.serve_forever, daemon=True).start()
    real = _server.reserved_port
    handed: list[int] = []

    @contextlib.contextmanager
    def first_the_taken_one() -> Iterator[int]:
        # As when another process bound the port between the kernel's choice and ours.
        if not handed:
            handed.append(taken)
            yield taken
            return
        with real() as port:
            handed.append(port)
            yield port

    monkeypatch.setattr(_server, "reserved_port", first_the_taken_one)
    try:
        with _server.server("asyncio", _server.sqlite_url(tmp_path), tmp_path) as srv:
            assert srv.port != taken and handed == [taken, srv.port]
            assert httpx.get(f"{srv.url}/health", timeout=30).json()["backend"] == "asyncio"
    finally:
        stranger.shutdown()
        stranger.server_close()


def test_a_reserved_port_is_free_for_the_server_and_no_one_else() -> None:
    with _server.reserved_port() as port:
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))   # as any socket without SO_REUSEADDR
        with socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))   # as Hypercorn does
            listener.listen()
