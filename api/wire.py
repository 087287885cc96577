"""One write per HTTP/1.1 response of known length, instead of three.

Hypercorn's HTTP/1.1 protocol writes each response in pieces: the head as soon as the
app starts the response, then the body, then the end of the message (empty for a
``Content-Length`` body), each a separate send to the socket (under a lock, with a
drain or a trio checkpoint each). The client gets the head and the body in two
segments and wakes up twice. :class:`CoalescingH11Protocol` holds the head of a
response that declares its ``Content-Length`` until the next piece of that response
is sent (the app already holds the whole body: Quart answers with the body in memory
or read from a file at once), sends both as one write, and sends nothing for the
empty end of message. A head is never held past the next event of its stream, so a
response whose body never comes (HEAD, an app error) still gets its head at once
after. Chunked (streaming) responses and WebSocket frames are written as before.

Hypercorn has no setting for this and builds its protocol by name, so
:func:`coalesced_responses` swaps the class in for the duration of a ``serve``
(``actorflow serve`` only; an application serving the app with its own Hypercorn
keeps Hypercorn as it is).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import hypercorn.protocol
from hypercorn.events import Event, RawData
from hypercorn.protocol.events import Response
from hypercorn.protocol.events import Event as StreamEvent
from hypercorn.protocol.h11 import H11Protocol

__all__ = ["CoalescingH11Protocol", "coalesced_responses"]


class CoalescingH11Protocol(H11Protocol):
    """Hypercorn's HTTP/1.1 protocol, writing a fixed-length response in one send."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write = self.send      # the server's send: raw bytes to the socket
        self.send = self._coalesce   # what the protocol calls for every write
        self._holding = False        # the head being encoded now is to be held
        self._held = b""             # a response head waiting for its body

    async def stream_send(self, event: StreamEvent) -> None:
        if isinstance(event, Response) and event.status_code >= 200 and _has_length(event):
            self._holding = True
            try:
                await super().stream_send(event)
            finally:
                self._holding = False
            return
        await super().stream_send(event)
        if self._held:  # the event wrote nothing (no body): the head goes now
            await self._flush()

    async def _coalesce(self, event: Event) -> None:
        if not isinstance(event, RawData):
            if self._held:
                await self._flush()
            await self._write(event)
            return
        if self._holding:
            self._held += event.data
            return
        data = self._held + event.data if self._held else event.data
        self._held = b""
        if data:  # the end of a Content-Length message is empty: nothing to write
            await self._write(RawData(data=data, address=event.address))

    async def _flush(self) -> None:
        data, self._held = self._held, b""
        await self._write(RawData(data=data))


def _has_length(event: Response) -> bool:
    return any(name.lower() == b"content-length" for name, _ in event.headers)


@contextmanager
def coalesced_responses(protocol: type[CoalescingH11Protocol] = CoalescingH11Protocol
                        ) -> Iterator[None]:
    """Hypercorn serves HTTP/1.1 with ``protocol`` within the block."""
    # ProtocolWrapper (hypercorn.protocol) builds its HTTP/1.1 protocol by this name.
    module: Any = hypercorn.protocol
    original = module.H11Protocol
    module.H11Protocol = protocol
    try:
        yield
    finally:
        module.H11Protocol = original
