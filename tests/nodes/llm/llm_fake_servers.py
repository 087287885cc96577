"""Fake LLM servers for the tests: real HTTP on loopback, no mocks of httpx.

Each fake is a plain ASGI app that speaks one provider's wire format (checks
the path, the credentials and the body shape, answers like the real API; a
streaming request is answered with server-sent events, a word per chunk) and
records every request it receives with its arrival time. A test can *script*
the next responses (status, headers, body, delay) to simulate rate limits,
outages and slow answers; once the script is used up, the fake answers
normally.

:func:`serving` runs an app under a real Hypercorn server on the current
backend (``hypercorn.asyncio`` or ``hypercorn.trio``), listening on a socket
bound to ``127.0.0.1:0`` *before* the server starts: connections queue in the
kernel backlog, so there is no "is it up yet?" race.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import sniffio
from hypercorn.config import Config

from nodes.llm import GeminiProvider, OpenAICompatProvider, HttpRetryPolicy
from nodes.llm.http import HttpProviderBase

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAST_RETRY = HttpRetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02, max_retry_after=1.0)


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic() at arrival


@dataclass
class Scripted:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent verbatim; None = normal answer
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    # streams: stop after this many chunks, abruptly (the connection is reset) or, with
    # ``cut_cleanly``, by ending the body early as a proxy timing out would
    cut_after: int | None = None
    cut_cleanly: bool = False
    chunk_delay: float = 0.0  # seconds between streamed chunks


class FakeServer:
    """Base ASGI app: lifespan, request recording, scripted responses."""

    def __init__(self, script: Iterable[Scripted] = ()) -> None:
        self.requests: list[Recorded] = []
        self.script: deque[Scripted] = deque(script)
        self.sent_at: list[float] = []   # time.monotonic() each streamed chunk was sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http"
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        request = Recorded(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode(),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
            at=time.monotonic(),
        )
        self.requests.append(request)
        scripted = self.script.popleft() if self.script else Scripted()
        if scripted.delay:
            await anyio.sleep(scripted.delay)
        if scripted.body is None and scripted.status == 200:
            status, payload = self.answer(request)
            if status == 200 and self.is_stream(request):
                await self._stream(send, self.chunks(request, payload), scripted)
                return
        else:
            status, payload = scripted.status, scripted.body
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = [(b"content-type", b"application/json")]
        headers += [(k.encode(), v.encode()) for k, v in scripted.headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    def answer(self, request: Recorded) -> tuple[int, Any]:
        raise NotImplementedError

    def is_stream(self, request: Recorded) -> bool:
        return False

    def chunks(self, request: Recorded, whole: Any) -> list[str]:
        """The ``data:`` payloads that stream ``whole`` (the non-streamed answer)."""
        raise NotImplementedError

    async def _stream(self, send: Send, chunks: list[str], scripted: Scripted) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for i, data in enumerate(chunks):
            if scripted.cut_after is not None and i >= scripted.cut_after:
                if scripted.cut_cleanly:
                    break
                # An app that dies mid-body: Hypercorn resets the connection.
                raise ConnectionResetError("fake server: stream cut off")
            await send({"type": "http.response.body", "body": f"data: {data}\n\n".encode(),
                        "more_body": True})
            self.sent_at.append(time.monotonic())
            if scripted.chunk_delay:
                await anyio.sleep(scripted.chunk_delay)
        await send({"type": "http.response.body", "body": b""})


def words(text: str) -> int:
    return len(text.split())


class FakeGemini(FakeServer):
    """Speaks ``POST /v1beta/models/{model}:generateContent`` like the Gemini API."""

    PATH = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):(?P<method>generateContent|"
                      r"streamGenerateContent)$")

    def __init__(self, script: Iterable[Scripted] = (), *, api_key: str = "test-key") -> None:
        super().__init__(script)
        self.api_key = api_key

    @staticmethod
    def error(code: int, message: str, status: str) -> dict[str, Any]:
        return {"error": {"code": code, "message": message, "status": status}}

    def answer(self, request: Recorded) -> tuple[int, Any]:
        match = self.PATH.match(request.path)
        if request.method != "POST" or match is None:
            return 404, self.error(404, f"Not found: {request.path}", "NOT_FOUND")
        key = request.headers.get("x-goog-api-key")
        if key is None:
            keys = re.findall(r"(?:^|&)key=([^&]*)", request.query)
            key = keys[0] if keys else None
        if key != self.api_key:
            return 400, self.error(
                400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"
            )
        body = request.body
        try:
            contents = body["contents"]
            assert contents and all(c["role"] in ("user", "model") for c in contents)
            assert all(isinstance(c["parts"], list) for c in contents)
            last = contents[-1]["parts"][0]
            assert contents[-1]["role"] == "user"
            declared = [d["name"] for t in body.get("tools", [])
                        for d in t["functionDeclarations"]
                        if isinstance(d["parameters"], dict)]
        except (KeyError, IndexError, TypeError, AssertionError):
            return 400, self.error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
        system = ""
        if "systemInstruction" in body:
            system = body["systemInstruction"]["parts"][0]["text"]
        # Tools: "use NAME QUERY" calls NAME({"query": QUERY}); a function's result is
        # answered with "result: ...".
        part: dict[str, Any]
        if "functionResponse" in last:
            prompt = json.dumps(last["functionResponse"])
            part = {"text": f"result: {last['functionResponse']['response']['result']}"}
        else:
            prompt = last["text"]
            use = re.match(r"use (\S+) (.*)", prompt)
            if use and use[1] in declared:
                part = {"functionCall": {"id": "call-1", "name": use[1],
                                         "args": {"query": use[2]}}}
            else:
                part = {"text": f"echo: {prompt}"}
        text = part.get("text", "")
        prompt_tokens = words(prompt) + words(system)
        if match["method"] == "streamGenerateContent" and "alt=sse" not in request.query:
            return 400, self.error(400, "fake: stream without alt=sse", "INVALID_ARGUMENT")
        return 200, {
            "candidates": [
                {
                    "content": {"parts": [part], "role": "model"},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": words(text),
                "totalTokenCount": prompt_tokens + words(text),
            },
            "modelVersion": match["model"],
        }


    def is_stream(self, request: Recorded) -> bool:
        return request.path.endswith(":streamGenerateContent")

    def chunks(self, request: Recorded, whole: Any) -> list[str]:
        # As the API streams: each chunk a GenerateContentResponse with the next text;
        # the last one carries finishReason and usageMetadata.
        part = whole["candidates"][0]["content"]["parts"][0]
        if "functionCall" in part:
            return [json.dumps(whole)]   # a call comes whole, in one chunk
        pieces = re.findall(r"\S+\s*", part["text"])
        out = []
        for i, piece in enumerate(pieces):
            chunk: dict[str, Any] = {
                "candidates": [{"content": {"parts": [{"text": piece}], "role": "model"},
                                "index": 0}],
                "modelVersion": whole["modelVersion"]}
            if i == len(pieces) - 1:
                chunk["candidates"][0]["finishReason"] = "STOP"
                chunk["usageMetadata"] = whole["usageMetadata"]
            out.append(json.dumps(chunk))
        return out


class FakeOpenAI(FakeServer):
    """Speaks ``POST /v1/chat/completions`` like OpenAI (and Ollama, vLLM)."""

    def __init__(self, script: Iterable[Scripted] = (), *, api_key: str | None = "sk-test") -> None:
        super().__init__(script)
        self.api_key = api_key

    @staticmethod
    def error(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
        return {"error": {"message": message, "type": type_, "param": None, "code": code}}

    def answer(self, request: Recorded) -> tuple[int, Any]:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return 404, self.error(f"Unknown request URL: {request.path}", "invalid_request_error")
        if self.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            return 401, self.error(
                "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        body = request.body
        try:
            messages = body["messages"]
            model = body["model"]
            prompt = [m["content"] for m in messages if m["role"] == "user"][-1]
            system = next((m["content"] for m in messages if m["role"] == "system"), "")
            declared = [t["function"]["name"] for t in body.get("tools", [])
                        if t["type"] == "function"]
            called = {c["id"] for m in messages if m["role"] == "assistant"
                      for c in m.get("tool_calls") or []
                      if json.loads(c["function"]["arguments"]) is not None}
        except (KeyError, TypeError, IndexError, ValueError):
            return 400, self.error("'messages' is a required property", "invalid_request_error")
        last = messages[-1]
        if last["role"] == "tool" and last.get("tool_call_id") not in called:
            return 400, self.error("Invalid parameter: messages with role 'tool' must be a "
                                   "response to a preceeding message with 'tool_calls'.",
                                   "invalid_request_error")
        # Tools: "use NAME QUERY" calls NAME({"query": QUERY}); a tool's result is
        # answered with "result: ...".
        calls: list[dict[str, Any]] = []
        if last["role"] == "tool":
            text: str | None = f"result: {last['content']}"
        else:
            use = re.match(r"use (\S+) (.*)", prompt) if last["role"] == "user" else None
            if use and use[1] in declared:
                text = None
                calls = [{"id": "call_1", "type": "function", "function": {
                    "name": use[1], "arguments": json.dumps({"query": use[2]})}}]
            else:
                text = f"echo: {prompt}"
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if calls:
            message["tool_calls"] = calls
        prompt_tokens = words(prompt) + words(system)
        text = text or ""
        return 200, {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": words(text),
                "total_tokens": prompt_tokens + words(text),
            },
        }


    def is_stream(self, request: Recorded) -> bool:
        return isinstance(request.body, dict) and request.body.get("stream") is True

    def chunks(self, request: Recorded, whole: Any) -> list[str]:
        # As OpenAI streams: a role chunk, a chunk per piece of content, a finish chunk,
        # the usage chunk (stream_options.include_usage) with no choices, then [DONE].
        message = whole["choices"][0]["message"]
        text = message["content"] or ""
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
                "model": whole["model"]}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            return json.dumps({**base, "choices": [{"index": 0, "delta": delta,
                                                    "finish_reason": finish}]})

        out = [chunk({"role": "assistant", "content": ""})]
        out += [chunk({"content": piece}) for piece in re.findall(r"\S+\s*", text)]
        for i, call in enumerate(message.get("tool_calls") or []):
            # A call streams as pieces by index: id and name first, the arguments split.
            args = call["function"]["arguments"]
            half = len(args) // 2
            out.append(chunk({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                              "function": {"name": call["function"]["name"],
                                                           "arguments": args[:half]}}]}))
            out.append(chunk({"tool_calls": [{"index": i, "function": {
                "arguments": args[half:]}}]}))
        out.append(chunk({}, whole["choices"][0]["finish_reason"]))
        options = request.body.get("stream_options") or {}
        if options.get("include_usage"):
            out.append(json.dumps({**base, "choices": [], "usage": whole["usage"]}))
        out.append("[DONE]")
        return out


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@asynccontextmanager
async def serving(app: FakeServer, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve ``app`` with Hypercorn on loopback for the duration; yields the base URL.

    Pass ``sock`` to serve on an existing listening socket (e.g. the same port
    across two event loops); Hypercorn gets a duplicate descriptor and closes
    only that one.
    """
    own = sock is None
    listener = listening_socket() if sock is None else sock
    port = listener.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{os.dup(listener.fileno())}"]
    config.graceful_timeout = 0.2
    config.accesslog = None
    config.errorlog = None
    if sniffio.current_async_library() == "trio":
        from hypercorn.trio import serve
    else:
        from hypercorn.asyncio import serve  # type: ignore[assignment]
    shutdown = anyio.Event()
    try:
        async with anyio.create_task_group() as tg:

            async def run_server() -> None:
                await serve(app, config, shutdown_trigger=shutdown.wait, mode="asgi")  # type: ignore[arg-type]
                tg.cancel_scope.cancel()  # stop the watchdog below

            async def watchdog() -> None:
                await shutdown.wait()
                await anyio.sleep(5)  # a server that will not stop must not hang the suite
                tg.cancel_scope.cancel()

            tg.start_soon(run_server)
            tg.start_soon(watchdog)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                shutdown.set()
    finally:
        if own:
            listener.close()


def make_server(kind: str, script: Iterable[Scripted] = ()) -> FakeServer:
    return FakeGemini(script) if kind == "gemini" else FakeOpenAI(script)


def make_provider(kind: str, base_url: str, **kwargs: Any) -> HttpProviderBase:
    """A provider of ``kind`` pointed at a fake server, with fast retries by default."""
    kwargs.setdefault("retry", FAST_RETRY)
    kwargs.setdefault("timeout", 5.0)
    if kind == "gemini":
        kwargs.setdefault("api_key", "test-key")
        return GeminiProvider(base_url=base_url, **kwargs)
    kwargs.setdefault("api_key", "sk-test")
    kwargs.setdefault("model", "gpt-4o-mini")
    return OpenAICompatProvider(base_url=base_url + "/v1", **kwargs)
